//! Rewriting settings in the byte stream, without executing anything.
//!
//! An edit replaces one value's opcodes. Everything else is copied: the writer turns
//! edits into splices and adds the fix-ups the format needs (DESIGN.md, "Patch
//! invariants"): every FRAME length that contains an edit, every joblib array's padding
//! after a length change (so each array stays aligned, and usually at its old offset),
//! and the length opcodes of blobs (XGBoost's UBJSON, LightGBM's model text) edited inside.
//! A memoized value keeps its opcodes and is POPped before the new value is pushed, so
//! the memo's numbering, and every later GET, mean what they meant.
//!
//! The layer by job: [`request`] parses what was asked, [`plan`] decides the edits (the
//! ML policy), [`splice`] turns them into byte ranges, [`blob`] writes inside boosters,
//! [`encode`] spells pickle values, [`writer`] and [`staging`] write the output safely.

mod blob;
mod encode;
pub mod plan;
pub mod request;
pub mod skops;
pub mod splice;
pub mod staging;
mod writer;

pub use plan::{Edit, plan, plan_fix, plan_set};
pub use request::{Request, RequestError, parse_value};
pub use splice::{Layout, Piece, Recorder, Skipped, Splice, plan_splices, splices};
pub use writer::{write, write_members};

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("no setting '{key}' in this artifact; settings that exist: {known}")]
    UnknownKey { key: String, known: String },
    #[error("{0}")]
    Invalid(String),
    #[error("at offset {offset}: {message}")]
    Layout { offset: u64, message: String },
}
