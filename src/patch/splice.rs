//! The splice engine: edits become byte ranges to replace, with every fix-up the format
//! needs (FRAME lengths, joblib padding). It knows opcodes and offsets, not what a
//! setting means.

use std::collections::BTreeMap;

use super::plan::Edit;
use super::{PatchError, blob, encode};
use crate::model::{Location, SettingValue};
use crate::pickle::graph::{InlineData, Stream};
use crate::pickle::{Lexer, Op, Opcode, Visitor};

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

/// How many bytes `pieces` write.
pub fn pieces_len(pieces: &[Piece]) -> u64 {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Copy(a, b) => b - a,
        })
        .sum()
}

impl Splice {
    pub fn new_len(&self) -> u64 {
        pieces_len(&self.pieces)
    }

    pub(super) fn delta(&self) -> i64 {
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
        out.push(blob::blob_splice(data, values)?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Setting;

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
