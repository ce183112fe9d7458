//! Rewriting settings in the byte stream, without executing anything.
//!
//! An edit replaces one value's opcodes. Everything else is copied: the writer turns
//! edits into splices and adds the fix-ups the format needs (DESIGN.md, "Patch
//! invariants"): every FRAME length that contains an edit, every joblib array's padding
//! after a length change (so each array stays aligned, and usually at its old offset),
//! and the length opcodes of blobs (XGBoost's UBJSON, LightGBM's model text) edited inside.
//! A memoized value keeps its opcodes and is POPped before the new value is pushed, so
//! the memo's numbering, and every later GET, mean what they meant.

mod encode;
pub mod staging;
mod writer;

use std::collections::BTreeMap;

use crate::inspection::Inspection;
use crate::model::{BlobForm, Location, ModelView, Setting, SettingValue};
use crate::pickle::graph::{InlineData, Stream};
use crate::pickle::{Lexer, Op, Opcode, Visitor};
use crate::rules::{self, Family};

pub use writer::write;

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("no setting '{key}' in this artifact; settings that exist: {known}")]
    UnknownKey { key: String, known: String },
    #[error("{0}")]
    Invalid(String),
    #[error("at offset {offset}: {message}")]
    Layout { offset: u64, message: String },
}

/// `KEY=VALUE` from the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub key: String,
    pub value: SettingValue,
}

impl std::str::FromStr for Request {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE (n_jobs=null), got '{s}'"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("no key before '=' in '{s}'"));
        }
        Ok(Request {
            key: key.to_string(),
            value: parse_value(value.trim())?,
        })
    }
}

/// `null`/`None`, `true`/`false`/`True`/`False`, an integer, a float, or a quoted string.
pub fn parse_value(text: &str) -> Result<SettingValue, String> {
    Ok(match text {
        "null" | "None" | "none" => SettingValue::None,
        "true" | "True" => SettingValue::Bool(true),
        "false" | "False" => SettingValue::Bool(false),
        _ if text.len() >= 2
            && ((text.starts_with('"') && text.ends_with('"'))
                || (text.starts_with('\'') && text.ends_with('\''))) =>
        {
            SettingValue::Str(text[1..text.len() - 1].to_string())
        }
        _ => {
            let integer = text.strip_prefix(['-', '+']).unwrap_or(text);
            if !integer.is_empty() && integer.bytes().all(|b| b.is_ascii_digit()) {
                SettingValue::Int(text.parse::<i64>().map_err(|_| {
                    format!("{text} does not fit a 64-bit integer (a C long), which every integer setting must")
                })?)
            } else if let Ok(f) = text.parse::<f64>() {
                SettingValue::Float(f)
            } else {
                return Err(format!(
                    "'{text}' is not a value: use null, true, false, a number, or a quoted string ('\"cpu\"')"
                ));
            }
        }
    })
}

/// One setting to rewrite, and what it becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub setting: Setting,
    pub new: SettingValue,
}

/// Edits for `--set` requests. A key is a bare attribute (`n_jobs`: every estimator
/// attribute or parameter-dict entry of that name, fitted clones included), a sklearn
/// path (`preprocessor__n_jobs`, `xgboost__booster.nthread`) or a raw path.
pub fn plan_set(view: &ModelView, requests: &[Request]) -> Result<Vec<Edit>, PatchError> {
    let mut edits = Vec::new();
    for request in requests {
        let bare =
            !request.key.contains("__") && !request.key.contains('.') && !request.key.contains('[');
        let matched: Vec<&Setting> = view
            .settings
            .iter()
            .filter(|s| {
                s.sklearn_path == request.key
                    || s.raw_path == request.key
                    || (bare
                        && s.name == request.key
                        && matches!(s.location, Location::Attribute | Location::ParamsDict))
            })
            .collect();
        if matched.is_empty() {
            let mut known: Vec<&str> = view
                .settings
                .iter()
                .map(|s| s.sklearn_path.as_str())
                .collect();
            known.sort_unstable();
            known.dedup();
            return Err(PatchError::UnknownKey {
                key: request.key.clone(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        for s in matched {
            edits.push(Edit {
                setting: s.clone(),
                new: request.value.clone(),
            });
        }
    }
    finish(view, edits)
}

/// Edits for `--fix`: every autofix the rules offer. `jobs` asks for that explicit
/// thread count instead of the library default (None, or "0" in XGBoost's booster).
/// LightGBM's booster copies (model text, `params`) follow the wrapper, so that the
/// saved booster says what the repaired wrapper says.
pub fn plan_fix(inspection: &Inspection, jobs: Option<i64>) -> Result<Vec<Edit>, PatchError> {
    let view = &inspection.view;
    let mut edits = Vec::new();
    for finding in rules::check(inspection, &rules::Options::default()) {
        let Some(fix) = &finding.fix else { continue };
        let Some(setting) = view
            .settings
            .iter()
            .find(|s| Some(s.offset) == finding.offset && s.sklearn_path == fix.path)
        else {
            continue;
        };
        let new = match (jobs, &fix.value, finding.family()) {
            (Some(n), SettingValue::None, Some(Family::Parallelism)) => SettingValue::Int(n),
            (Some(n), SettingValue::Str(_), Some(Family::Parallelism)) => {
                SettingValue::Str(n.to_string())
            }
            _ => fix.value.clone(),
        };
        edits.push(Edit {
            setting: setting.clone(),
            new,
        });
    }
    let lightgbm_fixed: Vec<usize> = edits
        .iter()
        .filter(|e| e.setting.class.starts_with("lightgbm."))
        .map(|e| e.setting.estimator)
        .collect();
    for s in &view.settings {
        let threads = matches!(
            s.name.as_str(),
            "num_threads" | "params.num_threads" | "params.n_jobs"
        );
        let booster = matches!(
            s.location,
            Location::LightgbmModelText | Location::BoosterParams
        );
        let parallel = matches!(s.value, SettingValue::Int(n) if n != 0 && Some(n) != jobs);
        if threads && booster && parallel && lightgbm_fixed.contains(&s.estimator) {
            edits.push(Edit {
                setting: s.clone(),
                new: SettingValue::Int(jobs.unwrap_or(0)),
            });
        }
    }
    finish(view, edits)
}

/// Converts each new value to what its setting stores, refusing values the library
/// would not load or predict with; drops edits that change nothing and duplicates.
fn finish(view: &ModelView, edits: Vec<Edit>) -> Result<Vec<Edit>, PatchError> {
    // Keyed by place and path: settings inside a text-spelled blob share one offset.
    let mut by_offset: BTreeMap<(u64, String), Edit> = BTreeMap::new();
    for mut e in edits {
        e.new = crate::model::value_type(&e.setting, view)
            .admit(&e.new)
            .map_err(|why| {
                PatchError::Invalid(format!(
                    "{} ({}): {why}",
                    e.setting.sklearn_path,
                    e.setting
                        .class
                        .rsplit('.')
                        .next()
                        .unwrap_or(&e.setting.class)
                ))
            })?;
        if e.setting.value == e.new {
            continue;
        }
        let key = (e.setting.offset, e.setting.raw_path.clone());
        if let Some(previous) = by_offset.get(&key)
            && previous.new != e.new
        {
            return Err(PatchError::Invalid(format!(
                "{} is set twice, to {} and to {}",
                e.setting.sklearn_path, previous.new, e.new
            )));
        }
        by_offset.insert(key, e);
    }
    Ok(by_offset.into_values().collect())
}

/// Where the writer must fix lengths and padding: every FRAME and every joblib array.
#[derive(Debug, Default)]
pub struct Layout {
    /// (FRAME opcode offset, first byte of the frame, frame length).
    pub frames: Vec<(u64, u64, u64)>,
    pub arrays: Vec<InlineData>,
    /// Each stream's range and protocol, nested ones included.
    pub streams: Vec<(u64, u64, u8)>,
}

impl Layout {
    pub fn from_streams(mut self, streams: &[Stream]) -> Self {
        self.streams = streams
            .iter()
            .map(|s| {
                (
                    s.offset,
                    s.end,
                    s.protocol.unwrap_or(s.highest_opcode_protocol),
                )
            })
            .collect();
        self
    }

    /// The protocol of the innermost stream holding `offset`.
    fn protocol_at(&self, offset: u64) -> u8 {
        self.streams
            .iter()
            .filter(|(start, end, _)| *start <= offset && offset < *end)
            .min_by_key(|(start, end, _)| end - start)
            .map_or(0, |(_, _, p)| *p)
    }
}

/// Records frames and joblib arrays as the machine reads (a full, general-path parse).
#[derive(Default)]
pub struct Recorder(pub Layout);

impl Visitor for Recorder {
    fn op(&mut self, _stream: usize, _nested: bool, op: &Op<'_>) {
        if op.code == Opcode::Frame
            && let crate::pickle::Arg::U64(len) = op.arg
        {
            self.0.frames.push((op.offset, op.end, len));
        }
    }

    fn inline_data(&mut self, _stream: usize, data: &InlineData) {
        self.0.arrays.push(data.clone());
    }
}

/// Bytes that replace `[start, end)` of the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Splice {
    pub start: u64,
    pub end: u64,
    pub pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Bytes(Vec<u8>),
    /// A range of the input, copied unchanged.
    Copy(u64, u64),
}

impl Splice {
    pub fn new_len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::Copy(a, b) => b - a,
            })
            .sum()
    }

    fn delta(&self) -> i64 {
        self.new_len() as i64 - (self.end - self.start) as i64
    }
}

/// Turns edits into splices, with every fix-up the format needs.
pub fn splices(data: &[u8], layout: &Layout, edits: &[Edit]) -> Result<Vec<Splice>, PatchError> {
    let mut out: Vec<Splice> = Vec::new();
    // Several settings can live in one blob (XGBoost's nthread and n_jobs): one splice
    // rewrites the blob once with all of them.
    let mut blobs: BTreeMap<u64, Vec<(&crate::model::BlobValue, &SettingValue)>> = BTreeMap::new();
    for e in edits {
        match &e.setting.blob {
            Some(blob) => blobs
                .entry(blob.op_offset)
                .or_default()
                .push((blob, &e.new)),
            None if matches!(
                e.setting.location,
                Location::XgboostConfig | Location::LightgbmModelText
            ) =>
            {
                return Err(PatchError::Layout {
                    offset: e.setting.offset,
                    message: format!(
                        "{}: the booster's bytes are spelled in a form the patcher cannot rewrite",
                        e.setting.sklearn_path
                    ),
                });
            }
            None => out.push(value_splice(
                data,
                e.setting.offset,
                &e.new,
                layout.protocol_at(e.setting.offset),
            )?),
        }
    }
    for values in blobs.into_values() {
        out.push(blob_splice(data, values)?);
    }
    out.sort_by_key(|s| s.start);
    for pair in out.windows(2) {
        if pair[0].end > pair[1].start {
            return Err(PatchError::Layout {
                offset: pair[1].start,
                message: "two edits overlap".into(),
            });
        }
    }
    // FRAME lengths: every frame holding a length change.
    let mut frame_fixes = Vec::new();
    for &(op_offset, start, len) in &layout.frames {
        let end = start + len;
        let delta: i64 = out
            .iter()
            .filter(|s| s.start >= start && s.end <= end)
            .map(Splice::delta)
            .sum();
        if delta != 0 {
            let new_len = u64::try_from(len as i64 + delta).map_err(|_| PatchError::Layout {
                offset: op_offset,
                message: "frame length would be negative".into(),
            })?;
            frame_fixes.push(Splice {
                start: op_offset + 1,
                end: op_offset + 9,
                pieces: vec![Piece::Bytes(new_len.to_le_bytes().to_vec())],
            });
        }
    }
    out.extend(frame_fixes);
    out.sort_by_key(|s| s.start);
    // joblib padding, in file order: each array's data must start on its alignment in
    // the new file, which is where the running length change puts it.
    let mut pads = Vec::new();
    let mut running: i64 = 0;
    let mut next = 0;
    for array in &layout.arrays {
        let Some(alignment) = array.alignment else {
            continue;
        };
        if array.nested_stream.is_some() {
            continue;
        }
        while next < out.len() && out[next].start < array.offset {
            running += out[next].delta();
            next += 1;
        }
        let new_pad_byte = array.offset as i64 + running;
        let after = (new_pad_byte + 1) as u64;
        let pad = alignment - after % alignment;
        if pad != array.padding {
            // The alignment comes from the file: a padding that does not fit joblib's one
            // length byte cannot be written (joblib itself uses 8).
            let length = u8::try_from(pad).map_err(|_| PatchError::Layout {
                offset: array.offset,
                message: format!(
                    "joblib array alignment {alignment} needs {pad} bytes of padding, more than its length byte holds"
                ),
            })?;
            let mut bytes = vec![length];
            bytes.extend(std::iter::repeat_n(0xff, pad as usize));
            let splice = Splice {
                start: array.offset,
                end: array.offset + 1 + array.padding,
                pieces: vec![Piece::Bytes(bytes)],
            };
            running += splice.delta();
            pads.push(splice);
        }
    }
    out.extend(pads);
    out.sort_by_key(|s| s.start);
    Ok(out)
}

/// An edit that cannot be made, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub edit: Edit,
    pub reason: String,
}

/// Splices for every edit that can be made, and the edits that cannot: each edit (all
/// the edits of one blob together) is tried alone first, so one impossible edit does not
/// stop the others. The caller decides whether a partial repair is written.
pub fn plan_splices(
    data: &[u8],
    layout: &Layout,
    edits: &[Edit],
) -> Result<(Vec<Splice>, Vec<Skipped>), PatchError> {
    let mut groups: BTreeMap<(u64, u64), Vec<Edit>> = BTreeMap::new();
    for (i, e) in edits.iter().enumerate() {
        let key = match &e.setting.blob {
            Some(blob) => (blob.op_offset, 0),
            None => (e.setting.offset, i as u64 + 1),
        };
        groups.entry(key).or_default().push(e.clone());
    }
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for group in groups.into_values() {
        match splices(data, layout, &group) {
            Ok(_) => kept.extend(group),
            Err(e) => skipped.extend(group.into_iter().map(|edit| Skipped {
                edit,
                reason: e.to_string(),
            })),
        }
    }
    Ok((splices(data, layout, &kept)?, skipped))
}

/// Replaces the opcodes of a plain value at `offset` (a value opcode or a GET). A
/// memoized value keeps its opcodes and memo opcode, then is POPped (invariant 4).
fn value_splice(
    data: &[u8],
    offset: u64,
    new: &SettingValue,
    protocol: u8,
) -> Result<Splice, PatchError> {
    let err = |message: &str| PatchError::Layout {
        offset,
        message: message.into(),
    };
    let mut lexer = Lexer::new(data, offset as usize);
    let op = lexer.next_op().map_err(|e| err(&e.to_string()))?;
    let memoized = {
        let mut peek = lexer.clone();
        matches!(
            peek.next_op().map(|o| o.code),
            Ok(Opcode::Memoize | Opcode::BinPut | Opcode::LongBinPut | Opcode::Put)
        ) && !matches!(op.code, Opcode::Get | Opcode::BinGet | Opcode::LongBinGet)
    };
    let replacement = encode::value(new, protocol);
    if memoized {
        let memo = lexer.next_op().map_err(|e| err(&e.to_string()))?;
        let mut pieces = vec![
            Piece::Copy(op.offset, memo.end),
            Piece::Bytes(b"0".to_vec()),
        ];
        pieces.push(Piece::Bytes(replacement));
        Ok(Splice {
            start: op.offset,
            end: memo.end,
            pieces,
        })
    } else {
        Ok(Splice {
            start: op.offset,
            end: op.end,
            pieces: vec![Piece::Bytes(replacement)],
        })
    }
}

/// Rewrites values inside one blob: each value (and a UBJSON string's own length field)
/// and the blob opcode's length; the rest of the blob is copied. A blob spelled as text
/// (protocols 0-2) is decoded, edited and spelled again in the same opcode.
fn blob_splice(
    data: &[u8],
    mut values: Vec<(&crate::model::BlobValue, &SettingValue)>,
) -> Result<Splice, PatchError> {
    values.sort_by_key(|(b, _)| b.value.offset);
    let Some((first, _)) = values.first() else {
        return Err(PatchError::Invalid(
            "no value to write into the blob".into(),
        ));
    };
    let (op_offset, payload, form) = (first.op_offset, first.payload, first.form);
    if form != BlobForm::Raw {
        return text_blob_splice(data, op_offset, form, &values);
    }
    let opcode = *data.get(op_offset as usize).ok_or(PatchError::Layout {
        offset: op_offset,
        message: "blob opcode past the end".into(),
    })?;
    let inner = blob_pieces(payload.offset, payload.end(), &values)?;
    let new_len: u64 = inner
        .iter()
        .map(|p| match p {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Copy(a, b) => b - a,
        })
        .sum();
    let mut pieces = vec![Piece::Bytes(encode::length_header(opcode, new_len))];
    pieces.extend(inner);
    Ok(Splice {
        start: op_offset,
        end: payload.end(),
        pieces,
    })
}

/// The pieces of a blob `[start, end)` with each value replaced.
fn blob_pieces(
    start: u64,
    end: u64,
    values: &[(&crate::model::BlobValue, &SettingValue)],
) -> Result<Vec<Piece>, PatchError> {
    let mut inner: Vec<Piece> = Vec::new();
    let mut at = start;
    for (blob, new) in values {
        let text = match new {
            SettingValue::Int(n) => n.to_string(),
            SettingValue::Str(s) => s.clone(),
            other => {
                return Err(PatchError::Invalid(format!(
                    "{other} cannot be written into a booster's text"
                )));
            }
        };
        // `S` + length (type marker and big-endian integer) + bytes: the length is
        // rewritten as `L` + 8 bytes, as XGBoost writes it.
        let replaced_from = blob.length_field.unwrap_or(blob.value.offset);
        if replaced_from < at || blob.value.end() > end {
            return Err(PatchError::Layout {
                offset: replaced_from,
                message: "two edits overlap inside a blob".into(),
            });
        }
        inner.push(Piece::Copy(at, replaced_from));
        if blob.length_field.is_some() {
            let mut length = vec![b'L'];
            length.extend_from_slice(&(text.len() as i64).to_be_bytes());
            inner.push(Piece::Bytes(length));
        }
        inner.push(Piece::Bytes(text.into_bytes()));
        at = blob.value.end();
    }
    inner.push(Piece::Copy(at, end));
    Ok(inner)
}

/// A blob that is the characters of a str opcode: decoded into memory (it is the
/// booster, held once), edited, and written back as the same opcode, so the memo opcode
/// after it and every GET of it still mean the blob.
fn text_blob_splice(
    data: &[u8],
    op_offset: u64,
    form: BlobForm,
    values: &[(&crate::model::BlobValue, &SettingValue)],
) -> Result<Splice, PatchError> {
    let err = |message: String| PatchError::Layout {
        offset: op_offset,
        message,
    };
    let op = Lexer::new(data, op_offset as usize)
        .next_op()
        .map_err(|e| err(e.to_string()))?;
    let text: String = match (op.code, op.arg) {
        (Opcode::Unicode, crate::pickle::Arg::Line(line)) => {
            crate::pickle::text::decode_raw_unicode_escape(line)
        }
        (
            Opcode::ShortBinUnicode | Opcode::BinUnicode | Opcode::BinUnicode8,
            crate::pickle::Arg::Bytes(bytes),
        ) => std::str::from_utf8(bytes)
            .map_err(|_| err("the booster's text is not UTF-8".into()))?
            .to_string(),
        (code, _) => {
            return Err(err(format!(
                "the booster's text is a {} opcode, which the patcher does not rewrite",
                code.name()
            )));
        }
    };
    let blob: Vec<u8> = match form {
        BlobForm::Latin1Text => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)))
            .collect::<Result<_, _>>()
            .map_err(|_| err("the booster's text is not latin-1".into()))?,
        _ => text.into_bytes(),
    };
    let mut edited = Vec::with_capacity(blob.len() + 16);
    for piece in blob_pieces(0, blob.len() as u64, values)? {
        match piece {
            Piece::Bytes(b) => edited.extend_from_slice(&b),
            Piece::Copy(a, b) => edited.extend_from_slice(&blob[a as usize..b as usize]),
        }
    }
    let text: String = match form {
        BlobForm::Latin1Text => edited.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8(edited)
            .map_err(|_| err("the edited booster text is not UTF-8".into()))?,
    };
    let bytes = if op.code == Opcode::Unicode {
        encode::unicode_line(&text)
    } else {
        let opcode = *data
            .get(op_offset as usize)
            .ok_or_else(|| err("the booster's text opcode is past the end".into()))?;
        let mut out = encode::length_header(opcode, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
        out
    };
    Ok(Splice {
        start: op_offset,
        end: op.end,
        pieces: vec![Piece::Bytes(bytes)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_command_line() {
        assert_eq!(parse_value("null").unwrap(), SettingValue::None);
        assert_eq!(parse_value("False").unwrap(), SettingValue::Bool(false));
        assert_eq!(parse_value("-1").unwrap(), SettingValue::Int(-1));
        assert_eq!(parse_value("0.5").unwrap(), SettingValue::Float(0.5));
        assert_eq!(
            parse_value("'cpu'").unwrap(),
            SettingValue::Str("cpu".into())
        );
        assert_eq!(
            parse_value("\"cpu\"").unwrap(),
            SettingValue::Str("cpu".into())
        );
        assert!(parse_value("cpu").is_err());
        let r: Request = "preprocessor__n_jobs=null".parse().unwrap();
        assert_eq!(r.key, "preprocessor__n_jobs");
        assert!("n_jobs".parse::<Request>().is_err());
    }

    #[test]
    fn an_impossible_edit_is_skipped_and_the_others_are_planned() {
        // `K\x0e` (14) at 0, then a booster setting with no rewritable bytes.
        let data = b"K\x0eK\x03.";
        let setting = |offset: u64, location: Location, path: &str| Setting {
            name: "n_jobs".into(),
            sklearn_path: path.into(),
            raw_path: path.into(),
            estimator: 0,
            class: "C".into(),
            value: SettingValue::Int(14),
            offset,
            location,
            fitted: false,
            blob: None,
        };
        let edits = vec![
            Edit {
                setting: setting(0, Location::Attribute, "a__n_jobs"),
                new: SettingValue::None,
            },
            Edit {
                setting: setting(2, Location::XgboostConfig, "b__booster.nthread"),
                new: SettingValue::Str("0".into()),
            },
        ];
        let layout = Layout {
            streams: vec![(0, 5, 2)],
            ..Layout::default()
        };
        let (planned, skipped) = plan_splices(data, &layout, &edits).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].start, 0);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].edit.setting.sklearn_path, "b__booster.nthread");
        assert!(
            skipped[0].reason.contains("cannot rewrite"),
            "{}",
            skipped[0].reason
        );
    }

    #[test]
    fn a_memoized_value_keeps_its_memo_slot() {
        // 'cuda' MEMOIZE at offset 0 of this snippet.
        let data = b"\x8c\x04cuda\x94.";
        let s = value_splice(data, 0, &SettingValue::Str("cpu".into()), 4).unwrap();
        assert_eq!(s.start, 0);
        assert_eq!(s.end, 7);
        assert_eq!(
            s.pieces,
            vec![
                Piece::Copy(0, 7),
                Piece::Bytes(b"0".to_vec()),
                Piece::Bytes(b"\x8c\x03cpu".to_vec())
            ]
        );
    }

    /// `n_jobs` 14 -> None, its `K\x0e` at `offset`.
    fn n_jobs_14_to_none_at(offset: u64) -> Edit {
        Edit {
            setting: Setting {
                name: "n_jobs".into(),
                sklearn_path: "n_jobs".into(),
                raw_path: "n_jobs".into(),
                estimator: 0,
                class: "C".into(),
                value: SettingValue::Int(14),
                offset,
                location: Location::Attribute,
                fitted: false,
                blob: None,
            },
            new: SettingValue::None,
        }
    }

    #[test]
    fn padding_follows_the_length_change() {
        // A frame [11, 11+4) holding `K\x0e`, then a joblib array whose pad byte is at 20.
        let layout = Layout {
            frames: vec![(2, 11, 4)],
            arrays: vec![InlineData {
                offset: 20,
                padding: 11,
                alignment: Some(16),
                data: crate::pickle::graph::Span { offset: 32, len: 8 },
                nested_stream: None,
                shape: vec![1],
                dtype: "f8".into(),
                itemsize: 8,
            }],
            streams: vec![(0, 100, 4)],
        };
        let mut data = vec![0u8; 40];
        data[12] = b'K';
        data[13] = 14;
        let edit = n_jobs_14_to_none_at(12);
        let splices = splices(&data, &layout, &[edit]).unwrap();
        // The value (-1 byte), the frame length (4 -> 3), and the pad (11 -> 12): the
        // array data stays at offset 32.
        assert_eq!(splices.len(), 3);
        assert_eq!(
            splices[0].pieces,
            vec![Piece::Bytes(3u64.to_le_bytes().to_vec())]
        );
        assert_eq!(splices[1].pieces, vec![Piece::Bytes(b"N".to_vec())]);
        assert_eq!(splices[2].new_len(), 13);
        assert_eq!(splices.iter().map(Splice::delta).sum::<i64>(), 0);
    }

    #[test]
    fn padding_that_outgrows_its_length_byte_is_refused() {
        // An alignment from the file (512) whose padding is 255 bytes: one byte less
        // before it needs 256, which joblib's length byte cannot say.
        let layout = Layout {
            frames: Vec::new(),
            arrays: vec![InlineData {
                offset: 256,
                padding: 255,
                alignment: Some(512),
                data: crate::pickle::graph::Span {
                    offset: 512,
                    len: 8,
                },
                nested_stream: None,
                shape: vec![1],
                dtype: "f8".into(),
                itemsize: 8,
            }],
            streams: vec![(0, 600, 4)],
        };
        let mut data = vec![0u8; 600];
        data[12] = b'K';
        data[13] = 14;
        let edit = n_jobs_14_to_none_at(12);
        let err = splices(&data, &layout, &[edit]).unwrap_err();
        assert!(
            err.to_string().contains("needs 256 bytes of padding"),
            "{err}"
        );
    }
}
