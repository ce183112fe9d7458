//! `artifact dis`: a listing like `pickletools.dis`, written as the machine reads.
//!
//! Large payloads are previewed from their first bytes only, so listing a file with a
//! 5 GB array does not read the array.

use std::io::{self, Write};

use base64::Engine;
use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Serialize;

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
    /// The archive member being listed (`data.pkl`, `inner.zip!evil.pkl`), if any.
    member: Option<String>,
    pub error: Option<io::Error>,
}

impl<W: Write> Listing<W> {
    pub fn new(out: W, json: bool) -> Self {
        Listing {
            out,
            json,
            member: None,
            error: None,
        }
    }

    /// Lists a member of an archive next: its records carry its name (offsets are the
    /// member's own), and a person sees a heading.
    pub fn start_member(&mut self, member: &str) {
        self.member = Some(member.to_string());
        if !self.json {
            self.emit(|w| writeln!(w, "== {member}"));
        }
    }

    /// Tells a person why a member lists nothing (JSON lists nothing for it).
    pub fn note(&mut self, text: &str) {
        if !self.json {
            self.emit(|w| writeln!(w, "   {text}"));
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
            let member = self.member.take();
            let record = DisRecord::Op(OpRecord {
                member: member.as_deref(),
                stream,
                nested,
                offset: op.offset,
                op: op.code.name(),
                arg: arg_json(op),
            });
            self.emit(|w| write_record(w, &record));
            self.member = member;
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
            let member = self.member.take();
            let record = DisRecord::InlineData(InlineDataRecord {
                member: member.as_deref(),
                stream,
                offset: data.offset,
                kind: if data.nested_stream.is_some() {
                    InlineKind::JoblibObjectArray
                } else {
                    InlineKind::JoblibArray
                },
                padding: data.padding,
                data_offset: data.data.offset,
                data_bytes: data.data.len,
                shape: &data.shape,
                dtype: &data.dtype,
            });
            self.emit(|w| write_record(w, &record));
            self.member = member;
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

fn write_record<W: Write>(w: &mut W, record: &DisRecord<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *w, record)?;
    writeln!(w)
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

fn arg_json<'a>(op: &Op<'a>) -> ArgValue<'a> {
    let bytes = |b: &[u8]| ArgValue::Bytes {
        bytes: base64::engine::general_purpose::STANDARD.encode(b),
    };
    match op.arg {
        Arg::None => ArgValue::None,
        Arg::Int(i) => ArgValue::Int(i),
        Arg::U64(u) => ArgValue::U64(u),
        Arg::Float(f) => ArgValue::Float(f),
        Arg::Bytes(b) if is_text(op.code) && b.len() <= JSON_INLINE => {
            std::str::from_utf8(b).map_or_else(|_| bytes(b), ArgValue::Text)
        }
        Arg::Bytes(b) if b.len() <= JSON_INLINE => bytes(b),
        Arg::Bytes(b) => ArgValue::Length { length: b.len() },
        Arg::Line(l) => std::str::from_utf8(l).map_or_else(|_| bytes(l), ArgValue::Text),
        Arg::Pair(m, n) => ArgValue::Global {
            module: String::from_utf8_lossy(m),
            name: String::from_utf8_lossy(n),
        },
    }
}

/// One line of `dis --format json`: an opcode, or the joblib array bytes between two.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DisRecord<'a> {
    Op(OpRecord<'a>),
    InlineData(InlineDataRecord<'a>),
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpRecord<'a> {
    /// The archive member the opcode is in (`data.pkl`; nested zips joined by `!`);
    /// absent for a file that is not an archive. Offsets are the member's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<&'a str>,
    /// Index of the pickle stream (joblib object arrays nest streams).
    pub stream: usize,
    /// Inside a joblib object array's nested stream.
    pub nested: bool,
    /// Byte offset of the opcode in the pickle data.
    pub offset: u64,
    /// The opcode's name, as pickletools spells it.
    pub op: &'static str,
    pub arg: ArgValue<'a>,
}

/// An opcode's inline argument.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ArgValue<'a> {
    /// The opcode takes none.
    None,
    Int(i64),
    U64(u64),
    Float(f64),
    /// A string argument that is valid UTF-8 (and at most 4096 bytes, for payloads).
    Text(&'a str),
    /// A payload of at most 4096 bytes that is not text, base64-encoded.
    Bytes {
        bytes: String,
    },
    /// A payload too large to include: its length only.
    Length {
        length: usize,
    },
    /// GLOBAL and INST: the two lines.
    Global {
        module: Cow<'a, str>,
        name: Cow<'a, str>,
    },
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineDataRecord<'a> {
    /// As in [`OpRecord::member`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<&'a str>,
    pub stream: usize,
    /// Where the padding byte (or the nested stream) starts.
    pub offset: u64,
    pub kind: InlineKind,
    pub padding: u64,
    pub data_offset: u64,
    pub data_bytes: u64,
    pub shape: &'a [u64],
    pub dtype: &'a str,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InlineKind {
    /// Raw array bytes joblib reads without unpickling.
    JoblibArray,
    /// An object array: a nested pickle stream, listed above this record.
    JoblibObjectArray,
}
