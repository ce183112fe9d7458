//! How a compressed artifact was encoded, read from its headers, and the encoder that
//! writes a patched copy the same way (DESIGN invariant 7: same codec, same level where
//! the file tells it). Levels leave only coarse traces: zlib and gzip record a band, LZMA
//! a dictionary size two presets may share, bz2 the exact level, LZ4 nothing at all.

use std::fmt;
use std::io::{self, Write};

use super::Codec;

/// What a header says about the level the file was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelEvidence {
    /// The header names this level and no other.
    Exact,
    /// The header allows every level in `lo..=hi`; we chose one of them.
    Band { lo: u32, hi: u32 },
    /// The format does not record a level (LZ4), or the header holds a value no preset
    /// writes (a custom LZMA dictionary).
    Unrecorded,
}

/// The settings a patched copy is encoded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoding {
    pub codec: Codec,
    /// The level we write with; `None` for LZ4, whose encoder here has one mode.
    pub level: Option<u32>,
    pub evidence: LevelEvidence,
    xz_check: Option<lzma_rust2::CheckType>,
    lz4_frame: Option<Lz4Frame>,
}

/// The frame options an LZ4 frame descriptor records (python-lz4 lets users choose them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Lz4Frame {
    block_max: u8,
    linked: bool,
    block_checksums: bool,
    content_size: bool,
    content_checksum: bool,
}

/// joblib's default level when a header cannot narrow it (`compress=True` and
/// `compress=n` both go through zlib; 3 is joblib's documented default).
const JOBLIB_DEFAULT_LEVEL: u32 = 3;

/// liblzma's preset dictionary sizes, smallest preset first: the size in the header
/// maps back to the presets that write it.
const LZMA_PRESET_DICT: [(u32, u32, u32); 8] = [
    (1 << 18, 0, 0),
    (1 << 20, 1, 1),
    (1 << 21, 2, 2),
    (1 << 22, 3, 4),
    (1 << 23, 5, 6),
    (1 << 24, 7, 7),
    (1 << 25, 8, 8),
    (1 << 26, 9, 9),
];

impl Encoding {
    /// Reads the level (and, for xz and LZ4, the stream options) from the first bytes of
    /// a file encoded with `codec`. Never fails: a header too short or unusual to tell
    /// yields joblib's defaults, marked [`LevelEvidence::Unrecorded`].
    pub fn detect(codec: Codec, head: &[u8]) -> Encoding {
        let unrecorded = |level: u32| (Some(level), LevelEvidence::Unrecorded);
        let band = |lo: u32, hi: u32, pick: u32| (Some(pick), LevelEvidence::Band { lo, hi });
        let mut xz_check = None;
        let mut lz4_frame = None;
        let (level, evidence) = match codec {
            // RFC 1950: FLEVEL, the top two bits of the second byte, as zlib's deflateInit
            // sets them (levels 0-1, 2-5, 6, 7-9).
            Codec::Zlib => match head.get(1).map(|b| b >> 6) {
                Some(0) => band(0, 1, 1),
                Some(1) => band(2, 5, JOBLIB_DEFAULT_LEVEL),
                Some(2) => (Some(6), LevelEvidence::Exact),
                Some(_) => band(7, 9, 9),
                None => unrecorded(JOBLIB_DEFAULT_LEVEL),
            },
            // RFC 1952: XFL, byte 8, which zlib sets to 2 at level 9 and 4 at levels 0-1.
            Codec::Gzip => match head.get(8) {
                Some(2) => (Some(9), LevelEvidence::Exact),
                Some(4) => band(0, 1, 1),
                Some(0) => band(2, 8, JOBLIB_DEFAULT_LEVEL),
                _ => unrecorded(JOBLIB_DEFAULT_LEVEL),
            },
            // "BZh" and the block size in 100 kB units, which is the level.
            Codec::Bz2 => match head.get(3) {
                Some(d @ b'1'..=b'9') => (Some(u32::from(d - b'0')), LevelEvidence::Exact),
                _ => unrecorded(9),
            },
            Codec::LzmaAlone => match head.get(1..5) {
                Some(b) => lzma_preset(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                None => unrecorded(6),
            },
            Codec::Xz => {
                // Stream flags (byte 7) name the check; the first block header follows
                // the 12-byte stream header and holds the LZMA2 dictionary byte.
                xz_check = head.get(7).and_then(|f| xz_check_type(f & 0x0f));
                match xz_dictionary(head) {
                    Some(size) => lzma_preset(size),
                    None => unrecorded(6),
                }
            }
            // The frame descriptor: FLG (byte 4) and BD (byte 5).
            Codec::Lz4 => {
                if let (Some(&flg), Some(&bd)) = (head.get(4), head.get(5)) {
                    lz4_frame = Some(Lz4Frame {
                        block_max: (bd >> 4) & 0x07,
                        linked: flg & 0x20 == 0,
                        block_checksums: flg & 0x10 != 0,
                        content_size: flg & 0x08 != 0,
                        content_checksum: flg & 0x04 != 0,
                    });
                }
                (None, LevelEvidence::Unrecorded)
            }
        };
        Encoding {
            codec,
            level,
            evidence,
            xz_check,
            lz4_frame,
        }
    }

    /// An encoder writing `decoded_len` bytes of pickle into `out` as this encoding says.
    pub fn encoder<W: Write>(&self, out: W, decoded_len: u64) -> io::Result<Encoder<W>> {
        let level = self.level.unwrap_or(JOBLIB_DEFAULT_LEVEL);
        Ok(match self.codec {
            Codec::Zlib => Encoder::Zlib(flate2::write::ZlibEncoder::new(
                out,
                flate2::Compression::new(level),
            )),
            Codec::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::new(level),
            )),
            Codec::Bz2 => Encoder::Bz2(bzip2::write::BzEncoder::new(
                out,
                bzip2::Compression::new(level.clamp(1, 9)),
            )),
            Codec::Xz => {
                let mut options = lzma_rust2::XzOptions::with_preset(level);
                if let Some(check) = self.xz_check {
                    options.set_check_sum_type(check);
                }
                Encoder::Xz(lzma_rust2::XzWriter::new(out, options).map_err(io::Error::other)?)
            }
            Codec::LzmaAlone => Encoder::LzmaAlone(Box::new(
                lzma_rust2::LzmaWriter::new_use_header(
                    out,
                    &lzma_rust2::LzmaOptions::with_preset(level),
                    None,
                )
                .map_err(io::Error::other)?,
            )),
            Codec::Lz4 => {
                use lz4_flex::frame::{BlockMode, BlockSize, FrameInfo};
                let mut info = FrameInfo::new();
                if let Some(frame) = self.lz4_frame {
                    info = info
                        .block_size(match frame.block_max {
                            5 => BlockSize::Max256KB,
                            6 => BlockSize::Max1MB,
                            7 => BlockSize::Max4MB,
                            _ => BlockSize::Max64KB,
                        })
                        .block_mode(if frame.linked {
                            BlockMode::Linked
                        } else {
                            BlockMode::Independent
                        })
                        .block_checksums(frame.block_checksums)
                        .content_checksum(frame.content_checksum)
                        .content_size(frame.content_size.then_some(decoded_len));
                }
                Encoder::Lz4(lz4_flex::frame::FrameEncoder::with_frame_info(info, out))
            }
        })
    }
}

impl fmt::Display for Encoding {
    /// "zlib level 3 (the header allows 2-5)", for the patch report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.level, self.evidence) {
            (None, _) => write!(
                f,
                "{} (its frames record no level; written in the fast mode, frame options kept)",
                self.codec
            ),
            (Some(level), LevelEvidence::Exact) => {
                write!(f, "{} level {level} (as its header says)", self.codec)
            }
            (Some(level), LevelEvidence::Band { lo, hi }) => write!(
                f,
                "{} level {level} (its header allows {lo}-{hi})",
                self.codec
            ),
            (Some(level), LevelEvidence::Unrecorded) => write!(
                f,
                "{} level {level} (its header does not tell the level)",
                self.codec
            ),
        }
    }
}

fn lzma_preset(dictionary: u32) -> (Option<u32>, LevelEvidence) {
    match LZMA_PRESET_DICT
        .iter()
        .find(|(size, ..)| *size == dictionary)
    {
        Some(&(_, lo, hi)) if lo == hi => (Some(lo), LevelEvidence::Exact),
        // 3 is joblib's default; 6 is liblzma's (`compress='xz'` passes no preset).
        Some(&(_, lo, hi)) => (
            Some(if lo == 3 { 3 } else { 6 }),
            LevelEvidence::Band { lo, hi },
        ),
        None => (Some(6), LevelEvidence::Unrecorded),
    }
}

fn xz_check_type(id: u8) -> Option<lzma_rust2::CheckType> {
    use lzma_rust2::CheckType;
    match id {
        0x00 => Some(CheckType::None),
        0x01 => Some(CheckType::Crc32),
        0x04 => Some(CheckType::Crc64),
        0x0a => Some(CheckType::Sha256),
        _ => None,
    }
}

/// The dictionary size of the first block's LZMA2 filter, when it is the only filter.
fn xz_dictionary(head: &[u8]) -> Option<u32> {
    let block = head.get(12..)?;
    let flags = *block.get(1)?;
    if flags & 0x03 != 0 {
        return None; // more than one filter: not what Python's lzma writes by default
    }
    let mut at = 2;
    for present in [flags & 0x40 != 0, flags & 0x80 != 0] {
        if present {
            // A multibyte integer: seven bits per byte, high bit set on all but the last.
            while *block.get(at)? & 0x80 != 0 {
                at += 1;
            }
            at += 1;
        }
    }
    // Filter ID 0x21 (LZMA2), one property byte.
    if block.get(at..at + 2)? != [0x21, 0x01] {
        return None;
    }
    let bits = u32::from(*block.get(at + 2)?);
    if bits > 39 {
        return None;
    }
    Some((2 | (bits & 1)) << (bits / 2 + 11))
}

/// The encoder for each of joblib's codecs, writing the same magic bytes joblib writes.
pub enum Encoder<W: Write> {
    Zlib(flate2::write::ZlibEncoder<W>),
    Gzip(flate2::write::GzEncoder<W>),
    Bz2(bzip2::write::BzEncoder<W>),
    Xz(lzma_rust2::XzWriter<W>),
    LzmaAlone(Box<lzma_rust2::LzmaWriter<W>>),
    Lz4(lz4_flex::frame::FrameEncoder<W>),
}

impl<W: Write> Encoder<W> {
    /// Ends the stream (trailers, checksums) and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Zlib(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Bz2(e) => e.finish(),
            Encoder::Xz(e) => e.finish().map_err(io::Error::other),
            Encoder::LzmaAlone(e) => e.finish().map_err(io::Error::other),
            Encoder::Lz4(e) => e.finish().map_err(io::Error::other),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Zlib(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Bz2(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::LzmaAlone(e) => e.write(buf),
            Encoder::Lz4(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Zlib(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Bz2(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::LzmaAlone(e) => e.flush(),
            Encoder::Lz4(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Headers as CPython 3.11's zlib and lzma modules write them at each level
    /// (`zlib.compressobj(level)`, wbits 31 for gzip, `lzma.compress(preset=level)`).
    #[test]
    fn levels_come_back_from_cpython_headers() {
        let zlib = [
            ("7801", 1, LevelEvidence::Band { lo: 0, hi: 1 }),
            ("785e", 3, LevelEvidence::Band { lo: 2, hi: 5 }),
            ("789c", 6, LevelEvidence::Exact),
            ("78da", 9, LevelEvidence::Band { lo: 7, hi: 9 }),
        ];
        for (head, level, evidence) in zlib {
            let e = Encoding::detect(Codec::Zlib, &hex(head));
            assert_eq!((e.level, e.evidence), (Some(level), evidence), "{head}");
        }
        let gzip = [
            ("1f8b0800000000000403", 1),
            ("1f8b0800000000000003", 3),
            ("1f8b0800000000000203", 9),
        ];
        for (head, level) in gzip {
            assert_eq!(Encoding::detect(Codec::Gzip, &hex(head)).level, Some(level));
        }
        for level in 1..=9u32 {
            let head = format!("BZh{level}1AY&SY");
            let e = Encoding::detect(Codec::Bz2, head.as_bytes());
            assert_eq!((e.level, e.evidence), (Some(level), LevelEvidence::Exact));
        }
        // xz: stream header, then block header size, flags, LZMA2 filter, dictionary byte.
        let xz = [
            ("0c", 0, LevelEvidence::Exact),
            ("10", 1, LevelEvidence::Exact),
            ("14", 3, LevelEvidence::Band { lo: 3, hi: 4 }),
            ("16", 6, LevelEvidence::Band { lo: 5, hi: 6 }),
            ("1c", 9, LevelEvidence::Exact),
        ];
        for (dict, level, evidence) in xz {
            let head = hex(&format!("fd377a585a000004e6d6b44602002101{dict}000000"));
            let e = Encoding::detect(Codec::Xz, &head);
            assert_eq!((e.level, e.evidence), (Some(level), evidence), "{dict}");
            assert_eq!(e.xz_check, Some(lzma_rust2::CheckType::Crc64));
        }
        let alone = [
            ("5d00000400", 0),
            ("5d00004000", 3),
            ("5d00008000", 6),
            ("5d00000004", 9),
        ];
        for (head, level) in alone {
            assert_eq!(
                Encoding::detect(Codec::LzmaAlone, &hex(head)).level,
                Some(level)
            );
        }
    }

    #[test]
    fn odd_headers_fall_back_without_failing() {
        for codec in Codec::ALL {
            for head in [&b""[..], b"x", b"\xfd7zXZ\x00\x00\x04", b"\x5d\x00\x00"] {
                let _ = Encoding::detect(codec, head);
            }
        }
        let custom = Encoding::detect(Codec::LzmaAlone, &hex("5d00001800"));
        assert_eq!(custom.evidence, LevelEvidence::Unrecorded);
        // Two filters (delta + LZMA2): not read, the default preset.
        let filtered = Encoding::detect(
            Codec::Xz,
            &hex("fd377a585a000004e6d6b446030103010000210116"),
        );
        assert_eq!(
            (filtered.level, filtered.evidence),
            (Some(6), LevelEvidence::Unrecorded)
        );
    }

    #[test]
    fn lz4_frame_options_are_kept() {
        // python-lz4's LZ4FrameFile: linked blocks, 64 KB, no checksums, no size.
        let e = Encoding::detect(Codec::Lz4, &hex("04224d184040c0"));
        assert_eq!(e.level, None);
        assert_eq!(
            e.lz4_frame,
            Some(Lz4Frame {
                block_max: 4,
                linked: true,
                block_checksums: false,
                content_size: false,
                content_checksum: false,
            })
        );
        // lz4.frame.compress(block_size=MAX4MB, content_checksum=True): independent, sized.
        let e = Encoding::detect(Codec::Lz4, &hex("04224d186c70"));
        let frame = e.lz4_frame.unwrap();
        assert!(!frame.linked && frame.content_size && frame.content_checksum);
        assert_eq!(frame.block_max, 7);
    }

    /// What the encoder writes decodes to what went in, and carries the level it was given.
    #[test]
    fn encoders_write_what_the_header_said() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for (codec, head) in [
            (Codec::Zlib, hex("78da")),
            (Codec::Gzip, hex("1f8b0800000000000203")),
            (Codec::Bz2, b"BZh4".to_vec()),
            (Codec::Xz, hex("fd377a585a000001699f22360200210110000000")),
            (Codec::LzmaAlone, hex("5d00001000")),
            (Codec::Lz4, hex("04224d186c70")),
        ] {
            let encoding = Encoding::detect(codec, &head);
            let mut encoder = encoding.encoder(Vec::new(), data.len() as u64).unwrap();
            encoder.write_all(&data).unwrap();
            let written = encoder.finish().unwrap();
            let again = Encoding::detect(codec, &written);
            assert_eq!(again.level, encoding.level, "{codec}");
            assert_eq!(again.xz_check, encoding.xz_check, "{codec}");
            assert_eq!(again.lz4_frame, encoding.lz4_frame, "{codec}");
            let mut decoded = Vec::new();
            super::super::codec::decoder(codec, &mut &written[..])
                .unwrap()
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, data, "{codec}");
        }
    }
}
