//! The symbolic pickle machine: CPython's unpickler semantics with nothing imported or called.
//!
//! It mirrors `Lib/pickle.py`'s `_Unpickler`: a stack split by marks (an opcode may not
//! pop below the innermost MARK), a memo where MEMOIZE stores at `len(memo)` and PUT at
//! an explicit index that may overwrite, and GET resolved when it runs. Instead of
//! objects it builds [`Node`]s in a [`Graph`].
//!
//! joblib is the one loader whose semantics differ from `pickle.load`: its
//! `NumpyUnpickler` reads raw array bytes from the file right after the BUILD of a
//! `NumpyArrayWrapper`. [`super::joblib`] knows that layout; the machine asks it after
//! every such BUILD in a top-level stream, and skips (never reads) the array bytes.

use super::error::{ErrorKind, PickleError};
use super::graph::{
    Anomaly, AnomalyKind, BigIntEncoding, Entry, GlobalName, Graph, InlineData, Node, NodeId,
    Object, ObjectKind, Span, Stream, Value,
};
use super::joblib::{self, JoblibError};
use super::lexer::{Arg, Lexer, Op, ShortOp};
use super::memo::Memo;
use super::opcode::{HIGHEST_PROTOCOL, Opcode};
use super::text::{self, CInt, TextInt};

/// Receives every opcode and every span of inline data as the machine reads them.
pub trait Visitor {
    /// Whether the visitor wants every opcode. A visitor that does not (`Quiet`) lets
    /// the machine take its fast path over the commonest opcodes.
    const WANTS_OPS: bool = true;
    fn op(&mut self, _stream: usize, _nested: bool, _op: &Op<'_>) {}
    fn inline_data(&mut self, _stream: usize, _data: &InlineData) {}
    /// The reading has passed `offset` (called every [`PASSED_STEP`] bytes or so): the
    /// bytes before it are behind the lexer, though the graph may read some again.
    fn passed(&mut self, _offset: u64) {}
}

/// How far apart [`Visitor::passed`] calls are.
pub const PASSED_STEP: u64 = 8 << 20;

/// A visitor that ignores everything.
pub struct Quiet;
impl Visitor for Quiet {
    const WANTS_OPS: bool = false;
}

/// Which loader's reading of the bytes the machine follows.
///
/// The same file is read differently by the two loaders our users call, and a scanner
/// must see what each of them would run:
/// - `pickle.load` is the C unpickler (`_pickle.c`): it knows nothing of joblib, so the
///   bytes after a `NumpyArrayWrapper` are opcodes to it; FRAME is only a read-ahead hint
///   (opcodes may straddle frames); INT lines go through `strtol` (`010` is 8).
/// - `joblib.load` is a subclass of the pure-Python `pickle._Unpickler`: it skips the raw
///   array bytes after each `NumpyArrayWrapper`'s BUILD, enforces frames, and parses
///   text integers with Python's `int()`. Object arrays inside it are read by `pickle.load`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    PickleLoad,
    JoblibLoad,
}

/// A parse that may have stopped early: CPython runs every opcode before the one it fails
/// on, so what the graph holds up to the error (globals imported, calls made) is what a
/// loader would already have executed.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub graph: Graph<'a>,
    pub error: Option<PickleError>,
}

/// Reads every pickle stream in `data` into a graph, as `joblib.load` reads it (which is
/// how inspect, patch and diff see a model).
///
/// The first stream must parse. After it, bytes that form another complete stream are
/// read as one (other loaders than `pickle.load` read them); bytes that do not are
/// recorded in [`Graph::trailing`].
pub fn parse<'a, V: Visitor>(data: &'a [u8], visitor: &mut V) -> Result<Graph<'a>, PickleError> {
    let parsed = parse_reading(data, visitor, Reading::JoblibLoad);
    match parsed.error {
        Some(e) => Err(e),
        None => Ok(parsed.graph),
    }
}

/// Reads `data` as `reading`'s loader would, keeping what was built before an error.
pub fn parse_reading<'a, V: Visitor>(
    data: &'a [u8],
    visitor: &mut V,
    reading: Reading,
) -> Parsed<'a> {
    parse_reading_at(data, 0, visitor, reading)
}

/// [`parse_reading`] of a pickle that starts at `start` in `data` (after a container's
/// own header), so that every offset is an offset in the file.
pub fn parse_reading_at<'a, V: Visitor>(
    data: &'a [u8],
    start: usize,
    visitor: &mut V,
    reading: Reading,
) -> Parsed<'a> {
    let mut graph = Graph::new(data);
    let first = match read_stream(&mut graph, visitor, start, false, reading) {
        Ok(end) => end,
        Err(error) => {
            return Parsed {
                graph,
                error: Some(error),
            };
        }
    };
    // `pickle.load` stops at the first STOP; further streams are other loaders' business
    // (the joblib reading, which the view is built from, reads them all).
    let mut pos = if reading == Reading::PickleLoad {
        data.len()
    } else {
        first as usize
    };
    while pos < data.len() {
        // Try quietly first, so that a failed attempt emits nothing to the visitor.
        let mut scratch = Graph::new(data);
        if read_stream(&mut scratch, &mut Quiet, pos, false, reading).is_err() {
            graph.trailing = Some(Span {
                offset: pos as u64,
                len: (data.len() - pos) as u64,
            });
            break;
        }
        match read_stream(&mut graph, visitor, pos, false, reading) {
            Ok(end) => pos = end as usize,
            Err(error) => {
                return Parsed {
                    graph,
                    error: Some(error),
                };
            }
        }
    }
    Parsed { graph, error: None }
}

/// Reads `count` streams one after the other from `start`, as a loader that calls
/// `pickle.load` `count` times on one file does (legacy `torch.save` files hold five).
/// Every one must parse; what follows the last is the caller's (raw data, not opcodes),
/// so it is neither read nor recorded as trailing. Returns the offset past the last STOP.
pub fn parse_consecutive<'a, V: Visitor>(
    data: &'a [u8],
    start: usize,
    count: usize,
    visitor: &mut V,
    reading: Reading,
) -> (Parsed<'a>, u64) {
    let mut graph = Graph::new(data);
    let mut pos = start as u64;
    for _ in 0..count {
        match read_stream(&mut graph, visitor, pos as usize, false, reading) {
            Ok(end) => pos = end,
            Err(error) => {
                return (
                    Parsed {
                        graph,
                        error: Some(error),
                    },
                    pos,
                );
            }
        }
    }
    (Parsed { graph, error: None }, pos)
}

/// Reads one stream starting at `start`; returns the offset just past its STOP.
fn read_stream<V: Visitor>(
    graph: &mut Graph<'_>,
    visitor: &mut V,
    start: usize,
    nested: bool,
    reading: Reading,
) -> Result<u64, PickleError> {
    let index = graph.streams.len();
    graph.streams.push(Stream {
        offset: start as u64,
        end: start as u64,
        protocol: None,
        root: Value::None,
        op_count: 0,
        highest_opcode_protocol: 0,
        nested,
    });
    let mut machine = Machine {
        graph,
        visitor,
        stack: Vec::new(),
        marks: Marks::default(),
        memo: Memo::default(),
        stream: index,
        nested,
        reading,
        protocol: None,
        proto_now: 0,
        buffers: 0,
        op_count: 0,
        highest_opcode_protocol: 0,
        next_passed: start as u64 + PASSED_STEP,
    };
    let mut lexer = Lexer::new(machine.graph.data(), start);
    lexer.set_strict_frames(reading == Reading::JoblibLoad);
    let root = machine.run(&mut lexer);
    if root.is_err() {
        machine.graph.streams[index].op_count = machine.op_count;
    }
    let root = root?;
    let stream = &mut machine.graph.streams[index];
    stream.end = lexer.position() as u64;
    stream.protocol = machine.protocol;
    stream.root = root;
    stream.op_count = machine.op_count;
    stream.highest_opcode_protocol = machine.highest_opcode_protocol;
    Ok(stream.end)
}

const NOT_ASCII: &str =
    "a Python 2 string that is not ASCII (Python 3's unpicklers decode them as ASCII by default)";

/// What an opcode needs of an operand (see `Machine::expect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Callable,
    Tuple,
    Dict,
}

#[derive(Clone, Copy, Debug)]
struct Item {
    value: Value,
    /// Offset of the first opcode of the expression that produced the value.
    offset: u64,
}

/// The open MARKs, in chunks: a file of ten million MARKs (CPython accepts one) costs
/// 12 bytes each and never the doubling copy of one big vector.
#[derive(Default)]
struct Marks {
    chunks: Vec<Vec<(u32, u64)>>,
    len: usize,
    /// Stack lengths of 2^32 and more (never seen: each item costs 24 bytes).
    wide: Vec<(usize, usize)>,
}

const MARK_CHUNK: usize = 1 << 16;

impl Marks {
    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns false when the memory ran out.
    fn push(&mut self, stack_len: usize, offset: u64) -> bool {
        if self.chunks.last().is_none_or(|c| c.len() == MARK_CHUNK) {
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(MARK_CHUNK).is_err() || self.chunks.try_reserve(1).is_err() {
                return false;
            }
            self.chunks.push(chunk);
        }
        let short = u32::try_from(stack_len).unwrap_or_else(|_| {
            self.wide.push((self.len, stack_len));
            u32::MAX
        });
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push((short, offset));
        }
        self.len += 1;
        true
    }

    fn resolve(&self, index: usize, short: u32) -> usize {
        if short == u32::MAX
            && let Some(&(_, wide)) = self.wide.iter().rev().find(|(i, _)| *i == index)
        {
            return wide;
        }
        short as usize
    }

    fn last(&self) -> Option<(usize, u64)> {
        let &(short, offset) = self.chunks.last()?.last()?;
        Some((self.resolve(self.len - 1, short), offset))
    }

    fn pop(&mut self) -> Option<(usize, u64)> {
        let chunk = self.chunks.last_mut()?;
        let (short, offset) = chunk.pop()?;
        if chunk.is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        let len = self.resolve(self.len, short);
        if short == u32::MAX {
            self.wide.retain(|(i, _)| *i != self.len);
        }
        Some((len, offset))
    }
}

struct Machine<'g, 'a, V> {
    graph: &'g mut Graph<'a>,
    visitor: &'g mut V,
    stack: Vec<Item>,
    /// Stack length and opcode offset of each open MARK.
    marks: Marks,
    memo: Memo,
    stream: usize,
    nested: bool,
    reading: Reading,
    protocol: Option<u8>,
    /// CPython's `self.proto`: set by every PROTO, misplaced ones too; `find_class`
    /// resolves names by it.
    proto_now: u8,
    buffers: u64,
    op_count: u64,
    highest_opcode_protocol: u8,
    /// Where the next [`Visitor::passed`] is due.
    next_passed: u64,
}

type OpResult = Result<(), ErrorKind>;

impl<'a, V: Visitor> Machine<'_, 'a, V> {
    fn run(&mut self, lexer: &mut Lexer<'a>) -> Result<Value, PickleError> {
        loop {
            if !V::WANTS_OPS {
                self.short_ops(lexer);
            }
            let op = lexer.next_op()?;
            self.op_count += 1;
            if op.offset >= self.next_passed {
                self.visitor.passed(op.offset);
                self.next_passed = op.offset + PASSED_STEP;
            }
            let op_protocol = op.code.protocol();
            if op_protocol > self.highest_opcode_protocol {
                self.highest_opcode_protocol = op_protocol;
                if let Some(declared) = self.protocol
                    && op_protocol > declared
                {
                    self.anomaly(&op, AnomalyKind::OpcodeAboveProtocol { protocol: declared });
                }
            }
            self.visitor.op(self.stream, self.nested, &op);
            let err = |kind| PickleError::new(op.offset, Some(op.code.name()), kind);
            if op.code == Opcode::Stop {
                let top = self.pop().map_err(err)?;
                if !self.stack.is_empty() || !self.marks.is_empty() {
                    self.anomaly(
                        &op,
                        AnomalyKind::StackNotEmpty {
                            items: self.stack.len(),
                            marks: self.marks.len(),
                        },
                    );
                }
                return Ok(top.value);
            }
            self.step(&op, lexer).map_err(err)?;
        }
    }

    /// The fast path: applies [`ShortOp`]s while their effect is certain to be plain
    /// (no error, no anomaly, nothing a visitor must see). Anything else, including
    /// the first opcode of a newer protocol, stops it; `next_op` and `step` then handle
    /// that opcode with every check. `tests/properties.rs` checks that both paths build
    /// the same graph.
    #[inline(always)]
    fn short_ops(&mut self, lexer: &mut Lexer<'a>) {
        loop {
            // Growth (and its failure) is left to the general path.
            if self.stack.len() == self.stack.capacity() {
                return;
            }
            let before = lexer.position();
            let Some(op) = lexer.short_op() else {
                return;
            };
            let plain = op.protocol() <= self.highest_opcode_protocol
                && match op {
                    ShortOp::ShortBinUnicode(at) => {
                        // Invalid text fails the load: the general path reports it.
                        let start = at as usize + 2;
                        let len = usize::from(lexer.data()[at as usize + 1]);
                        if !text::is_utf8_surrogatepass(&lexer.data()[start..start + len]) {
                            false
                        } else {
                            self.push(Value::Str(at), at);
                            true
                        }
                    }
                    ShortOp::Int(v) => {
                        self.push(Value::Int(v), before as u64);
                        true
                    }
                    ShortOp::None => {
                        self.push(Value::None, before as u64);
                        true
                    }
                    ShortOp::NewTrue => {
                        self.push(Value::Bool(true), before as u64);
                        true
                    }
                    ShortOp::NewFalse => {
                        self.push(Value::Bool(false), before as u64);
                        true
                    }
                    ShortOp::Mark(at) => self.marks.push(self.stack.len(), at),
                    ShortOp::Memoize => match self.stack.last() {
                        Some(top) if self.stack.len() > self.base() => {
                            self.memo.memoize(top.value);
                            true
                        }
                        _ => false,
                    },
                    ShortOp::BinGet(index) => match self.memo.get(u64::from(index)) {
                        Some(value) => {
                            self.push(value, before as u64);
                            true
                        }
                        None => false,
                    },
                };
            if !plain {
                lexer.rewind(before);
                return;
            }
            self.op_count += 1;
        }
    }

    fn anomaly(&mut self, op: &Op<'_>, kind: AnomalyKind) {
        self.graph.anomalies.push(Anomaly {
            offset: op.offset,
            opcode: Some(op.code.name()),
            kind,
        });
    }

    fn step(&mut self, op: &Op<'a>, lexer: &mut Lexer<'a>) -> OpResult {
        let at = op.offset;
        if self.stack.len() == self.stack.capacity() {
            self.reserve(1)?;
        }
        match op.code {
            Opcode::Proto => {
                let p = u8::try_from(int_arg(op)?)
                    .map_err(|_| ErrorKind::MalformedArgument("PROTO argument is not one byte"))?;
                if p > HIGHEST_PROTOCOL {
                    return Err(ErrorKind::UnsupportedProtocol(p));
                }
                self.proto_now = p;
                if self.op_count == 1 {
                    self.protocol = Some(p);
                } else {
                    self.anomaly(op, AnomalyKind::MisplacedProto { protocol: p });
                }
            }
            Opcode::Frame => {}
            Opcode::Stop => unreachable!("handled by run"),

            // Scalars.
            Opcode::None => self.push(Value::None, at),
            Opcode::NewTrue => self.push(Value::Bool(true), at),
            Opcode::NewFalse => self.push(Value::Bool(false), at),
            Opcode::BinInt | Opcode::BinInt1 | Opcode::BinInt2 => {
                self.push(Value::Int(int_arg(op)?), at)
            }
            Opcode::Int => {
                let line = line_arg(op)?;
                self.note_spelling(line, None);
                let value = match self.reading {
                    Reading::PickleLoad => text::c_load_int(line),
                    Reading::JoblibLoad => match line {
                        b"00" => Some(CInt::Bool(false)),
                        b"01" => Some(CInt::Bool(true)),
                        _ => text::py_int(line, 0, false).map(CInt::Int),
                    },
                };
                match value.ok_or(ErrorKind::MalformedArgument(
                    "INT argument is not an integer",
                ))? {
                    CInt::Bool(b) => self.push(Value::Bool(b), at),
                    CInt::Int(v) => self.push_text_int(op, line, v)?,
                }
            }
            Opcode::Long => {
                let line = line_arg(op)?;
                self.note_spelling(line, Some(b"L"));
                // Both loaders drop one trailing 'L' (Python 2's long suffix).
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                let value = text::py_int(digits, 0, self.reading == Reading::PickleLoad).ok_or(
                    ErrorKind::MalformedArgument("LONG argument is not an integer"),
                )?;
                self.push_text_int(op, digits, value)?
            }
            Opcode::Long1 | Opcode::Long4 => {
                let bytes = bytes_arg(op)?;
                match decode_long(bytes) {
                    Some(v) => self.push(Value::Int(v), at),
                    None => self.push_node(
                        Node::BigInt {
                            span: payload_span(op, bytes),
                            encoding: BigIntEncoding::Binary,
                        },
                        at,
                    )?,
                }
            }
            Opcode::Float => {
                let line = line_arg(op)?;
                if !line
                    .iter()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'e' | b'E' | b'+'))
                    || text::parse_float(line, false).is_none_or(f64::is_infinite)
                {
                    self.graph.dialect_sensitive = true;
                }
                let v = text::parse_float(line, self.reading == Reading::JoblibLoad).ok_or(
                    ErrorKind::MalformedArgument("FLOAT argument is not a number"),
                )?;
                self.push(Value::Float(v), at)
            }
            Opcode::BinFloat => match op.arg {
                Arg::Float(v) => self.push(Value::Float(v), at),
                _ => return Err(ErrorKind::MissingArgument("float")),
            },

            // Strings and bytes: the opcode's offset, never a copy (see `Value::Str`).
            Opcode::ShortBinUnicode | Opcode::BinUnicode | Opcode::BinUnicode8 => {
                if !text::is_utf8_surrogatepass(bytes_arg(op)?) {
                    return Err(ErrorKind::MalformedArgument(
                        "the string is not UTF-8 (Python decodes it with surrogatepass)",
                    ));
                }
                self.push(Value::Str(at), at)
            }
            Opcode::Unicode => self.push(Value::Str(at), at),
            Opcode::ShortBinBytes | Opcode::BinBytes | Opcode::BinBytes8 | Opcode::ByteArray8 => {
                self.graph.bytes_ops.push(at);
                self.push(Value::Bytes(at), at)
            }
            // Python 2 strings: both loaders decode them with `encoding="ASCII"` unless told
            // otherwise, so they are str (STACK_GLOBAL takes them), and any other byte fails
            // the load there.
            Opcode::ShortBinString | Opcode::BinString => {
                if !bytes_arg(op)?.is_ascii() {
                    return Err(ErrorKind::MalformedArgument(NOT_ASCII));
                }
                self.push(Value::Str(at), at)
            }
            Opcode::String => {
                let line = line_arg(op)?;
                let quoted = line.len() >= 2
                    && (line[0] == b'\'' || line[0] == b'"')
                    && line[line.len() - 1] == line[0];
                if !quoted {
                    return Err(ErrorKind::MalformedArgument(
                        "the STRING opcode argument must be quoted",
                    ));
                }
                if !text::decode_string_escape(&line[1..line.len() - 1]).is_ascii() {
                    return Err(ErrorKind::MalformedArgument(NOT_ASCII));
                }
                self.push(Value::Str(at), at)
            }
            Opcode::NextBuffer => {
                // Neither loader passes `buffers=`, so both stop here. The joblib reading
                // (which the view is built from) reads on to report what follows.
                self.graph.dialect_sensitive = true;
                if self.reading == Reading::PickleLoad {
                    return Err(ErrorKind::OutOfBandBuffer);
                }
                self.anomaly(op, AnomalyKind::OutOfBandBuffer);
                let index = self.buffers;
                self.buffers += 1;
                self.push_node(
                    Node::Buffer {
                        index,
                        readonly: false,
                    },
                    at,
                )?
            }
            Opcode::ReadonlyBuffer => {
                let top = self.top()?;
                if let Some(Node::Buffer { readonly, .. }) = self.node_mut(top.value) {
                    *readonly = true;
                }
            }

            // Containers.
            Opcode::EmptyList => self.push_node(Node::List(Vec::new()), at)?,
            Opcode::EmptyTuple => self.push_node(Node::Tuple(Vec::new()), at)?,
            Opcode::EmptyDict => self.push_node(Node::Dict(Vec::new()), at)?,
            Opcode::EmptySet => self.push_node(Node::Set(Vec::new()), at)?,
            Opcode::List => {
                let (items, start) = self.pop_mark()?;
                self.push_node(Node::List(values(&items)), start)?
            }
            Opcode::Tuple => {
                let (items, start) = self.pop_mark()?;
                self.push_node(Node::Tuple(values(&items)), start)?
            }
            Opcode::FrozenSet => {
                let (items, start) = self.pop_mark()?;
                check_hashable(self.graph, items.iter())?;
                self.push_node(Node::FrozenSet(values(&items)), start)?
            }
            Opcode::Dict => {
                let (items, start) = self.pop_mark()?;
                if !items.len().is_multiple_of(2) {
                    return Err(ErrorKind::OddItemCount { opcode: "DICT" });
                }
                check_hashable(self.graph, items.iter().step_by(2))?;
                let entries = pairs(&items).collect();
                self.push_node(Node::Dict(entries), start)?
            }
            Opcode::Tuple1 | Opcode::Tuple2 | Opcode::Tuple3 => {
                let n = match op.code {
                    Opcode::Tuple1 => 1,
                    Opcode::Tuple2 => 2,
                    _ => 3,
                };
                let items = self.pop_n(n)?;
                self.push_node(Node::Tuple(values(&items)), items[0].offset)?
            }
            Opcode::Append => {
                let item = self.pop()?;
                let target = self.top()?;
                extend(self.graph, target.value, &[item], "APPEND")?
            }
            // The batch opcodes read their items where they lie on the stack: pickle
            // writes dicts and lists in batches of 1000, and copying each batch out
            // first was a fifth of the time on opcode-dense files.
            Opcode::Appends => {
                let (target, start) = self.mark_target()?;
                extend(self.graph, target, &self.stack[start..], "APPENDS")?;
                self.stack.truncate(start);
            }
            Opcode::AddItems => {
                let (target, start) = self.mark_target()?;
                extend(self.graph, target, &self.stack[start..], "ADDITEMS")?;
                self.stack.truncate(start);
            }
            Opcode::SetItem => {
                let items = self.pop_n(2)?;
                let target = self.top()?;
                set_items(self.graph, target.value, &items)?
            }
            Opcode::SetItems => {
                let (target, start) = self.mark_target()?;
                if !(self.stack.len() - start).is_multiple_of(2) {
                    return Err(ErrorKind::OddItemCount { opcode: "SETITEMS" });
                }
                set_items(self.graph, target, &self.stack[start..])?;
                self.stack.truncate(start);
            }

            // Stack and memo.
            Opcode::Pop => {
                if self.stack.len() > self.base() {
                    self.stack.pop();
                } else {
                    // CPython's load_pop discards the innermost mark when nothing is above it.
                    self.pop_mark()?;
                }
            }
            Opcode::Dup => {
                let top = self.top()?;
                self.stack.push(top);
            }
            Opcode::Mark => {
                if !self.marks.push(self.stack.len(), at) {
                    return Err(ErrorKind::TooManyMarks);
                }
            }
            Opcode::PopMark => {
                self.pop_mark()?;
            }
            Opcode::Get | Opcode::BinGet | Opcode::LongBinGet => {
                if let Arg::Line(line) = op.arg {
                    self.note_spelling(line, None);
                }
                let index = memo_index(op, self.reading)?;
                let value = self.memo.get(index).ok_or(ErrorKind::MemoMissing(index))?;
                self.push(value, at)
            }
            Opcode::Put | Opcode::BinPut | Opcode::LongBinPut => {
                if let Arg::Line(line) = op.arg {
                    self.note_spelling(line, None);
                }
                let index = memo_index(op, self.reading)?;
                let top = self.top()?;
                if self.memo.put(index, top.value) {
                    self.anomaly(op, AnomalyKind::MemoOverwritten { index });
                }
            }
            Opcode::Memoize => {
                let top = self.top()?;
                self.memo.memoize(top.value);
            }

            // Names and calls.
            Opcode::Global => {
                let (module, name) = pair_arg(op)?;
                self.check_name_lines(module, name)?;
                let node = global(module, name, false, self.proto_now)?;
                self.push_node(node, at)?
            }
            Opcode::StackGlobal => {
                let items = self.pop_n(2)?;
                let text = |v: Value| -> Result<String, ErrorKind> {
                    match v {
                        Value::Str(_) => Ok(self.graph.text(v).unwrap_or_default().into_owned()),
                        _ => Err(ErrorKind::StackGlobalNotText),
                    }
                };
                let module = text(items[0].value)?;
                let name = text(items[1].value)?;
                self.push_node(
                    Node::Global(Box::new(GlobalName {
                        module: module.into(),
                        name: name.into(),
                        stack: true,
                        proto: self.proto_now,
                    })),
                    items[0].offset,
                )?
            }
            // CPython raises before calling anything when the callable or the arguments
            // cannot be what the opcode needs; what the graph cannot tell is accepted.
            Opcode::Reduce => {
                let args = self.pop()?;
                let callable = self.pop()?;
                self.expect(callable.value, Shape::Callable, "REDUCE callable")?;
                self.expect(args.value, Shape::Tuple, "REDUCE arguments")?;
                self.push_object(ObjectKind::Reduce, callable, args.value, None)?
            }
            Opcode::NewObj => {
                let args = self.pop()?;
                let cls = self.pop()?;
                self.expect(cls.value, Shape::Callable, "NEWOBJ class")?;
                self.expect(args.value, Shape::Tuple, "NEWOBJ arguments")?;
                self.push_object(ObjectKind::NewObj, cls, args.value, None)?
            }
            Opcode::NewObjEx => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                self.expect(cls.value, Shape::Callable, "NEWOBJ_EX class")?;
                self.expect(args.value, Shape::Tuple, "NEWOBJ_EX arguments")?;
                self.expect(kwargs.value, Shape::Dict, "NEWOBJ_EX keyword arguments")?;
                self.push_object(ObjectKind::NewObjEx, cls, args.value, Some(kwargs.value))?
            }
            Opcode::Inst => {
                let (module, name) = pair_arg(op)?;
                self.check_name_lines(module, name)?;
                let (items, start) = self.pop_mark()?;
                let cls = global(module, name, false, self.proto_now)?;
                let cls = self.node(cls, at)?;
                let args = self.node(Node::Tuple(values(&items)), start)?;
                let callable = Item {
                    value: Value::Node(cls),
                    offset: start,
                };
                self.push_object(ObjectKind::Inst, callable, Value::Node(args), None)?
            }
            Opcode::Obj => {
                let (items, start) = self.pop_mark()?;
                let Some((cls, args)) = items.split_first() else {
                    return Err(ErrorKind::ObjWithoutClass);
                };
                self.expect(cls.value, Shape::Callable, "OBJ class")?;
                let args = self.node(Node::Tuple(values(args)), start)?;
                let callable = Item {
                    value: cls.value,
                    offset: start,
                };
                self.push_object(ObjectKind::Obj, callable, Value::Node(args), None)?
            }
            Opcode::Build => {
                let state = self.pop()?;
                let target = self.top()?;
                self.build(op, lexer, target.value, state.value)?
            }
            Opcode::Ext1 | Opcode::Ext2 | Opcode::Ext4 => {
                let code = int_arg(op)?;
                // copyreg registers codes 1..=0x7fffffff only; both loaders refuse the rest.
                if code <= 0 {
                    return Err(ErrorKind::ExtensionCodeNotPositive);
                }
                self.anomaly(op, AnomalyKind::Extension { code });
                self.push_node(Node::Extension(code), at)?
            }
            Opcode::PersId => {
                self.anomaly(op, AnomalyKind::PersistentId);
                self.push_node(Node::PersistentId(Value::Str(at)), at)?
            }
            Opcode::BinPersId => {
                // The object is made where BINPERSID runs (the id itself may come from a
                // memo far earlier): PERSID and BINPERSID objects both start at their op.
                let pid = self.pop()?;
                self.anomaly(op, AnomalyKind::PersistentId);
                self.push_node(Node::PersistentId(pid.value), at)?
            }
        }
        Ok(())
    }

    /// Fails when a value is certainly not of the shape an opcode needs (a str called, a
    /// list as an argument tuple). Objects, globals and loader-supplied values may be
    /// anything at run time and pass.
    fn expect(&self, value: Value, shape: Shape, what: &'static str) -> OpResult {
        let node = match value {
            Value::Node(id) => Some(self.graph.node(id)),
            _ => None,
        };
        let ok = match node {
            Some(
                Node::Object(_) | Node::Global(_) | Node::PersistentId(_) | Node::Extension(_),
            ) => true,
            Some(Node::Tuple(_)) => shape == Shape::Tuple,
            Some(Node::Dict(_)) => shape == Shape::Dict,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            let kind = node.map_or("scalar or string", |n| n.kind_name());
            Err(ErrorKind::WrongOperand { what, kind })
        }
    }

    // -- stack helpers ------------------------------------------------------------------

    /// Index of the first stack item above the innermost mark.
    fn base(&self) -> usize {
        self.marks.last().map_or(0, |(len, _)| len)
    }

    fn push(&mut self, value: Value, offset: u64) {
        self.stack.push(Item { value, offset });
    }

    /// Room for `extra` more stack items, or a clean error instead of an abort when the
    /// memory (or an address-space limit) runs out: a file of ten million NONEs holds
    /// ten million items, as it would in CPython.
    fn reserve(&mut self, extra: usize) -> Result<(), ErrorKind> {
        self.stack
            .try_reserve(extra)
            .map_err(|_| ErrorKind::StackOutOfMemory {
                items: self.stack.len(),
            })
    }

    fn node(&mut self, node: Node, offset: u64) -> Result<NodeId, ErrorKind> {
        self.graph
            .push(node, offset)
            .ok_or(ErrorKind::TooManyObjects)
    }

    fn push_node(&mut self, node: Node, offset: u64) -> OpResult {
        let id = self.node(node, offset)?;
        self.push(Value::Node(id), offset);
        Ok(())
    }

    /// Pushes a text integer the loader accepted; `digits` is kept as its spelling when
    /// it does not fit an `i64`.
    fn push_text_int(&mut self, op: &Op<'a>, digits: &[u8], value: TextInt) -> OpResult {
        match value {
            TextInt::Small(v) => {
                self.push(Value::Int(v), op.offset);
                Ok(())
            }
            TextInt::Big => self.push_node(
                Node::BigInt {
                    span: Span {
                        offset: op.offset + 1,
                        len: digits.len() as u64,
                    },
                    encoding: BigIntEncoding::Text,
                },
                op.offset,
            ),
        }
    }

    fn pop(&mut self) -> Result<Item, ErrorKind> {
        if self.stack.len() <= self.base() {
            return Err(ErrorKind::StackUnderflow {
                need: 1,
                have: self.stack.len() - self.base(),
            });
        }
        self.stack
            .pop()
            .ok_or(ErrorKind::StackUnderflow { need: 1, have: 0 })
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Item>, ErrorKind> {
        let have = self.stack.len() - self.base();
        if have < n {
            return Err(ErrorKind::StackUnderflow { need: n, have });
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn top(&self) -> Result<Item, ErrorKind> {
        if self.stack.len() <= self.base() {
            return Err(ErrorKind::StackUnderflow { need: 1, have: 0 });
        }
        self.stack
            .last()
            .copied()
            .ok_or(ErrorKind::StackUnderflow { need: 1, have: 0 })
    }

    /// Pops the innermost mark for an opcode that applies the items above it to the
    /// object below it; returns that object and where the items start on the stack.
    fn mark_target(&mut self) -> Result<(Value, usize), ErrorKind> {
        let (start, _) = self.marks.pop().ok_or(ErrorKind::NoMark)?;
        if start <= self.base() {
            return Err(ErrorKind::StackUnderflow { need: 1, have: 0 });
        }
        Ok((self.stack[start - 1].value, start))
    }

    /// Pops the innermost mark and everything above it; returns the items and the MARK's offset.
    fn pop_mark(&mut self) -> Result<(Vec<Item>, u64), ErrorKind> {
        let (len, offset) = self.marks.pop().ok_or(ErrorKind::NoMark)?;
        Ok((self.stack.split_off(len), offset))
    }

    fn node_mut(&mut self, value: Value) -> Option<&mut Node> {
        match value {
            Value::Node(id) => Some(self.graph.node_mut(id)),
            _ => None,
        }
    }

    // -- mutation, as CPython applies it to the real objects ---------------------------

    fn push_object(
        &mut self,
        kind: ObjectKind,
        callable: Item,
        args: Value,
        kwargs: Option<Value>,
    ) -> OpResult {
        let object = Object {
            kind,
            callable: callable.value,
            args,
            kwargs,
            state: None,
            items: Vec::new(),
            entries: Vec::new(),
            inline_data: None,
        };
        self.push_node(Node::Object(Box::new(object)), callable.offset)
    }

    fn build(
        &mut self,
        op: &Op<'a>,
        lexer: &mut Lexer<'a>,
        target: Value,
        state: Value,
    ) -> OpResult {
        let mut dicts = vec![state];
        if let Some(items) = self.graph.sequence(state) {
            dicts.extend(items.iter().copied());
        }
        for d in dicts {
            let installs: Vec<Value> = self
                .graph
                .dict_entries(d)
                .unwrap_or_default()
                .iter()
                .filter(|e| self.graph.text_is(e.key(), "__setstate__"))
                .map(|e| e.value())
                .collect();
            self.graph.setstate_installs.extend(installs);
        }
        match self.node_mut(target) {
            Some(Node::Object(obj)) => obj.state = Some(state),
            Some(Node::Global(_)) => {
                // A module, class or function of the loading process: its `__setstate__`
                // is called, or its `__dict__` updated / attributes set. Allowed by both
                // loaders, and how a pickle monkey-patches the process.
                let global = global_text(self.graph, target);
                self.anomaly(op, AnomalyKind::GlobalMutated { global });
            }
            // What persistent_load or an extension returns is unknown: anything may hold it.
            Some(Node::PersistentId(_) | Node::Extension(_)) => {}
            other => {
                // Plain containers and scalars have no `__setstate__` and no `__dict__`,
                // so the loader fails, unless the state sets nothing at all.
                let kind = other.map_or("scalar", |n| n.kind_name());
                self.graph.dialect_sensitive = true;
                if !self.sets_nothing(state) {
                    return Err(ErrorKind::WrongTarget {
                        action: "BUILD on",
                        kind,
                    });
                }
            }
        }
        if self.reading == Reading::JoblibLoad
            && let Value::Node(id) = target
            && joblib::is_array_wrapper(self.graph, target)
        {
            self.read_joblib_array(op, lexer, id)?;
        }
        Ok(())
    }

    /// `_pickle.c` refuses an empty module or name line before calling `find_class`;
    /// `pickle.py` passes `""` on (and `find_class` fails on it).
    fn check_name_lines(&mut self, module: &[u8], name: &[u8]) -> OpResult {
        if module.is_empty() || name.is_empty() {
            self.graph.dialect_sensitive = true;
            if self.reading == Reading::PickleLoad {
                return Err(ErrorKind::MalformedArgument(
                    "GLOBAL module and name lines may not be empty",
                ));
            }
        }
        Ok(())
    }

    /// Marks the graph dialect-sensitive unless a text number is spelled the way CPython's
    /// pickler writes it (`-?(0|[1-9][0-9]*)`, `00`/`01` for bools, an optional `suffix`):
    /// only then do the C unpickler and the pure-Python one read it alike.
    fn note_spelling(&mut self, line: &[u8], suffix: Option<&[u8]>) {
        let digits = suffix.and_then(|s| line.strip_suffix(s)).unwrap_or(line);
        // `-0` is False to the C unpickler (a three-byte line worth 0), 0 to pickle.py.
        let canonical = matches!(digits, b"0" | b"00" | b"01") || {
            let unsigned = digits.strip_prefix(b"-").unwrap_or(digits);
            unsigned.first().is_some_and(|b| (b'1'..=b'9').contains(b))
                && unsigned.iter().all(u8::is_ascii_digit)
        };
        if !canonical {
            self.graph.dialect_sensitive = true;
        }
    }

    /// Whether BUILD's state would set nothing on an object without `__setstate__`:
    /// `_pickle.c` skips a state (and a slot state) that is None, `pickle.py` one that is
    /// false (`if state:`).
    fn sets_nothing(&self, state: Value) -> bool {
        let empty = |v: Value| match v {
            Value::None => true,
            _ if self.reading == Reading::PickleLoad => false,
            Value::Bool(b) => !b,
            Value::Int(i) => i == 0,
            Value::Float(f) => f == 0.0,
            Value::Str(_) | Value::Bytes(_) => {
                self.graph.bytes_like_len(v).is_some_and(|(n, _)| n == 0)
                    || self.graph.text(v).is_some_and(|t| t.is_empty())
            }
            Value::Node(id) => match self.graph.node(id) {
                Node::List(x) | Node::Tuple(x) | Node::Set(x) | Node::FrozenSet(x) => x.is_empty(),
                Node::Dict(x) => x.is_empty(),
                _ => false,
            },
        };
        if empty(state) {
            return true;
        }
        match self.graph.get(state) {
            Some(Node::Tuple(items)) if items.len() == 2 => empty(items[0]) && empty(items[1]),
            _ => false,
        }
    }

    /// Skips the bytes joblib writes after a `NumpyArrayWrapper`'s BUILD.
    fn read_joblib_array(&mut self, op: &Op<'a>, lexer: &mut Lexer<'a>, id: NodeId) -> OpResult {
        let layout = joblib::layout(self.graph, Value::Node(id))?;
        if let Some(remaining) = lexer.frame_remaining()
            && remaining > 0
        {
            return Err(JoblibError::DataInsideFrame { remaining }.into());
        }
        let data = lexer.data();
        let start = lexer.position();
        let inline = if layout.object {
            // Object arrays are a complete nested pickle, read by plain `pickle.load`:
            // joblib's own array handling does not apply inside it.
            let stream = self.graph.streams.len();
            let end = read_stream(self.graph, self.visitor, start, true, Reading::PickleLoad)
                .map_err(|e| JoblibError::ObjectArray(Box::new(e)))?;
            lexer.skip_to(end as usize);
            InlineData {
                offset: start as u64,
                padding: 0,
                alignment: None,
                data: Span {
                    offset: start as u64,
                    len: 0,
                },
                nested_stream: Some(stream),
                shape: layout.shape,
                dtype: layout.dtype,
                itemsize: layout.itemsize,
            }
        } else {
            let mut pos = start;
            let mut padding = 0u64;
            if let Some(alignment) = layout.alignment {
                let pad = lexer.peek(pos, 1)?[0];
                pos += 1;
                let pad_bytes = lexer.peek(pos, usize::from(pad))?;
                if u64::from(pad) > alignment || pad_bytes.iter().any(|&b| b != 0xff) {
                    self.anomaly(
                        op,
                        AnomalyKind::UnusualJoblibPadding {
                            length: u64::from(pad),
                        },
                    );
                }
                pos += usize::from(pad);
                padding = u64::from(pad);
            }
            let available = (data.len() - pos) as u64;
            if layout.nbytes > available {
                return Err(JoblibError::DataPastEnd {
                    shape: layout.shape,
                    dtype: layout.dtype,
                    nbytes: layout.nbytes,
                    offset: pos as u64,
                    available,
                }
                .into());
            }
            // Checked above: the array fits in the data.
            lexer.skip_to(pos + layout.nbytes as usize);
            InlineData {
                offset: start as u64,
                padding,
                alignment: layout.alignment,
                data: Span {
                    offset: pos as u64,
                    len: layout.nbytes,
                },
                nested_stream: None,
                shape: layout.shape,
                dtype: layout.dtype,
                itemsize: layout.itemsize,
            }
        };
        self.visitor.inline_data(self.stream, &inline);
        if let Node::Object(obj) = self.graph.node_mut(id) {
            obj.inline_data = Some(inline);
        }
        Ok(())
    }
}

/// APPEND / APPENDS onto a list, ADDITEMS onto a set; either onto an object with
/// `extend` / `add`.
fn extend(graph: &mut Graph<'_>, target: Value, items: &[Item], opcode: &'static str) -> OpResult {
    if matches!(graph.get(target), Some(Node::Set(_))) {
        check_hashable(graph, items.iter())?;
    }
    let values = items.iter().map(|i| i.value);
    match (opcode, node_mut(graph, target)) {
        ("ADDITEMS", Some(Node::Set(set))) => set.extend(values),
        ("APPEND" | "APPENDS", Some(Node::List(list))) => list.extend(values),
        (_, Some(Node::Object(obj))) => obj.items.extend(values),
        (_, Some(Node::PersistentId(_) | Node::Extension(_))) => {}
        (_, Some(Node::Global(_))) => mutated_global(graph, target),
        // CPython calls `extend`/`append` on whatever it is; an empty batch calls nothing.
        ("APPENDS" | "ADDITEMS", _) if items.is_empty() => {}
        (_, other) => {
            let kind = other.map_or("scalar", |n| n.kind_name());
            let action = match opcode {
                "APPEND" => "APPEND to",
                "APPENDS" => "APPENDS to",
                _ => "ADDITEMS to",
            };
            return Err(ErrorKind::WrongTarget { action, kind });
        }
    }
    Ok(())
}

/// SETITEM / SETITEMS: key/value pairs, on a dict or an object with `__setitem__`.
fn set_items(graph: &mut Graph<'_>, target: Value, items: &[Item]) -> OpResult {
    if matches!(graph.get(target), Some(Node::Dict(_))) {
        check_hashable(graph, items.iter().step_by(2))?;
    }
    let entries = pairs(items);
    match node_mut(graph, target) {
        Some(Node::Dict(dict)) => dict.extend(entries),
        Some(Node::Object(obj)) => obj.entries.extend(entries),
        Some(Node::PersistentId(_) | Node::Extension(_)) => {}
        Some(Node::Global(_)) => mutated_global(graph, target),
        _ if items.is_empty() => {}
        other => {
            let kind = other.map_or("scalar", |n| n.kind_name());
            return Err(ErrorKind::WrongTarget {
                action: "SETITEM(S) on",
                kind,
            });
        }
    }
    Ok(())
}

/// Dict keys and set members must hash: a list, dict or set (or a tuple holding one) raises
/// TypeError in both loaders. What the graph cannot tell (objects) is taken as hashable.
fn check_hashable<'i>(graph: &Graph<'_>, keys: impl Iterator<Item = &'i Item>) -> OpResult {
    fn unhashable(graph: &Graph<'_>, value: Value, depth: u32) -> bool {
        if let Value::Bytes(at) = value {
            // BYTEARRAY8 pushes a bytearray, which is mutable.
            return usize::try_from(at)
                .ok()
                .and_then(|i| graph.data().get(i))
                .is_some_and(|&b| Opcode::from_byte(b) == Some(Opcode::ByteArray8));
        }
        match graph.get(value) {
            Some(Node::List(_) | Node::Dict(_) | Node::Set(_)) => true,
            Some(Node::Tuple(items)) if depth < 64 => {
                items.iter().any(|&v| unhashable(graph, v, depth + 1))
            }
            _ => false,
        }
    }
    for key in keys {
        // The keys of a vocabulary: a million strings, no lookup and no call needed
        // (the call alone was 4% of inspecting one).
        if matches!(key.value, Value::Str(_) | Value::Int(_)) {
            continue;
        }
        if unhashable(graph, key.value, 0) {
            let kind = graph.get(key.value).map_or("value", Node::kind_name);
            return Err(ErrorKind::Unhashable { kind });
        }
    }
    Ok(())
}

/// Records that an opcode changes an imported global in place (see
/// [`AnomalyKind::GlobalMutated`]).
fn mutated_global(graph: &mut Graph<'_>, target: Value) {
    let global = global_text(graph, target);
    graph.anomalies.push(Anomaly {
        offset: graph.origin_of(target),
        opcode: None,
        kind: AnomalyKind::GlobalMutated { global },
    });
}

/// `module.name` of a global node, as `find_class` resolves it.
fn global_text(graph: &Graph<'_>, target: Value) -> String {
    match graph.get(target) {
        Some(Node::Global(g)) => {
            let r = g.resolved();
            format!("{}.{}", r.module, r.name)
        }
        _ => String::from("?"),
    }
}

fn node_mut<'g>(graph: &'g mut Graph<'_>, value: Value) -> Option<&'g mut Node> {
    match value {
        Value::Node(id) => Some(graph.node_mut(id)),
        _ => None,
    }
}

fn values(items: &[Item]) -> Vec<Value> {
    items.iter().map(|i| i.value).collect()
}

/// Key/value items (as DICT, SETITEM and SETITEMS take them) as dict entries.
fn pairs(items: &[Item]) -> impl Iterator<Item = Entry> + '_ {
    items
        .chunks_exact(2)
        .map(|kv| Entry::new(kv[0].value, kv[1].value, kv[1].offset))
}

fn global(module: &[u8], name: &[u8], stack: bool, proto: u8) -> Result<Node, ErrorKind> {
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(Box::<str>::from)
            .map_err(|_| ErrorKind::MalformedArgument("GLOBAL names must be UTF-8"))
    };
    Ok(Node::Global(Box::new(GlobalName {
        module: text(module)?,
        name: text(name)?,
        stack,
        proto,
    })))
}

fn int_arg(op: &Op<'_>) -> Result<i64, ErrorKind> {
    match op.arg {
        Arg::Int(v) => Ok(v),
        _ => Err(ErrorKind::MissingArgument("integer")),
    }
}

fn line_arg<'a>(op: &Op<'a>) -> Result<&'a [u8], ErrorKind> {
    match op.arg {
        Arg::Line(line) => Ok(line),
        _ => Err(ErrorKind::MissingArgument("text")),
    }
}

fn bytes_arg<'a>(op: &Op<'a>) -> Result<&'a [u8], ErrorKind> {
    match op.arg {
        Arg::Bytes(bytes) => Ok(bytes),
        _ => Err(ErrorKind::MissingArgument("bytes")),
    }
}

fn pair_arg<'a>(op: &Op<'a>) -> Result<(&'a [u8], &'a [u8]), ErrorKind> {
    match op.arg {
        Arg::Pair(module, name) => Ok((module, name)),
        _ => Err(ErrorKind::MissingArgument("module and name")),
    }
}

fn payload_span(op: &Op<'_>, bytes: &[u8]) -> Span {
    Span {
        offset: op.payload_offset,
        len: bytes.len() as u64,
    }
}

/// GET/PUT's memo key: base-10 `PyLong_FromString` in C, `int(line)` in Python (both take
/// whitespace, a sign and underscores).
fn memo_index(op: &Op<'_>, reading: Reading) -> Result<u64, ErrorKind> {
    match op.arg {
        Arg::Int(v) => u64::try_from(v).map_err(|_| ErrorKind::BadMemoIndex("is negative")),
        Arg::Line(line) => match text::py_int(line, 10, reading == Reading::PickleLoad) {
            Some(TextInt::Small(v)) => {
                u64::try_from(v).map_err(|_| ErrorKind::BadMemoIndex("is negative"))
            }
            Some(TextInt::Big) => Err(ErrorKind::BadMemoIndex("does not fit 64 bits")),
            None => Err(ErrorKind::BadMemoIndex("is not an integer")),
        },
        _ => Err(ErrorKind::MissingArgument("memo index")),
    }
}

/// LONG1/LONG4 payloads: little-endian two's complement; `None` when wider than `i64`.
fn decode_long(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 8 {
        return None;
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
    buf[..bytes.len()].copy_from_slice(bytes);
    Some(i64::from_le_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(data: &[u8]) -> Graph<'_> {
        parse(data, &mut Quiet).unwrap()
    }

    #[test]
    fn the_visitor_hears_where_the_reading_has_got_to() {
        struct Passed(Vec<u64>);
        impl Visitor for Passed {
            const WANTS_OPS: bool = false;
            fn passed(&mut self, offset: u64) {
                self.0.push(offset);
            }
        }
        // PROTO 4, BINBYTES8 of 20 MiB, POP, NONE, STOP: POP is past the first step, and
        // the next is due a step after it.
        let len = 20u64 << 20;
        let mut data = b"\x80\x04\x8e".to_vec();
        data.extend_from_slice(&len.to_le_bytes());
        data.resize(data.len() + len as usize, 0);
        data.extend_from_slice(b"0N.");
        let mut passed = Passed(Vec::new());
        let parsed = parse_reading_at(&data, 0, &mut passed, Reading::PickleLoad);
        assert!(parsed.error.is_none(), "{:?}", parsed.error);
        let pop = 2 + 1 + 8 + len;
        assert_eq!(passed.0, [pop]);
    }

    #[test]
    fn builds_a_dict_with_shared_key_through_the_memo() {
        // pickle.dumps([{'n_jobs': 14}, {'n_jobs': -1}], protocol=4)
        let data = b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00]\x94(}\x94\x8c\x06n_jobs\x94K\x0es}\x94h\x02J\xff\xff\xff\xffse.";
        let g = graph(data);
        let root = g.streams[0].root;
        let items = g.sequence(root).unwrap();
        assert_eq!(items.len(), 2);
        let first = g.dict_get(items[0], "n_jobs").unwrap();
        let second = g.dict_get(items[1], "n_jobs").unwrap();
        assert_eq!(first.value(), Value::Int(14));
        assert_eq!(second.value(), Value::Int(-1));
        // The second key is a BINGET of the first: the same node.
        assert_eq!(first.key(), second.key());
        assert_eq!(second.value_offset(), 32);
    }

    #[test]
    fn get_resolves_when_it_runs_not_later() {
        // MARK 1 PUT0 GET0 2 PUT0 (overwrites) GET0 TUPLE: the first GET still means 1.
        let data = b"(K\x01q\x00h\x00K\x02q\x00h\x00t.";
        let g = graph(data);
        let items = g.sequence(g.streams[0].root).unwrap();
        assert_eq!(
            items,
            &[Value::Int(1), Value::Int(1), Value::Int(2), Value::Int(2)]
        );
        assert!(
            g.anomalies
                .iter()
                .any(|a| a.kind == AnomalyKind::MemoOverwritten { index: 0 })
        );
    }

    #[test]
    fn stack_global_resolves_names_through_the_memo() {
        // protocol 4: 'os' MEMOIZE, 'system' MEMOIZE, STACK_GLOBAL, GET 0, GET 1, STACK_GLOBAL, TUPLE2
        let data = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93h\x00h\x01\x93\x86.";
        let g = graph(data);
        let items = g.sequence(g.streams[0].root).unwrap();
        assert_eq!(g.global(items[0]), Some(("os", "system")));
        assert_eq!(g.global(items[1]), Some(("os", "system")));
    }

    #[test]
    fn build_after_memoize_is_seen_through_every_get() {
        // cls NEWOBJ MEMOIZE; {'a': 1} BUILD; GET 1 (the object); TUPLE2
        let data = b"\x80\x04\x8c\x01m\x8c\x01C\x93)\x81\x94}\x8c\x01aK\x01sbh\x00\x86.";
        let g = graph(data);
        let items = g.sequence(g.streams[0].root).unwrap();
        assert_eq!(items[0], items[1]);
        let state = g.state_dict(items[1]).unwrap();
        assert_eq!(g.dict_get(state, "a").unwrap().value(), Value::Int(1));
        assert_eq!(g.class_of(items[0]), Some(("m", "C")));
    }

    #[test]
    fn cannot_pop_below_a_mark() {
        let err = parse(b"N(R.", &mut Quiet).unwrap_err();
        assert_eq!(err.offset, 2);
        assert_eq!(err.opcode, Some("REDUCE"));
        assert!(matches!(err.kind, ErrorKind::StackUnderflow { .. }));
    }

    #[test]
    fn keys_that_python_cannot_hash_fail_and_the_rest_pass() {
        // `}` EMPTY_DICT, `]` EMPTY_LIST, `)` EMPTY_TUPLE, `t` TUPLE, `s` SETITEM,
        // `\x96` BYTEARRAY8 (protocol 5).
        for (stream, kind) in [
            (&b"}]Ns."[..], Some("list")),
            (b"}(]tNs.", Some("tuple")),
            (b"}((]ttNs.", Some("tuple")),
            (
                b"\x80\x05}\x96\x00\x00\x00\x00\x00\x00\x00\x00Ns.",
                Some("bytearray"),
            ),
            (b"}X\x01\x00\x00\x00aNs.", None),
            (b"}K\x01Ns.", None),
            (b"}(X\x01\x00\x00\x00aK\x01)tNs.", None),
        ] {
            let result = parse(stream, &mut Quiet);
            match kind {
                Some(_) => assert!(
                    matches!(result, Err(ref e) if matches!(e.kind, ErrorKind::Unhashable { .. })),
                    "{stream:?}: {:?}",
                    result.err()
                ),
                None => assert!(result.is_ok(), "{stream:?}: {:?}", result.err()),
            }
        }
    }

    #[test]
    fn missing_memo_slot_is_an_error() {
        let err = parse(b"h\x05.", &mut Quiet).unwrap_err();
        assert_eq!(err.kind, ErrorKind::MemoMissing(5));
    }

    #[test]
    fn a_second_stream_is_read_and_garbage_is_trailing() {
        let g = graph(b"N.K\x01.\x00\x01");
        assert_eq!(g.streams.len(), 2);
        assert_eq!(g.streams[1].root, Value::Int(1));
        assert_eq!(g.trailing, Some(Span { offset: 5, len: 2 }));
    }

    #[test]
    fn protocol_0_text_forms() {
        let g = graph(b"(I01\nI14\nL12345678901234567890123L\nF1.5\nV\\u00e9\nS'a\\'b'\ntp0\n.");
        let items = g.sequence(g.streams[0].root).unwrap();
        assert_eq!(items[0], Value::Bool(true));
        assert_eq!(items[1], Value::Int(14));
        assert!(matches!(g.get(items[2]), Some(Node::BigInt { .. })));
        assert_eq!(items[3], Value::Float(1.5));
        assert_eq!(g.text(items[4]).unwrap(), "é");
        assert_eq!(g.text(items[5]).unwrap(), "a'b");
    }

    #[test]
    fn long1_decodes_twos_complement() {
        assert_eq!(decode_long(&[0xff]), Some(-1));
        assert_eq!(decode_long(&[0x00, 0x01]), Some(256));
        assert_eq!(decode_long(&[]), Some(0));
        assert_eq!(decode_long(&[0; 9]), None);
    }

    #[test]
    fn sparse_memo_indices_do_not_allocate() {
        // LONG_BINPUT 0xffffffff then LONG_BINGET of it.
        let g = graph(b"Nr\xff\xff\xff\xffj\xff\xff\xff\xff\x86.");
        let items = g.sequence(g.streams[0].root).unwrap();
        assert_eq!(items, &[Value::None, Value::None]);
    }
}
