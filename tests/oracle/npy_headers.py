#!/usr/bin/env python3
"""numpy as the oracle of `.npy` headers: `npy_headers.py ARTIFACT_BIN N`.

Writes .npy files of many dtypes, shapes, orders and format versions with numpy itself,
then N mutations of their headers, and compares `artifact inspect --format json` with
numpy's own header reader (`read_magic`, `_read_array_header`; allow_pickle lifts the
size limit, as numpy.load does):

- every file numpy writes: the same shape, order, item size, object-ness and data offset;
- every mutation numpy reads: the same facts, or exit 2 (a header we cannot follow fails
  the gate); never a plain array where numpy sees objects, since then numpy.load runs a
  pickle that we did not scan.

Prints each problem and a count line; exits 1 on a problem.
"""

import atexit
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from numpy.lib import _format_impl as npy_format

DTYPES = [
    "<f8", ">i4", "|b1", "<U5", "|S3", "|V7", "<M8[ns]", "<m8[s]", "<c16", "<f2", "|O", "<u8",
    [("a", "<i4"), ("b", "|O")],
    [("a", "<i4"), ("b", [("x", "<f4"), ("y", "|S2")])],
    [("c", "<f8", (2, 3)), ("d", "|u1")],
    [(("a title", "t"), "<i4"), ("n", "<f8")],
    np.dtype([("a", "u1"), ("b", "<f8")], align=True),
    np.dtype([("a", "u1"), ("b", "|O")], align=True),
    np.dtype((np.float64, (2,))),
]


def written():
    """(name, bytes) of files numpy writes."""
    out = []
    for i, spelling in enumerate(DTYPES):
        dtype = np.dtype(spelling)
        for shape in [(3,), (2, 2), (), (0,)]:
            for fortran in [False, True]:
                array = np.zeros(shape, dtype=dtype)
                if fortran:
                    array = np.asfortranarray(array)
                for version in [(1, 0), (2, 0), (3, 0)]:
                    buf = io.BytesIO()
                    npy_format.write_array(buf, array, version=version, allow_pickle=True)
                    out.append((f"w{i}_{len(out)}.npy", buf.getvalue()))
    # A unicode field name needs version 3.
    buf = io.BytesIO()
    npy_format.write_array(buf, np.zeros(2, dtype=[("é", "<i4")]), version=(3, 0))
    out.append(("unicode_field.npy", buf.getvalue()))
    return out


def mutations(files, n, seed=11):
    """Headers changed a little: a byte replaced, inserted or removed inside the header
    (the length field follows the change, so numpy reads the edited text)."""
    rng = random.Random(seed)
    alphabet = b" '\"(),:[]{}OVLfiUSM<>|0123456789_\\xeTrueFalseNone"
    out = []
    for i in range(n):
        _, data = rng.choice(files)
        major = data[6]
        width = 2 if major == 1 else 4
        hlen = int.from_bytes(data[8:8 + width], "little")
        start = 8 + width
        header = bytearray(data[start:start + hlen])
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(header))
            action = rng.randrange(3)
            if action == 0:
                header[at] = rng.choice(alphabet)
            elif action == 1:
                header.insert(at, rng.choice(alphabet))
            elif len(header) > 1:
                del header[at]
        body = data[start + hlen:]
        new = data[:8] + len(header).to_bytes(width, "little") + bytes(header) + body
        out.append((f"m{i}.npy", new))
    return out


def numpy_reads(path):
    """numpy's facts, or None when numpy refuses the header."""
    try:
        with open(path, "rb") as f:
            version = npy_format.read_magic(f)
            shape, fortran, dtype = npy_format._read_array_header(f, version, max_header_size=1 << 64)
            return {"shape": list(shape), "fortran_order": fortran, "itemsize": dtype.itemsize,
                    "object": bool(dtype.hasobject), "data_offset": f.tell()}
    except Exception:  # noqa: BLE001 - any refusal: numpy.load stops before unpickling
        return None


def ours(binary, path):
    out = subprocess.run([binary, "inspect", "--format", "json", path], capture_output=True)
    if out.returncode == 2 and not json.loads(out.stdout or b'{"artifacts": []}')["artifacts"]:
        return "refused", out.stderr.decode(errors="replace").strip()
    doc = json.loads(out.stdout)
    npy = doc["artifacts"][0]["container"]["npy"]
    return "read", {k: npy[k] for k in ("shape", "fortran_order", "itemsize", "object", "data_offset")}


def main():
    binary, n = sys.argv[1], int(sys.argv[2])
    tmp = tempfile.mkdtemp(prefix="artifact-npy-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    files = written()
    problems, refused = [], 0
    for kind, batch in [("written", files), ("mutated", mutations(files, n))]:
        for name, data in batch:
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            theirs = numpy_reads(path)
            verdict, facts = ours(binary, path)
            if theirs is None:
                continue
            if verdict == "refused":
                if kind == "written":
                    problems.append(f"{name}: numpy wrote it, we refuse it: {facts}")
                refused += 1
                continue
            if facts != theirs:
                problems.append(f"{name} ({kind}): ours {facts}, numpy's {theirs}")
    for p in problems[:30]:
        print(p)
    print(f"{len(files)} written and {n} mutated files, {refused} mutations numpy reads that we refuse, "
          f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
