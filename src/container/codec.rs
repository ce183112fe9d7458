//! The codecs joblib compresses whole files with (`joblib/compressor.py`), by magic prefix.

use std::fmt;
use std::io::{self, Write};

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

    /// The codec joblib picks for a file starting with `head`: exactly the prefixes of
    /// `joblib/compressor.py` (`_COMPRESSORS[name].prefix`), tested in its order. joblib
    /// looks no further (a zlib header checksum, an lzma dictionary size), so neither may
    /// we: a file it decodes is a file we decode.
    pub fn detect(head: &[u8]) -> Option<Codec> {
        const PREFIXES: [(&[u8], Codec); 6] = [
            (b"x", Codec::Zlib),
            (b"\x1f\x8b", Codec::Gzip),
            (b"BZ", Codec::Bz2),
            (b"\x5d\x00", Codec::LzmaAlone),
            (b"\xfd7zXZ", Codec::Xz),
            (b"\x04\x22\x4d\x18", Codec::Lz4),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| head.starts_with(prefix))
            .map(|&(_, codec)| codec)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Streams `input` through the codec's decoder into `output`. The decoders read through
/// `input`'s buffer and stop at the end of the compressed data, so what `input` still
/// holds afterwards is what follows the stream.
pub fn decode(
    codec: Codec,
    input: &mut dyn io::BufRead,
    output: &mut dyn Write,
) -> io::Result<u64> {
    match codec {
        Codec::Zlib => io::copy(&mut flate2::bufread::ZlibDecoder::new(input), output),
        Codec::Gzip => io::copy(&mut flate2::bufread::MultiGzDecoder::new(input), output),
        Codec::Bz2 => io::copy(&mut bzip2::bufread::MultiBzDecoder::new(input), output),
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
