//! Typed errors of the pickle layer. Every error names the byte offset and, when one is
//! involved, the opcode, so the command edge can print "file: offset N (OPCODE): what".

use std::fmt;

/// What went wrong, without the position (see [`PickleError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// A remote artifact's bytes could not be fetched (the message names the URL).
    #[error("cannot read the bytes here: {0}")]
    Fetch(String),
    #[error("byte 0x{0:02x} is not a pickle opcode")]
    UnknownOpcode(u8),
    #[error(
        "the data ends before the opcode's argument does (needs {needed} bytes, {available} left)"
    )]
    Truncated { needed: u64, available: u64 },
    #[error("the data ends without a STOP opcode")]
    MissingStop,
    #[error("negative length {0}")]
    NegativeLength(i64),
    #[error("the text argument has no terminating newline")]
    MissingNewline,
    #[error("the opcode runs past the end of its frame (frame ends at offset {frame_end})")]
    StraddlesFrame { frame_end: u64 },
    #[error("a new frame starts {remaining} bytes before the end of the current one")]
    FrameInsideFrame { remaining: u64 },
    #[error("the frame claims {claimed} bytes but only {available} remain")]
    FrameTooLong { claimed: u64, available: u64 },
    #[error("unsupported pickle protocol {0}")]
    UnsupportedProtocol(u8),
    #[error("the stack holds {have} items, the opcode needs {need}")]
    StackUnderflow { need: usize, have: usize },
    #[error("no MARK is open")]
    NoMark,
    #[error("memo slot {0} is empty")]
    MemoMissing(u64),
    /// An argument that does not say what its opcode needs (an INT line that is no
    /// integer, an unquoted STRING, a string that is not UTF-8).
    #[error("{0}")]
    MalformedArgument(&'static str),
    /// The lexer handed over no argument of the kind the opcode's encoding promises.
    #[error("missing {0} argument")]
    MissingArgument(&'static str),
    #[error("memo index {0}")]
    BadMemoIndex(&'static str),
    /// An operand of the wrong kind: `REDUCE arguments is a list`.
    #[error("{what} is a {kind}")]
    WrongOperand {
        what: &'static str,
        kind: &'static str,
    },
    /// An opcode applied to an object it cannot change: `BUILD on a list`.
    #[error("{action} a {kind}")]
    WrongTarget {
        action: &'static str,
        kind: &'static str,
    },
    #[error("{opcode} needs an even number of items after MARK")]
    OddItemCount { opcode: &'static str },
    #[error("a {kind} cannot be a dict key or set member (unhashable)")]
    Unhashable { kind: &'static str },
    #[error("STACK_GLOBAL requires str module and name")]
    StackGlobalNotText,
    #[error("OBJ needs a class after MARK")]
    ObjWithoutClass,
    #[error("EXT specifies code <= 0")]
    ExtensionCodeNotPositive,
    #[error("out-of-band data (NEXT_BUFFER), which pickle.load without buffers= refuses")]
    OutOfBandBuffer,
    /// Boxed: the array's description would make every error, and every `Result` of the
    /// machine's loop, wider.
    #[error("{0}")]
    Joblib(Box<crate::pickle::joblib::JoblibError>),
    #[error("limit exceeded: too many open MARKs for the memory available")]
    TooManyMarks,
    #[error("limit exceeded: the stack outgrew the memory at {items} items")]
    StackOutOfMemory { items: usize },
    #[error("limit exceeded: more than 2^32 objects")]
    TooManyObjects,
}

impl From<crate::pickle::joblib::JoblibError> for ErrorKind {
    fn from(e: crate::pickle::joblib::JoblibError) -> Self {
        ErrorKind::Joblib(Box::new(e))
    }
}

/// An error at a position in a pickle stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the opcode (or of the data) where the problem was found.
    pub offset: u64,
    /// The opcode being read, as pickletools names it, if any.
    pub opcode: Option<&'static str>,
    pub kind: ErrorKind,
}

impl PickleError {
    pub fn new(offset: u64, opcode: Option<&'static str>, kind: ErrorKind) -> Self {
        PickleError {
            offset,
            opcode,
            kind,
        }
    }
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.opcode {
            Some(op) => write!(f, "at offset {} ({}): {}", self.offset, op, self.kind),
            None => write!(f, "at offset {}: {}", self.offset, self.kind),
        }
    }
}

impl std::error::Error for PickleError {}
