//! Pickle, and nothing about machine learning: opcodes, a zero-copy lexer, and a
//! symbolic machine that builds the object graph a stream describes without importing
//! or calling anything. joblib's inline arrays are part of the stream format here,
//! because joblib's loader reads them from between the opcodes.

pub mod embedded;
pub mod error;
pub mod graph;
pub mod joblib;
pub mod lexer;
pub mod machine;
mod memo;
pub mod names;
pub mod opcode;
pub mod text;

pub use error::{ErrorKind, PickleError};
pub use graph::{Graph, InlineData, Node, NodeId, Value};
pub use lexer::{Arg, Lexer, Op};
pub use machine::{
    PASSED_STEP, Parsed, Quiet, Reading, Visitor, parse, parse_consecutive, parse_reading,
    parse_reading_at,
};
pub use opcode::Opcode;
