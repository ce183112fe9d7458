//! A bounded reader for the UBJSON XGBoost writes into a pickled Booster's `handle`.
//!
//! XGBoost's `Booster.__getstate__` stores `XGBoosterSerializeToBuffer`: a UBJSON object
//! `{"Config": {...}, "Model": {...}}`. Every parameter in `Config` is a string
//! (`"nthread": "14"`). We read the string leaves of `Config` with their byte offsets and
//! skip everything else; typed arrays (`[$d#L<n>`) are skipped by arithmetic, not read.

use std::collections::VecDeque;

/// A string leaf: dotted path (`Config.learner.generic_param.nthread`), value, and the
/// offset of the value's bytes within the blob.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    pub path: String,
    pub value: String,
    pub value_offset: usize,
    /// Offset of the `S` marker that starts the value (length prefix included after it).
    pub marker_offset: usize,
}

/// Deeper than any XGBoost config; stops hostile nesting.
const MAX_DEPTH: usize = 64;
/// More leaves than any XGBoost config has.
const MAX_LEAVES: usize = 10_000;

/// Where a UBJSON blob stops making sense, counted from the blob's first byte.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("at blob byte {offset}: {message}")]
pub struct UbjsonError {
    pub offset: usize,
    pub message: &'static str,
}

type Result<T> = std::result::Result<T, UbjsonError>;

/// Reads the string leaves under the top-level key `root` (e.g. `Config`), plus the
/// top-level `version` array if it comes first. Other top-level keys are skipped.
pub fn string_leaves(data: &[u8], root: &str) -> Result<Vec<Leaf>> {
    let mut reader = Reader { data, pos: 0 };
    let mut leaves = Vec::new();
    let marker = reader.byte()?;
    if marker != b'{' {
        return Err(reader.error("the blob is not a UBJSON object"));
    }
    let mut path: VecDeque<String> = VecDeque::new();
    reader.object_body(&mut |reader, key| {
        if key == root.as_bytes() {
            path.push_back(root.to_string());
            let marker = reader.byte()?;
            reader.collect(marker, &mut path, &mut leaves, 1)?;
            path.pop_back();
            Ok(())
        } else {
            let marker = reader.byte()?;
            reader.skip(marker, 1)
        }
    })?;
    Ok(leaves)
}

fn dotted(path: &VecDeque<String>) -> String {
    path.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(".")
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, message: &'static str) -> UbjsonError {
        UbjsonError {
            offset: self.pos,
            message,
        }
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end of UBJSON"))?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self) -> Result<u8> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error("unexpected end of UBJSON"))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let available = (self.data.len() - self.pos) as u64;
        if n > available {
            return Err(self.error("UBJSON length runs past the end of the blob"));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.data[start..self.pos])
    }

    /// An integer introduced by its type marker (`i U I l L`).
    fn int_with(&mut self, marker: u8) -> Result<i64> {
        Ok(match marker {
            b'i' => i64::from(self.take(1)?[0] as i8),
            b'U' => i64::from(self.take(1)?[0]),
            b'I' => i64::from(i16::from_be_bytes(self.array()?)),
            b'l' => i64::from(i32::from_be_bytes(self.array()?)),
            b'L' => i64::from_be_bytes(self.array()?),
            _ => return Err(self.error("expected an integer type marker")),
        })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N as u64)?;
        bytes.try_into().map_err(|_| self.error("short integer"))
    }

    fn length(&mut self) -> Result<u64> {
        let marker = self.byte()?;
        let n = self.int_with(marker)?;
        u64::try_from(n).map_err(|_| self.error("negative UBJSON length"))
    }

    /// Size of one element of a fixed-size type, or `None` for variable-size types.
    fn fixed_size(marker: u8) -> Option<u64> {
        match marker {
            b'Z' | b'N' | b'T' | b'F' => Some(0),
            b'i' | b'U' | b'C' => Some(1),
            b'I' => Some(2),
            b'l' | b'd' => Some(4),
            b'L' | b'D' => Some(8),
            _ => None,
        }
    }

    /// Reads the entries of an object whose `{` was consumed, calling `each` with the
    /// key; `each` must consume the value.
    fn object_body(&mut self, each: &mut dyn FnMut(&mut Self, &[u8]) -> Result<()>) -> Result<()> {
        let (typed, count) = self.container_header()?;
        if typed.is_some() {
            return Err(self.error("typed UBJSON objects are not expected here"));
        }
        let mut seen = 0u64;
        loop {
            if count.is_none() && self.peek()? == b'}' {
                self.pos += 1;
                return Ok(());
            }
            if count.is_some_and(|c| seen >= c) {
                return Ok(());
            }
            let len = self.length()?;
            let key = self.take(len)?;
            each(self, key)?;
            seen += 1;
        }
    }

    /// Reads the optional `$type` and `#count` after `[` or `{`.
    fn container_header(&mut self) -> Result<(Option<u8>, Option<u64>)> {
        let mut typed = None;
        if self.peek()? == b'$' {
            self.pos += 1;
            typed = Some(self.byte()?);
        }
        let mut count = None;
        if self.peek()? == b'#' {
            self.pos += 1;
            count = Some(self.length()?);
        } else if typed.is_some() {
            return Err(self.error("UBJSON '$' without '#'"));
        }
        Ok((typed, count))
    }

    fn collect(
        &mut self,
        marker: u8,
        path: &mut VecDeque<String>,
        leaves: &mut Vec<Leaf>,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.error("UBJSON nested too deeply"));
        }
        match marker {
            b'{' => self.object_body(&mut |reader, key| {
                path.push_back(String::from_utf8_lossy(key).into_owned());
                let marker = reader.byte()?;
                let result = reader.collect(marker, path, leaves, depth + 1);
                path.pop_back();
                result
            }),
            b'S' | b'H' => {
                let marker_offset = self.pos - 1;
                let len = self.length()?;
                let value_offset = self.pos;
                let value = self.take(len)?;
                if leaves.len() >= MAX_LEAVES {
                    return Err(self.error("too many UBJSON leaves"));
                }
                leaves.push(Leaf {
                    path: dotted(path),
                    value: String::from_utf8_lossy(value).into_owned(),
                    value_offset,
                    marker_offset,
                });
                Ok(())
            }
            // XGBoost records its version as an int array: `"version": [3, 2, 0]`.
            b'[' if path.back().is_some_and(|k| k == "version") => {
                let marker_offset = self.pos - 1;
                let value_offset = self.pos;
                let parts = self.int_array()?;
                leaves.push(Leaf {
                    path: dotted(path),
                    value: parts
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join("."),
                    value_offset,
                    marker_offset,
                });
                Ok(())
            }
            other => self.skip(other, depth),
        }
    }

    /// A short array of integers (after its `[`).
    fn int_array(&mut self) -> Result<Vec<i64>> {
        let (typed, count) = self.container_header()?;
        let mut out = Vec::new();
        loop {
            if count.is_some_and(|c| out.len() as u64 >= c) {
                return Ok(out);
            }
            if count.is_none() && self.peek()? == b']' {
                self.pos += 1;
                return Ok(out);
            }
            if out.len() >= 16 {
                return Err(self.error("version array too long"));
            }
            let marker = match typed {
                Some(t) => t,
                None => self.byte()?,
            };
            out.push(self.int_with(marker)?);
        }
    }

    fn skip(&mut self, marker: u8, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.error("UBJSON nested too deeply"));
        }
        if let Some(size) = Self::fixed_size(marker) {
            self.take(size)?;
            return Ok(());
        }
        match marker {
            b'S' | b'H' => {
                let len = self.length()?;
                self.take(len)?;
                Ok(())
            }
            b'[' => {
                let (typed, count) = self.container_header()?;
                match (typed, count) {
                    (Some(t), Some(n)) => match Self::fixed_size(t) {
                        Some(size) => {
                            let total = size
                                .checked_mul(n)
                                .ok_or_else(|| self.error("UBJSON array size overflows"))?;
                            self.take(total).map(|_| ())
                        }
                        None => (0..n).try_for_each(|_| self.skip(t, depth + 1)),
                    },
                    (None, Some(n)) => (0..n).try_for_each(|_| {
                        let m = self.byte()?;
                        self.skip(m, depth + 1)
                    }),
                    _ => loop {
                        let m = self.byte()?;
                        if m == b']' {
                            return Ok(());
                        }
                        self.skip(m, depth + 1)?;
                    },
                }
            }
            b'{' => self.object_body(&mut |reader, _key| {
                let m = reader.byte()?;
                reader.skip(m, depth + 1)
            }),
            _ => Err(self.error("unknown UBJSON type marker")),
        }
    }
}

/// The writing half: a string value's length field as XGBoost writes it, `L` and a
/// big-endian int64, whatever width the field it replaces had. None past `i64::MAX`.
pub fn string_length_field(len: usize) -> Option<[u8; 9]> {
    let len = i64::try_from(len).ok()?;
    let mut field = [b'L'; 9];
    field[1..].copy_from_slice(&len.to_be_bytes());
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_length_field_reads_back() {
        let mut blob = vec![b'{', b'i', 1, b'k', b'S'];
        blob.extend_from_slice(&string_length_field(3).unwrap());
        blob.extend_from_slice(b"abc}");
        let leaves = string_leaves(&blob, "k").unwrap();
        assert_eq!(leaves[0].value, "abc");
    }

    fn key(k: &str) -> Vec<u8> {
        let mut v = vec![b'L'];
        v.extend_from_slice(&(k.len() as i64).to_be_bytes());
        v.extend_from_slice(k.as_bytes());
        v
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = vec![b'S'];
        v.extend(key(s));
        v
    }

    #[test]
    fn reads_config_strings_and_skips_model() {
        let mut blob = vec![b'{'];
        blob.extend(key("Config"));
        blob.push(b'{');
        blob.extend(key("learner"));
        blob.push(b'{');
        blob.extend(key("nthread"));
        blob.extend(string("14"));
        blob.extend(key("version"));
        blob.extend_from_slice(b"[#L\x00\x00\x00\x00\x00\x00\x00\x03i\x03i\x02i\x00");
        blob.extend(key("ints"));
        blob.extend_from_slice(b"[$d#i\x02\x00\x00\x00\x00\x00\x00\x00\x00");
        blob.push(b'}');
        blob.push(b'}');
        blob.extend(key("Model"));
        blob.extend_from_slice(b"[#U\x01i\x05");
        blob.push(b'}');
        let leaves = string_leaves(&blob, "Config").unwrap();
        assert_eq!(leaves.len(), 2);
        assert_eq!(leaves[1].path, "Config.learner.version");
        assert_eq!(leaves[1].value, "3.2.0");
        assert_eq!(leaves[0].path, "Config.learner.nthread");
        assert_eq!(leaves[0].value, "14");
        assert_eq!(
            &blob[leaves[0].value_offset..leaves[0].value_offset + 2],
            b"14"
        );
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut blob = vec![b'{'];
        blob.extend(key("Config"));
        blob.extend_from_slice(b"SL\x7f\xff\xff\xff\xff\xff\xff\xff");
        assert!(string_leaves(&blob, "Config").is_err());
        assert!(string_leaves(b"[", "Config").is_err());
        assert!(string_leaves(b"", "Config").is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut blob = vec![b'{'];
        blob.extend(key("Config"));
        for _ in 0..100 {
            blob.push(b'{');
            blob.extend(key("a"));
        }
        assert!(string_leaves(&blob, "Config").is_err());
    }
}
