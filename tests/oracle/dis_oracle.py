"""CPython as the oracle for `artifact dis`.

Usage: python dis_oracle.py ARTIFACT_BIN FILE...

For every file, runs `artifact dis --format json`, splits the opcode records into runs
(a run ends at a joblib array or a change of stream), and checks each run against
`pickletools.genops` started at the run's first offset: same offsets, same opcode
names, same decoded integer and text arguments. For pure pickles the runs are whole
streams and genops must stop exactly where we do. Exits 1 and prints every mismatch.
"""

import bz2
import gzip
import io
import json
import lzma
import pickletools
import subprocess
import sys
import zlib


def decode(raw):
    if raw[:1] == b"x":
        return zlib.decompress(raw)
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:3] == b"BZh":
        return bz2.decompress(raw)
    if raw[:6] == b"\xfd7zXZ\x00":
        return lzma.decompress(raw, format=lzma.FORMAT_XZ)
    if raw[:3] == b"\x5d\x00\x00":
        return lzma.decompress(raw, format=lzma.FORMAT_ALONE)
    if raw[:4] == b"\x04\x22\x4d\x18":
        import lz4.frame

        return lz4.frame.decompress(raw)
    return raw


def npy_holds_objects(data):
    from numpy.lib import _format_impl as npy_format

    f = io.BytesIO(data)
    version = npy_format.read_magic(f)
    _, _, dtype = npy_format._read_array_header(f, version, max_header_size=1 << 20)
    return dtype.hasobject


def members(data, prefix=""):
    """A zip's members as Python's zipfile reads them, nested zips joined by `!` as
    `artifact dis` names them: (name, bytes)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            body = z.read(name)
            label = f"{prefix}{name}"
            if body.startswith(b"PK\x03\x04"):
                yield from members(body, label + "!")
            else:
                yield label, body


def holds_pickle(name, body):
    """Whether a loader unpickles the member: a .pkl, or a .npy of objects."""
    if body.startswith(b"\x93NUMPY"):
        return npy_holds_objects(body)
    return name.endswith(".pkl")


def runs(records):
    run = []
    for r in records:
        if "op" not in r:
            if run:
                yield run
            run = []
            continue
        if run and (r["stream"], r.get("member")) != (run[-1]["stream"], run[-1].get("member")):
            yield run
            run = []
        run.append(r)
    if run:
        yield run


INT_ARGS = {"BININT", "BININT1", "BININT2", "BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT",
            "PROTO", "FRAME", "EXT1", "EXT2", "EXT4"}
TEXT_ARGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}


def check(binary, path):
    problems = []
    data = decode(open(path, "rb").read())
    archive = dict(members(data)) if data.startswith(b"PK\x03\x04") else {}
    out = subprocess.run([binary, "dis", "--format", "json", path], capture_output=True)
    if out.returncode != 0:
        return [f"{path}: artifact dis failed: {out.stderr.decode()}"]
    records = [json.loads(line) for line in out.stdout.splitlines()]
    total = 0
    for run in runs(records):
        stream = io.BytesIO(archive[run[0]["member"]] if "member" in run[0] else data)
        stream.seek(run[0]["offset"])
        theirs = pickletools.genops(stream)
        for ours in run:
            try:
                opcode, arg, pos = next(theirs)
            except StopIteration:
                problems.append(f"{path}: genops stopped before our op at {ours['offset']}")
                break
            except Exception as e:  # noqa: BLE001 - any genops failure is a mismatch
                problems.append(f"{path}: genops failed at {ours['offset']}: {e}")
                break
            total += 1
            if (pos, opcode.name) != (ours["offset"], ours["op"]):
                problems.append(f"{path}: we have {ours['op']}@{ours['offset']}, genops {opcode.name}@{pos}")
                break
            if opcode.name in INT_ARGS and arg != ours["arg"]:
                problems.append(f"{path}: {opcode.name}@{pos} arg {ours['arg']!r} != {arg!r}")
            if opcode.name in TEXT_ARGS and isinstance(ours["arg"], str) and arg != ours["arg"]:
                problems.append(f"{path}: {opcode.name}@{pos} text differs")
        if run[-1]["op"] == "STOP" and next(theirs, None) is not None:
            problems.append(f"{path}: genops goes on after our STOP at {run[-1]['offset']}")
    # A plain .npy array holds no pickle (numpy.lib.format is the judge), nor does a zip
    # none of whose members a loader unpickles; every member that is one is listed.
    if archive:
        listed = {r["member"] for r in records if "op" in r}
        for name, body in archive.items():
            if holds_pickle(name, body) and name not in listed:
                problems.append(f"{path}: member {name} holds a pickle and is not listed")
        expected = any(holds_pickle(n, b) for n, b in archive.items())
    else:
        expected = not (data.startswith(b"\x93NUMPY") and not npy_holds_objects(data))
    if total == 0 and expected:
        problems.append(f"{path}: no opcodes compared")
    if total and not expected:
        problems.append(f"{path}: opcodes listed for a file that holds no pickle")
    return problems


def main():
    binary, files = sys.argv[1], sys.argv[2:]
    problems = []
    for path in files:
        problems.extend(check(binary, path))
    for p in problems:
        print(p)
    print(f"{len(files)} files checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
