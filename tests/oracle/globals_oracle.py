#!/usr/bin/env python3
r"""CPython as the oracle of what a pickle imports: the C unpickler (`pickle.Unpickler`, what
`pickle.load` is) with a `find_class` that records every requested global and returns a
recording stub, so nothing is imported and nothing runs. Extension codes are registered to
stub names first, persistent ids return stubs, so a stream runs as far as CPython would.

    globals_oracle.py ARTIFACT_BIN FILE...        compare every file (exit 1 on a difference)
    globals_oracle.py ARTIFACT_BIN --attacks N    the attack list plus N mutations of it

For each input, the globals CPython requests (as `find_class` receives them) must be exactly
those of `artifact inspect --format json`'s `pickle.load` reading (or its only reading, when
the two loaders read the file alike). Prints each difference and a count line.
"""

import atexit
import copyreg
import io
import json
import os
import pickle
import pickletools
import resource
import shutil
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attacks  # noqa: E402

warnings.simplefilter("ignore")  # escape-sequence warnings from hostile STRING opcodes


def stub_class(name):
    def anything(*args, **kwargs):
        return None

    return type(name if name.isidentifier() else "Stub", (), {
        "__init__": anything, "__setstate__": anything, "append": anything, "extend": anything,
        "add": anything, "__setitem__": anything, "__call__": lambda self, *a, **k: Instance(),
        "__reduce__": lambda self: (str, ("",)),
    })


Instance = stub_class("Instance")


class Recording(pickle.Unpickler):
    def __init__(self, file):
        super().__init__(file)
        self.seen = []

    def find_class(self, module, name):
        self.seen.append((module, name))
        return stub_class(name)

    def persistent_load(self, pid):
        return Instance()


def extension_codes(data):
    codes = set()
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name.startswith("EXT"):
                codes.add(arg)
    except Exception:  # noqa: BLE001 - hostile input: codes up to where it breaks
        pass
    return codes


def cpython_globals(data, known_codes=(), loads=1):
    codes = extension_codes(data) | set(known_codes)
    # EXT looks codes up in copyreg._inverted_registry (code -> (module, name)).
    saved = dict(copyreg._inverted_registry)
    copyreg._extension_cache.clear()  # or an earlier file's stub answers without find_class
    for code in codes:
        copyreg._inverted_registry[code] = ("__ext__", str(code))
    stream = io.BytesIO(data)
    unpickler = Recording(stream)
    try:
        # A legacy torch.save file is five pickles torch.load reads in turn from one file.
        for _ in range(loads):
            unpickler.load()
            if loads > 1:
                seen = unpickler.seen
                unpickler = Recording(stream)
                unpickler.seen = seen
    except MemoryError:
        # A PUT index an attacker wrote makes _pickle.c allocate 16 bytes per index up to
        # it: whether that fails depends on the machine, not the file.
        unpickler.seen.append(("<MemoryError>", ""))
    except BaseException:  # noqa: BLE001 - where CPython stops, what ran before counts
        pass
    finally:
        copyreg._inverted_registry.clear()
        copyreg._inverted_registry.update(saved)
    return {tuple(g) for g in unpickler.seen}


# torch.serialization.MAGIC_NUMBER pickled with protocol 2, as legacy torch.save writes it.
TORCH_LEGACY = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."


def npy_pickle(f):
    """What numpy.load hands to pickle.load from a .npy file: the data after the header when
    the dtype holds objects, else nothing (an empty stream that imports nothing). numpy's own
    header reader finds where."""
    from numpy.lib import _format_impl as npy_format

    version = npy_format.read_magic(f)
    _, _, dtype = npy_format._read_array_header(f, version, max_header_size=1 << 20)
    return f.read() if dtype.hasobject else b""


def loaded_streams(path):
    """What the loaders unpickle, as (artifact name in inspect's JSON, bytes, how many
    pickles are read in turn): the file; a .npy file's object data; a legacy torch file's
    five pickles; each pickle (and .npy) member of a zip (PyTorch, .npz), named file!member
    and read by Python's zipfile."""
    import zipfile

    with open(path, "rb") as f:
        head = f.read(16)
        f.seek(0)
        if head.startswith(b"\x93NUMPY"):
            return [(path, npy_pickle(f), 1)]
        if head.startswith(TORCH_LEGACY):
            return [(path, f.read(), 5)]
        if not head.startswith(b"PK\x03\x04"):
            return [(path, f.read(), 1)]
    out = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".pkl"):
                out.append((f"{path}!{name}", z.read(name), 1))
            elif name.endswith(".npy"):
                with z.open(name) as member:
                    out.append((f"{path}!{name}", npy_pickle(io.BytesIO(member.read())), 1))
    return out


def our_globals(binary, path, name):
    out = subprocess.run([binary, "inspect", "--format", "json", path], capture_output=True)
    if not out.stdout:
        return None, out.stderr.decode(errors="replace").strip()
    doc = json.loads(out.stdout)
    named = [a for a in doc["artifacts"] if a["path"] == name]
    if not named:
        # Refused before any opcode (not a pickle or joblib container at all).
        return set(), ([], False)
    readings = named[0]["readings"]
    if not readings:
        # A plain .npy array: no pickle, no reading.
        return set(), ([], False)
    chosen = next((r for r in readings if r["loader"] == "pickle.load"), readings[0])
    found = {tuple(g) for g in chosen["globals"]}
    found |= {("__ext__", str(code)) for code in chosen["extensions"]}
    frame_lies = "frame" in (readings[0]["stopped"] or "")
    return found, (chosen["extensions"], frame_lies)


def compare(binary, path, data, name=None, loads=1):
    """None when CPython and we agree; else (kind, message). Kind "frame" is the one
    known divergence: a FRAME that lies about its length, where the C unpickler reading a
    file re-reads the rest of a straddling line from the file and drops what it had
    buffered (so it asks for names that are in no opcode). We read such a line whole, as
    `pickle.loads` does, and joblib's reading refuses the file (the gate fails, exit 2)."""
    ours, extra = our_globals(binary, path, name or path)
    if ours is None:
        return ("error", f"{path}: inspect gave no JSON: {extra}")
    codes, frame_lies = extra
    # The registry is the environment's: the codes we saw are registered (to stub names)
    # before CPython runs, as an earlier copyreg.add_extension would have registered them.
    theirs = cpython_globals(data, codes, loads)
    if ("<MemoryError>", "") in theirs:
        theirs.discard(("<MemoryError>", ""))
        if theirs <= ours:
            return ("memory", f"{path}: CPython ran out of memory on a memo index; it imported {sorted(theirs)}, we read on")
    if ours != theirs:
        kind = "frame" if frame_lies else "differ"
        return (kind, f"{name or path}: only ours {sorted(ours - theirs)}, only CPython's {sorted(theirs - ours)}")
    return None


def main():
    # A forged PUT index makes _pickle.c allocate 16 bytes per index up to it: cap the
    # address space so that is a MemoryError (a known divergence), not a machine-sized heap.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    binary = sys.argv[1]
    inputs = []
    if sys.argv[2:3] == ["--attacks"]:
        tmp = tempfile.mkdtemp(prefix="artifact-oracle-")
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        datas = [d for _, _, d in attacks.attacks()] + attacks.mutations(9, int(sys.argv[3]))
        for i, data in enumerate(datas):
            path = os.path.join(tmp, f"{i}.pkl")
            with open(path, "wb") as f:
                f.write(data)
            inputs.append((path, data, path, 1))
    else:
        for path in sys.argv[2:]:
            inputs.extend((path, data, name, loads) for name, data, loads in loaded_streams(path))
    results = [compare(binary, path, data, name, loads) for path, data, name, loads in inputs]
    problems = [r for r in results if r and r[0] not in ("frame", "memory")]
    known = [r for r in results if r and r[0] in ("frame", "memory")]
    for kind, message in known:
        print(f"known ({kind}): {message}")
    for _, message in problems:
        print(message)
    print(f"{len(inputs) - len(problems)} passed, {len(problems)} failed")
    print(f"({len(inputs) - len(problems) - len(known)} agree exactly; {len(known)} are the known divergences: "
          "a lying FRAME read from a file, or CPython out of memory on a forged memo index)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
