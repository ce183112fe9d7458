//! Settings inside native boosters: XGBoost's UBJSON `handle` and LightGBM's model text.
//! These are the values the native library applies at predict time; the wrapper's
//! attribute alone does not change them (`reference/parallelism.md`, section 3).

use memchr::memmem;

use super::settings::{BlobForm, BlobValue, Location, SETTING_NAMES, SettingValue, scalar};
use super::ubjson;
use crate::pickle::graph::Span;
use crate::pickle::{Graph, Value};

pub struct BoosterSetting {
    pub name: String,
    pub value: SettingValue,
    pub offset: u64,
    pub location: Location,
    /// Where inside the booster, for the raw path (`handle:Config.learner.generic_param.nthread`).
    pub where_: String,
    pub blob: Option<BlobValue>,
}

#[derive(Default)]
pub struct Booster {
    pub settings: Vec<BoosterSetting>,
    pub version: Option<(&'static str, String)>,
}

/// A booster whose blob cannot be read: the settings inside it stay unknown.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BoosterError {
    #[error("XGBoost config {0}")]
    XgboostConfig(#[from] ubjson::UbjsonError),
}

pub fn read(graph: &Graph<'_>, booster: Value) -> Result<Booster, BoosterError> {
    let Some((module, name)) = graph.class_of(booster) else {
        return Ok(Booster::default());
    };
    let Some(state) = graph.state_dict(booster) else {
        return Ok(Booster::default());
    };
    match (module, name) {
        ("xgboost.core", "Booster") => {
            let Some(handle) = graph.dict_get(state, "handle") else {
                return Ok(Booster::default());
            };
            let Some((blob, span)) = graph.bytes_like(handle.value()) else {
                return Ok(Booster::default());
            };
            // Protocols 0-2 spell the blob as latin-1 text: its bytes have no offset of
            // their own, so settings point at the object that rebuilds it, and their blob
            // positions count the decoded bytes.
            let Some(payload) = span else {
                let offset = graph.origin_of(handle.value());
                let mut booster = xgboost(&blob, 0)?;
                let text_op = graph.latin1_text_op(handle.value());
                for s in &mut booster.settings {
                    s.offset = offset;
                    match (&mut s.blob, text_op) {
                        (Some(b), Some(op_offset)) => {
                            b.op_offset = op_offset;
                            b.form = BlobForm::Latin1Text;
                        }
                        _ => s.blob = None,
                    }
                }
                return Ok(booster);
            };
            let mut booster = xgboost(&blob, payload.offset)?;
            let op = graph.bytes_op(handle.value());
            for s in &mut booster.settings {
                match (op, &mut s.blob) {
                    (Some(op_offset), Some(b)) => {
                        b.op_offset = op_offset;
                        b.payload = payload;
                    }
                    _ => s.blob = None,
                }
            }
            Ok(booster)
        }
        ("lightgbm.basic", "Booster") => {
            let mut booster = Booster::default();
            if let Some(handle) = graph.dict_get(state, "_handle")
                && let Value::Str(op_offset) = handle.value()
                && let Some(span) = graph.span_of(handle.value())
            {
                // Protocol 0 UNICODE text is escaped: its settings count the decoded text.
                let escaped = graph.data().get(op_offset as usize) == Some(&b'V');
                if escaped {
                    let text = graph.text(handle.value()).unwrap_or_default();
                    booster = lightgbm_text(text.as_bytes(), 0);
                    let at = graph.origin_of(handle.value());
                    for s in &mut booster.settings {
                        s.offset = at;
                        if let Some(b) = &mut s.blob {
                            b.op_offset = op_offset;
                            b.form = BlobForm::EscapedText;
                        }
                    }
                } else {
                    booster = lightgbm_text(graph.bytes(span), span.offset);
                    for s in &mut booster.settings {
                        if let Some(b) = &mut s.blob {
                            b.op_offset = op_offset;
                            b.payload = span;
                        }
                    }
                }
            }
            if let Some(params) = graph.dict_get(state, "params").map(|e| e.value())
                && let Some(entries) = graph.dict_entries(params)
            {
                for e in entries {
                    let Some(key) = graph.text(e.key()) else {
                        continue;
                    };
                    if !SETTING_NAMES.contains(&key.as_ref()) {
                        continue;
                    }
                    if let Some(value) = scalar(graph, e.value()) {
                        booster.settings.push(BoosterSetting {
                            name: format!("params.{key}"),
                            value,
                            offset: e.value_offset(),
                            location: Location::BoosterParams,
                            where_: format!("params['{key}']"),
                            blob: None,
                        });
                    }
                }
            }
            Ok(booster)
        }
        _ => Ok(Booster::default()),
    }
}

/// `Config.learner.generic_param.{nthread,n_jobs,device}` and the tree method, as strings.
fn xgboost(blob: &[u8], blob_offset: u64) -> Result<Booster, BoosterError> {
    let leaves = ubjson::string_leaves(blob, "Config")?;
    let version = leaves
        .iter()
        .find(|l| l.path == "Config.version")
        .map(|l| ("xgboost", l.value.clone()));
    let settings = leaves
        .into_iter()
        .filter_map(|leaf| {
            let name = leaf.path.rsplit('.').next()?.to_string();
            SETTING_NAMES
                .contains(&name.as_str())
                .then(|| BoosterSetting {
                    value: SettingValue::Str(leaf.value.clone()),
                    offset: blob_offset + leaf.value_offset as u64,
                    location: Location::XgboostConfig,
                    where_: format!("handle:{}", leaf.path),
                    name,
                    // The caller fills in the blob's opcode and span.
                    blob: Some(BlobValue {
                        form: BlobForm::Raw,
                        op_offset: 0,
                        payload: Span::default(),
                        length_field: Some(blob_offset + leaf.marker_offset as u64 + 1),
                        value: Span {
                            offset: blob_offset + leaf.value_offset as u64,
                            len: leaf.value.len() as u64,
                        },
                    }),
                })
        })
        .collect();
    Ok(Booster { settings, version })
}

/// LightGBM's model text: `version=v4` near the top, `[num_threads: 14]` lines between
/// `parameters:` and `end of parameters` near the end.
fn lightgbm_text(text: &[u8], text_offset: u64) -> Booster {
    let mut booster = Booster::default();
    let head = &text[..text.len().min(4096)];
    if let Some(i) = memmem::find(head, b"\nversion=") {
        let rest = &head[i + 9..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        // The model format's version (`v4`), not the library's.
        booster.version = Some((
            "lightgbm-model-format",
            String::from_utf8_lossy(&rest[..end]).into_owned(),
        ));
    }
    let Some(start) = memmem::find(text, b"\nparameters:\n") else {
        return booster;
    };
    let body_start = start + "\nparameters:\n".len();
    let body_end = memmem::find(&text[body_start..], b"end of parameters")
        .map_or(text.len(), |i| body_start + i);
    let mut pos = body_start;
    for line in text[body_start..body_end].split(|&b| b == b'\n') {
        let line_start = pos;
        pos += line.len() + 1;
        let Some(inner) = line.strip_prefix(b"[").and_then(|l| l.strip_suffix(b"]")) else {
            continue;
        };
        let Some(colon) = memchr::memchr(b':', inner) else {
            continue;
        };
        let key = String::from_utf8_lossy(&inner[..colon]).into_owned();
        if !SETTING_NAMES.contains(&key.as_str()) {
            continue;
        }
        let raw_value = &inner[colon + 1..];
        let trimmed = raw_value.trim_ascii_start();
        let value_start = line_start + 1 + colon + 1 + (raw_value.len() - trimmed.len());
        let text_value = String::from_utf8_lossy(trimmed).into_owned();
        let value = text_value
            .parse::<i64>()
            .map(SettingValue::Int)
            .unwrap_or(SettingValue::Str(text_value));
        booster.settings.push(BoosterSetting {
            where_: format!("_handle:[{key}]"),
            name: key,
            value,
            offset: text_offset + value_start as u64,
            location: Location::LightgbmModelText,
            blob: Some(BlobValue {
                form: BlobForm::Raw,
                op_offset: 0,
                payload: Span::default(),
                length_field: None,
                value: Span {
                    offset: text_offset + value_start as u64,
                    len: trimmed.len() as u64,
                },
            }),
        });
    }
    booster
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lightgbm_parameters_with_offsets() {
        let text = b"tree\nversion=v4\nnum_class=1\n\nparameters:\n[boosting: gbdt]\n[num_threads: 14]\n[device_type: cpu]\nend of parameters\n";
        let b = lightgbm_text(text, 100);
        assert_eq!(b.version, Some(("lightgbm-model-format", "v4".to_string())));
        assert_eq!(b.settings.len(), 2);
        assert_eq!(b.settings[0].name, "num_threads");
        assert_eq!(b.settings[0].value, SettingValue::Int(14));
        let at = (b.settings[0].offset - 100) as usize;
        assert_eq!(&text[at..at + 2], b"14");
        assert_eq!(b.settings[1].value, SettingValue::Str("cpu".into()));
    }
}
