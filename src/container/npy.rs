//! NumPy's `.npy` files, read as `numpy.lib.format` reads them: the magic and version, a
//! header that is a Python literal dict (`ast.literal_eval` in numpy) with exactly the keys
//! `descr`, `fortran_order` and `shape`, then the array's bytes, or, when the dtype holds
//! Python objects, a pickle that `numpy.load(allow_pickle=True)` runs.
//!
//! Whether the dtype holds objects decides whether the file runs anything, so it is
//! computed as numpy computes it, and a header this reader cannot follow exactly is an
//! error, never a guess: a literal numpy would accept and we would not fails the gate.

use crate::pickle::joblib::size_type_string;

pub const MAGIC: &[u8] = b"\x93NUMPY";

/// Longer than any header numpy writes (it refuses over 10,000 bytes without allow_pickle).
pub const MAX_HEADER: usize = 1 << 20;

/// Deeper than any dtype description numpy writes; stops hostile nesting.
const MAX_DEPTH: usize = 32;

/// What the header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The format's major version (1, 2 or 3).
    pub version: u8,
    /// Where the array's bytes (or an object array's pickle) start: just past the header.
    pub data_offset: u64,
    /// The `descr` value as written: a type string, or the list of a structured dtype.
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Bytes per element.
    pub itemsize: u64,
    /// The dtype holds Python objects: the data is a pickle.
    pub object: bool,
}

impl NpyHeader {
    /// Bytes of array data a plain array holds (None when the count overflows).
    pub fn nbytes(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(self.itemsize, |acc, &d| acc.checked_mul(d))
    }
}

/// Where and why a header cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {problem}")]
pub struct NpyError {
    pub offset: u64,
    pub problem: NpyProblem,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NpyProblem {
    #[error(".npy version {0}.{1} is not one numpy reads (1.0, 2.0, 3.0)")]
    Version(u8, u8),
    #[error("the file ends inside the .npy header")]
    Truncated,
    #[error("the .npy header is not UTF-8 (version 3 headers are)")]
    NotUtf8,
    #[error("the .npy header is not a literal this reader follows exactly: {0}")]
    Syntax(&'static str),
    #[error("the .npy header is not a dict with exactly the keys descr, fortran_order, shape")]
    Keys,
    #[error("the .npy header's shape is not a tuple of non-negative integers")]
    Shape,
    #[error("the .npy header's fortran_order is not a bool")]
    FortranOrder,
    #[error("the .npy header's descr cannot be sized exactly: {0}")]
    Descr(String),
    #[error("the .npy header nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the .npy header claims {0} bytes, more than this reader reads (1 MiB)")]
    TooLong(usize),
    #[error(
        "the header describes {needs} bytes of array data, the file holds {holds}: numpy.load fails on it"
    )]
    DataPastEnd { needs: String, holds: u64 },
}

/// Reads the header of the `.npy` file `data` (the whole file, or at least its header).
pub fn read_header(data: &[u8]) -> Result<NpyHeader, NpyError> {
    let err = |offset: usize, problem| NpyError {
        offset: offset as u64,
        problem,
    };
    if data.len() < 8 || !data.starts_with(MAGIC) {
        return Err(err(0, NpyProblem::Truncated));
    }
    let (major, minor) = (data[6], data[7]);
    let (length_bytes, text_is_utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(err(6, NpyProblem::Version(major, minor))),
    };
    let field = data
        .get(8..8 + length_bytes)
        .ok_or(err(8, NpyProblem::Truncated))?;
    let header_len = field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let start = 8 + length_bytes;
    // numpy writes headers of a few hundred bytes and, without allow_pickle, refuses any
    // over 10,000; a longer one is not read (and so fails the gate), not parsed at length.
    if header_len > MAX_HEADER {
        return Err(err(8, NpyProblem::TooLong(header_len)));
    }
    let raw = start
        .checked_add(header_len)
        .and_then(|end| data.get(start..end))
        .ok_or(err(start, NpyProblem::Truncated))?;
    // numpy decodes versions 1 and 2 as latin-1, version 3 as UTF-8.
    let text: String = if text_is_utf8 {
        std::str::from_utf8(raw)
            .map_err(|_| err(start, NpyProblem::NotUtf8))?
            .to_string()
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        python2_longs: major < 3,
    };
    let value = parser
        .document()
        .map_err(|(at, problem)| err(start + byte_offset(&text, at, text_is_utf8), problem))?;
    let at_header = |problem| err(start, problem);
    let Literal::Dict(entries) = value else {
        return Err(at_header(NpyProblem::Keys));
    };
    // literal_eval keeps the last of repeated keys; numpy then wants exactly these three.
    let get = |key: &str| entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v);
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys != ["descr", "fortran_order", "shape"] {
        return Err(at_header(NpyProblem::Keys));
    }
    let (Some(descr), Some(fortran), Some(shape)) =
        (get("descr"), get("fortran_order"), get("shape"))
    else {
        return Err(at_header(NpyProblem::Keys));
    };
    let shape = match shape {
        Literal::Tuple(items) => items
            .iter()
            .map(Literal::as_dimension)
            .collect::<Option<Vec<u64>>>()
            .ok_or(at_header(NpyProblem::Shape))?,
        _ => return Err(at_header(NpyProblem::Shape)),
    };
    let Literal::Bool(fortran_order) = fortran else {
        return Err(at_header(NpyProblem::FortranOrder));
    };
    let (itemsize, object) = dtype(descr, 0).map_err(at_header)?;
    let header = NpyHeader {
        version: major,
        data_offset: (start + header_len) as u64,
        descr: match descr {
            Literal::Str(s) => s.clone(),
            other => other.to_string(),
        },
        fortran_order: *fortran_order,
        shape,
        itemsize,
        object,
    };
    // A plain array must be all there: numpy reads exactly its bytes (an object array's
    // pickle is the pickle layer's to read to the end).
    let holds = (data.len() - (start + header_len)) as u64;
    if !header.object && header.nbytes().is_none_or(|n| n > holds) {
        return Err(err(
            start + header_len,
            NpyProblem::DataPastEnd {
                needs: header
                    .nbytes()
                    .map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
                holds,
            },
        ));
    }
    Ok(header)
}

/// The byte offset of character `at` in the header as it lies in the file.
fn byte_offset(text: &str, at: usize, utf8: bool) -> usize {
    if utf8 {
        text.char_indices().nth(at).map_or(text.len(), |(i, _)| i)
    } else {
        at
    }
}

/// numpy's `descr_to_dtype`: a type string, a `(descr, shape)` subarray, or a list of
/// fields `(name, descr)` / `(name, descr, shape)`, packed in order.
fn dtype(descr: &Literal, depth: usize) -> Result<(u64, bool), NpyProblem> {
    if depth > MAX_DEPTH {
        return Err(NpyProblem::TooDeep);
    }
    let sized = |what: String| NpyProblem::Descr(what);
    match descr {
        Literal::Str(s) => size_type_string(s, -1, 0).map_err(|e| sized(e.to_string())),
        Literal::Tuple(parts) => match parts.as_slice() {
            [inner, shape] => {
                let (size, object) = dtype(inner, depth + 1)?;
                Ok((
                    subarray(size, shape).ok_or(sized(descr.to_string()))?,
                    object,
                ))
            }
            _ => Err(sized(descr.to_string())),
        },
        Literal::List(fields) => {
            let mut total = 0u64;
            let mut object = false;
            for field in fields {
                let Literal::Tuple(parts) = field else {
                    return Err(sized(field.to_string()));
                };
                let (name, size, holds) = match parts.as_slice() {
                    [name, inner] => {
                        let (size, holds) = dtype(inner, depth + 1)?;
                        (name, size, holds)
                    }
                    [name, inner, shape] => {
                        let (size, holds) = dtype(inner, depth + 1)?;
                        let size = subarray(size, shape).ok_or(sized(field.to_string()))?;
                        (name, size, holds)
                    }
                    _ => return Err(sized(field.to_string())),
                };
                let named = match name {
                    Literal::Str(_) => true,
                    Literal::Tuple(t) => matches!(t.as_slice(), [_, Literal::Str(_)]),
                    _ => false,
                };
                if !named {
                    return Err(sized(field.to_string()));
                }
                total = total.checked_add(size).ok_or(sized(field.to_string()))?;
                object |= holds;
            }
            Ok((total, object))
        }
        other => Err(sized(other.to_string())),
    }
}

/// `numpy.dtype((base, shape))`: an int or a tuple of ints multiplies the item.
fn subarray(size: u64, shape: &Literal) -> Option<u64> {
    match shape {
        Literal::Tuple(dims) => dims
            .iter()
            .try_fold(size, |acc, d| acc.checked_mul(d.as_dimension()?)),
        other => size.checked_mul(other.as_dimension()?),
    }
}

/// The Python literals a `.npy` header can hold.
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Dict(Vec<(String, Literal)>),
    List(Vec<Literal>),
    Tuple(Vec<Literal>),
    Str(String),
    Int(i128),
    Bool(bool),
    None,
}

impl Literal {
    /// A shape entry: a non-negative int (a bool is one, to Python).
    fn as_dimension(&self) -> Option<u64> {
        match self {
            Literal::Int(n) => u64::try_from(*n).ok(),
            Literal::Bool(b) => Some(u64::from(*b)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Literal {
    /// As Python's repr writes it, near enough for messages and for `descr`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = |f: &mut std::fmt::Formatter<'_>, items: &[Literal]| {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        };
        match self {
            Literal::Dict(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "'{k}': {v}")?;
                }
                f.write_str("}")
            }
            Literal::List(items) => {
                f.write_str("[")?;
                seq(f, items)?;
                f.write_str("]")
            }
            Literal::Tuple(items) => {
                f.write_str("(")?;
                seq(f, items)?;
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Literal::Str(s) => write!(f, "'{s}'"),
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Bool(true) => f.write_str("True"),
            Literal::Bool(false) => f.write_str("False"),
            Literal::None => f.write_str("None"),
        }
    }
}

/// A recursive-descent reader of the literal subset numpy writes (and Python 2 wrote),
/// over the header's characters. Anything outside it is an error.
struct Parser {
    chars: Vec<char>,
    /// Index into `chars`.
    pos: usize,
    /// numpy retries version 1 and 2 headers with Python 2's `3L` long suffix removed.
    python2_longs: bool,
}

type Parsed<T> = Result<T, (usize, NpyProblem)>;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn rest(&self) -> impl Iterator<Item = char> + '_ {
        self.chars.iter().skip(self.pos).copied()
    }

    fn fail<T>(&self, why: &'static str) -> Parsed<T> {
        Err((self.pos, NpyProblem::Syntax(why)))
    }

    fn skip_space(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'))
        {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn document(&mut self) -> Parsed<Literal> {
        let value = self.value(0)?;
        self.skip_space();
        if self.peek().is_some() {
            return self.fail("text after the dict");
        }
        Ok(value)
    }

    fn value(&mut self, depth: usize) -> Parsed<Literal> {
        if depth > MAX_DEPTH {
            return Err((self.pos, NpyProblem::TooDeep));
        }
        self.skip_space();
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    if self.eat('}') {
                        break;
                    }
                    let Literal::Str(key) = self.value(depth + 1)? else {
                        return self.fail("a dict key that is not a string");
                    };
                    if !self.eat(':') {
                        return self.fail("a dict entry without ':'");
                    }
                    entries.push((key, self.value(depth + 1)?));
                    if !self.eat(',') {
                        if self.eat('}') {
                            break;
                        }
                        return self.fail("a dict entry not followed by ',' or '}'");
                    }
                }
                Ok(Literal::Dict(entries))
            }
            Some('[') => {
                self.pos += 1;
                Ok(Literal::List(self.items(']', depth)?.0))
            }
            Some('(') => {
                self.pos += 1;
                let (items, trailing_comma) = self.items(')', depth)?;
                // `(x)` is x; `(x,)` and `()` are tuples.
                match (items.len(), trailing_comma) {
                    (1, false) => Ok(items.into_iter().next().unwrap_or(Literal::None)),
                    _ => Ok(Literal::Tuple(items)),
                }
            }
            Some('\'' | '"') => {
                let mut s = self.string()?;
                // Adjacent literals concatenate: 'a' 'b' is 'ab'.
                loop {
                    self.skip_space();
                    if !matches!(self.peek(), Some('\'' | '"')) {
                        break;
                    }
                    s.push_str(&self.string()?);
                }
                Ok(Literal::Str(s))
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let word: String = self
                    .rest()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                self.pos += word.chars().count();
                match word.as_str() {
                    "True" => Ok(Literal::Bool(true)),
                    "False" => Ok(Literal::Bool(false)),
                    "None" => Ok(Literal::None),
                    _ => self.fail("a name or prefixed string, not a literal numpy writes"),
                }
            }
            Some(_) => self.fail("a character that starts no literal numpy writes"),
            None => self.fail("the header ends where a value should be"),
        }
    }

    /// Items up to `close`, and whether a comma followed the last one.
    fn items(&mut self, close: char, depth: usize) -> Parsed<(Vec<Literal>, bool)> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.eat(close) {
                return Ok((items, comma));
            }
            items.push(self.value(depth + 1)?);
            comma = self.eat(',');
            if !comma {
                if self.eat(close) {
                    return Ok((items, false));
                }
                return self.fail("items not separated by ','");
            }
        }
    }

    fn int(&mut self) -> Parsed<Literal> {
        let mut negative = false;
        while let Some(sign @ ('-' | '+')) = self.peek() {
            negative ^= sign == '-';
            self.pos += 1;
            self.skip_space();
        }
        let digits: String = self
            .rest()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        self.pos += digits.chars().count();
        let body = match digits.strip_suffix(['L', 'l']) {
            Some(body) if self.python2_longs => body,
            _ => digits.as_str(),
        };
        // Decimal only, with Python's single underscores between digits; numpy writes
        // plain decimals, and a float or a complex is never a valid shape.
        let clean = body.replace('_', "");
        let valid = !body.is_empty()
            && !body.starts_with('_')
            && !body.ends_with('_')
            && !body.contains("__")
            && clean.bytes().all(|b| b.is_ascii_digit())
            && (clean == "0" || !clean.starts_with('0') || clean.bytes().all(|b| b == b'0'));
        if !valid {
            return self.fail("a number that is not a plain decimal integer");
        }
        let n: i128 = clean.parse().or(Err((
            self.pos,
            NpyProblem::Syntax("an integer too large for a shape"),
        )))?;
        Ok(Literal::Int(if negative { -n } else { n }))
    }

    fn string(&mut self) -> Parsed<String> {
        let Some(quote) = self.peek() else {
            return self.fail("a missing string");
        };
        if self.rest().take(3).eq(std::iter::repeat_n(quote, 3)) {
            return self.fail("a triple-quoted string");
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.fail("an unterminated string");
            };
            self.pos += 1;
            match c {
                c if c == quote => return Ok(out),
                '\n' => return self.fail("a newline inside a string"),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return self.fail("an unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        '\\' | '\'' | '"' => out.push(e),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'x' | 'u' | 'U' => {
                            let width = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = self.rest().take(width).collect();
                            let ch = (hex.len() == width)
                                .then(|| u32::from_str_radix(&hex, 16).ok())
                                .flatten()
                                .and_then(char::from_u32);
                            let Some(ch) = ch else {
                                return self.fail("a bad escape in a string");
                            };
                            self.pos += width;
                            out.push(ch);
                        }
                        // Python keeps the backslash of an escape it does not know.
                        other if other.is_ascii_alphanumeric() && !"abfv".contains(other) => {
                            out.push('\\');
                            out.push(other);
                        }
                        _ => return self.fail("an escape this reader does not follow"),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(version: u8, header: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version, 0]);
        let len = header.len();
        if version == 1 {
            out.extend((len as u16).to_le_bytes());
        } else {
            out.extend((len as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        // Room for the small arrays the tests describe.
        out.extend([0u8; 512]);
        out
    }

    #[test]
    fn headers_numpy_writes() {
        let h = read_header(&npy(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n",
        ))
        .unwrap();
        assert_eq!(
            (h.itemsize, h.object, h.shape.clone()),
            (8, false, vec![3, 4])
        );
        assert_eq!(h.nbytes(), Some(96));
        assert_eq!(h.data_offset, 10 + 70);
        let mut short = npy(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (100,)}",
        );
        short.truncate(short.len() - 512 + 799);
        assert!(matches!(
            read_header(&short).unwrap_err().problem,
            NpyProblem::DataPastEnd { .. }
        ));
        let h = read_header(&npy(
            1,
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n",
        ))
        .unwrap();
        assert!(h.object);
        let h = read_header(&npy(
            2,
            "{'descr': [('a', '<i4'), ('b', '|O'), ('', '|V4'), ('c', '<f8', (2, 3))], 'fortran_order': False, 'shape': (), }\n",
        ))
        .unwrap();
        assert_eq!(h.itemsize, 4 + 8 + 4 + 48);
        assert!(h.object);
        let h = read_header(&npy(
            3,
            "{'descr': '<U3', 'fortran_order': True, 'shape': (5L,)}",
        ))
        .unwrap_err();
        assert_eq!(
            h.problem,
            NpyProblem::Syntax("a number that is not a plain decimal integer")
        );
        let h = read_header(&npy(
            2,
            "{'descr': '<U3', 'fortran_order': True, 'shape': (5L,)}",
        ))
        .unwrap();
        assert_eq!(
            (h.itemsize, h.shape.clone(), h.fortran_order),
            (12, vec![5], true)
        );
    }

    #[test]
    fn headers_numpy_refuses_or_we_cannot_follow_are_errors() {
        for header in [
            "{'descr': '<f8', 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
            "{'descr': 'i4,f8', 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} # comment",
            "{'descr': u'<f8', 'fortran_order': False, 'shape': (3,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,)}",
        ] {
            assert!(read_header(&npy(1, header)).is_err(), "{header}");
        }
        assert_eq!(
            read_header(b"\x93NUMPY\x04\x00\x00\x00")
                .unwrap_err()
                .problem,
            NpyProblem::Version(4, 0)
        );
        let mut short = npy(1, "{'descr': '<f8'}");
        short.truncate(short.len() - 512 - 2);
        assert_eq!(
            read_header(&short).unwrap_err().problem,
            NpyProblem::Truncated
        );
        let deep = format!(
            "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': ()}}",
            "[('a', ".repeat(40),
            ")]".repeat(40)
        );
        assert!(read_header(&npy(1, &deep)).is_err());
    }

    #[test]
    fn python_literal_details() {
        // Parentheses around a value, adjacent strings, escapes, duplicate keys.
        let h = read_header(&npy(
            1,
            "{'descr': ('<' 'f8'), \"fortran_order\": False, 'shape': (2,), 'shape': (True, 3)}",
        ))
        .unwrap();
        assert_eq!((h.itemsize, h.shape.clone()), (8, vec![1, 3]));
        let h = read_header(&npy(
            1,
            "{'descr': '\\x7cO', 'fortran_order': False, 'shape': ()}",
        ))
        .unwrap();
        assert!(h.object);
    }
}
