//! Everything known about one artifact after a static read: the container, the pickle
//! streams, and the model view. Commands build it with [`read`]; rules and renderers
//! consume it and never touch the bytes.

use std::path::Path;

use crate::container::zip::{ArchiveKind, Role};
use crate::container::{self, Artifact, Container, ContainerError, Loader};
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
    /// A zip archive's members.
    pub archive: Option<ArchiveInspection>,
    /// A PyTorch checkpoint's tensor storages (the archive's, or a legacy file's own).
    pub storages: Vec<StorageEntry>,
    /// Top-level streams the loader reads (1; a legacy PyTorch file has 5): any more
    /// are streams only some loaders run.
    pub expected_streams: usize,
    /// A skops file's `schema.json`: what skops itself would say about it.
    pub skops: Option<SkopsInspection>,
}

/// What `skops.io` would make of a schema before it loads anything.
#[derive(Debug, Clone)]
pub struct SkopsInspection {
    pub protocol: i64,
    /// `_skops_version` as recorded.
    pub skops_version: Option<String>,
    /// What `skops.io.get_untrusted_types` lists: `skops.io.load` refuses the file
    /// unless each is passed as `trusted`.
    pub untrusted_types: Vec<String>,
    pub nodes: usize,
}

/// What a zip archive holds. Each member that holds a pickle (or a `.npy`, or a zip) is
/// read as an artifact of its own, named `archive!member`.
#[derive(Debug)]
pub struct ArchiveInspection {
    pub kind: ArchiveKind,
    pub members: Vec<MemberEntry>,
}

impl Inspection {
    /// Bytes the storages hold, as the archive's members (or the legacy file) say.
    pub fn storage_bytes(&self) -> u64 {
        self.storages
            .iter()
            .filter_map(|s| s.member.as_ref().map(|&(_, size)| size))
            .sum()
    }

    /// The tensors a PyTorch checkpoint rebuilds: its own, or its members'.
    pub fn tensors(&self) -> Vec<&ArrayInfo> {
        let mut read = Vec::new();
        self.walk(&mut read, &mut Vec::new());
        read.iter()
            .flat_map(|i| &i.view.arrays)
            .filter(|a| a.storage == ArrayStorage::TorchStorage)
            .collect()
    }
}

#[derive(Debug)]
pub struct MemberEntry {
    pub name: String,
    /// `stored`, `deflated`, ...
    pub method: String,
    /// Where the member's data starts in the archive.
    pub offset: u64,
    pub compressed_size: u64,
    pub size: u64,
    /// What the member turned out to hold: `pickle`, `joblib`, `npy`, `zip`, `pytorch`,
    /// ..., or `storage`, `schema`, `directory`, `data` (nothing a loader runs).
    pub kind: String,
    /// The member read as an artifact (None when nothing in it is loaded as a pickle).
    pub read: Option<Result<Inspection, ReadError>>,
}

/// A tensor storage a PyTorch checkpoint's `data.pkl` refers to.
#[derive(Debug, Clone)]
pub struct StorageEntry {
    pub key: String,
    /// The storage class (`FloatStorage`).
    pub storage_type: String,
    pub dtype: Option<&'static str>,
    /// Elements, as the persistent id says.
    pub numel: u64,
    pub location: String,
    /// Where the bytes are (the member holding them, or `offset N` in a legacy file),
    /// and how many (None when the archive lacks them).
    pub member: Option<(String, u64)>,
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
    /// have none) the newest protocol among its opcodes. An archive's is that of the
    /// first member that holds a pickle.
    pub fn protocol(&self) -> u8 {
        if let Some(archive) = &self.archive {
            return archive
                .members
                .iter()
                .find_map(|m| match &m.read {
                    Some(Ok(i)) if !i.streams.is_empty() || i.archive.is_some() => {
                        Some(i.protocol())
                    }
                    _ => None,
                })
                .unwrap_or(0);
        }
        self.streams
            .first()
            .map_or(0, |s| s.protocol.unwrap_or(s.highest_opcode_protocol))
    }

    /// This artifact and, for an archive, every member read as one (depth first), and
    /// the members that could not be read.
    pub fn walk<'a>(&'a self, read: &mut Vec<&'a Inspection>, errors: &mut Vec<&'a ReadError>) {
        read.push(self);
        for member in self.archive.iter().flat_map(|a| &a.members) {
            match &member.read {
                Some(Ok(inner)) => inner.walk(read, errors),
                Some(Err(e)) => {
                    errors.push(e);
                    if let Some(p) = e.partial() {
                        p.walk(read, errors);
                    }
                }
                None => {}
            }
        }
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
    /// A skops `schema.json` that skops would refuse before loading anything.
    #[error("{path}: {source}")]
    Skops {
        path: String,
        #[source]
        source: container::skops::SkopsError,
    },
    /// A legacy PyTorch file whose pickles read but whose storages do not add up:
    /// `torch.load` has run the pickles when it fails on them.
    #[error("{path}: {source}")]
    Storages {
        path: String,
        #[source]
        source: container::torch_legacy::StorageProblem,
        partial: Box<Inspection>,
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
            ReadError::Container { path, .. }
            | ReadError::Pickle { path, .. }
            | ReadError::Storages { path, .. }
            | ReadError::Skops { path, .. } => path,
        }
    }

    pub fn offset(&self) -> Option<u64> {
        match self {
            ReadError::Container {
                source: ContainerError::Empty,
                ..
            } => Some(0),
            ReadError::Container {
                source: ContainerError::Zip(e),
                ..
            } => Some(e.offset),
            ReadError::Container { .. } => None,
            ReadError::Pickle { source, .. } => Some(source.offset),
            ReadError::Storages { source, .. } => Some(source.offset()),
            ReadError::Skops { source, .. } => Some(source.offset),
        }
    }

    pub fn opcode(&self) -> Option<&'static str> {
        match self {
            ReadError::Pickle { source, .. } => source.opcode,
            ReadError::Container { .. } | ReadError::Storages { .. } | ReadError::Skops { .. } => {
                None
            }
        }
    }

    /// What was read before the error (the loader has run it: its findings stand).
    pub fn partial(&self) -> Option<&Inspection> {
        match self {
            ReadError::Pickle {
                partial: Some(p), ..
            } => Some(p),
            ReadError::Storages { partial, .. } => Some(partial),
            _ => None,
        }
    }

    /// Whether the error shows that neither loader gets as far as importing anything:
    /// the bytes are not a pickle or a container at all. Containers that exist but fail
    /// (a broken zip, a decoder that produced data) do not qualify.
    pub fn refused_before_import(&self) -> bool {
        match self {
            // skops builds and audits the whole tree before it constructs anything.
            ReadError::Pickle { .. } | ReadError::Skops { .. } => true,
            ReadError::Storages { .. } => false,
            ReadError::Container { source, .. } => matches!(
                source,
                ContainerError::Empty
                    | ContainerError::Unrecognised(_)
                    | ContainerError::Decode { decoded: 0, .. }
            ),
        }
    }

    /// Whether what was read before the error imports or invokes anything (then the file
    /// is an artifact whatever its name, and its findings stand).
    pub fn imports_anything(&self) -> bool {
        self.partial().is_some_and(|insp| {
            insp.readings.iter().any(LoaderReading::imports_anything)
                || !insp.embedded_pickles.is_empty()
        })
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
    let result = read_artifact(&artifact);
    fetched_whole(&artifact)?;
    result
}

/// Fails a remote artifact's reading if a fetch failed along the way: what was read after
/// it may have been a hole (fail closed, never "no issues").
pub fn fetched_whole(artifact: &Artifact) -> Result<(), ReadError> {
    match artifact.fetch_failure() {
        Some(source) => Err(ReadError::Container {
            path: artifact.path.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

/// Reads an opened artifact (a file, or a member of an archive) to the end.
fn read_artifact(artifact: &Artifact) -> Result<Inspection, ReadError> {
    let path = artifact.path.as_path();
    if artifact.container == Container::Zip {
        return Ok(read_archive(artifact));
    }
    if !artifact.holds_pickle() {
        return Ok(plain_array(artifact));
    }
    if artifact.container == Container::TorchLegacy {
        return read_torch_legacy(artifact);
    }
    let parsed = pickle::parse_reading_at(
        artifact.bytes(),
        artifact.pickle_start(),
        &mut Releasing::new(&|start, end| artifact.release(start, end), &mut Quiet),
        primary(artifact).0,
    );
    let inspection = build(path, artifact, &parsed.graph, parsed.error.clone());
    match parsed.error {
        None => Ok(inspection),
        Some(source) => Err(ReadError::Pickle {
            path: path.display().to_string(),
            source,
            partial: Some(Box::new(inspection)),
        }),
    }
}

/// A reading that hands the pages behind the lexer back to the kernel as it goes, and
/// tells `inner` everything it hears: an opcode-dense 40 MB pickle otherwise keeps every
/// page it read mapped (26 MiB of the 98 MiB peak of a TfidfVectorizer pipeline), and
/// `pickle.load`'s reading of a joblib file, which reads the arrays' bytes as opcodes,
/// the whole decoded stream (426 MiB of a 456 MiB forest). The graph holds offsets, not
/// bytes: what it reads again later faults back in from the page cache.
struct Releasing<'a, V> {
    release: &'a dyn Fn(usize, usize),
    released: usize,
    inner: &'a mut V,
}

impl<'a, V> Releasing<'a, V> {
    fn new(release: &'a dyn Fn(usize, usize), inner: &'a mut V) -> Self {
        Releasing {
            release,
            released: 0,
            inner,
        }
    }
}

impl<V: Visitor> Visitor for Releasing<'_, V> {
    const WANTS_OPS: bool = V::WANTS_OPS;
    fn op(&mut self, stream: usize, nested: bool, op: &pickle::Op<'_>) {
        self.inner.op(stream, nested, op);
    }
    fn inline_data(&mut self, stream: usize, data: &pickle::InlineData) {
        self.inner.inline_data(stream, data);
    }
    fn passed(&mut self, offset: u64) {
        // The last step's bytes stay: the opcodes just before are often read again.
        let end = usize::try_from(offset.saturating_sub(pickle::PASSED_STEP)).unwrap_or(usize::MAX);
        if end > self.released {
            (self.release)(self.released, end);
            self.released = end;
        }
        self.inner.passed(offset);
    }
}

/// Whether `pickle.load` of the file's bytes as they lie imports anything: for a file whose
/// container joblib cannot decode (`BZ` is BINBYTES to the C unpickler). Unreadable counts
/// as yes: the gate fails closed.
pub fn raw_bytes_import(path: &Path) -> bool {
    if let Some(url) = crate::store::remote_url(path) {
        let Ok(mirror) = crate::store::open_remote(url) else {
            return true;
        };
        let imports = other_reading(mirror.bytes(), "pickle.load", &|_, _| {}).imports_anything();
        return imports || mirror.failure().is_some();
    }
    let Ok(file) = std::fs::File::open(path) else {
        return true;
    };
    // SAFETY: a read-only map of a file we only read.
    let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
        return true;
    };
    other_reading(&map, "pickle.load", &|_, _| {}).imports_anything()
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
        &mut Releasing::new(&|start, end| artifact.release(start, end), visitor),
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
    if artifact.loader == Loader::Joblib
        && (skipped || error.is_some() || graph.dialect_sensitive || streams > 1)
    {
        let release = |start, end| artifact.release(start, end);
        readings.push(other_reading(data, "pickle.load", &release));
    }
    // joblib picks a codec by a short prefix, but `pickle.load` reads the file as it
    // lies: `BZ` is BINBYTES to it, so a "bz2 file" can be a pickle that runs.
    if let Some(raw) = artifact.raw_bytes() {
        let release = |start, end| artifact.release_raw(start, end);
        let label = "pickle.load of the compressed file's own bytes";
        let reading = other_reading(raw, label, &release);
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
            _ if artifact.container == Container::TorchLegacy => "pytorch-legacy",
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
        archive: None,
        storages: Vec::new(),
        expected_streams: 1,
        skops: None,
    }
}

/// The loader that reads this container, and how it reads the pickle: `numpy.load` hands
/// an object array's bytes to `pickle.load`; every other container is `joblib.load`'s.
pub fn primary(artifact: &Artifact) -> (Reading, &'static str) {
    match artifact.loader {
        Loader::Numpy => (Reading::PickleLoad, "numpy.load(allow_pickle=True)"),
        Loader::Torch => (Reading::PickleLoad, "torch.load(weights_only=False)"),
        Loader::Joblib => (Reading::JoblibLoad, "joblib.load"),
    }
}

/// Reads a legacy PyTorch file: its five pickles as `torch.load` reads them, then the
/// storage section, walked by the keys the fifth pickle lists (never read).
fn read_torch_legacy(artifact: &Artifact) -> Result<Inspection, ReadError> {
    use container::torch_legacy;
    let path = artifact.path.as_path();
    let (parsed, end) = pickle::parse_consecutive(
        artifact.bytes(),
        0,
        torch_legacy::PICKLES,
        &mut Quiet,
        Reading::PickleLoad,
    );
    let mut inspection = build(path, artifact, &parsed.graph, parsed.error.clone());
    inspection.expected_streams = torch_legacy::PICKLES;
    if let Some(source) = parsed.error {
        return Err(ReadError::Pickle {
            path: path.display().to_string(),
            source,
            partial: Some(Box::new(inspection)),
        });
    }
    let graph = &parsed.graph;
    let keys: Vec<String> = graph
        .streams
        .last()
        .and_then(|s| graph.sequence(s.root))
        .map(|items| {
            items
                .iter()
                .filter_map(|&k| graph.text(k).map(|t| t.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let declared = &inspection.view.torch_storages;
    let sized: Vec<(String, Option<u64>)> = keys
        .iter()
        .map(|k| {
            let size = declared
                .iter()
                .find(|s| &s.key == k)
                .and_then(|s| s.dtype)
                .and_then(crate::model::torch::itemsize);
            (k.clone(), size)
        })
        .collect();
    match torch_legacy::walk_storages(artifact.bytes(), end, &sized) {
        Ok((records, section_end)) => {
            let mut valid = std::collections::BTreeSet::new();
            for (key, record) in keys.iter().zip(&records) {
                if let Some(s) = declared.iter().find(|s| &s.key == key) {
                    valid.insert(s.offset);
                    inspection.storages.push(StorageEntry::of(
                        s,
                        record.numel,
                        Some((format!("offset {}", record.offset), record.nbytes)),
                    ));
                }
            }
            let wanted: std::collections::BTreeSet<&str> =
                keys.iter().map(String::as_str).collect();
            forgive_storage_ids(&mut inspection.anomalies, &valid);
            // torch.load reads nothing past the storages: bytes there are for other readers.
            if section_end < artifact.bytes().len() as u64 {
                inspection.trailing = Some(Span {
                    offset: section_end,
                    len: artifact.bytes().len() as u64 - section_end,
                });
            }
            for s in declared.iter().filter(|s| !wanted.contains(s.key.as_str())) {
                inspection.storages.push(StorageEntry::of(s, s.numel, None));
            }
            Ok(inspection)
        }
        Err(source) => Err(ReadError::Storages {
            path: path.display().to_string(),
            source,
            partial: Box::new(inspection),
        }),
    }
}

impl StorageEntry {
    /// A storage the persistent ids declare, with the element count and the place (and
    /// size) of its bytes as the file holds them.
    fn of(
        declared: &crate::model::torch::TorchStorage,
        numel: u64,
        member: Option<(String, u64)>,
    ) -> StorageEntry {
        StorageEntry {
            key: declared.key.clone(),
            storage_type: declared.storage_type.clone(),
            dtype: declared.dtype,
            numel,
            location: declared.location.clone(),
            member,
        }
    }
}

/// Persistent ids that name a storage the file holds, in the shape `torch.load`'s
/// `persistent_load` takes, are what a checkpoint is made of: no anomaly there.
fn forgive_storage_ids(anomalies: &mut Vec<Anomaly>, valid: &std::collections::BTreeSet<u64>) {
    anomalies
        .retain(|a| !(matches!(a.kind, AnomalyKind::PersistentId) && valid.contains(&a.offset)));
}

/// Reads every member of a zip archive. A member whose name says it is a pickle (or a
/// `.npy`) is one, and errors reading it stand; any other member is read by its content
/// and counts as data when no loader would get as far as importing anything from it.
/// Storages are sized from the directory, never read.
fn read_archive(artifact: &Artifact) -> Inspection {
    let kind = artifact.archive.clone().unwrap_or(ArchiveKind::Zip);
    let mut members = Vec::new();
    for member in &artifact.members {
        let role = kind.role(member);
        let mut entry = MemberEntry {
            name: member.name.clone(),
            method: member.method.name(),
            offset: member.data_offset,
            compressed_size: member.compressed_size,
            size: member.size,
            kind: match role {
                Role::Directory => "directory",
                Role::Storage => "storage",
                Role::Schema => "schema",
                _ => "data",
            }
            .into(),
            read: None,
        };
        // skops reads its arrays with `numpy.load(allow_pickle=False)`: a `.npy` there is
        // data (its header sizes the array the schema names), never a pickle.
        if kind == ArchiveKind::Skops && role == Role::Npy {
            entry.kind = "npy".into();
            members.push(entry);
            continue;
        }
        if role == Role::Schema {
            let result = read_skops_schema(artifact, member);
            entry.kind = "skops-schema".into();
            entry.read = Some(result);
            members.push(entry);
            continue;
        }
        // A member nothing marks as loadable is data unless its first bytes say otherwise.
        let unknown_data = role == Role::Unknown && !artifact.member_may_load(member);
        if matches!(role, Role::Pickle | Role::Npy | Role::Unknown) && !unknown_data {
            let loader = match (&kind, role) {
                (ArchiveKind::PyTorch { .. }, Role::Pickle) => Loader::Torch,
                _ => Loader::Joblib,
            };
            let result = artifact
                .open_member(member, loader)
                .map_err(|source| ReadError::Container {
                    path: format!("{}!{}", artifact.path.display(), member.name),
                    source,
                })
                .and_then(|m| read_artifact(&m));
            let data = role == Role::Unknown
                && matches!(&result, Err(e) if e.refused_before_import() && !e.imports_anything());
            if !data {
                entry.kind = match &result {
                    Ok(i) => i.format.into(),
                    Err(e) => e.partial().map_or("unreadable", |i| i.format).into(),
                };
                entry.read = Some(result);
            }
        }
        members.push(entry);
    }
    let storages = match &kind {
        ArchiveKind::PyTorch { prefix } => torch_storages(prefix, &artifact.members, &mut members),
        _ => Vec::new(),
    };
    let format = kind.name();
    Inspection {
        archive: Some(ArchiveInspection { kind, members }),
        storages,
        ..nothing_loaded(artifact, format, ModelView::default())
    }
}

/// A skops file's `schema.json`: its bytes, the tree skops builds from it, and that
/// tree's object graph as a pickle (see [`container::skops::Schema::to_pickle`]).
pub struct SkopsParts {
    pub bytes: container::Bytes,
    pub schema: container::skops::Schema,
    pub synthetic: container::skops::SyntheticPickle,
    /// Bytes members too large to copy into the synthetic pickle (their settings are
    /// not read), with their sizes.
    pub too_large: Vec<(String, u64)>,
}

/// The largest bytes member copied into the synthetic pickle: a booster's blob is where
/// its thread settings are, and boosters are megabytes; a larger member would make the
/// reader's memory follow the artifact's size.
const MAX_INLINE_MEMBER: u64 = 256 << 20;

/// Reads the parts of a skops schema; a bytes member it names that cannot be read is an
/// error (skops reads them all before it loads anything).
pub fn skops_parts(
    archive: &Artifact,
    member: &container::zip::Member,
) -> Result<SkopsParts, ReadError> {
    use container::skops::Schema;
    let path = format!("{}!{}", archive.path.display(), member.name);
    let find = |name: &str| archive.members.iter().find(|m| m.name == name && !m.is_dir);
    let bytes = archive
        .member_contents(member)
        .map_err(|source| ReadError::Container {
            path: path.clone(),
            source,
        })?;
    let fail = |source| ReadError::Skops {
        path: path.clone(),
        source,
    };
    let schema = Schema::parse(&bytes, &|name: &str| find(name).is_some()).map_err(fail)?;
    let mut unreadable = None;
    let mut too_large = Vec::new();
    let synthetic = schema.to_pickle(&mut |file| {
        let m = find(file)?;
        if m.size > MAX_INLINE_MEMBER {
            too_large.push((m.name.clone(), m.size));
            return None;
        }
        match archive.member_contents(m) {
            Ok(b) => Some(b.to_vec()),
            Err(e) => {
                unreadable.get_or_insert(ReadError::Container {
                    path: format!("{}!{}", archive.path.display(), m.name),
                    source: e,
                });
                None
            }
        }
    });
    let synthetic = synthetic.map_err(fail)?;
    match unreadable {
        Some(e) => Err(e),
        None => Ok(SkopsParts {
            bytes,
            schema,
            synthetic,
            too_large,
        }),
    }
}

/// Reads a skops file's `schema.json` as skops builds its tree: the types it would
/// import (judged by the security rules like a pickle's globals), what
/// `get_untrusted_types` lists, and the model view, read from the same object graph
/// spelled as a pickle (offsets are mapped back to the schema's).
pub fn read_skops_schema(
    archive: &Artifact,
    member: &container::zip::Member,
) -> Result<Inspection, ReadError> {
    skops_inspection(archive, member, &skops_parts(archive, member)?)
}

/// The inspection of a schema whose parts are read already (`patch` needs both).
pub fn skops_inspection(
    archive: &Artifact,
    member: &container::zip::Member,
    parts: &SkopsParts,
) -> Result<Inspection, ReadError> {
    use crate::model::{GetattrTarget, GlobalRef, Invocation};
    let path = format!("{}!{}", archive.path.display(), member.name);
    let fail = |source| ReadError::Skops {
        path: path.clone(),
        source,
    };
    let find = |name: &str| archive.members.iter().find(|m| m.name == name && !m.is_dir);
    let SkopsParts {
        schema,
        synthetic,
        too_large,
        ..
    } = parts;
    let parsed = pickle::parse_reading(&synthetic.bytes, &mut Quiet, Reading::PickleLoad);
    if let Some(e) = &parsed.error {
        return Err(fail(container::skops::SkopsError {
            offset: synthetic.schema_offset(e.offset),
            problem: format!("the object graph cannot be followed: {e}"),
        }));
    }
    let mut view = ModelView::build(&parsed.graph);
    for e in &mut view.estimators {
        e.offset = synthetic.schema_offset(e.offset);
    }
    for s in &mut view.settings {
        s.offset = synthetic.schema_offset(s.offset);
    }
    let (imports, methods) = schema.imports();
    let mut globals: Vec<GlobalRef> = Vec::new();
    for i in imports {
        match globals
            .iter_mut()
            .find(|g| g.module == i.module && g.name == i.name)
        {
            Some(g) => {
                g.count += 1;
                g.called |= i.called;
            }
            None => globals.push(GlobalRef {
                resolved_module: i.module.clone(),
                resolved_name: i.name.clone(),
                module: i.module,
                name: i.name,
                dotted: false,
                count: 1,
                called: i.called,
                first_offset: i.offset,
            }),
        }
    }
    let invocations: Vec<Invocation> = methods
        .into_iter()
        .map(|m| Invocation::Getattr {
            offset: m.offset,
            target: GetattrTarget::Instance(Some(m.class)),
            attr: Some(m.method),
        })
        .collect();
    view.globals = globals.clone();
    view.invocations = invocations.clone();
    view.warnings.extend(too_large.iter().map(|(name, size)| {
        format!(
            "the bytes member {name} ({size} bytes) is larger than {MAX_INLINE_MEMBER} bytes: settings inside it (a booster's threads) are not read"
        )
    }));
    view.arrays = schema
        .array_members()
        .into_iter()
        .map(|a| {
            let header = find(&a.file)
                .and_then(|m| archive.member_head(m, 4096))
                .and_then(|head| container::npy::read_header(&head).ok());
            ArrayInfo {
                path: a.path,
                storage: ArrayStorage::NpyFile,
                shape: header.as_ref().map(|h| h.shape.clone()),
                dtype: header.as_ref().map(|h| h.descr.clone()),
                nbytes: header.as_ref().and_then(|h| h.nbytes()).unwrap_or(0),
                offset: a.offset,
            }
        })
        .collect();
    let skops = SkopsInspection {
        protocol: schema.protocol,
        skops_version: schema.skops_version.clone(),
        untrusted_types: schema.untrusted_types().into_iter().collect(),
        nodes: schema.nodes.len(),
    };
    let mut inspection = nothing_loaded(archive, "skops", view);
    inspection.path = path;
    inspection.file_size = member.size;
    inspection.decoded_size = member.size;
    inspection.readings = vec![LoaderReading {
        reading: Reading::PickleLoad,
        label: "skops.io.load",
        facts: LoadFacts {
            globals,
            invocations,
        },
        mutated: Vec::new(),
        error: None,
    }];
    inspection.skops = Some(skops);
    Ok(inspection)
}

/// An artifact no loader unpickles anything from (a plain `.npy`, an archive's own
/// directory): no streams, no readings, only what `view` shows.
fn nothing_loaded(artifact: &Artifact, format: &'static str, view: ModelView) -> Inspection {
    Inspection {
        path: artifact.path.display().to_string(),
        file_size: artifact.file_size,
        format,
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
        archive: None,
        storages: Vec::new(),
        expected_streams: 1,
        skops: None,
    }
}

/// Joins the storages `data.pkl`'s persistent ids name with the members that hold them.
/// A persistent id that names a storage the archive holds, in the shape `torch.load`'s
/// `persistent_load` takes, is what a checkpoint is made of: it is no anomaly there.
fn torch_storages(
    prefix: &str,
    zip_members: &[container::zip::Member],
    members: &mut [MemberEntry],
) -> Vec<StorageEntry> {
    let data_pkl = format!("{prefix}data.pkl");
    let Some(pkl) = members.iter_mut().find(|m| m.name == data_pkl) else {
        return Vec::new();
    };
    let inspection = match &mut pkl.read {
        Some(Ok(i)) => i,
        Some(Err(ReadError::Pickle {
            partial: Some(i), ..
        })) => i.as_mut(),
        Some(Err(ReadError::Storages { partial, .. })) => partial.as_mut(),
        _ => return Vec::new(),
    };
    let mut storages = Vec::new();
    let mut valid = std::collections::BTreeSet::new();
    for s in &inspection.view.torch_storages {
        let name = format!("{prefix}data/{}", s.key);
        let member = zip_members
            .iter()
            .find(|m| m.name == name)
            .map(|m| (m.name.clone(), m.size));
        if member.is_some() {
            valid.insert(s.offset);
        }
        storages.push(StorageEntry::of(s, s.numel, member));
    }
    forgive_storage_ids(&mut inspection.anomalies, &valid);
    storages.sort_by(|a, b| a.key.cmp(&b.key));
    storages.dedup_by(|a, b| a.key == b.key);
    storages
}

/// A `.npy` file of plain data: no pickle, nothing a loader runs; one array.
fn plain_array(artifact: &Artifact) -> Inspection {
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
    nothing_loaded(artifact, "npy", view)
}

/// `pickle.load`'s reading of `data`; `release` hands back the pages behind it (see
/// [`Releasing`]).
fn other_reading(
    data: &[u8],
    label: &'static str,
    release: &dyn Fn(usize, usize),
) -> LoaderReading {
    let other = pickle::parse_reading(
        data,
        &mut Releasing::new(release, &mut Quiet),
        Reading::PickleLoad,
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_releases_the_decoded_pages_behind_it() {
        // 40 MiB of NONE, POP in an lz4 joblib: the reading walks every decoded page.
        let mut pickle = b"\x80\x04".to_vec();
        pickle.extend(b"N0".repeat(20 << 20));
        pickle.extend(b"N.");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dense.joblib");
        std::fs::write(&path, container::lz4_frame(&pickle)).unwrap();

        let artifact = open(&path, &mut |_| {}).unwrap();
        let inspection = read_artifact(&artifact).unwrap();
        assert_eq!(inspection.streams[0].ops, 2 * (20 << 20) + 3);
        // What stays mapped is the last PASSED_STEP (8 MiB) or so, not 40 MiB.
        let resident = container::resident_kib(artifact.bytes().as_ptr());
        assert!(
            resident <= 20 << 10,
            "{resident} KiB of the decoded stream still mapped"
        );
    }
}
