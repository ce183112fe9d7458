//! JSON read the way Python's `json.loads` reads it, with the byte span of every value.
//!
//! skops keeps a model's structure in `schema.json`; a patch replaces single values in
//! it and copies every other byte, so each value must know where it lies. serde_json
//! does not keep spans, and it reads a few things apart from Python (duplicate keys,
//! `NaN`), which decide what skops would load: here a repeated key's last value is the
//! one [`Json::get`] returns, as in a Python dict, and `NaN`, `Infinity` and
//! `-Infinity` are numbers. Nesting is bounded ([`MAX_DEPTH`]) so that a hostile file
//! cannot exhaust the stack: the parser recurses once per level, a few KiB per level in
//! a debug build, so a caller on a small stack runs it on a thread of its own (as
//! `container::skops` does).

use crate::pickle::graph::Span;

/// Far deeper than any schema skops writes (each Python object nests two or three
/// levels; a pipeline of ensembles is a few dozen). CPython's own parser allows about
/// 1,000 on its default recursion limit; a schema between the two fails closed (exit 2).
pub const MAX_DEPTH: usize = 512;

#[derive(Clone, Debug, PartialEq)]
pub struct Json {
    /// Where the value lies, from its first byte to its last.
    pub span: Span,
    pub kind: JsonKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JsonKind {
    Null,
    Bool(bool),
    /// The number as written (`14`, `-1.5e3`, `NaN`).
    Number(Box<str>),
    String(String),
    Array(Vec<Json>),
    /// Members in the order written, repeated keys included.
    Object(Vec<(String, Json)>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("at offset {offset} of the JSON: {problem}")]
pub struct JsonError {
    pub offset: u64,
    pub problem: String,
}

impl Json {
    /// The value of `key` in an object: the last one written, as Python keeps it.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match &self.kind {
            JsonKind::Object(members) => {
                members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            JsonKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match &self.kind {
            JsonKind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// An object's members, each key once (its last value), in the order Python's dict
    /// keeps them: where the key was first written.
    pub fn members(&self) -> Vec<(&str, &Json)> {
        let JsonKind::Object(members) = &self.kind else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &Json)> = Vec::with_capacity(members.len());
        for (k, v) in members {
            match out.iter_mut().find(|(seen, _)| *seen == k.as_str()) {
                Some(slot) => slot.1 = v,
                None => out.push((k.as_str(), v)),
            }
        }
        out
    }

    /// An integer as Python reads it (`14`, not `14.0` or `true`).
    pub fn as_int(&self) -> Option<i64> {
        match &self.kind {
            JsonKind::Number(text) if !text.contains(['.', 'e', 'E', 'N', 'I']) => {
                text.parse().ok()
            }
            _ => None,
        }
    }
}

/// Parses one JSON document (a UTF-8 byte-order mark first is skipped, as Python's
/// `json.loads` of bytes does). Spans are offsets in `bytes`.
pub fn parse(bytes: &[u8]) -> Result<Json, JsonError> {
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut parser = Parser { bytes, pos: start };
    parser.skip_space();
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.pos != bytes.len() {
        return Err(parser.error("extra data after the document"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, problem: impl Into<String>) -> JsonError {
        JsonError {
            offset: self.pos as u64,
            problem: problem.into(),
        }
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn span(&self, start: usize) -> Span {
        Span {
            offset: start as u64,
            len: (self.pos - start) as u64,
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let start = self.pos;
        let kind = match self.bytes.get(self.pos) {
            None => return Err(self.error("the document ends where a value should start")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonKind::String(self.string()?),
            Some(b't') => self.word("true", JsonKind::Bool(true))?,
            Some(b'f') => self.word("false", JsonKind::Bool(false))?,
            Some(b'n') => self.word("null", JsonKind::Null)?,
            Some(b'N') => self.word("NaN", JsonKind::Number("NaN".into()))?,
            Some(b'I') => self.word("Infinity", JsonKind::Number("Infinity".into()))?,
            Some(b'-') if self.bytes[self.pos..].starts_with(b"-Infinity") => {
                self.word("-Infinity", JsonKind::Number("-Infinity".into()))?
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(&b) => return Err(self.error(format!("unexpected byte 0x{b:02x}"))),
        };
        Ok(Json {
            span: self.span(start),
            kind,
        })
    }

    fn word(&mut self, word: &str, kind: JsonKind) -> Result<JsonKind, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn number(&mut self) -> Result<JsonKind, JsonError> {
        let start = self.pos;
        let digits = |p: &mut Parser<'_>| {
            let from = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        // Python's grammar: no leading zeros (`01` is `0` and then extra data).
        if self.bytes.get(self.pos) == Some(&b'0') {
            self.pos += 1;
        } else if digits(self) == 0 {
            return Err(self.error("a number without digits"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            let dot = self.pos;
            self.pos += 1;
            if digits(self) == 0 {
                self.pos = dot;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            let e = self.pos;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                self.pos = e;
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos])
            .map_err(|_| self.error("a number that is not ASCII"))?;
        Ok(JsonKind::Number(text.into()))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            let run = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let text = std::str::from_utf8(&self.bytes[run..self.pos]).map_err(|e| JsonError {
                offset: (run + e.valid_up_to()) as u64,
                problem: "a string that is not UTF-8".into(),
            })?;
            out.push_str(text);
            match self.bytes.get(self.pos) {
                None => return Err(self.error("a string that does not end")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error("a control character inside a string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let Some(&b) = self.bytes.get(self.pos) else {
            return Err(self.error("a string that does not end"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first)
                    && self.bytes[self.pos..].starts_with(b"\\u")
                {
                    let save = self.pos;
                    self.pos += 2;
                    let second = self.hex4()?;
                    if (0xDC00..0xE000).contains(&second) {
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    } else {
                        self.pos = save;
                        first
                    }
                } else {
                    first
                };
                // Python keeps a lone surrogate in its str; a Rust string cannot, and
                // no name or setting skops writes holds one.
                char::from_u32(code).unwrap_or('\u{FFFD}')
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("an unknown escape in a string"));
            }
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("a \\u escape without four hex digits"))?;
        let code = u32::from_str_radix(digits, 16).map_err(|_| self.error("a bad \\u escape"))?;
        self.pos += 4;
        Ok(code)
    }

    fn array(&mut self, depth: usize) -> Result<JsonKind, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(JsonKind::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonKind::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonKind, JsonError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(JsonKind::Object(members));
        }
        loop {
            self.skip_space();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a key in double quotes"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_space();
            let value = self.value(depth + 1)?;
            members.push((key, value));
            self.skip_space();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonKind::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

/// `text` as a JSON string literal, the way Python's `json.dumps` spells it (non-ASCII
/// escaped), so a value we write reads back as the same str.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spans_cover_each_value() {
        let text = br#" {"a": [1, "x\"y", null], "b": {"c": -2.5e3}} "#;
        let doc = parse(text).unwrap();
        let a = doc.get("a").unwrap();
        let slice = |j: &Json| &text[j.span.offset as usize..j.span.end() as usize];
        assert_eq!(slice(a), br#"[1, "x\"y", null]"#);
        assert_eq!(a.as_array().unwrap()[1].as_str(), Some("x\"y"));
        let c = doc.get("b").unwrap().get("c").unwrap();
        assert_eq!(slice(c), b"-2.5e3");
    }

    #[test]
    fn repeated_keys_keep_the_last_value_as_python_does() {
        let doc = parse(br#"{"k": 1, "j": 0, "k": 2}"#).unwrap();
        assert_eq!(doc.get("k").unwrap().as_int(), Some(2));
        let members = doc.members();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].0, "k");
        assert_eq!(members[0].1.as_int(), Some(2));
    }

    #[test]
    fn python_spellings_are_numbers() {
        for word in ["NaN", "Infinity", "-Infinity"] {
            let doc = parse(format!("[{word}]").as_bytes()).unwrap();
            assert_eq!(
                doc.as_array().unwrap()[0].kind,
                JsonKind::Number(word.into())
            );
        }
    }

    #[test]
    fn bad_documents_name_the_offset() {
        for (text, offset) in [
            (&b"{\"a\": }"[..], 6),
            (b"[1, 2", 5),
            (b"\"abc", 4),
            (b"01", 1),
            (b"{\"a\" 1}", 5),
            (b"\"\\q\"", 2),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // The depth the parser allows needs more than a test thread's 2 MiB in a debug
        // build: readers run it on a thread of their own (container::skops), so does this.
        let outcome = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(|| {
                let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
                let err = parse(deep.as_bytes()).unwrap_err();
                assert!(err.problem.contains("nested deeper"), "{err}");
                let fine = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
                assert!(parse(fine.as_bytes()).is_ok());
            })
            .unwrap()
            .join();
        assert!(outcome.is_ok());
    }

    #[test]
    fn surrogate_pairs_decode() {
        let doc = parse(br#""\ud83d\ude00 \u00e9""#).unwrap();
        assert_eq!(doc.as_str(), Some("\u{1F600} \u{e9}"));
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e12f64..1e12).prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(".*", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn to_serde(j: &Json) -> serde_json::Value {
        match &j.kind {
            JsonKind::Null => serde_json::Value::Null,
            JsonKind::Bool(b) => serde_json::Value::Bool(*b),
            JsonKind::Number(n) => serde_json::from_str(n).unwrap(),
            JsonKind::String(s) => serde_json::Value::String(s.clone()),
            JsonKind::Array(items) => {
                serde_json::Value::Array(items.iter().map(to_serde).collect())
            }
            JsonKind::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_serde(v))).collect())
            }
        }
    }

    proptest! {
        /// What serde_json writes (compact or indented) reads back as the same value,
        /// and each string value's span re-reads as that string.
        #[test]
        fn round_trips_serde_json(value in arbitrary_json(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            let doc = parse(text.as_bytes()).unwrap();
            // Against serde_json's own reading of the text: its float parser is not
            // exact without the `float_roundtrip` feature.
            let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(to_serde(&doc), expected);
            let reparsed = parse(&text.as_bytes()[doc.span.offset as usize..doc.span.end() as usize]).unwrap();
            prop_assert_eq!(to_serde(&reparsed), to_serde(&doc));
        }

        #[test]
        fn quote_reads_back(text in ".*") {
            let doc = parse(quote(&text).as_bytes()).unwrap();
            prop_assert_eq!(doc.as_str(), Some(text.as_str()));
        }
    }
}
