#!/usr/bin/env python3
r"""CPython and joblib as the oracle at the edges of compressed streams: a pickle split across
concatenated xz, bz2 and gzip streams or lz4 frames, streams cut short, bytes after the end.

    codec_oracle.py ARTIFACT_BIN

Each case is decompressed by joblib's own file object for the codec (what `joblib.load`
reads through) into the recording C unpickler of `globals_oracle.py`. Where CPython reads to
STOP, `artifact inspect` must report exactly its globals, or refuse the file (exit 2: fail
closed, printed as a known divergence). Where CPython's reading fails, we must refuse too or
report more than it had asked for by then: never a clean answer about fewer. Prints each
difference and a count line; exit 1 on a difference.
"""

import atexit
import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile

import lz4.frame
from joblib.compressor import _COMPRESSORS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from globals_oracle import Recording  # noqa: E402


class Reduce:
    def __reduce__(self):
        return os.system, ("echo pwned",)


PICKLE = pickle.dumps({"weights": list(range(2000)), "hook": Reduce()}, protocol=2)
HALF = len(PICKLE) // 2

COMPRESS = {
    "xz": lambda b: lzma.compress(b, format=lzma.FORMAT_XZ),
    "lzma": lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE),
    "bz2": bz2.compress,
    "gzip": gzip.compress,
    "lz4": lz4.frame.compress,
}


def cases():
    for codec, compress in COMPRESS.items():
        whole = compress(PICKLE)
        yield f"{codec}: one stream", codec, whole
        yield f"{codec}: the pickle split across two streams", codec, compress(PICKLE[:HALF]) + compress(PICKLE[HALF:])
        yield f"{codec}: an empty stream before the pickle", codec, compress(b"") + whole
        yield f"{codec}: cut 4 bytes short", codec, whole[:-4]
        yield f"{codec}: cut in the middle", codec, whole[: len(whole) // 2]
        yield f"{codec}: garbage after the stream", codec, whole + b"garbage!" * 4
        yield f"{codec}: zeros after the stream", codec, whole + bytes(64)


def cpython(codec, data):
    """The globals CPython asks for, and whether it read to STOP."""
    unpickler = Recording(_COMPRESSORS[codec].decompressor_file(io.BytesIO(data)))
    try:
        unpickler.load()
        return {tuple(g) for g in unpickler.seen}, True
    except BaseException:  # noqa: BLE001 - where CPython stops, what it asked for counts
        return {tuple(g) for g in unpickler.seen}, False


def ours(binary, path):
    out = subprocess.run([binary, "inspect", "--format", "json", path], capture_output=True)
    if out.returncode == 2:
        return None
    readings = json.loads(out.stdout)["artifacts"][0]["readings"]
    chosen = next((r for r in readings if r["loader"] == "pickle.load"), readings[0])
    return {tuple(g) for g in chosen["globals"]}


def main():
    # A stream cut short can leave the stub unpickler allocating without bound; as in
    # globals_oracle.py, that is a MemoryError, not the machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="artifact-codec-oracle-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    problems, known, total = [], [], 0
    for i, (label, codec, data) in enumerate(cases()):
        total += 1
        path = os.path.join(tmp, f"{i}.joblib")
        with open(path, "wb") as f:
            f.write(data)
        theirs, whole = cpython(codec, data)
        found = ours(binary, path)
        if found is None:
            if whole:
                known.append(f"{label}: joblib loads it, we refuse it (exit 2)")
        elif whole and found != theirs:
            problems.append(f"{label}: only ours {sorted(found - theirs)}, only CPython's {sorted(theirs - found)}")
        elif not whole and not (found > theirs):
            problems.append(f"{label}: CPython's reading fails, ours gave an answer: {sorted(found)}")
        elif not whole:
            # joblib's gzip reader stops at the first member; we read on and flag more.
            known.append(f"{label}: joblib's reading fails, ours reads on and reports {sorted(found - theirs)} too")
    for message in known:
        print(f"known: {message}")
    for message in problems:
        print(message)
    print(f"{total - len(problems)} passed, {len(problems)} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
