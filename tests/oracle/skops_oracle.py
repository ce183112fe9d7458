"""skops itself as the oracle for reading .skops files: usage `skops_oracle.py FILE...`.

Prints one JSON object: for each file, what `skops.io.get_untrusted_types` returns and,
for our benign fixtures only (loading a hostile one would run it), every (module, name)
`skops.io.load` imports, recorded by wrapping skops's own `gettype` and `_import_obj` (the
way scripts/harvest_skops.py records them).
"""

import json
import os
import sys

import skops.io as sio
from skops.io import _general, _numpy, _sklearn, _utils


def imports(path):
    seen = set()

    def wrap(fn):
        def recording(module, name):
            seen.add((module, name))
            return fn(module, name)

        return recording

    saved = []
    for module in (_general, _numpy, _sklearn, _utils):
        for attr in ("gettype", "_import_obj"):
            if hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, wrap(getattr(module, attr)))
    try:
        sio.load(path, trusted=sio.get_untrusted_types(file=path))
    finally:
        for module, attr, fn in saved:
            setattr(module, attr, fn)
    return sorted(f"{m}.{n}" for m, n in seen)


def main():
    out = {}
    for path in sys.argv[1:]:
        hostile = os.path.basename(path).startswith("sec_")
        out[path] = {
            "untrusted": sio.get_untrusted_types(file=path),
            "imports": None if hostile else imports(path),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
