//! Everything known about one artifact after a static read: the container, the pickle
//! streams, and the model view. Commands build it with [`read`]; rules and renderers
//! consume it and never touch the bytes.

use std::path::Path;

use crate::container::{self, Artifact, Container, ContainerError};
use crate::model::{ArrayInfo, ArrayStorage, LoadFacts, ModelView, load_facts};
use crate::pickle::graph::{Anomaly, AnomalyKind, Span};
use crate::pickle::{self, Graph, PickleError, Quiet, Reading, Visitor};

/// Everything `inspect` shows about one artifact.
#[derive(Debug)]
pub struct Inspection {
    pub path: String,
    pub file_size: u64,
    /// `pickle`, `joblib` or `npy`.
    pub format: &'static str,
    pub codec: Option<&'static str>,
    /// A `.npy` file's header (offsets stay offsets in the file).
    pub npy: Option<crate::container::npy::NpyHeader>,
    /// Bytes of pickle data (the decoded size for compressed files).
    pub decoded_size: u64,
    pub streams: Vec<StreamSummary>,
    pub trailing: Option<Span>,
    /// Compressed bytes after the end of the compressed stream (offsets in the file).
    pub compressed_trailing: Option<Span>,
    pub anomalies: Vec<Anomaly>,
    /// Bytes values that hold pickle streams, with the globals each would load.
    pub embedded_pickles: Vec<EmbeddedPickle>,
    /// What each loader would import and invoke: `joblib.load`'s reading first (the one
    /// the view is built from), then `pickle.load`'s where it can differ.
    pub readings: Vec<LoaderReading>,
    pub view: ModelView,
}

/// What one loader's reading of the bytes would import and invoke.
#[derive(Debug)]
pub struct LoaderReading {
    pub reading: Reading,
    /// Which loader, on which bytes (`joblib.load`, `pickle.load`).
    pub label: &'static str,
    pub facts: LoadFacts,
    /// Imported globals changed in place (BUILD or item opcodes applied to them).
    pub mutated: Vec<Anomaly>,
    /// Where this loader would stop with an error; what came before has run.
    pub error: Option<PickleError>,
}

impl LoaderReading {
    /// Whether this reading imports or invokes anything at all (a file whose every
    /// reading does not is no artifact: the loaders refuse it before any import).
    pub fn imports_anything(&self) -> bool {
        !self.facts.globals.is_empty()
            || !self.facts.invocations.is_empty()
            || !self.mutated.is_empty()
    }
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

/// A pickle stream inside a bytes value.
#[derive(Debug)]
pub struct EmbeddedPickle {
    pub span: Span,
    pub facts: LoadFacts,
    /// Whether it parses to its STOP (a prefix that imports something counts too).
    pub complete: bool,
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
    #[error("{path}: {}{source}", not_a_pickle(source))]
    Pickle {
        path: String,
        #[source]
        source: PickleError,
        /// What was read before the error: the loader has already run it, so its
        /// findings stand (see [`read`]).
        partial: Option<Box<Inspection>>,
    },
}

/// An error on the very first opcode means the bytes are not a pickle at all: say so
/// before the opcode-level detail.
fn not_a_pickle(source: &PickleError) -> &'static str {
    if source.offset == 0 {
        "not a pickle or joblib file: "
    } else {
        ""
    }
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
///
/// When the stream does not parse to the end, the error carries the inspection of what
/// came before it: CPython runs every opcode before the one it fails on, so globals
/// imported and calls made there are findings all the same.
pub fn read(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Inspection, ReadError> {
    let artifact = open(path, progress)?;
    if !artifact.holds_pickle() {
        return Ok(plain_array(path, &artifact));
    }
    let parsed = pickle::parse_reading_at(
        artifact.bytes(),
        artifact.pickle_start(),
        &mut Quiet,
        primary(&artifact).0,
    );
    let inspection = build(path, &artifact, &parsed.graph, parsed.error.clone());
    match parsed.error {
        None => Ok(inspection),
        Some(source) => Err(ReadError::Pickle {
            path: path.display().to_string(),
            source,
            partial: Some(Box::new(inspection)),
        }),
    }
}

/// Whether `pickle.load` of the file's bytes as they lie imports anything: for a file whose
/// container joblib cannot decode (`BZ` is BINBYTES to the C unpickler). Unreadable counts
/// as yes: the gate fails closed.
pub fn raw_bytes_import(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return true;
    };
    // SAFETY: a read-only map of a file we only read.
    let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
        return true;
    };
    other_reading(&map, "pickle.load").imports_anything()
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
    let parsed = pickle::parse_reading_at(
        artifact.bytes(),
        artifact.pickle_start(),
        visitor,
        primary(artifact).0,
    );
    match parsed.error {
        None => Ok(parsed.graph),
        Some(source) => Err(ReadError::Pickle {
            path: path.display().to_string(),
            source,
            partial: None,
        }),
    }
}

/// Everything known about an artifact, from its parsed graph (`error`: where
/// `joblib.load`'s reading stopped, if it did).
pub fn build(
    path: &Path,
    artifact: &Artifact,
    graph: &Graph<'_>,
    error: Option<PickleError>,
) -> Inspection {
    let data = artifact.bytes();
    let view = ModelView::build(graph);
    let (reading, label) = primary(artifact);
    let mut readings = vec![LoaderReading {
        reading,
        label,
        facts: LoadFacts {
            globals: view.globals.clone(),
            invocations: view.invocations.clone(),
        },
        mutated: mutations(&graph.anomalies),
        error: error.clone(),
    }];
    // `pickle.load` reads the same bytes alike unless joblib skipped array bytes (which
    // are opcodes to it), the reading stopped early, a spelling the two read apart, or
    // more streams follow the first (pickle.load reads one).
    let skipped = graph.ids().any(|id| {
        graph
            .object(pickle::Value::Node(id))
            .is_some_and(|o| o.inline_data.is_some())
    });
    let streams = graph.streams.iter().filter(|s| !s.nested).count();
    let npy = matches!(artifact.container, Container::Npy);
    if !npy && (skipped || error.is_some() || graph.dialect_sensitive || streams > 1) {
        readings.push(other_reading(data, "pickle.load"));
    }
    // joblib picks a codec by a short prefix, but `pickle.load` reads the file as it
    // lies: `BZ` is BINBYTES to it, so a "bz2 file" can be a pickle that runs.
    if let Some(raw) = artifact.raw_bytes() {
        let reading = other_reading(raw, "pickle.load of the compressed file's own bytes");
        if reading.imports_anything() {
            readings.push(reading);
        }
    }
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
        format: match (npy, joblib) {
            (true, _) => "npy",
            (_, true) => "joblib",
            _ => "pickle",
        },
        codec: artifact.container.codec().map(|c| c.name()),
        npy: artifact.npy.clone(),
        decoded_size: (data.len() - artifact.pickle_start()) as u64,
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
        compressed_trailing: artifact
            .compressed_trailing
            .map(|(offset, len)| Span { offset, len }),
        anomalies: graph.anomalies.clone(),
        embedded_pickles: pickle::embedded::find(graph)
            .into_iter()
            .map(|e| EmbeddedPickle {
                span: e.span,
                facts: load_facts(&e.graph),
                complete: e.error.is_none(),
            })
            .collect(),
        readings,
        view,
    }
}

/// The loader that reads this container, and how it reads the pickle: `numpy.load` hands
/// an object array's bytes to `pickle.load`; every other container is `joblib.load`'s.
pub fn primary(artifact: &Artifact) -> (Reading, &'static str) {
    match artifact.container {
        Container::Npy => (Reading::PickleLoad, "numpy.load(allow_pickle=True)"),
        _ => (Reading::JoblibLoad, "joblib.load"),
    }
}

/// A `.npy` file of plain data: no pickle, nothing a loader runs; one array.
fn plain_array(path: &Path, artifact: &Artifact) -> Inspection {
    let mut view = ModelView::default();
    if let Some(header) = &artifact.npy {
        view.arrays.push(ArrayInfo {
            path: String::new(),
            storage: ArrayStorage::NpyFile,
            shape: Some(header.shape.clone()),
            dtype: Some(header.descr.clone()),
            // The container checked that the file holds them all.
            nbytes: header.nbytes().unwrap_or(0),
            offset: header.data_offset,
        });
    }
    Inspection {
        path: path.display().to_string(),
        file_size: artifact.file_size,
        format: "npy",
        codec: None,
        npy: artifact.npy.clone(),
        decoded_size: 0,
        streams: Vec::new(),
        trailing: None,
        compressed_trailing: None,
        anomalies: Vec::new(),
        embedded_pickles: Vec::new(),
        readings: Vec::new(),
        view,
    }
}

fn other_reading(data: &[u8], label: &'static str) -> LoaderReading {
    let other = pickle::parse_reading(data, &mut Quiet, Reading::PickleLoad);
    LoaderReading {
        reading: Reading::PickleLoad,
        label,
        facts: load_facts(&other.graph),
        mutated: mutations(&other.graph.anomalies),
        error: other.error,
    }
}

fn mutations(anomalies: &[Anomaly]) -> Vec<Anomaly> {
    anomalies
        .iter()
        .filter(|a| matches!(a.kind, AnomalyKind::GlobalMutated { .. }))
        .cloned()
        .collect()
}
