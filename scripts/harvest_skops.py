#!/usr/bin/env python3
"""Harvests what `artifact` needs to read skops files as skops itself does.

1. src/container/data/skops-trusted.tsv: for every node loader skops registers, the types it
   trusts by default (`Node.trusted` after `__init__`, read from real node objects built on
   minimal states, so the table is skops's own, not a copy of its constants), and the bit
   generators `RandomGeneratorNode` accepts. With these, `get_untrusted_types` is recomputed
   without Python.
2. src/rules/data/allowlist-skops.tsv: every (module, name) skops imports when loading
   `skops.io.dump` output of the allowlist corpus (scripts/harvest_allowlist.py's models),
   recorded by wrapping skops's own `gettype` and `_import_obj`.

Needs the pinned environment of fixtures/requirements.txt (scripts/test.sh creates it in .venv):

    .venv/bin/python scripts/harvest_skops.py
"""

import os
import sys
import warnings

import skops
import skops.io as sio
from skops.io import _audit, _general, _numpy, _sklearn, _utils

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
TRUSTED = os.path.join(ROOT, "src", "container", "data", "skops-trusted.tsv")
ALLOWLIST = os.path.join(ROOT, "src", "rules", "data", "allowlist-skops.tsv")
sys.path.insert(0, HERE)

warnings.filterwarnings("ignore")


def probe_states():
    """A minimal state each loader's __init__ accepts, with no file to read."""
    json_node = {"__class__": "int", "__module__": "builtins", "__loader__": "JsonNode", "content": "1", "is_json": True}
    empty_list = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": []}
    empty_tuple = {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": []}
    empty_dict = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {}, "key_types": empty_list}
    reduce = {"__reduce__": {"args": empty_tuple}, "content": empty_dict}
    probe = {"__class__": "probe", "__module__": "probe"}
    return {
        "JsonNode": json_node,
        "DictNode": empty_dict,
        "DefaultDictNode": {"content": {"main": empty_dict, "default_factory": json_node}},
        "ListNode": empty_list,
        "SetNode": {"content": []},
        "TupleNode": empty_tuple,
        "SliceNode": {"content": {"start": None, "stop": None, "step": None}},
        "FunctionNode": {},
        "MethodNode": {"content": {"func": "f", "obj": {**probe, "__loader__": "ObjectNode"}}},
        "PartialNode": {"content": {"func": json_node, "args": empty_tuple, "kwds": empty_dict, "namespace": json_node}},
        "TypeNode": {},
        "ConstructorFromReduceNode": {"content": empty_tuple},
        "ObjectNode": {},
        "OperatorFuncNode": {"__module__": "operator", "attrs": empty_tuple},
        "NdArrayNode": {"type": "json", "content": [], "shape": json_node},
        "MaskedArrayNode": {"content": {"data": json_node, "mask": json_node}},
        "DTypeNode": {"content": json_node},
        "RandomStateNode": {"content": json_node},
        "RandomGeneratorNode": {"content": {
            "bit_generator": {**empty_dict, "content": {"bit_generator": {**json_node, "content": '"PCG64"'}}},
            "seed_seq": empty_dict}},
        "TreeNode": reduce,
        "LossNode": reduce,
        "_DictWithDeprecatedKeysNode": {"content": {"main": empty_dict, "_deprecated_key_to_new_key": empty_dict}},
        "QuantileForestNode": reduce,
    }


def trusted_table():
    states = probe_states()
    rows = []
    for (loader, protocol), cls in sorted(_audit.NODE_TYPE_MAPPING.items()):
        if protocol != sio._protocol.PROTOCOL or loader in ("CachedNode", "SparseMatrixNode", "BytesNode", "BytearrayNode"):
            continue
        if loader not in states:
            sys.exit(f"no probe state for the loader {loader}: add one")
        state = {"__class__": "probe", "__module__": "probe", "__loader__": loader, **states[loader]}
        try:
            node = cls(state, _utils.LoadContext(src=None, protocol=sio._protocol.PROTOCOL), trusted=None)
        except ImportError:
            # QuantileForestNode needs the quantile_forest package to be built at all; it
            # trusts nothing by default (skops/io/_quantile_forest.py).
            rows.append((loader, "-"))
            continue
        for t in node.trusted:
            rows.append((loader, t))
        if not node.trusted:
            rows.append((loader, "-"))
    # The loaders that read a member at __init__: their defaults, from the same classes.
    from skops.io import _scipy

    for loader, default in [("BytesNode", ["builtins.bytes"]), ("BytearrayNode", ["builtins.bytearray"]),
                            ("SparseMatrixNode", None)]:
        if default is None:
            default = [_utils.get_type_name(t) for t in ([_scipy.spmatrix] + ([_scipy._SPARRAY] if _scipy._SPARRAY else []))]
        rows.extend((loader, t) for t in default)
    rows.extend(("RandomGeneratorNode.bit_generator", t) for t in
                sio._trusted_types.NUMPY_RANDOM_BIT_GENERATOR_TYPE_NAMES)
    return rows


def corpus():
    import differential
    from harvest_allowlist import extra_models

    models, _ = differential.corpus(1)
    return models + extra_models()


def imports_of(data, seen):
    """Loads one dump (our own) with skops's type lookups wrapped to record their names."""
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
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    finally:
        for module, attr, fn in saved:
            setattr(module, attr, fn)


def main():
    rows = trusted_table()
    os.makedirs(os.path.dirname(TRUSTED), exist_ok=True)
    with open(TRUSTED, "w") as f:
        f.write(f"# Generated by scripts/harvest_skops.py from skops {skops.__version__}; do not edit. "
                "loader<TAB>type trusted by default (- for none)\n")
        for loader, t in sorted(set(rows)):
            f.write(f"{loader}\t{t}\n")
    seen = set()
    dumped = failed = 0
    for name, model in corpus():
        try:
            data = sio.dumps(model)
        except Exception:
            failed += 1
            continue
        imports_of(data, seen)
        dumped += 1
    with open(ALLOWLIST, "w") as f:
        f.write(f"# Generated by scripts/harvest_skops.py from skops {skops.__version__}; do not edit. module<TAB>qualname\n")
        for module, name in sorted(seen):
            f.write(f"{module}\t{name}\n")
    print(f"{len(set(rows))} trusted defaults; {len(seen)} imports from {dumped} dumps ({failed} models skops cannot dump)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
