//! Edits to a skops file. A setting skops keeps as a JSON value is a `JsonNode` state in
//! `schema.json`: that state (and nothing else of the schema) is replaced by a state of
//! the new value. A setting inside a booster (XGBoost's config) lies in the bytes member
//! the schema names: that member is rewritten by the writer pickles use for the same
//! blob. The zip writer copies every other member byte for byte.
//!
//! A replacement state carries no `__id__`: skops memoizes by id, and the value's id is
//! shared by every equal small int or string of the model, so keeping it would hand the
//! new value to them too (or theirs to it). A state whose id later states repeat is
//! rewritten only when they repeat its content as well: the first of them then becomes
//! the one skops builds, and builds the same value as before.

use std::collections::BTreeMap;

use super::blob::blob_splice;
use super::{Edit, Piece, Skipped};
use crate::container::json::{self, Json, JsonKind};
use crate::container::skops::NodeKind;
use crate::inspection::SkopsParts;
use crate::model::SettingValue;

/// Each member to write anew (its whole uncompressed content), and the edits that
/// cannot be made.
pub fn plan(
    parts: &SkopsParts,
    schema_member: &str,
    edits: &[Edit],
) -> (Vec<(String, Vec<u8>)>, Vec<Skipped>) {
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    let mut blobs: BTreeMap<u64, Vec<&Edit>> = BTreeMap::new();
    let mut states = Vec::new();
    for e in edits {
        match &e.setting.blob {
            Some(b) => blobs.entry(b.op_offset).or_default().push(e),
            None => states.push(e),
        }
    }
    if !states.is_empty() {
        match json::parse(&parts.bytes) {
            Ok(doc) => {
                let (schema, not) = schema_edits(parts, &doc, &states);
                skipped.extend(not);
                if let Some(bytes) = schema {
                    members.push((schema_member.to_string(), bytes));
                }
            }
            Err(e) => skipped.extend(states.iter().map(|&edit| Skipped {
                edit: edit.clone(),
                reason: e.to_string(),
            })),
        }
    }
    for (op_offset, group) in blobs {
        match blob_member(parts, op_offset, &group) {
            Ok(member) => members.push(member),
            Err(reason) => skipped.extend(group.into_iter().map(|edit| Skipped {
                edit: edit.clone(),
                reason: reason.clone(),
            })),
        }
    }
    (members, skipped)
}

/// Every JSON object of the document by where it starts.
fn objects<'j>(doc: &'j Json, out: &mut BTreeMap<u64, &'j Json>) {
    let mut stack = vec![doc];
    while let Some(j) = stack.pop() {
        match &j.kind {
            JsonKind::Object(members) => {
                out.insert(j.span.offset, j);
                stack.extend(members.iter().map(|(_, v)| v));
            }
            JsonKind::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

/// The schema with each edited state replaced, or None when no edit can be made.
fn schema_edits(
    parts: &SkopsParts,
    doc: &Json,
    edits: &[&Edit],
) -> (Option<Vec<u8>>, Vec<Skipped>) {
    let mut by_offset = BTreeMap::new();
    objects(doc, &mut by_offset);
    let mut skipped = Vec::new();
    let mut replacements: BTreeMap<u64, (u64, String)> = BTreeMap::new();
    let edited: Vec<u64> = edits.iter().map(|e| e.setting.offset).collect();
    for &e in edits {
        let offset = e.setting.offset;
        let outcome = by_offset
            .get(&offset)
            .ok_or_else(|| format!("no skops state at offset {offset} of schema.json"))
            .and_then(|state| {
                check_state(parts, state, &edited)?;
                Ok((state.span.end(), replacement(&e.new)?))
            });
        match outcome {
            Ok(r) => {
                replacements.insert(offset, r);
            }
            Err(reason) => skipped.push(Skipped {
                edit: e.clone(),
                reason,
            }),
        }
    }
    if replacements.is_empty() {
        return (None, skipped);
    }
    let bytes: &[u8] = &parts.bytes;
    let mut out = Vec::with_capacity(bytes.len() + 64 * replacements.len());
    let mut at = 0usize;
    for (start, (end, text)) in replacements {
        out.extend_from_slice(&bytes[at..start as usize]);
        out.extend_from_slice(text.as_bytes());
        at = end as usize;
    }
    out.extend_from_slice(&bytes[at..]);
    (Some(out), skipped)
}

/// Refuses a state that is not a JSON value, or whose id later states reuse with other
/// contents (or leave unedited while they differ).
fn check_state(parts: &SkopsParts, state: &Json, edited: &[u64]) -> Result<(), String> {
    let loader = state
        .get("__loader__")
        .and_then(Json::as_str)
        .unwrap_or("?");
    if loader != "JsonNode" {
        return Err(format!(
            "the value is a skops {loader} state, not a JSON value: it is left as it is"
        ));
    }
    let schema = &parts.schema;
    let Some(owner) = schema
        .nodes
        .iter()
        .position(|n| n.span.offset == state.span.offset && !matches!(n.kind, NodeKind::Alias(_)))
    else {
        // An alias: skops never reads this state's content; a fresh state takes its place.
        return Ok(());
    };
    let bytes: &[u8] = &parts.bytes;
    let content = |span: crate::pickle::graph::Span| {
        json::parse(&bytes[span.offset as usize..span.end() as usize])
            .ok()
            .and_then(|j| j.get("content").map(|c| c.kind.clone()))
    };
    let own = content(state.span);
    for alias in schema
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Alias(t) if t == owner))
    {
        if !edited.contains(&alias.span.offset) && content(alias.span) != own {
            return Err(format!(
                "a later state (offset {}) reuses this value's __id__ with other contents: rewriting it would change what that state loads",
                alias.span.offset
            ));
        }
    }
    Ok(())
}

/// A `JsonNode` state of the value, as `skops.io.dump` writes one (without an id).
fn replacement(value: &SettingValue) -> Result<String, String> {
    let content = match value {
        SettingValue::None => "null".to_string(),
        SettingValue::Bool(b) => b.to_string(),
        SettingValue::Int(i) => i.to_string(),
        SettingValue::Float(x) if x.is_nan() => "NaN".into(),
        SettingValue::Float(x) if x.is_infinite() => {
            if *x > 0.0 { "Infinity" } else { "-Infinity" }.into()
        }
        SettingValue::Float(x) => format!("{x:?}"),
        SettingValue::Str(s) => json::quote(s),
    };
    Ok(format!(
        r#"{{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": {}, "is_json": true}}"#,
        json::quote(&content)
    ))
}

/// The bytes member that holds a booster blob, rewritten with its edits.
fn blob_member(
    parts: &SkopsParts,
    op_offset: u64,
    group: &[&Edit],
) -> Result<(String, Vec<u8>), String> {
    let at = parts.synthetic.schema_offset(op_offset);
    let schema = &parts.schema;
    let file = schema
        .nodes
        .iter()
        .position(|n| n.span.offset == at)
        .map(|r| schema.node(schema.resolve(r)))
        .and_then(|n| match &n.kind {
            NodeKind::Bytes { file } => Some(file.clone()),
            _ => None,
        })
        .ok_or_else(|| format!("no bytes member at offset {at} of schema.json"))?;
    let values: Vec<_> = group
        .iter()
        .filter_map(|e| e.setting.blob.as_ref().map(|b| (b, &e.new)))
        .collect();
    let data = &parts.synthetic.bytes;
    let splice = blob_splice(data, values).map_err(|e| e.to_string())?;
    // The first piece is the blob opcode's length header; the rest is the blob.
    let mut out = Vec::new();
    for piece in splice.pieces.iter().skip(1) {
        match piece {
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Copy(a, b) => out.extend_from_slice(&data[*a as usize..*b as usize]),
        }
    }
    Ok((file, out))
}
