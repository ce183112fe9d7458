//! The codecs joblib compresses whole files with (`joblib/compressor.py`), by magic prefix.

use std::fmt;
use std::io::{self, Read, Write};

/// Caps the decoder's dictionary so a forged LZMA header cannot make us allocate
/// gigabytes (joblib's presets use at most 64 MiB).
const LZMA_MEMORY_LIMIT_KIB: u32 = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    Zlib,
    Gzip,
    Bz2,
    Xz,
    /// The legacy `.lzma` ("lzma-alone") format joblib writes for `compress='lzma'`.
    LzmaAlone,
    /// An LZ4 frame, as python-lz4 writes it.
    Lz4,
}

impl Codec {
    pub const ALL: [Codec; 6] = [
        Codec::Zlib,
        Codec::Gzip,
        Codec::Bz2,
        Codec::Xz,
        Codec::LzmaAlone,
        Codec::Lz4,
    ];

    /// The name joblib uses for the codec (`compress=(name, level)`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zlib => "zlib",
            Codec::Gzip => "gzip",
            Codec::Bz2 => "bz2",
            Codec::Xz => "xz",
            Codec::LzmaAlone => "lzma",
            Codec::Lz4 => "lz4",
        }
    }

    /// The codec whose magic bytes start `head`.
    ///
    /// zlib's first byte 0x78 and lzma-alone's `5d 00` cannot start a pickle: 0x78 is not
    /// an opcode, and 0x5d (EMPTY_LIST) is never followed by 0x00 in a valid stream.
    pub fn detect(head: &[u8]) -> Option<Codec> {
        let zlib_header = head.len() >= 2
            && head[0] == 0x78
            && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0;
        if zlib_header {
            Some(Codec::Zlib)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Codec::Gzip)
        } else if head.starts_with(b"BZh") {
            Some(Codec::Bz2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Codec::Xz)
        } else if head.starts_with(&[0x5d, 0x00, 0x00]) {
            Some(Codec::LzmaAlone)
        } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
            Some(Codec::Lz4)
        } else {
            None
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Streams `input` through the codec's decoder into `output`.
pub fn decode(codec: Codec, input: &mut dyn Read, output: &mut dyn Write) -> io::Result<u64> {
    match codec {
        Codec::Zlib => io::copy(&mut flate2::read::ZlibDecoder::new(input), output),
        Codec::Gzip => io::copy(&mut flate2::read::MultiGzDecoder::new(input), output),
        Codec::Bz2 => io::copy(&mut bzip2::read::MultiBzDecoder::new(input), output),
        Codec::Xz => io::copy(
            &mut lzma_rust2::XzReader::new_mem_limit(input, true, LZMA_MEMORY_LIMIT_KIB),
            output,
        ),
        Codec::LzmaAlone => {
            let mut reader =
                lzma_rust2::LzmaReader::new_mem_limit(input, LZMA_MEMORY_LIMIT_KIB, None)
                    .map_err(io::Error::other)?;
            io::copy(&mut reader, output)
        }
        Codec::Lz4 => io::copy(&mut lz4_flex::frame::FrameDecoder::new(input), output),
    }
}
