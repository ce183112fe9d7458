//! Decoders for pickle's text encodings, and the `repr` used in listings.

/// Latin-1 bytes to a `String` (every byte is one code point).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Protocol 0 UNICODE arguments: latin-1 with `\uXXXX` and `\UXXXXXXXX` escapes
/// (CPython's `raw-unicode-escape`). Invalid escapes are kept verbatim.
pub fn decode_raw_unicode_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let width = match bytes[i + 1] {
                b'u' => 4,
                b'U' => 8,
                _ => 0,
            };
            if width > 0
                && let Some(hex) = bytes.get(i + 2..i + 2 + width)
                && let Some(c) = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
            {
                out.push(c);
                i += 2 + width;
                continue;
            }
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    out
}

/// The number of characters [`decode_raw_unicode_escape`] would produce, without
/// producing them.
pub fn raw_unicode_escape_len(bytes: &[u8]) -> u64 {
    let mut count = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let width = match bytes[i + 1] {
                b'u' => 4,
                b'U' => 8,
                _ => 0,
            };
            if width > 0
                && bytes
                    .get(i + 2..i + 2 + width)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .is_some()
            {
                count += 1;
                i += 2 + width;
                continue;
            }
        }
        count += 1;
        i += 1;
    }
    count
}

/// Protocol 0 STRING arguments (between the quotes): Python's `string-escape`.
pub fn decode_string_escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' || i + 1 >= bytes.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let next = bytes[i + 1];
        i += 2;
        match next {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' => {
                let hex = bytes
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            b'0'..=b'7' => {
                let mut v = u32::from(next - b'0');
                let mut digits = 1;
                while digits < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    v = v * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// A Python-like `repr` of text, cut to `max` characters.
pub fn repr_str(s: &str, max: usize) -> String {
    let mut out = String::from("'");
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push_str("...");
            break;
        }
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A Python-like `repr` of bytes (`b'...'`), cut to `max` bytes.
pub fn repr_bytes(bytes: &[u8], max: usize) -> String {
    let mut out = String::from("b'");
    for (n, &b) in bytes.iter().enumerate() {
        if n >= max {
            out.push_str("...");
            break;
        }
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_unicode_escape() {
        assert_eq!(
            decode_raw_unicode_escape(b"caf\\u00e9 \\U0001F600"),
            "café 😀"
        );
        assert_eq!(decode_raw_unicode_escape(b"a\\ub"), "a\\ub");
        assert_eq!(decode_raw_unicode_escape(b"\xe9"), "é");
    }

    #[test]
    fn string_escape() {
        assert_eq!(decode_string_escape(b"a\\nb\\x41\\101\\'"), b"a\nbAA'");
        assert_eq!(decode_string_escape(b"trailing\\"), b"trailing\\");
    }

    #[test]
    fn reprs() {
        assert_eq!(repr_str("it's", 10), "'it\\'s'");
        assert_eq!(repr_str("abcdef", 3), "'abc...'");
        assert_eq!(repr_bytes(b"\x00a", 10), "b'\\x00a'");
    }
}
