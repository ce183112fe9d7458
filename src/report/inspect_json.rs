//! The JSON document of `artifact inspect --format json` (schema: docs/json.md).

use serde_json::{Value as Json, json};

use super::{FileError, SCHEMA_VERSION};
use crate::inspection::Inspection;
use crate::model::{ArrayInfo, Setting};

pub fn document(inspections: &[&Inspection], errors: &[FileError]) -> Json {
    json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "artifact", "version": env!("CARGO_PKG_VERSION")},
        "artifacts": inspections.iter().map(|i| artifact(i)).collect::<Vec<_>>(),
        "errors": errors.iter().map(FileError::json).collect::<Vec<_>>(),
    })
}

fn artifact(i: &Inspection) -> Json {
    let view = &i.view;
    let total: u64 = view.arrays.iter().map(|a| a.nbytes).sum();
    let largest = view.arrays.iter().max_by_key(|a| a.nbytes);
    json!({
        "path": i.path,
        "size_bytes": i.file_size,
        "container": {
            "format": i.format,
            "codec": i.codec,
            "decoded_bytes": i.decoded_size,
        },
        "protocol": i.protocol(),
        "streams": i.streams.iter().map(|s| json!({
            "offset": s.offset,
            "end": s.end,
            "protocol": s.protocol,
            "ops": s.ops,
            "nested": s.nested,
        })).collect::<Vec<_>>(),
        "trailing_bytes": i.trailing.map(|t| json!({"offset": t.offset, "length": t.len})),
        "estimators": view.estimators.iter().map(|e| json!({
            "class": e.class,
            "sklearn_path": e.sklearn_path.join("__"),
            "raw_path": e.raw_path,
            "parent": e.parent,
            "fitted": e.fitted,
            "template": e.template,
            "offset": e.offset,
            "sklearn_version": e.sklearn_version,
        })).collect::<Vec<_>>(),
        "settings": view.settings.iter().map(setting).collect::<Vec<_>>(),
        "arrays": {
            "count": view.arrays.len(),
            "total_bytes": total,
            "largest": largest.map(array),
            "items": view.arrays.iter().map(array).collect::<Vec<_>>(),
        },
        "globals": view.globals.iter().map(|g| json!({
            "module": g.module,
            "name": g.name,
            "count": g.count,
            "called": g.called,
            "offset": g.first_offset,
        })).collect::<Vec<_>>(),
        "complete": i.readings.first().is_none_or(|r| r.error.is_none()),
        "readings": i.readings.iter().map(|r| json!({
            "loader": r.label,
            "globals": r.facts.globals.iter().map(|g| [&g.module, &g.name]).collect::<Vec<_>>(),
            "extensions": r.facts.invocations.iter().filter_map(|inv| match inv {
                crate::model::Invocation::Extension { code, .. } => Some(*code),
                _ => None,
            }).collect::<Vec<_>>(),
            "stopped": r.error.as_ref().map(|e| e.to_string()),
        })).collect::<Vec<_>>(),
        "versions": {
            "sklearn": view.sklearn_versions,
            "libraries": view.library_versions,
        },
        "anomalies": i.anomalies.iter().map(|a| {
            let (kind, detail) = a.kind.describe();
            json!({"offset": a.offset, "opcode": a.opcode, "kind": kind, "detail": detail})
        }).collect::<Vec<_>>(),
        "warnings": view.warnings,
    })
}

fn setting(s: &Setting) -> Json {
    json!({
        "name": s.name,
        "sklearn_path": s.sklearn_path,
        "raw_path": s.raw_path,
        "class": s.class,
        "value": s.value,
        "offset": s.offset,
        "location": s.location,
        "fitted": s.fitted,
        "estimator": s.estimator,
    })
}

fn array(a: &ArrayInfo) -> Json {
    json!({
        "path": a.path,
        "storage": a.storage,
        "shape": a.shape,
        "dtype": a.dtype,
        "nbytes": a.nbytes,
        "offset": a.offset,
    })
}
