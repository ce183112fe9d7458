//! The object graph a pickle stream describes, built without importing or calling anything.
//!
//! Nodes live in one arena and refer to each other by [`NodeId`]; a memo GET shares an id
//! instead of copying, so a "memo bomb" (a list that holds itself a million times) costs
//! a million ids, not an exponential tree. Containers and objects are mutated in place by
//! APPENDS / SETITEMS / BUILD exactly as CPython mutates the real objects, so a node that
//! was memoized before its BUILD still sees its state through every later GET.

use std::borrow::Cow;

use super::lexer::{Arg, Lexer};
use super::opcode::Opcode;
use super::text;

pub type NodeId = u32;

/// A value on the stack or inside a container.
///
/// Scalars are inline. So are strings and bytes: Python never mutates them through a
/// pickle, so they need no identity, and the opcode that pushed them already holds
/// their length and bytes. `Str` and `Bytes` carry that opcode's offset and are read
/// back on demand ([`Graph::text`], [`Graph::bytes_like`]). A 1.3 M-term vocabulary
/// then costs no arena nodes at all. Everything else is a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A str, by the offset of the opcode that pushed it (BINUNICODE, UNICODE, PERSID...).
    Str(u64),
    /// A bytes, bytearray or Python 2 str, by the offset of the opcode that pushed it.
    Bytes(u64),
    Node(NodeId),
}

/// How many tags [`Value::to_parts`] gives (0 to 6): a packing may use 7 for itself.
pub(super) const VALUE_TAGS: u64 = 7;

impl Value {
    /// A tag below [`VALUE_TAGS`] and a payload word: the halves of the packings the dict
    /// entries and the memo keep values in.
    pub(super) fn to_parts(self) -> (u64, u64) {
        match self {
            Value::None => (0, 0),
            Value::Bool(b) => (1, u64::from(b)),
            Value::Int(v) => (2, v as u64),
            Value::Float(v) => (3, v.to_bits()),
            Value::Str(offset) => (4, offset),
            Value::Bytes(offset) => (5, offset),
            Value::Node(id) => (6, u64::from(id)),
        }
    }

    pub(super) fn from_parts(tag: u64, payload: u64) -> Value {
        match tag {
            1 => Value::Bool(payload != 0),
            2 => Value::Int(payload as i64),
            3 => Value::Float(f64::from_bits(payload)),
            4 => Value::Str(payload),
            5 => Value::Bytes(payload),
            // Packed from a NodeId by `to_parts`, so it fits.
            6 => Value::Node(payload as NodeId),
            _ => Value::None,
        }
    }
}

/// A byte range of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub offset: u64,
    pub len: u64,
}

impl Span {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BigIntEncoding {
    /// Decimal text (INT, LONG).
    Text,
    /// Little-endian two's complement (LONG1, LONG4).
    Binary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// `callable(*args)` (REDUCE).
    Reduce,
    /// `cls.__new__(cls, *args)` (NEWOBJ).
    NewObj,
    /// `cls.__new__(cls, *args, **kwargs)` (NEWOBJ_EX).
    NewObjEx,
    /// Protocol 0 INST: class named inline, arguments from the mark.
    Inst,
    /// Protocol 1 OBJ: class and arguments from the mark.
    Obj,
}

impl ObjectKind {
    pub fn opcode_name(self) -> &'static str {
        match self {
            ObjectKind::Reduce => "REDUCE",
            ObjectKind::NewObj => "NEWOBJ",
            ObjectKind::NewObjEx => "NEWOBJ_EX",
            ObjectKind::Inst => "INST",
            ObjectKind::Obj => "OBJ",
        }
    }
}

/// One key/value pair of a dict (or of SETITEMS applied to an object).
///
/// 24 bytes, not the 40 of two [`Value`]s and an offset: a 1.5 M-term vocabulary is
/// 1.5 M of these, the largest part of a text pipeline's heap. Each value's payload
/// (an `i64`, an `f64`'s bits, an offset or a node id) takes a word whole; the two
/// 3-bit tags share the third word with the value's offset.
#[derive(Clone, Copy)]
pub struct Entry {
    key: u64,
    value: u64,
    /// The key's tag, the value's tag, then the value's offset in the top 58 bits.
    tags_and_offset: u64,
}

const TAG_BITS: u32 = 3;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
/// The largest value offset an [`Entry`] holds: 256 PiB. Offsets index the stream's bytes
/// in memory, and no 64-bit address space (57 bits at most) reaches that far; the
/// saturation only keeps a wrong offset from corrupting the tags.
pub const MAX_ENTRY_OFFSET: u64 = u64::MAX >> (2 * TAG_BITS);

impl Entry {
    pub fn new(key: Value, value: Value, value_offset: u64) -> Entry {
        let (key_tag, key) = key.to_parts();
        let (value_tag, value) = value.to_parts();
        Entry {
            key,
            value,
            tags_and_offset: key_tag
                | (value_tag << TAG_BITS)
                | (value_offset.min(MAX_ENTRY_OFFSET) << (2 * TAG_BITS)),
        }
    }

    pub fn key(&self) -> Value {
        Value::from_parts(self.tags_and_offset & TAG_MASK, self.key)
    }

    pub fn value(&self) -> Value {
        Value::from_parts((self.tags_and_offset >> TAG_BITS) & TAG_MASK, self.value)
    }

    /// Offset of the first opcode that pushed the value: where a patch starts.
    pub fn value_offset(&self) -> u64 {
        self.tags_and_offset >> (2 * TAG_BITS)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.key() == other.key()
            && self.value() == other.value()
            && self.value_offset() == other.value_offset()
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key())
            .field("value", &self.value())
            .field("value_offset", &self.value_offset())
            .finish()
    }
}

/// The result of calling something: REDUCE, NEWOBJ, INST, OBJ.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub kind: ObjectKind,
    /// What is called: usually a [`Node::Global`].
    pub callable: Value,
    pub args: Value,
    pub kwargs: Option<Value>,
    /// The argument of the last BUILD applied to the object.
    pub state: Option<Value>,
    /// Items appended (APPEND/APPENDS/ADDITEMS) to an object that is not a plain container.
    pub items: Vec<Value>,
    /// Pairs set (SETITEM/SETITEMS) on an object that is not a plain dict.
    pub entries: Vec<Entry>,
    /// Data that follows the object outside the opcode stream (joblib arrays).
    pub inline_data: Option<InlineData>,
}

/// Bytes that a loader reads straight from the file after an object's BUILD.
#[derive(Clone, Debug, PartialEq)]
pub struct InlineData {
    /// Where the padding byte (or the nested stream) starts.
    pub offset: u64,
    /// Length of the padding, not counting the padding-length byte.
    pub padding: u64,
    /// `numpy_array_alignment_bytes`: the data starts on a multiple of it (no padding
    /// byte at all when None, as in joblib < 0.12 files).
    pub alignment: Option<u64>,
    /// The raw array bytes (empty for a nested stream).
    pub data: Span,
    /// For object arrays: index of the nested stream in [`Graph::streams`].
    pub nested_stream: Option<usize>,
    pub shape: Vec<u64>,
    pub dtype: String,
    pub itemsize: u64,
}

/// `module.name` as a GLOBAL, STACK_GLOBAL or INST spelled it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalName {
    pub module: Box<str>,
    pub name: Box<str>,
    /// Whether it came from STACK_GLOBAL (true) or GLOBAL/INST (false).
    pub stack: bool,
    /// The unpickler's protocol when the name was read (`find_class` renames Python 2
    /// names below 3 and walks dotted names from 4; see [`super::names`]).
    pub proto: u8,
}

impl GlobalName {
    /// What `find_class` imports for this name.
    pub fn resolved(&self) -> super::names::Resolved {
        super::names::resolve(&self.module, &self.name, self.proto)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// An integer too large for `i64` (or text we keep verbatim).
    BigInt {
        span: Span,
        encoding: BigIntEncoding,
    },
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<Entry>),
    Set(Vec<Value>),
    FrozenSet(Vec<Value>),
    Global(Box<GlobalName>),
    Object(Box<Object>),
    PersistentId(Value),
    Extension(i64),
    /// An out-of-band buffer (NEXT_BUFFER): its bytes are not in the file.
    Buffer {
        index: u64,
        readonly: bool,
    },
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Node::BigInt { .. } => "int",
            Node::List(_) => "list",
            Node::Tuple(_) => "tuple",
            Node::Dict(_) => "dict",
            Node::Set(_) => "set",
            Node::FrozenSet(_) => "frozenset",
            Node::Global(_) => "global",
            Node::Object(_) => "object",
            Node::PersistentId(_) => "persistent id",
            Node::Extension(_) => "extension",
            Node::Buffer { .. } => "buffer",
        }
    }
}

/// One complete pickle stream (PROTO .. STOP) in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Stream {
    pub offset: u64,
    /// Offset just past STOP.
    pub end: u64,
    /// The PROTO argument, or `None` for protocol 0/1 streams that have no PROTO.
    pub protocol: Option<u8>,
    pub root: Value,
    pub op_count: u64,
    /// The newest protocol among the stream's opcodes (pickletools' "highest protocol
    /// among opcodes"): tells protocol 0 from 1 when there is no PROTO.
    pub highest_opcode_protocol: u8,
    /// Whether this stream is a joblib object array nested inside another stream.
    pub nested: bool,
}

/// Something a loader tolerates but a reviewer should hear about.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    pub offset: u64,
    pub opcode: Option<&'static str>,
    pub kind: AnomalyKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AnomalyKind {
    /// Items left on the stack (or marks left open) at STOP.
    StackNotEmpty { items: usize, marks: usize },
    /// A PUT wrote over a memo slot that was already set.
    MemoOverwritten { index: u64 },
    /// A PROTO that is not the first opcode of its stream.
    MisplacedProto { protocol: u8 },
    /// An opcode newer than the stream's declared protocol.
    OpcodeAboveProtocol { protocol: u8 },
    /// PERSID/BINPERSID: needs the loader's `persistent_load`.
    PersistentId,
    /// EXT1/2/4: resolved through the copyreg extension registry at load time.
    Extension { code: i64 },
    /// NEXT_BUFFER: needs buffers passed to the loader.
    OutOfBandBuffer,
    /// joblib padding that is longer than alignment needs or not made of 0xFF.
    UnusualJoblibPadding { length: u64 },
    /// BUILD, APPEND(S), ADDITEMS or SETITEM(S) applied to an imported global itself: the
    /// loader sets attributes of (or calls `__setstate__` on, or adds items to) a module,
    /// class or function of the running process.
    GlobalMutated { global: String },
}

impl AnomalyKind {
    /// A short kebab-case name and a sentence, for findings and reports.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            AnomalyKind::StackNotEmpty { items, marks } => (
                "stack-not-empty",
                format!("{items} items and {marks} marks left on the stack at STOP"),
            ),
            AnomalyKind::MemoOverwritten { index } => (
                "memo-overwritten",
                format!("memo slot {index} written twice"),
            ),
            AnomalyKind::MisplacedProto { protocol } => (
                "misplaced-proto",
                format!("PROTO {protocol} in the middle of a stream"),
            ),
            AnomalyKind::OpcodeAboveProtocol { protocol } => (
                "opcode-above-protocol",
                format!("opcode newer than the stream's protocol {protocol}"),
            ),
            AnomalyKind::PersistentId => (
                "persistent-id",
                "persistent id: the loader must supply persistent_load".into(),
            ),
            AnomalyKind::Extension { code } => (
                "extension-code",
                format!("extension code {code}: resolved through copyreg's registry at load"),
            ),
            AnomalyKind::OutOfBandBuffer => (
                "out-of-band-buffer",
                "out-of-band buffer: its bytes are not in this file".into(),
            ),
            AnomalyKind::GlobalMutated { global } => (
                "global-mutated",
                format!(
                    "the load changes the imported global {global} in place (BUILD or item opcodes on it)"
                ),
            ),
            AnomalyKind::UnusualJoblibPadding { length } => (
                "unusual-joblib-padding",
                format!("joblib array padding of {length} bytes that is not plain alignment"),
            ),
        }
    }
}

/// Where the bytes of a bytes-like value are (see [`Graph::bytes_like`]).
enum BytesSource {
    Raw(Span),
    Empty,
    /// A str whose characters are the bytes (latin-1).
    Latin1(Value),
}

/// The arena plus everything found while reading a file.
#[derive(Debug, PartialEq)]
pub struct Graph<'a> {
    data: &'a [u8],
    nodes: Vec<Node>,
    /// Offset of the opcode that created each node.
    origins: Vec<u64>,
    pub streams: Vec<Stream>,
    pub anomalies: Vec<Anomaly>,
    /// Bytes after the last stream that do not form a pickle stream.
    pub trailing: Option<Span>,
    /// Offsets of every opcode that pushed bytes, kept or popped: where content can
    /// hide from a reader that only looks at the final object graph.
    pub bytes_ops: Vec<u64>,
    /// Whether the stream holds something `pickle.load` and `joblib.load` may read
    /// differently (a text number not spelled as CPython's pickler spells it, a BUILD that
    /// sets nothing on a container): the other loader's reading must be made too.
    pub dialect_sensitive: bool,
    /// Values a BUILD state stored under `__setstate__` (in the dict or the slot state):
    /// the next BUILD on that object calls them.
    pub setstate_installs: Vec<Value>,
}

impl<'a> Graph<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Graph {
            data,
            nodes: Vec::new(),
            origins: Vec::new(),
            streams: Vec::new(),
            anomalies: Vec::new(),
            trailing: None,
            bytes_ops: Vec::new(),
            dialect_sensitive: false,
            setstate_installs: Vec::new(),
        }
    }

    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds a node; `None` when the arena is full (more than `u32::MAX` nodes).
    pub(crate) fn push(&mut self, node: Node, origin: u64) -> Option<NodeId> {
        let id = NodeId::try_from(self.nodes.len()).ok()?;
        self.nodes.push(node);
        self.origins.push(origin);
        Some(id)
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub(crate) fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    /// Offset of the opcode that created the node.
    pub fn origin(&self, id: NodeId) -> u64 {
        self.origins[id as usize]
    }

    /// Offset of the opcodes that build a value (0 for inline scalars, which have none here).
    pub fn origin_of(&self, value: Value) -> u64 {
        match value {
            Value::Node(id) => self.origin(id),
            _ => 0,
        }
    }

    pub fn get(&self, value: Value) -> Option<&Node> {
        match value {
            Value::Node(id) => Some(self.node(id)),
            _ => None,
        }
    }

    /// The bytes of `span`, fetched first when the data is a remote object's. A fetch
    /// that fails leaves its mark on the mirror, which fails the whole read (see
    /// `store::Mirror::failure`), so the zeros of a hole never reach a verdict.
    pub fn bytes(&self, span: Span) -> &'a [u8] {
        let bytes = self.bytes_unfetched(span);
        let _ = crate::store::ensure(bytes);
        bytes
    }

    /// The bytes of `span` as they lie, without fetching a remote object's: for a reader
    /// that fetches what it reads (a [`Lexer`]).
    pub fn bytes_unfetched(&self, span: Span) -> &'a [u8] {
        // Spans are made by the lexer from in-bounds slices.
        &self.data[span.offset as usize..span.end() as usize]
    }

    /// The opcode at `offset` and its payload (for text lines, the line; for STRING,
    /// the text between the quotes). Only called with offsets of opcodes that pushed
    /// a [`Value::Str`] or [`Value::Bytes`], which the lexer has already validated.
    fn payload_at(&self, offset: u64) -> Option<(Opcode, Span)> {
        let op = Lexer::new(self.data, usize::try_from(offset).ok()?)
            .next_op()
            .ok()?;
        let (start, len) = match op.arg {
            Arg::Bytes(b) => (op.payload_offset, b.len() as u64),
            Arg::Line(l) if op.code == Opcode::String => {
                (op.offset + 2, (l.len() as u64).saturating_sub(2))
            }
            Arg::Line(l) => (op.offset + 1, l.len() as u64),
            _ => return None,
        };
        Some((op.code, Span { offset: start, len }))
    }

    /// The byte span of a str or bytes value's contents (for STRING, still escaped).
    pub fn span_of(&self, value: Value) -> Option<Span> {
        match value {
            Value::Str(offset) | Value::Bytes(offset) => self.payload_at(offset).map(|(_, s)| s),
            _ => None,
        }
    }

    /// The text of a `str` value (or of a Python 2 string, read as latin-1).
    pub fn text(&self, value: Value) -> Option<Cow<'a, str>> {
        let (Value::Str(offset) | Value::Bytes(offset)) = value else {
            return None;
        };
        let (code, span) = self.payload_at(offset)?;
        let bytes = self.bytes(span);
        Some(match code {
            Opcode::ShortBinUnicode | Opcode::BinUnicode | Opcode::BinUnicode8 | Opcode::PersId => {
                String::from_utf8_lossy(bytes)
            }
            Opcode::Unicode => Cow::Owned(text::decode_raw_unicode_escape(bytes)),
            Opcode::ShortBinString | Opcode::BinString => Cow::Owned(text::latin1(bytes)),
            Opcode::String => Cow::Owned(text::latin1(&text::decode_string_escape(bytes))),
            _ => return None,
        })
    }

    /// Whether `value` is a str equal to `expected` (compares bytes when it can).
    pub fn text_is(&self, value: Value, expected: &str) -> bool {
        let Value::Str(offset) = value else {
            return false;
        };
        match self.payload_at(offset) {
            Some((Opcode::ShortBinUnicode | Opcode::BinUnicode | Opcode::BinUnicode8, span)) => {
                self.bytes(span) == expected.as_bytes()
            }
            Some(_) => self.text(value).is_some_and(|t| t == expected),
            None => false,
        }
    }

    /// The opcode that pushed a bytes-like value's bytes: the value's own, or the bytes
    /// argument of `bytearray(b'...')`. `None` for text-spelled bytes (protocols 0-2).
    pub fn bytes_op(&self, value: Value) -> Option<u64> {
        match value {
            Value::Bytes(offset) => Some(offset),
            Value::Node(_) => {
                let obj = self.object(value)?;
                let callee = self.global(obj.callable)?;
                if !matches!(callee, ("builtins" | "__builtin__", "bytearray" | "bytes")) {
                    return None;
                }
                match self.sequence(obj.args)? {
                    [inner] => self.bytes_op(*inner),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The contents of a bytes-like value, however the pickler spelled it: a bytes or
    /// bytearray opcode (with its span), `bytearray(b'...')` (protocols 3-4), or
    /// `bytearray(text, 'latin-1')` / `_codecs.encode(text, 'latin1')` (protocols 0-2, where
    /// the bytes are a latin-1 decoded str and have no span of their own).
    pub fn bytes_like(&self, value: Value) -> Option<(Cow<'a, [u8]>, Option<Span>)> {
        match self.bytes_source(value)? {
            BytesSource::Raw(span) => Some((Cow::Borrowed(self.bytes(span)), Some(span))),
            BytesSource::Empty => Some((Cow::Borrowed(&[][..]), None)),
            BytesSource::Latin1(text) => {
                let text = self.text(text)?;
                let bytes: Option<Vec<u8>> = text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect();
                Some((Cow::Owned(bytes?), None))
            }
        }
    }

    /// For a bytes-like value spelled as latin-1 text (protocols 0-2), the offset of the
    /// str opcode whose characters are the bytes.
    pub fn latin1_text_op(&self, value: Value) -> Option<u64> {
        match self.bytes_source(value)? {
            BytesSource::Latin1(Value::Str(offset)) => Some(offset),
            _ => None,
        }
    }

    /// The length of a bytes-like value, and its span when its bytes lie in the file as
    /// they are: like [`Graph::bytes_like`], without decoding latin-1 text into memory
    /// (a protocol 0-2 array is that text, as large as the array).
    pub fn bytes_like_len(&self, value: Value) -> Option<(u64, Option<Span>)> {
        match self.bytes_source(value)? {
            BytesSource::Raw(span) => Some((span.len, Some(span))),
            BytesSource::Empty => Some((0, None)),
            BytesSource::Latin1(text) => Some((self.text_len(text)?, None)),
        }
    }

    /// Characters in a str value, counted without building the string.
    fn text_len(&self, value: Value) -> Option<u64> {
        let Value::Str(offset) = value else {
            return None;
        };
        let (code, span) = self.payload_at(offset)?;
        let bytes = self.bytes(span);
        Some(match code {
            Opcode::Unicode => text::raw_unicode_escape_len(bytes),
            _ => match std::str::from_utf8(bytes) {
                Ok(s) => s.chars().count() as u64,
                Err(_) => String::from_utf8_lossy(bytes).chars().count() as u64,
            },
        })
    }

    /// Where a bytes-like value's bytes are: its own opcode's payload, or (protocols 0-2)
    /// a str to encode as latin-1, however `bytearray`/`bytes`/`_codecs.encode` wrap them.
    fn bytes_source(&self, value: Value) -> Option<BytesSource> {
        if let Value::Bytes(offset) = value {
            let (code, span) = self.payload_at(offset)?;
            return (code != Opcode::String).then_some(BytesSource::Raw(span));
        }
        let Node::Object(obj) = self.get(value)? else {
            return None;
        };
        if obj.kind != ObjectKind::Reduce {
            return None;
        }
        let known = matches!(
            self.global(obj.callable)?,
            ("builtins" | "__builtin__", "bytearray" | "bytes") | ("_codecs", "encode")
        );
        if !known {
            return None;
        }
        match self.sequence(obj.args)? {
            [] => Some(BytesSource::Empty),
            [inner] => self.bytes_source(*inner),
            [text, encoding, ..] => {
                let encoding = self.text(*encoding)?;
                matches!(encoding.as_ref(), "latin-1" | "latin1" | "iso-8859-1")
                    .then_some(BytesSource::Latin1(*text))
            }
        }
    }

    pub fn global(&self, value: Value) -> Option<(&str, &str)> {
        match self.get(value)? {
            Node::Global(g) => Some((&g.module, &g.name)),
            _ => None,
        }
    }

    pub fn object(&self, value: Value) -> Option<&Object> {
        match self.get(value)? {
            Node::Object(obj) => Some(obj),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    pub fn sequence(&self, value: Value) -> Option<&[Value]> {
        match self.get(value)? {
            Node::Tuple(items) | Node::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn dict_entries(&self, value: Value) -> Option<&[Entry]> {
        match self.get(value)? {
            Node::Dict(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value stored under a str key. The last one wins, as in a Python dict.
    pub fn dict_get(&self, dict: Value, key: &str) -> Option<&Entry> {
        self.dict_entries(dict)?
            .iter()
            .rev()
            .find(|e| self.text_is(e.key(), key))
    }

    /// The class an object is an instance of, as `(module, name)`.
    ///
    /// NEWOBJ, INST and OBJ name it directly. For REDUCE, protocol 0/1 pickles of plain
    /// classes call `copyreg._reconstructor(cls, base, state)`, so the class is the first
    /// argument; any other REDUCE is a call, and its "class" is the callable itself.
    pub fn class_of(&self, value: Value) -> Option<(&str, &str)> {
        let obj = self.object(value)?;
        match obj.kind {
            ObjectKind::Reduce => {
                let callee = self.global(obj.callable)?;
                if matches!(
                    callee,
                    ("copyreg", "_reconstructor") | ("copy_reg", "_reconstructor")
                ) {
                    let first = *self.sequence(obj.args)?.first()?;
                    self.global(first)
                } else {
                    Some(callee)
                }
            }
            _ => self.global(obj.callable),
        }
    }

    /// The state dict of an object: BUILD's argument, or the dict half of a
    /// `(dict, slots)` state tuple.
    pub fn state_dict(&self, value: Value) -> Option<Value> {
        let state = self.object(value)?.state?;
        match self.get(state)? {
            Node::Dict(_) => Some(state),
            Node::Tuple(items) if items.len() == 2 => {
                let first = items[0];
                matches!(self.get(first), Some(Node::Dict(_))).then_some(first)
            }
            _ => None,
        }
    }

    /// Iterates over every node id.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        0..self.nodes.len() as NodeId
    }
}

#[cfg(test)]
pub(in crate::pickle) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any value, with ranges weighted toward the edges the packings cut at (the
    /// memo's 61-bit payload, small offsets). Shared with the memo's tests.
    pub(in crate::pickle) fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::None),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-(1i64 << 62)..(1i64 << 62)).prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            any::<u64>().prop_map(Value::Str),
            (0..(1u64 << 40)).prop_map(Value::Bytes),
            any::<u64>().prop_map(Value::Bytes),
            any::<u32>().prop_map(Value::Node),
        ]
    }

    /// Floats compared by their bits, so a NaN round trip counts.
    pub(in crate::pickle) fn same(a: Value, b: Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    #[test]
    fn an_entry_is_three_words_and_keeps_its_edges() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        let nan = f64::from_bits(0x7ff8_0000_dead_beef);
        for (key, value) in [
            (Value::Int(i64::MIN), Value::Int(i64::MAX)),
            (Value::Str(u64::MAX), Value::Float(nan)),
            (Value::Node(u32::MAX), Value::Bytes(u64::MAX)),
            (Value::Bool(true), Value::None),
            (Value::None, Value::Bool(false)),
            (Value::Float(-0.0), Value::Node(0)),
        ] {
            let entry = Entry::new(key, value, MAX_ENTRY_OFFSET);
            assert!(
                same(entry.key(), key),
                "{key:?} came back as {:?}",
                entry.key()
            );
            assert!(
                same(entry.value(), value),
                "{value:?} came back as {:?}",
                entry.value()
            );
            assert_eq!(entry.value_offset(), MAX_ENTRY_OFFSET);
        }
    }

    #[test]
    fn an_offset_past_the_field_saturates() {
        let entry = Entry::new(Value::None, Value::None, u64::MAX);
        assert_eq!(entry.value_offset(), MAX_ENTRY_OFFSET);
        // The saturation leaves both tags alone.
        assert_eq!(entry.key(), Value::None);
        assert_eq!(
            Entry::new(Value::Int(1), Value::Str(2), u64::MAX).value(),
            Value::Str(2)
        );
    }

    proptest! {
        #[test]
        fn every_pair_round_trips(key in value(), value in value(), offset in 0..=MAX_ENTRY_OFFSET) {
            let entry = Entry::new(key, value, offset);
            prop_assert!(same(entry.key(), key), "{:?} came back as {:?}", key, entry.key());
            prop_assert!(same(entry.value(), value), "{:?} came back as {:?}", value, entry.value());
            prop_assert_eq!(entry.value_offset(), offset);
        }
    }
}
