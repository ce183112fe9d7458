//! A zero-copy lexer: bytes in, [`Op`]s out, each with its `u64` offset.
//!
//! Arguments borrow from the input, so a 5 GB `BINBYTES8` payload is a slice of the
//! memory map and its pages are never touched. Every length is checked against the
//! bytes that remain before it is used; nothing is allocated from a length field.
//!
//! Frames (protocol 4+) are tracked the way CPython's pure-Python `_Unframer` reads
//! them (joblib's loader is that unpickler): an opcode may not straddle the end of a
//! frame, and a FRAME may not start before the current frame is used up. The C unpickler
//! (`pickle.load`) only checks that a frame's bytes exist ([`Lexer::set_strict_frames`]).

use super::error::{ErrorKind, PickleError};
use super::opcode::{ArgEncoding, Opcode};

/// Bytes payloads up to this long are fetched with their opcode when the data is a
/// remote object's mirror; a longer one (an array's buffer) only when someone reads it,
/// apart from its first [`PAYLOAD_HEAD`] bytes (enough for a listing's preview, or to
/// tell a nested pickle).
const EAGER_PAYLOAD: u64 = 1 << 20;
const PAYLOAD_HEAD: u64 = 4096;

/// An opcode's decoded inline argument, borrowing from the input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg<'a> {
    None,
    /// Fixed-width integers (`uint1`, `uint2`, `int4`, `uint4`).
    Int(i64),
    /// FRAME's `uint8` length.
    U64(u64),
    /// BINFLOAT.
    Float(f64),
    /// A length-prefixed payload (strings, bytes, LONG1/LONG4 digits).
    Bytes(&'a [u8]),
    /// A text line, without its newline.
    Line(&'a [u8]),
    /// GLOBAL / INST: module and name lines.
    Pair(&'a [u8], &'a [u8]),
}

/// One lexed opcode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Op<'a> {
    /// Offset of the opcode byte in the input.
    pub offset: u64,
    pub code: Opcode,
    pub arg: Arg<'a>,
    /// Offset of a length-prefixed payload's first byte (equal to `end` for other opcodes).
    pub payload_offset: u64,
    /// Offset just past the opcode and its argument.
    pub end: u64,
}

/// The opcodes that make up most of an opcode-dense file (a vocabulary is millions of
/// `SHORT_BINUNICODE, MEMOIZE, BININT1`), decoded without building an [`Op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShortOp {
    /// SHORT_BINUNICODE at this offset.
    ShortBinUnicode(u64),
    /// BININT1, BININT2 or BININT.
    Int(i64),
    Memoize,
    /// BINGET.
    BinGet(u8),
    None,
    NewTrue,
    NewFalse,
    /// MARK at this offset.
    Mark(u64),
}

impl ShortOp {
    pub fn protocol(self) -> u8 {
        match self {
            ShortOp::ShortBinUnicode(_) | ShortOp::Memoize => 4,
            ShortOp::NewTrue | ShortOp::NewFalse => 2,
            ShortOp::Int(_) | ShortOp::BinGet(_) => 1,
            ShortOp::None | ShortOp::Mark(_) => 0,
        }
    }
}

/// Walks opcodes over a byte slice.
#[derive(Clone, Debug)]
pub struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
    frame_end: Option<usize>,
    /// The pure-Python unpickler's frame rules (the default), or the C unpickler's.
    strict_frames: bool,
    /// When the data is a remote object's mirror: where to ask for the bytes about to be
    /// read. `ready` is a range known present (all of a local file's data).
    window: Option<crate::store::Window>,
    ready: std::ops::Range<usize>,
}

impl<'a> Lexer<'a> {
    /// A lexer that starts at `start` (an offset into `data`).
    pub fn new(data: &'a [u8], start: usize) -> Self {
        let window = crate::store::window(data);
        let ready = if window.is_some() {
            0..0
        } else {
            0..data.len()
        };
        Lexer {
            data,
            pos: start.min(data.len()),
            frame_end: None,
            strict_frames: true,
            window,
            ready,
        }
    }

    /// Makes `[at, at + len)` (clamped to the data) readable: a comparison for local
    /// data, a fetch for a remote object's bytes not yet present.
    #[inline(always)]
    fn want(&mut self, at: usize, len: usize) -> Result<(), ErrorKind> {
        if at >= self.ready.start && at.saturating_add(len) <= self.ready.end {
            return Ok(());
        }
        self.fetch(at, len)
    }

    #[cold]
    #[inline(never)]
    fn fetch(&mut self, at: usize, len: usize) -> Result<(), ErrorKind> {
        let Some(window) = &self.window else {
            return Ok(());
        };
        let len = len.min(self.data.len().saturating_sub(at));
        let end = window
            .ensure(at, len)
            .map_err(|e| ErrorKind::Fetch(e.to_string()))?;
        self.ready = at..end.min(self.data.len());
        Ok(())
    }

    /// `len` bytes at `at`, fetched if they are a remote object's: for data that is not
    /// opcodes (joblib's array padding).
    pub fn peek(&mut self, at: usize, len: usize) -> Result<&'a [u8], ErrorKind> {
        self.want(at, len)?;
        self.data
            .get(at..at.saturating_add(len))
            .ok_or(ErrorKind::Truncated {
                needed: len as u64,
                available: self.data.len().saturating_sub(at) as u64,
            })
    }

    /// With `false`, frames are what `_pickle.c`'s `load_frame` makes of them: the
    /// announced bytes must exist, and nothing else is checked (opcodes may straddle
    /// them, frames may start inside frames).
    pub fn set_strict_frames(&mut self, strict: bool) {
        self.strict_frames = strict;
    }

    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Bytes of the current frame not yet read, if a frame is open.
    pub fn frame_remaining(&self) -> Option<usize> {
        self.frame_end.map(|end| end.saturating_sub(self.pos))
    }

    /// Goes back to `pos` (an earlier opcode boundary in the same frame), to lex an
    /// opcode again through [`Lexer::next_op`].
    pub fn rewind(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Moves past data that is not opcodes (joblib's inline array bytes). Only valid
    /// outside a frame; the caller checks `frame_remaining` first.
    pub fn skip_to(&mut self, pos: usize) {
        debug_assert!(pos >= self.pos && pos <= self.data.len());
        self.pos = pos.min(self.data.len());
        self.frame_end = None;
    }

    /// Decodes the next opcode if it is one of the [`ShortOp`]s and lies wholly inside
    /// the current frame (or the data); otherwise leaves the position alone and returns
    /// `None`, and [`Lexer::next_op`] handles it with every check and error.
    #[inline(always)]
    pub fn short_op(&mut self) -> Option<ShortOp> {
        // Past the present bytes, `next_op` fetches (and checks) instead.
        let limit = self
            .frame_end
            .unwrap_or(self.data.len())
            .min(self.ready.end);
        let pos = self.pos;
        if pos >= limit || pos < self.ready.start {
            return None;
        }
        let rest = &self.data[pos..limit];
        let (op, len) = match rest[0] {
            0x8c => {
                let n = usize::from(*rest.get(1)?);
                if rest.len() < 2 + n {
                    return None;
                }
                (ShortOp::ShortBinUnicode(pos as u64), 2 + n)
            }
            0x94 => (ShortOp::Memoize, 1),
            b'K' => (ShortOp::Int(i64::from(*rest.get(1)?)), 2),
            b'M' => {
                let b = rest.get(1..3)?;
                (ShortOp::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))), 3)
            }
            b'J' => {
                let b = rest.get(1..5)?;
                (
                    ShortOp::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                    5,
                )
            }
            b'h' => (ShortOp::BinGet(*rest.get(1)?), 2),
            b'N' => (ShortOp::None, 1),
            0x88 => (ShortOp::NewTrue, 1),
            0x89 => (ShortOp::NewFalse, 1),
            b'(' => (ShortOp::Mark(pos as u64), 1),
            _ => return None,
        };
        self.pos = pos + len;
        Some(op)
    }

    /// Lexes the next opcode. At the end of the data this is a [`ErrorKind::MissingStop`]
    /// error: a pickle stream always ends with STOP.
    // Always inlined: returning the `Op` through memory cost a fifth of the machine's
    // time on opcode-dense files (callgrind).
    #[inline(always)]
    pub fn next_op(&mut self) -> Result<Op<'a>, PickleError> {
        if let Some(end) = self.frame_end
            && self.pos >= end
        {
            self.frame_end = None;
        }
        let start = self.pos;
        self.want(start, 16)
            .map_err(|kind| PickleError::new(start as u64, None, kind))?;
        let Some(&byte) = self.data.get(start) else {
            return Err(PickleError::new(start as u64, None, ErrorKind::MissingStop));
        };
        let code = Opcode::from_byte(byte)
            .ok_or_else(|| PickleError::new(start as u64, None, ErrorKind::UnknownOpcode(byte)))?;
        let err = |kind| PickleError::new(start as u64, Some(code.name()), kind);
        let body = start + 1;
        let lazy = matches!(
            code,
            Opcode::BinBytes | Opcode::ShortBinBytes | Opcode::BinBytes8 | Opcode::ByteArray8
        );
        let (arg, payload, end) = match code.arg() {
            ArgEncoding::None => (Arg::None, body, body),
            ArgEncoding::U8 => {
                let b = self.fixed::<1>(body).map_err(err)?;
                (Arg::Int(i64::from(b[0])), body + 1, body + 1)
            }
            ArgEncoding::U16 => {
                let b = self.fixed::<2>(body).map_err(err)?;
                (
                    Arg::Int(i64::from(u16::from_le_bytes(b))),
                    body + 2,
                    body + 2,
                )
            }
            ArgEncoding::I32 => {
                let b = self.fixed::<4>(body).map_err(err)?;
                (
                    Arg::Int(i64::from(i32::from_le_bytes(b))),
                    body + 4,
                    body + 4,
                )
            }
            ArgEncoding::U32 => {
                let b = self.fixed::<4>(body).map_err(err)?;
                (
                    Arg::Int(i64::from(u32::from_le_bytes(b))),
                    body + 4,
                    body + 4,
                )
            }
            ArgEncoding::U64 => {
                let b = self.fixed::<8>(body).map_err(err)?;
                (Arg::U64(u64::from_le_bytes(b)), body + 8, body + 8)
            }
            ArgEncoding::F64Be => {
                let b = self.fixed::<8>(body).map_err(err)?;
                (Arg::Float(f64::from_be_bytes(b)), body + 8, body + 8)
            }
            ArgEncoding::Line => {
                let (line, next) = self.line(body).map_err(err)?;
                (Arg::Line(line), next, next)
            }
            ArgEncoding::TwoLines => {
                let (module, next) = self.line(body).map_err(err)?;
                let (name, next) = self.line(next).map_err(err)?;
                (Arg::Pair(module, name), next, next)
            }
            ArgEncoding::Len8 => {
                let b = self.fixed::<1>(body).map_err(err)?;
                let len = u64::from(b[0]);
                let payload = body + 1;
                let bytes = self.payload(payload, len, lazy).map_err(err)?;
                (Arg::Bytes(bytes), payload, payload + bytes.len())
            }
            ArgEncoding::LenU32 => {
                let b = self.fixed::<4>(body).map_err(err)?;
                let len = u64::from(u32::from_le_bytes(b));
                let payload = body + 4;
                let bytes = self.payload(payload, len, lazy).map_err(err)?;
                (Arg::Bytes(bytes), payload, payload + bytes.len())
            }
            ArgEncoding::LenI32 => {
                let b = self.fixed::<4>(body).map_err(err)?;
                let len = i32::from_le_bytes(b);
                let len = u64::try_from(len)
                    .map_err(|_| err(ErrorKind::NegativeLength(i64::from(len))))?;
                let payload = body + 4;
                let bytes = self.payload(payload, len, lazy).map_err(err)?;
                (Arg::Bytes(bytes), payload, payload + bytes.len())
            }
            ArgEncoding::LenU64 => {
                let b = self.fixed::<8>(body).map_err(err)?;
                let len = u64::from_le_bytes(b);
                let payload = body + 8;
                let bytes = self.payload(payload, len, lazy).map_err(err)?;
                (Arg::Bytes(bytes), payload, payload + bytes.len())
            }
        };
        if let Some(frame_end) = self.frame_end
            && end > frame_end
        {
            return Err(err(ErrorKind::StraddlesFrame {
                frame_end: frame_end as u64,
            }));
        }
        self.pos = end;
        if code == Opcode::Frame {
            self.open_frame(&arg).map_err(err)?;
        }
        Ok(Op {
            offset: start as u64,
            code,
            arg,
            payload_offset: payload as u64,
            end: end as u64,
        })
    }

    fn open_frame(&mut self, arg: &Arg<'a>) -> Result<(), ErrorKind> {
        if self.strict_frames
            && let Some(frame_end) = self.frame_end
            && self.pos < frame_end
        {
            return Err(ErrorKind::FrameInsideFrame {
                remaining: (frame_end - self.pos) as u64,
            });
        }
        let Arg::U64(len) = *arg else {
            return Ok(());
        };
        let available = (self.data.len() - self.pos) as u64;
        if len > available {
            return Err(ErrorKind::FrameTooLong {
                claimed: len,
                available,
            });
        }
        if !self.strict_frames {
            return Ok(());
        }
        // `len <= available` and `available` came from a usize, so this cannot overflow.
        self.frame_end = Some(self.pos + len as usize);
        Ok(())
    }

    fn fixed<const N: usize>(&mut self, at: usize) -> Result<[u8; N], ErrorKind> {
        self.want(at, N)?;
        self.data
            .get(at..at + N)
            .and_then(|s| s.try_into().ok())
            .ok_or(ErrorKind::Truncated {
                needed: N as u64,
                available: self.data.len().saturating_sub(at) as u64,
            })
    }

    fn payload(&mut self, at: usize, len: u64, lazy: bool) -> Result<&'a [u8], ErrorKind> {
        let available = self.data.len().saturating_sub(at) as u64;
        if len > available {
            return Err(ErrorKind::Truncated {
                needed: len,
                available,
            });
        }
        let fetched = if lazy && len > EAGER_PAYLOAD {
            PAYLOAD_HEAD
        } else {
            len
        };
        // `len <= available`, which came from a usize.
        self.want(at, fetched as usize)?;
        // Checked above: `at + len <= data.len()`.
        Ok(&self.data[at..at + len as usize])
    }

    fn line(&mut self, at: usize) -> Result<(&'a [u8], usize), ErrorKind> {
        let mut searched = at.min(self.data.len());
        loop {
            // Local data is searched in one go; a mirror's a present run at a time.
            self.want(searched, 4096)?;
            let limit = if self.window.is_some() {
                self.ready.end.clamp(searched, self.data.len())
            } else {
                self.data.len()
            };
            if let Some(i) = memchr::memchr(b'\n', &self.data[searched..limit]) {
                return Ok((&self.data[at..searched + i], searched + i + 1));
            }
            if limit >= self.data.len() {
                return Err(ErrorKind::MissingNewline);
            }
            searched = limit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(data: &[u8]) -> Result<Vec<(u64, &'static str)>, PickleError> {
        let mut lexer = Lexer::new(data, 0);
        let mut out = Vec::new();
        loop {
            let op = lexer.next_op()?;
            out.push((op.offset, op.code.name()));
            if op.code == Opcode::Stop {
                return Ok(out);
            }
        }
    }

    #[test]
    fn lexes_a_protocol_4_frame() {
        // pickle.dumps({'a': 1}, protocol=4)
        let data = b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
        let got = ops(data).unwrap();
        let names: Vec<_> = got.iter().map(|(_, n)| *n).collect();
        assert_eq!(
            names,
            [
                "PROTO",
                "FRAME",
                "EMPTY_DICT",
                "MEMOIZE",
                "SHORT_BINUNICODE",
                "MEMOIZE",
                "BININT1",
                "SETITEM",
                "STOP"
            ]
        );
        assert_eq!(got[2].0, 11);
    }

    #[test]
    fn text_arguments_are_lines() {
        let mut lexer = Lexer::new(b"cos\nsystem\nI14\n.", 0);
        let op = lexer.next_op().unwrap();
        assert_eq!(op.arg, Arg::Pair(b"os", b"system"));
        let op = lexer.next_op().unwrap();
        assert_eq!(op.arg, Arg::Line(b"14"));
        assert_eq!(op.offset, 11);
    }

    #[test]
    fn a_length_past_the_end_is_an_error_not_an_allocation() {
        let data = b"\x8e\xff\xff\xff\xff\xff\xff\xff\x7f";
        let err = Lexer::new(data, 0).next_op().unwrap_err();
        assert_eq!(err.offset, 0);
        assert_eq!(err.opcode, Some("BINBYTES8"));
        assert!(matches!(err.kind, ErrorKind::Truncated { .. }));
    }

    #[test]
    fn negative_binstring_length_is_rejected() {
        let err = Lexer::new(b"T\xff\xff\xff\xff", 0).next_op().unwrap_err();
        assert_eq!(err.kind, ErrorKind::NegativeLength(-1));
    }

    #[test]
    fn missing_newline_and_missing_stop() {
        let err = Lexer::new(b"I12", 0).next_op().unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingNewline);
        let err = ops(b"N").unwrap_err();
        assert_eq!((err.offset, err.kind), (1, ErrorKind::MissingStop));
    }

    #[test]
    fn unknown_opcode_names_the_byte() {
        let err = Lexer::new(b"\x00", 0).next_op().unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnknownOpcode(0));
        assert_eq!(
            err.to_string(),
            "at offset 0: byte 0x00 is not a pickle opcode"
        );
    }

    #[test]
    fn frames_that_lie_are_rejected() {
        // The frame claims 100 bytes; 3 remain.
        let err = ops(b"\x80\x04\x95\x64\x00\x00\x00\x00\x00\x00\x00N0.").unwrap_err();
        assert!(matches!(err.kind, ErrorKind::FrameTooLong { .. }));
        // A frame of 2 bytes, and a BININT2 (3 bytes) starting at its last byte.
        let err = ops(b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00NM\x01\x00.").unwrap_err();
        assert_eq!(err.opcode, Some("BININT2"));
        assert!(matches!(
            err.kind,
            ErrorKind::StraddlesFrame { frame_end: 13 }
        ));
        // A second frame before the first is used up.
        let err = ops(
            b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x95\x01\x00\x00\x00\x00\x00\x00\x00NN.",
        )
        .unwrap_err();
        assert!(matches!(err.kind, ErrorKind::FrameInsideFrame { .. }));
    }
}
