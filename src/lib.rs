//! artifact: inspect, check, patch and verify pickled ML model artifacts without executing them.
//!
//! Layers, from bytes up: [`store`] (where the bytes live: a file or a remote object),
//! [`container`] (where the pickle bytes come from), [`pickle`]
//! (opcodes and the symbolic machine), [`model`] (the scikit-learn view of the graph),
//! [`report`] (renderers). The commands in [`commands`] glue them together.

pub mod allocator;
pub mod cli;
pub mod commands;
pub mod config;
pub mod container;
pub mod inspection;
pub mod model;
pub mod patch;
pub mod pickle;
pub mod report;
pub mod rules;
pub mod store;
pub mod units;
pub mod verify;

#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator;
