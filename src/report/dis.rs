//! `artifact dis`: a listing like `pickletools.dis`, written as the machine reads.
//!
//! Large payloads are previewed from their first bytes only, so listing a file with a
//! 5 GB array does not read the array.

use std::io::{self, Write};

use base64::Engine;
use serde_json::{Value as Json, json};

use crate::pickle::graph::InlineData;
use crate::pickle::text::{repr_bytes, repr_str};
use crate::pickle::{Arg, Op, Opcode, Visitor};

/// How much of a string or bytes argument a listing shows.
const PREVIEW: usize = 96;
/// Payloads up to this size are included whole in JSON.
const JSON_INLINE: usize = 4096;

/// Writes each opcode as it is read. I/O errors are kept and reported at the end, since
/// the machine's visitor cannot fail.
pub struct Listing<W: Write> {
    out: W,
    json: bool,
    pub error: Option<io::Error>,
}

impl<W: Write> Listing<W> {
    pub fn new(out: W, json: bool) -> Self {
        Listing {
            out,
            json,
            error: None,
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }

    fn emit(&mut self, f: impl FnOnce(&mut W) -> io::Result<()>) {
        if self.error.is_none()
            && let Err(e) = f(&mut self.out)
        {
            self.error = Some(e);
        }
    }
}

impl<W: Write> Visitor for Listing<W> {
    fn op(&mut self, stream: usize, nested: bool, op: &Op<'_>) {
        if self.json {
            let record = json!({
                "stream": stream,
                "nested": nested,
                "offset": op.offset,
                "op": op.code.name(),
                "arg": arg_json(op),
            });
            self.emit(|w| writeln!(w, "{record}"));
        } else {
            let indent = if nested { "    " } else { "" };
            let code = byte_repr(op.code.byte());
            let arg = arg_human(op);
            self.emit(|w| {
                writeln!(
                    w,
                    "{:>10}: {indent}{code:<4} {:<16} {arg}",
                    op.offset,
                    op.code.name()
                )
            });
        }
    }

    fn inline_data(&mut self, stream: usize, data: &InlineData) {
        let mut shape = data
            .shape
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if data.shape.len() == 1 {
            shape.push(',');
        }
        if self.json {
            let record = json!({
                "stream": stream,
                "offset": data.offset,
                "kind": if data.nested_stream.is_some() { "joblib-object-array" } else { "joblib-array" },
                "padding": data.padding,
                "data_offset": data.data.offset,
                "data_bytes": data.data.len,
                "shape": data.shape,
                "dtype": data.dtype,
            });
            self.emit(|w| writeln!(w, "{record}"));
        } else if data.nested_stream.is_some() {
            self.emit(|w| {
                writeln!(
                    w,
                    "{:>10}: ---- joblib object array {} ({shape}): the nested stream above",
                    data.offset, data.dtype
                )
            });
        } else {
            self.emit(|w| {
                writeln!(
                    w,
                    "{:>10}: ---- joblib array {} ({shape}): {} padding bytes, {} data bytes at {}",
                    data.offset, data.dtype, data.padding, data.data.len, data.data.offset
                )
            });
        }
    }
}

fn byte_repr(b: u8) -> String {
    if (0x20..0x7f).contains(&b) && b != b'\\' {
        char::from(b).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

fn is_text(code: Opcode) -> bool {
    matches!(
        code,
        Opcode::ShortBinUnicode | Opcode::BinUnicode | Opcode::BinUnicode8
    )
}

fn arg_human(op: &Op<'_>) -> String {
    match op.arg {
        Arg::None => String::new(),
        Arg::Int(i) => i.to_string(),
        Arg::U64(u) => u.to_string(),
        Arg::Float(f) => format!("{f:?}"),
        Arg::Bytes(b) if is_text(op.code) => {
            let head = &b[..b.len().min(PREVIEW * 4)];
            repr_str(&String::from_utf8_lossy(head), PREVIEW)
        }
        Arg::Bytes(b) => {
            let shown = repr_bytes(&b[..b.len().min(PREVIEW)], PREVIEW);
            if b.len() > PREVIEW {
                format!("{shown} ({} bytes)", b.len())
            } else {
                shown
            }
        }
        Arg::Line(l) => String::from_utf8_lossy(&l[..l.len().min(PREVIEW * 4)]).into_owned(),
        Arg::Pair(m, n) => format!(
            "'{} {}'",
            String::from_utf8_lossy(m),
            String::from_utf8_lossy(n)
        ),
    }
}

fn arg_json(op: &Op<'_>) -> Json {
    match op.arg {
        Arg::None => Json::Null,
        Arg::Int(i) => json!(i),
        Arg::U64(u) => json!(u),
        Arg::Float(f) => json!(f),
        Arg::Bytes(b) if is_text(op.code) && b.len() <= JSON_INLINE => {
            match std::str::from_utf8(b) {
                Ok(text) => json!(text),
                Err(_) => json!({"bytes": base64::engine::general_purpose::STANDARD.encode(b)}),
            }
        }
        Arg::Bytes(b) if b.len() <= JSON_INLINE => {
            json!({"bytes": base64::engine::general_purpose::STANDARD.encode(b)})
        }
        Arg::Bytes(b) => json!({"length": b.len()}),
        Arg::Line(l) => match std::str::from_utf8(l) {
            Ok(text) => json!(text),
            Err(_) => json!({"bytes": base64::engine::general_purpose::STANDARD.encode(l)}),
        },
        Arg::Pair(m, n) => json!({
            "module": String::from_utf8_lossy(m),
            "name": String::from_utf8_lossy(n),
        }),
    }
}
