//! Opcodes for a new value, never newer than the stream's protocol (invariant 5):
//! protocol 0 gets `N`, `I01\n`, `I14\n`, `V...\n`; later protocols their binary forms.

use crate::model::SettingValue;

/// The opcodes that push `value` in a stream of `protocol`.
pub fn value(value: &SettingValue, protocol: u8) -> Vec<u8> {
    match value {
        SettingValue::None => b"N".to_vec(),
        SettingValue::Bool(b) if protocol >= 2 => vec![if *b { 0x88 } else { 0x89 }],
        SettingValue::Bool(b) => {
            if *b {
                b"I01\n".to_vec()
            } else {
                b"I00\n".to_vec()
            }
        }
        SettingValue::Int(n) => int(*n, protocol),
        SettingValue::Float(f) if protocol >= 1 => {
            let mut out = vec![b'G'];
            out.extend_from_slice(&f.to_be_bytes());
            out
        }
        SettingValue::Float(f) => format!("F{}\n", python_float_repr(*f)).into_bytes(),
        SettingValue::Str(s) => string(s, protocol),
    }
}

fn int(n: i64, protocol: u8) -> Vec<u8> {
    if protocol == 0 {
        return format!("I{n}\n").into_bytes();
    }
    if (0..=0xff).contains(&n) {
        vec![b'K', n as u8]
    } else if (0..=0xffff).contains(&n) {
        let mut out = vec![b'M'];
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out
    } else if let Ok(small) = i32::try_from(n) {
        let mut out = vec![b'J'];
        out.extend_from_slice(&small.to_le_bytes());
        out
    } else if protocol >= 2 {
        // LONG1: little-endian two's complement, 8 bytes is always enough for an i64.
        let mut out = vec![0x8a, 8];
        out.extend_from_slice(&n.to_le_bytes());
        out
    } else {
        format!("I{n}\n").into_bytes()
    }
}

fn string(s: &str, protocol: u8) -> Vec<u8> {
    let bytes = s.as_bytes();
    if protocol >= 4 && bytes.len() < 256 {
        let mut out = vec![0x8c, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    } else if protocol >= 1 {
        let mut out = vec![b'X'];
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
        out
    } else {
        unicode_line(s)
    }
}

/// Protocol 0's UNICODE opcode for `s`, escaped as CPython's pickler escapes it.
pub fn unicode_line(s: &str) -> Vec<u8> {
    // raw-unicode-escape: latin-1 as is, the rest as \uXXXX / \UXXXXXXXX; the
    // pickler also escapes backslash, NUL, CR, LF and ^Z so the line stays one line.
    let mut out = b"V".to_vec();
    for c in s.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\u005c"),
            '\n' => out.extend_from_slice(b"\\u000a"),
            '\r' => out.extend_from_slice(b"\\u000d"),
            '\0' => out.extend_from_slice(b"\\u0000"),
            '\x1a' => out.extend_from_slice(b"\\u001a"),
            c if (c as u32) < 0x100 => out.push(c as u32 as u8),
            c if (c as u32) < 0x10000 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => out.extend_from_slice(format!("\\U{:08x}", c as u32).as_bytes()),
        }
    }
    out.push(b'\n');
    out
}

/// `repr(float)` closely enough for Python's `float()` to read it back exactly.
fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f:?}")
    }
}

/// The header of a length-prefixed opcode holding `len` bytes, keeping the opcode's
/// family (bytes, bytearray, str) and widening it only when the length needs it.
pub fn length_header(opcode: u8, len: u64) -> Vec<u8> {
    let with = |code: u8, width: usize| {
        let mut out = vec![code];
        out.extend_from_slice(&len.to_le_bytes()[..width]);
        out
    };
    match opcode {
        // SHORT_BINBYTES, BINBYTES, BINBYTES8
        b'C' | b'B' | 0x8e => {
            if len < 256 && opcode == b'C' {
                with(b'C', 1)
            } else if len <= u64::from(u32::MAX) && opcode != 0x8e {
                with(b'B', 4)
            } else {
                with(0x8e, 8)
            }
        }
        // BYTEARRAY8
        0x96 => with(0x96, 8),
        // SHORT_BINUNICODE, BINUNICODE, BINUNICODE8
        0x8c | b'X' | 0x8d => {
            if len < 256 && opcode == 0x8c {
                with(0x8c, 1)
            } else if len <= u64::from(u32::MAX) && opcode != 0x8d {
                with(b'X', 4)
            } else {
                with(0x8d, 8)
            }
        }
        // SHORT_BINSTRING, BINSTRING
        b'U' | b'T' => {
            if len < 256 && opcode == b'U' {
                with(b'U', 1)
            } else {
                with(b'T', 4)
            }
        }
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_protocol() {
        assert_eq!(value(&SettingValue::None, 0), b"N");
        assert_eq!(value(&SettingValue::Int(1), 4), b"K\x01");
        assert_eq!(value(&SettingValue::Int(1), 0), b"I1\n");
        assert_eq!(value(&SettingValue::Int(-1), 2), b"J\xff\xff\xff\xff");
        assert_eq!(value(&SettingValue::Int(300), 2), b"M\x2c\x01");
        assert_eq!(value(&SettingValue::Bool(true), 0), b"I01\n");
        assert_eq!(value(&SettingValue::Bool(false), 3), b"\x89");
        assert_eq!(value(&SettingValue::Str("cpu".into()), 4), b"\x8c\x03cpu");
        assert_eq!(
            value(&SettingValue::Str("cpu".into()), 2),
            b"X\x03\x00\x00\x00cpu"
        );
        assert_eq!(value(&SettingValue::Str("a\\b".into()), 0), b"Va\\u005cb\n");
        assert_eq!(value(&SettingValue::Float(0.5), 0), b"F0.5\n");
    }

    #[test]
    fn headers_widen_only_when_needed() {
        assert_eq!(length_header(b'C', 3), b"C\x03");
        assert_eq!(length_header(b'C', 300), b"B\x2c\x01\x00\x00");
        assert_eq!(
            length_header(0x96, 5),
            b"\x96\x05\x00\x00\x00\x00\x00\x00\x00"
        );
        assert_eq!(length_header(b'X', 5), b"X\x05\x00\x00\x00");
    }
}
