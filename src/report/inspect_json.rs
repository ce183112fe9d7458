//! The JSON document of `artifact inspect --format json` ([`InspectDocument`], schema
//! docs/inspect.schema.json, generated from these types; fields explained in docs/json.md).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{FileError, SCHEMA_VERSION, Tool};
use crate::inspection::Inspection;
use crate::model::{ArrayInfo, ArrayStorage, Invocation, Location, Setting, SettingValue};

/// One document, whatever the number of files.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectDocument {
    pub schema_version: u32,
    pub tool: Tool,
    /// The artifacts read to the end (or, with `complete: false`, as far as they were read).
    pub artifacts: Vec<ArtifactEntry>,
    /// Files that could not be read to the end (exit code 2).
    pub errors: Vec<FileError>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEntry {
    /// As given on the command line.
    pub path: String,
    /// Size of the file on disk.
    pub size_bytes: u64,
    pub container: ContainerEntry,
    /// The first stream's PROTO, or the newest protocol among its opcodes for protocol 0/1.
    pub protocol: u8,
    pub streams: Vec<StreamEntry>,
    /// Bytes after the last stream that are not a pickle stream.
    pub trailing_bytes: Option<SpanEntry>,
    pub estimators: Vec<EstimatorEntry>,
    pub settings: Vec<SettingEntry>,
    pub arrays: ArraysEntry,
    /// A PyTorch checkpoint's tensor storages (their bytes are never read); the tensors
    /// themselves are in the `arrays` of the member that rebuilds them.
    pub storages: Vec<StorageEntry>,
    /// Bytes the storages hold.
    pub storage_bytes: u64,
    pub globals: Vec<GlobalEntry>,
    /// False when the stream does not parse to its end: `errors[]` says where it stopped.
    pub complete: bool,
    /// What each loader would import: `joblib.load` first, then `pickle.load` where it
    /// reads the bytes differently.
    pub readings: Vec<ReadingEntry>,
    pub versions: VersionsEntry,
    pub anomalies: Vec<AnomalyEntry>,
    /// Parts that could not be interpreted (an unreadable booster blob).
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerEntry {
    /// `pickle`, `joblib`, `npy`, `pytorch-legacy` (torch.save's pre-1.6 format), or for
    /// a zip archive `pytorch`, `npz`, `skops`, `zip`.
    pub format: &'static str,
    /// `zlib`, `gzip`, `bz2`, `xz`, `lzma`, `lz4`; null when not compressed.
    pub codec: Option<&'static str>,
    /// Bytes of pickle data (after decompression).
    pub decoded_bytes: u64,
    /// A `.npy` file's header; null for other containers.
    pub npy: Option<NpyEntry>,
    /// A zip archive's members; null for other containers. The members read as
    /// artifacts follow this entry in `artifacts`, named `archive!member`.
    pub archive: Option<ArchiveEntry>,
    /// A skops file's `schema.json` (the artifact `file.skops!schema.json`); null for
    /// other containers.
    pub skops: Option<SkopsEntry>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkopsEntry {
    /// The skops protocol the schema declares.
    pub protocol: i64,
    /// `_skops_version` as recorded; null when absent.
    pub skops_version: Option<String>,
    /// What `skops.io.get_untrusted_types` returns for the file, sorted: `skops.io.load`
    /// refuses it unless each is passed as `trusted`.
    pub untrusted_types: Vec<String>,
    /// Nodes skops builds from the schema.
    pub nodes: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveEntry {
    /// `pytorch`, `npz`, `skops` or `zip`.
    pub kind: &'static str,
    pub members: Vec<MemberEntry>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    pub name: String,
    /// `stored`, `deflated`, or `method N`.
    pub method: String,
    /// Where the member's data starts in the archive.
    pub offset: u64,
    pub compressed_size: u64,
    pub size: u64,
    /// What the member holds: a format (`pickle`, `joblib`, `npy`, `pytorch`, `zip`, ...),
    /// `skops-schema` (read as the artifact `archive!schema.json`), or `storage`,
    /// `directory`, `data` (nothing a loader unpickles), or
    /// `unreadable` (listed in `errors`).
    pub kind: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageEntry {
    pub key: String,
    /// The storage class `data.pkl` names (`FloatStorage`, `UntypedStorage`).
    pub storage_type: String,
    pub dtype: Option<&'static str>,
    /// Elements, as the persistent id declares.
    pub numel: u64,
    /// `cpu`, `cuda:0`, ...: where torch.load puts it unless told otherwise.
    pub location: String,
    /// The member holding its bytes (`offset N` in a legacy file); null when missing.
    pub member: Option<String>,
    /// The bytes it holds there.
    pub bytes: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NpyEntry {
    /// The format's major version: 1, 2 or 3.
    pub version: u8,
    /// The type string (`<f8`, `|O`), or a structured dtype's field list as Python writes it.
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    pub itemsize: u64,
    /// The dtype holds Python objects: the data is a pickle `numpy.load(allow_pickle=True)`
    /// runs (its first stream starts at `data_offset`; offsets are the file's).
    pub object: bool,
    /// File offset of the data, just past the header.
    pub data_offset: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamEntry {
    pub offset: u64,
    /// Just past STOP.
    pub end: u64,
    /// PROTO's argument, or null.
    pub protocol: Option<u8>,
    pub ops: u64,
    /// A joblib object array.
    pub nested: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpanEntry {
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimatorEntry {
    /// `module.Class`.
    pub class: String,
    /// `set_params` names joined by `__`; `""` for the root.
    pub sklearn_path: String,
    /// Attribute path from the root (`steps[0][1]`); `""` for the root.
    pub raw_path: String,
    /// Index of the estimator holding it.
    pub parent: Option<usize>,
    pub fitted: bool,
    /// An unfitted template whose fitted clones sit elsewhere.
    pub template: bool,
    /// First opcode that builds it.
    pub offset: u64,
    pub sklearn_version: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingEntry {
    pub name: String,
    pub sklearn_path: String,
    pub raw_path: String,
    pub class: String,
    pub value: SettingValue,
    /// First byte of the value: its opcode, or its bytes inside a booster blob.
    pub offset: u64,
    pub location: Location,
    pub fitted: bool,
    /// Index into `estimators`.
    pub estimator: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArraysEntry {
    pub count: usize,
    pub total_bytes: u64,
    pub largest: Option<ArrayEntry>,
    pub items: Vec<ArrayEntry>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrayEntry {
    pub path: String,
    pub storage: ArrayStorage,
    pub shape: Option<Vec<u64>>,
    pub dtype: Option<String>,
    pub nbytes: u64,
    pub offset: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalEntry {
    pub module: String,
    pub name: String,
    /// References.
    pub count: u64,
    /// Invoked by the load (REDUCE/NEWOBJ/INST/OBJ target, a reconstructor, ...).
    pub called: bool,
    /// First reference.
    pub offset: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingEntry {
    /// `joblib.load`, `pickle.load`, `pickle.load of the compressed file's own bytes`.
    pub loader: &'static str,
    /// `[module, name]` pairs, as spelled.
    pub globals: Vec<[String; 2]>,
    /// EXT codes.
    pub extensions: Vec<i64>,
    /// Where that loader fails, or null.
    pub stopped: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionsEntry {
    /// `_sklearn_version` value -> number of estimators recording it.
    pub sklearn: BTreeMap<String, u64>,
    /// Other library versions found in boosters (`lightgbm`: `v4`).
    pub libraries: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnomalyEntry {
    pub offset: u64,
    pub opcode: Option<&'static str>,
    /// `memo-overwritten`, `stack-not-empty`, `misplaced-proto`, ... (docs/json.md).
    pub kind: &'static str,
    pub detail: String,
}

impl InspectDocument {
    pub fn new(inspections: &[&Inspection], errors: Vec<FileError>) -> Self {
        InspectDocument {
            schema_version: SCHEMA_VERSION,
            tool: Tool::THIS,
            artifacts: inspections.iter().map(|i| artifact(i)).collect(),
            errors,
        }
    }
}

fn artifact(i: &Inspection) -> ArtifactEntry {
    let view = &i.view;
    ArtifactEntry {
        path: i.path.clone(),
        size_bytes: i.file_size,
        container: ContainerEntry {
            format: i.format,
            codec: i.codec,
            decoded_bytes: i.decoded_size,
            npy: i.npy.as_ref().map(|h| NpyEntry {
                version: h.version,
                descr: h.descr.clone(),
                fortran_order: h.fortran_order,
                shape: h.shape.clone(),
                itemsize: h.itemsize,
                object: h.object,
                data_offset: h.data_offset,
            }),
            archive: i.archive.as_ref().map(|a| ArchiveEntry {
                kind: a.kind.name(),
                members: a
                    .members
                    .iter()
                    .map(|m| MemberEntry {
                        name: m.name.clone(),
                        method: m.method.clone(),
                        offset: m.offset,
                        compressed_size: m.compressed_size,
                        size: m.size,
                        kind: m.kind.clone(),
                    })
                    .collect(),
            }),
            skops: i.skops.as_ref().map(|k| SkopsEntry {
                protocol: k.protocol,
                skops_version: k.skops_version.clone(),
                untrusted_types: k.untrusted_types.clone(),
                nodes: k.nodes,
            }),
        },
        storages: i
            .storages
            .iter()
            .map(|s| StorageEntry {
                key: s.key.clone(),
                storage_type: s.storage_type.clone(),
                dtype: s.dtype,
                numel: s.numel,
                location: s.location.clone(),
                member: s.member.as_ref().map(|(name, _)| name.clone()),
                bytes: s.member.as_ref().map(|&(_, size)| size),
            })
            .collect(),
        storage_bytes: i.storage_bytes(),
        protocol: i.protocol(),
        streams: i
            .streams
            .iter()
            .map(|s| StreamEntry {
                offset: s.offset,
                end: s.end,
                protocol: s.protocol,
                ops: s.ops,
                nested: s.nested,
            })
            .collect(),
        trailing_bytes: i.trailing.map(|t| SpanEntry {
            offset: t.offset,
            length: t.len,
        }),
        estimators: view
            .estimators
            .iter()
            .map(|e| EstimatorEntry {
                class: e.class.clone(),
                sklearn_path: e.sklearn_path.join("__"),
                raw_path: e.raw_path.clone(),
                parent: e.parent,
                fitted: e.fitted,
                template: e.template,
                offset: e.offset,
                sklearn_version: e.sklearn_version.clone(),
            })
            .collect(),
        settings: view.settings.iter().map(setting).collect(),
        arrays: ArraysEntry {
            count: view.arrays.len(),
            total_bytes: view.arrays.iter().map(|a| a.nbytes).sum(),
            largest: view.arrays.iter().max_by_key(|a| a.nbytes).map(array),
            items: view.arrays.iter().map(array).collect(),
        },
        globals: view
            .globals
            .iter()
            .map(|g| GlobalEntry {
                module: g.module.clone(),
                name: g.name.clone(),
                count: g.count,
                called: g.called,
                offset: g.first_offset,
            })
            .collect(),
        complete: i.readings.first().is_none_or(|r| r.error.is_none()),
        readings: i
            .readings
            .iter()
            .map(|r| ReadingEntry {
                loader: r.label,
                globals: r
                    .facts
                    .globals
                    .iter()
                    .map(|g| [g.module.clone(), g.name.clone()])
                    .collect(),
                extensions: r
                    .facts
                    .invocations
                    .iter()
                    .filter_map(|inv| match inv {
                        Invocation::Extension { code, .. } => Some(*code),
                        _ => None,
                    })
                    .collect(),
                stopped: r.error.as_ref().map(|e| e.to_string()),
            })
            .collect(),
        versions: VersionsEntry {
            sklearn: view.sklearn_versions.clone(),
            libraries: view.library_versions.clone(),
        },
        anomalies: i
            .anomalies
            .iter()
            .map(|a| {
                let (kind, detail) = a.kind.describe();
                AnomalyEntry {
                    offset: a.offset,
                    opcode: a.opcode,
                    kind,
                    detail,
                }
            })
            .collect(),
        warnings: view.warnings.clone(),
    }
}

fn setting(s: &Setting) -> SettingEntry {
    SettingEntry {
        name: s.name.clone(),
        sklearn_path: s.sklearn_path.clone(),
        raw_path: s.raw_path.clone(),
        class: s.class.clone(),
        value: s.value.clone(),
        offset: s.offset,
        location: s.location.clone(),
        fitted: s.fitted,
        estimator: s.estimator,
    }
}

fn array(a: &ArrayInfo) -> ArrayEntry {
    ArrayEntry {
        path: a.path.clone(),
        storage: a.storage,
        shape: a.shape.clone(),
        dtype: a.dtype.clone(),
        nbytes: a.nbytes,
        offset: a.offset,
    }
}
