//! Settings that decide how many processes or threads a model starts, or which device
//! it asks for: wherever they sit in an estimator's state, in its parameter dicts, or
//! inside a booster's native blob.

use serde::Serialize;

use super::{ModelView, boosters, join_param};
use crate::pickle::graph::Span;
use crate::pickle::{Graph, Node, Value};

/// Attribute names that control parallelism or device placement.
pub const SETTING_NAMES: &[&str] = &[
    "n_jobs",
    "_n_threads",
    "nthread",
    "nthreads",
    "num_threads",
    "num_thread",
    "thread_count",
    "pre_dispatch",
    "device",
    "device_type",
    "tree_method",
    "task_type",
    "predictor",
    "gpu_id",
    "devices",
    "gpu_platform_id",
    "gpu_device_id",
];

/// Parameter dicts that scikit-learn wrappers of native libraries keep beside the
/// attributes (`get_params` reports their keys as parameters).
const PARAM_DICTS: &[&str] = &["_other_params", "kwargs"];

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum SettingValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl std::fmt::Display for SettingValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingValue::None => f.write_str("None"),
            SettingValue::Bool(true) => f.write_str("True"),
            SettingValue::Bool(false) => f.write_str("False"),
            SettingValue::Int(i) => write!(f, "{i}"),
            SettingValue::Float(x) => write!(f, "{x}"),
            SettingValue::Str(s) => write!(f, "'{s}'"),
        }
    }
}

/// Where a setting is stored, which decides how it is read and patched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    /// A key of the estimator's state dict.
    Attribute,
    /// A key of a parameter dict in the state (`_other_params`, `kwargs`).
    ParamsDict,
    /// A string in XGBoost's UBJSON booster config.
    XgboostConfig,
    /// A `[key: value]` line in LightGBM's model text.
    LightgbmModelText,
    /// A key of LightGBM's `Booster.params` dict.
    BoosterParams,
}

/// How a blob's bytes are spelled in the pickle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobForm {
    /// The opcode's payload is the blob (BINBYTES, BYTEARRAY8, BINUNICODE of model text).
    Raw,
    /// A str opcode whose characters, encoded as latin-1, are the blob (protocols 0-2
    /// spell bytes as `_codecs.encode(text, 'latin1')`). Offsets count those bytes from 0.
    Latin1Text,
    /// A str opcode whose text, as UTF-8, is the blob, spelled escaped (protocol 0's
    /// UNICODE). Offsets count the UTF-8 bytes from 0.
    EscapedText,
}

/// Where a setting stored inside a blob lies, for the patcher: the blob's opcode, and
/// within it the value (and, for UBJSON strings, the length field before it).
#[derive(Clone, Debug, PartialEq)]
pub struct BlobValue {
    pub form: BlobForm,
    /// Offset of the opcode that pushes the blob (BINBYTES, BYTEARRAY8, BINUNICODE...).
    pub op_offset: u64,
    /// The blob's bytes.
    pub payload: Span,
    /// For a UBJSON string: where its length (type marker and integer) starts.
    pub length_field: Option<u64>,
    /// The value's bytes.
    pub value: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The attribute or parameter name (`n_jobs`, `nthread`).
    pub name: String,
    /// `set_params` spelling; booster-level settings use `<estimator>__booster.<name>`.
    pub sklearn_path: String,
    /// Path from the root object (`steps[0][1].n_jobs`).
    pub raw_path: String,
    /// Index into [`ModelView::estimators`].
    pub estimator: usize,
    pub class: String,
    pub value: SettingValue,
    /// Offset of the value's first byte (its opcode, or its bytes inside a blob).
    pub offset: u64,
    pub location: Location,
    /// Whether the estimator is a fitted clone (see [`super::Estimator::fitted`]).
    pub fitted: bool,
    /// For settings inside a booster blob: where exactly (None for plain values).
    pub blob: Option<BlobValue>,
}

/// A scalar (or str) value as a setting value; `None` for anything else.
pub fn scalar(graph: &Graph<'_>, value: Value) -> Option<SettingValue> {
    Some(match value {
        Value::None => SettingValue::None,
        Value::Bool(b) => SettingValue::Bool(b),
        Value::Int(i) => SettingValue::Int(i),
        Value::Float(f) => SettingValue::Float(f),
        Value::Str(_) => SettingValue::Str(graph.text(value)?.into_owned()),
        Value::Bytes(_) | Value::Node(_) => return None,
    })
}

pub(super) fn collect(graph: &Graph<'_>, view: &mut ModelView, index: usize) {
    let est = view.estimators[index].clone();
    let value = Value::Node(est.node);
    let Some(state) = graph.state_dict(value) else {
        return;
    };
    let Some(entries) = graph.dict_entries(state) else {
        return;
    };
    let raw = |suffix: &str| {
        if est.raw_path.is_empty() {
            suffix.trim_start_matches('.').to_string()
        } else {
            format!("{}{}", est.raw_path, suffix)
        }
    };
    let setting =
        |name: &str, sklearn_path: String, raw_path: String, value, offset, location| Setting {
            name: name.to_string(),
            sklearn_path,
            raw_path,
            estimator: index,
            class: est.class.clone(),
            value,
            offset,
            location,
            fitted: est.fitted,
            blob: None,
        };
    let mut found = Vec::new();
    for entry in entries {
        let Some(key) = graph.text(entry.key()) else {
            continue;
        };
        if SETTING_NAMES.contains(&key.as_ref()) {
            if let Some(v) = scalar(graph, entry.value()) {
                found.push(setting(
                    &key,
                    est.param(&key),
                    raw(&format!(".{key}")),
                    v,
                    entry.value_offset(),
                    Location::Attribute,
                ));
            }
            continue;
        }
        if PARAM_DICTS.contains(&key.as_ref())
            && let Some(params) = graph.dict_entries(entry.value())
        {
            for p in params {
                let Some(name) = graph.text(p.key()) else {
                    continue;
                };
                if !SETTING_NAMES.contains(&name.as_ref()) {
                    continue;
                }
                if let Some(v) = scalar(graph, p.value()) {
                    found.push(setting(
                        &name,
                        est.param(&name),
                        raw(&format!(".{key}['{name}']")),
                        v,
                        p.value_offset(),
                        Location::ParamsDict,
                    ));
                }
            }
            continue;
        }
        if key == "_Booster"
            && let Some(Node::Object(_)) = graph.get(entry.value())
        {
            let prefix = join_param(&est.sklearn_path, "booster");
            match boosters::read(graph, entry.value()) {
                Ok(booster) => {
                    if let Some((lib, version)) = booster.version {
                        view.library_versions.insert(lib.to_string(), version);
                    }
                    for b in booster.settings {
                        let mut s = setting(
                            &b.name,
                            format!("{prefix}.{}", b.name),
                            raw(&format!("._Booster.{}", b.where_)),
                            b.value,
                            b.offset,
                            b.location,
                        );
                        s.blob = b.blob;
                        found.push(s);
                    }
                }
                Err(message) => view.warnings.push(format!(
                    "{} at {}: cannot read the booster: {message}",
                    est.class,
                    if est.raw_path.is_empty() {
                        "the root"
                    } else {
                        &est.raw_path
                    }
                )),
            }
        }
    }
    view.settings.extend(found);
}
