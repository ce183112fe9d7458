//! Everything known about one artifact after a static read: the container, the pickle
//! streams, and the model view. Commands build it with [`read`]; rules and renderers
//! consume it and never touch the bytes.

use std::path::Path;

use crate::container::{self, Artifact, ContainerError};
use crate::model::{ArrayStorage, GlobalRef, ModelView, collect_globals};
use crate::pickle::graph::{Anomaly, Span};
use crate::pickle::{self, Graph, PickleError, Quiet, Visitor};

/// Everything `inspect` shows about one artifact.
#[derive(Debug)]
pub struct Inspection {
    pub path: String,
    pub file_size: u64,
    /// `pickle` or `joblib`.
    pub format: &'static str,
    pub codec: Option<&'static str>,
    /// Bytes of pickle data (the decoded size for compressed files).
    pub decoded_size: u64,
    pub streams: Vec<StreamSummary>,
    pub trailing: Option<Span>,
    pub anomalies: Vec<Anomaly>,
    /// Bytes values that hold complete pickle streams, with the globals each would load.
    pub embedded_pickles: Vec<EmbeddedPickle>,
    pub view: ModelView,
}

#[derive(Debug)]
pub struct StreamSummary {
    pub offset: u64,
    pub end: u64,
    pub protocol: Option<u8>,
    pub highest_opcode_protocol: u8,
    pub ops: u64,
    pub nested: bool,
}

impl Inspection {
    /// The protocol of the first stream: its PROTO, or for protocol 0/1 streams (which
    /// have none) the newest protocol among its opcodes.
    pub fn protocol(&self) -> u8 {
        self.streams
            .first()
            .map_or(0, |s| s.protocol.unwrap_or(s.highest_opcode_protocol))
    }
}

/// A complete pickle stream inside a bytes value.
#[derive(Debug)]
pub struct EmbeddedPickle {
    pub span: Span,
    pub globals: Vec<GlobalRef>,
}

/// Why an artifact could not be read; names the file, and the offset and opcode when known.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Container {
        path: String,
        #[source]
        source: ContainerError,
    },
    #[error("{path}: {source}")]
    Pickle {
        path: String,
        #[source]
        source: PickleError,
    },
}

impl ReadError {
    pub fn path(&self) -> &str {
        match self {
            ReadError::Container { path, .. } | ReadError::Pickle { path, .. } => path,
        }
    }

    pub fn offset(&self) -> Option<u64> {
        match self {
            ReadError::Container {
                source: ContainerError::Empty,
                ..
            } => Some(0),
            ReadError::Container { .. } => None,
            ReadError::Pickle { source, .. } => Some(source.offset),
        }
    }

    pub fn opcode(&self) -> Option<&'static str> {
        match self {
            ReadError::Pickle { source, .. } => source.opcode,
            ReadError::Container { .. } => None,
        }
    }
}

/// Reads one artifact to the end, statically, and builds everything known about it.
/// `progress` sees the compressed bytes consumed while a compressed file is decoded.
pub fn read(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Inspection, ReadError> {
    let artifact = open(path, progress)?;
    let graph = parse(path, &artifact, &mut Quiet)?;
    Ok(build(path, &artifact, &graph))
}

/// Opens the container, naming the file in errors.
pub fn open(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Artifact, ReadError> {
    container::open(path, progress).map_err(|source| ReadError::Container {
        path: path.display().to_string(),
        source,
    })
}

/// Parses the artifact's pickle data, naming the file in errors.
pub fn parse<'a, V: Visitor>(
    path: &Path,
    artifact: &'a Artifact,
    visitor: &mut V,
) -> Result<Graph<'a>, ReadError> {
    pickle::parse(artifact.bytes(), visitor).map_err(|source| ReadError::Pickle {
        path: path.display().to_string(),
        source,
    })
}

/// Everything known about an artifact, from its parsed graph.
pub fn build(path: &Path, artifact: &Artifact, graph: &Graph<'_>) -> Inspection {
    let data = artifact.bytes();
    let view = ModelView::build(graph);
    let joblib = artifact.container.codec().is_some()
        || view.arrays.iter().any(|a| {
            matches!(
                a.storage,
                ArrayStorage::JoblibInline | ArrayStorage::JoblibObject
            )
        });
    Inspection {
        path: path.display().to_string(),
        file_size: artifact.file_size,
        format: if joblib { "joblib" } else { "pickle" },
        codec: artifact.container.codec().map(|c| c.name()),
        decoded_size: data.len() as u64,
        streams: graph
            .streams
            .iter()
            .map(|s| StreamSummary {
                offset: s.offset,
                end: s.end,
                protocol: s.protocol,
                highest_opcode_protocol: s.highest_opcode_protocol,
                ops: s.op_count,
                nested: s.nested,
            })
            .collect(),
        trailing: graph.trailing,
        anomalies: graph.anomalies.clone(),
        embedded_pickles: pickle::embedded::find(graph)
            .into_iter()
            .map(|(span, inner)| EmbeddedPickle {
                span,
                globals: collect_globals(&inner),
            })
            .collect(),
        view,
    }
}
