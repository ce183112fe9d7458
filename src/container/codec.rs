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
        Codec::Lz4 => Box::new(Lz4Frames::new(input)?),
    })
}

/// LZ4 frames, one after another until the input ends (python-lz4's reader goes on to
/// the next frame), decoded by liblz4's frame decoder straight from `input`'s buffer
/// into the caller's: the `lz4` crate's reader copies the input into a buffer of its
/// own first (with the `BufReader` copy also gone: user time 161 -> 152 ms, wall
/// 233 -> 215 ms, medians of 20 on a 141 MB file). liblz4 stops at the end of a frame
/// and says so, so nothing past a frame is read as part of it.
struct Lz4Frames<'a> {
    input: &'a mut dyn io::BufRead,
    context: Lz4Context,
    /// A frame has begun and not ended: an input that ends now is cut short.
    in_frame: bool,
}

/// liblz4's decompression context (freed on drop).
struct Lz4Context(lz4::liblz4::LZ4FDecompressionContext);

impl Drop for Lz4Context {
    fn drop(&mut self) {
        // SAFETY: the context was created by LZ4F_createDecompressionContext, is freed
        // here once, and nothing uses it after.
        unsafe { lz4::liblz4::LZ4F_freeDecompressionContext(self.0) };
    }
}

impl<'a> Lz4Frames<'a> {
    fn new(input: &'a mut dyn io::BufRead) -> io::Result<Self> {
        let mut context = lz4::liblz4::LZ4FDecompressionContext(std::ptr::null_mut());
        // SAFETY: liblz4 writes a new context into `context`; on error it writes none,
        // and `check_error` returns before a context is wrapped.
        lz4::liblz4::check_error(unsafe {
            lz4::liblz4::LZ4F_createDecompressionContext(&mut context, lz4::liblz4::LZ4F_VERSION)
        })?;
        Ok(Lz4Frames {
            input,
            context: Lz4Context(context),
            in_frame: false,
        })
    }
}

impl Read for Lz4Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let src = self.input.fill_buf()?;
            if src.is_empty() {
                if self.in_frame {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the lz4 frame ends before its end mark",
                    ));
                }
                return Ok(0);
            }
            let mut dst_len = buf.len();
            let mut src_len = src.len();
            // SAFETY: the pointers and lengths are those of `buf` and `src`, both live
            // for the call; liblz4 writes at most `dst_len` bytes and reads at most
            // `src_len`, and reports how many of each it did.
            let hint = lz4::liblz4::check_error(unsafe {
                lz4::liblz4::LZ4F_decompress(
                    self.context.0,
                    buf.as_mut_ptr(),
                    &mut dst_len,
                    src.as_ptr(),
                    &mut src_len,
                    std::ptr::null(),
                )
            })?;
            self.input.consume(src_len);
            // 0 is the end of a frame; the context is then ready for the next one.
            self.in_frame = hint != 0;
            if dst_len > 0 {
                return Ok(dst_len);
            }
            if src_len == 0 {
                return Err(io::Error::other("the lz4 decoder made no progress"));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One lz4 frame of `data`, linked blocks and 64 KiB blocks as python-lz4 writes them.
    pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
        let mut encoder = lz4::EncoderBuilder::new()
            .block_size(lz4::BlockSize::Max64KB)
            .block_mode(lz4::BlockMode::Linked)
            .build(Vec::new())
            .unwrap();
        io::Write::write_all(&mut encoder, data).unwrap();
        let (out, result) = encoder.finish();
        result.unwrap();
        out
    }

    fn decode(codec: Codec, mut input: &[u8]) -> (io::Result<Vec<u8>>, usize) {
        let mut out = Vec::new();
        let result = decoder(codec, &mut input).and_then(|mut d| d.read_to_end(&mut out));
        (result.map(|_| out), input.len())
    }

    fn sample(len: usize) -> Vec<u8> {
        // Compressible, and unlike itself over more than a block's 64 KiB window.
        (0..len).map(|i| (i * 7 + i / 1000) as u8).collect()
    }

    #[test]
    fn lz4_frames_are_read_one_after_another() {
        let (a, b) = (sample(300_000), sample(70_000));
        let mut file = frame(&a);
        file.extend(frame(&b));
        let (decoded, left) = decode(Codec::Lz4, &file);
        assert_eq!(decoded.unwrap(), [a, b].concat());
        assert_eq!(left, 0);
    }

    #[test]
    fn an_lz4_frame_cut_short_is_an_error_anywhere() {
        let file = frame(&sample(200_000));
        for cut in [1, 4, 7, file.len() / 2, file.len() - 4, file.len() - 1] {
            let (decoded, _) = decode(Codec::Lz4, &file[..cut]);
            let err = decoded.unwrap_err();
            assert_eq!(
                err.kind(),
                io::ErrorKind::UnexpectedEof,
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn bytes_after_an_lz4_frame_are_read_as_the_next_frame() {
        // python-lz4 reads on: what follows a frame must be one too.
        let mut file = frame(b"\x80\x04N.");
        file.extend(b"not a frame");
        let (decoded, _) = decode(Codec::Lz4, &file);
        assert!(decoded.is_err());
    }

    #[test]
    fn an_lz4_decoder_with_a_small_buffer_gives_every_byte() {
        let data = sample(150_000);
        let file = frame(&data);
        let mut input = &file[..];
        let mut d = decoder(Codec::Lz4, &mut input).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match d.read(&mut buf).unwrap() {
                0 => break,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(out, data);
    }
}
