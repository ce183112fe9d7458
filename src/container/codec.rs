//! The codecs joblib compresses whole files with (`joblib/compressor.py`), by magic prefix.

use std::fmt;
use std::io::{self, Read};

/// Caps the decoder's memory so a forged LZMA header cannot make us allocate gigabytes
/// (joblib's presets use at most 64 MiB of dictionary).
const LZMA_MEMORY_LIMIT: u64 = 256 << 20;

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

/// The codec's decoder over `input`. The decoders read through `input`'s buffer and
/// stop at the end of the compressed data, so what `input` still holds afterwards is
/// what follows the stream.
///
/// xz, lzma and lz4 are decoded by the C libraries CPython's `lzma` module and
/// python-lz4 link (liblzma, liblz4): the decoder joblib runs is the one we run, and
/// both measured faster than the pure-Rust ones (README, dependency notes).
pub fn decoder<'a>(codec: Codec, input: &'a mut dyn io::BufRead) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Codec::Zlib => Box::new(flate2::bufread::ZlibDecoder::new(input)),
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Codec::Bz2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Codec::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                LZMA_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
        }
        Codec::LzmaAlone => {
            let stream = liblzma::stream::Stream::new_lzma_decoder(LZMA_MEMORY_LIMIT)
                .map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
        }
        Codec::Lz4 => Box::new(Lz4Frames::Frame(lz4::Decoder::new(input)?)),
    })
}

/// LZ4 frames, one after another until the input ends (python-lz4's reader goes on to
/// the next frame). liblz4's decoder asks for exactly the bytes its frame still needs,
/// so it never reads past a frame's end.
enum Lz4Frames<'a> {
    Frame(lz4::Decoder<&'a mut dyn io::BufRead>),
    Done,
}

impl Read for Lz4Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Lz4Frames::Frame(frame) = self else {
                return Ok(0);
            };
            let n = frame.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Lz4Frames::Frame(frame) = std::mem::replace(self, Lz4Frames::Done) else {
                return Ok(0);
            };
            // The decoder reports the end of its input as the end of the data; only
            // `finish` tells a frame cut short from a whole one.
            let (input, whole) = frame.finish();
            if whole.is_err() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the lz4 frame ends before its end mark",
                ));
            }
            if !input.fill_buf()?.is_empty() {
                *self = Lz4Frames::Frame(lz4::Decoder::new(input)?);
            }
        }
    }
}
