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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from harvest_skops import imports_of  # noqa: E402 - the one recorder of skops's lookups


def imports(path):
    seen = set()
    with open(path, "rb") as f:
        imports_of(f.read(), seen)
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
