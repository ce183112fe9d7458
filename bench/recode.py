"""Decodes a compressed joblib file and encodes it again with the same codec and level,
streaming, in CPython's own C codecs, then syncs the output: the floor for patching a
compressed artifact, which must do at least this much.

Usage: recode.py CODEC LEVEL INPUT OUTPUT   (CODEC: zlib, gzip, bz2, xz, lzma, lz4)
"""

import bz2
import lzma
import os
import sys
import zlib

import lz4.frame

CHUNK = 1 << 20


def zlib_chunks(path, wbits):
    decoder = zlib.decompressobj(wbits)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            yield decoder.decompress(block)
    yield decoder.flush()


def main():
    codec, level, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(dst, "wb") as out:
        if codec in ("zlib", "gzip"):
            wbits = zlib.MAX_WBITS if codec == "zlib" else 31
            encoder = zlib.compressobj(level, zlib.DEFLATED, wbits)
            for block in zlib_chunks(src, wbits):
                out.write(encoder.compress(block))
            out.write(encoder.flush())
        else:
            if codec == "bz2":
                reader, writer = bz2.BZ2File(src), bz2.BZ2File(out, "wb", compresslevel=level)
            elif codec in ("xz", "lzma"):
                fmt = lzma.FORMAT_XZ if codec == "xz" else lzma.FORMAT_ALONE
                reader, writer = lzma.LZMAFile(src), lzma.LZMAFile(out, "wb", format=fmt, preset=level)
            elif codec == "lz4":
                reader = lz4.frame.LZ4FrameFile(src)
                writer = lz4.frame.LZ4FrameFile(out, "wb", compression_level=level)
            else:
                sys.exit(f"unknown codec {codec}")
            with reader, writer:
                while block := reader.read(CHUNK):
                    writer.write(block)
        out.flush()
        os.fsync(out.fileno())


if __name__ == "__main__":
    main()
