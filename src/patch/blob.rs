//! Writing inside boosters: XGBoost's UBJSON (a string value and its own length field)
//! and LightGBM's model text, whether the blob is raw bytes or the characters of a str
//! opcode. The UBJSON reader (which located each value) and its one writing rule live
//! together in `model::ubjson`; LightGBM's text needs no length fields of its own.

use super::PatchError;
use super::encode;
use super::splice::{Piece, Splice, pieces_len};
use crate::model::{BlobForm, BlobValue, SettingValue, ubjson};
use crate::pickle::{Lexer, Opcode};

/// Rewrites values inside one blob: each value (and a UBJSON string's own length field)
/// and the blob opcode's length; the rest of the blob is copied. A blob spelled as text
/// (protocols 0-2) is decoded, edited and spelled again in the same opcode.
pub(super) fn blob_splice(
    data: &[u8],
    mut values: Vec<(&BlobValue, &SettingValue)>,
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
    let mut pieces = vec![Piece::Bytes(encode::length_header(
        opcode,
        pieces_len(&inner),
    ))];
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
    values: &[(&BlobValue, &SettingValue)],
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
            let field = ubjson::string_length_field(text.len()).ok_or(PatchError::Layout {
                offset: replaced_from,
                message: "the new string is longer than UBJSON can say".into(),
            })?;
            inner.push(Piece::Bytes(field.to_vec()));
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
    values: &[(&BlobValue, &SettingValue)],
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
