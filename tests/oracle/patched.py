"""CPython as the oracle for `artifact patch`: usage `patched.py ORIGINAL PATCHED KEY[=JSON]...`.

Loads both artifacts (our own fixtures: trusted), then checks that
- every estimator attribute or parameter named KEY (fitted clones included) is None in the
  patched one, or the JSON value given after `=`,
- every other plain parameter (get_params, deep) is unchanged,
- every prediction method gives identical output, with parallelism pinned to one worker
  (a forest's n_jobs>1 output is not even reproducible run to run otherwise).
`--booster` also checks the XGBoost booster config and the LightGBM model text say 0.
A skops file is loaded with `skops.io.load` (trusting what `get_untrusted_types` lists: our
own fixtures), and its members are compared too: the same names in the same order, each
compressed with the same method, and every member but schema.json and a booster's `.bin`
byte-identical, compressed bytes included.
Prints what differs and exits 1.
"""

import json
import sys

import joblib
import numpy as np
from threadpoolctl import threadpool_limits


def is_zip(path):
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def load(path):
    if is_zip(path):
        import skops.io as sio

        return sio.load(path, trusted=sio.get_untrusted_types(file=path))
    return joblib.load(path)


def raw_member(path, info):
    """A member's compressed bytes, as they lie in the archive."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        name_len, extra_len = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        return f.read(info.compress_size)


def member_problems(original_path, patched_path):
    import zipfile

    problems = []
    with zipfile.ZipFile(original_path) as a, zipfile.ZipFile(patched_path) as b:
        if a.namelist() != b.namelist():
            return [f"members {a.namelist()} became {b.namelist()}"]
        for x in a.infolist():
            y = b.getinfo(x.filename)
            if x.compress_type != y.compress_type:
                problems.append(f"{x.filename}: compression {x.compress_type} became {y.compress_type}")
            editable = x.filename == "schema.json" or x.filename.endswith(".bin")
            if not editable and raw_member(original_path, x) != raw_member(patched_path, y):
                problems.append(f"{x.filename} changed")
            if b.testzip() is not None:
                problems.append(f"{b.testzip()} fails its CRC")
    return problems


def estimators(root):
    """Every scikit-learn style estimator reachable from root (fitted clones too)."""
    seen, out, stack = set(), [], [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if hasattr(obj, "get_params") and hasattr(obj, "__dict__"):
            out.append(obj)
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.extend(vars(obj).values())
    return out


def plain(value):
    return value is None or isinstance(value, (bool, int, float, str))


def sample(model):
    rng = np.random.RandomState(1)
    names = getattr(model, "feature_names_in_", None)
    if names is not None and "cat" in list(names):
        import pandas as pd

        df = pd.DataFrame(rng.normal(size=(60, 4)), columns=["f0", "f1", "f2", "f3"])
        df["cat"] = rng.choice(["a", "b", "c"], size=60)
        return df
    n = getattr(model, "n_features_in_", 4)
    return rng.normal(size=(60, n))


def outputs(model, X):
    result = {}
    with joblib.parallel_config(backend="sequential"), threadpool_limits(1):
        for method in ["predict", "predict_proba", "decision_function", "transform", "score_samples"]:
            if hasattr(model, method):
                try:
                    value = getattr(model, method)(X)
                    if hasattr(value, "toarray"):  # scipy sparse: compare the values
                        value = value.toarray()
                    result[method] = np.asarray(value)
                except Exception as e:  # noqa: BLE001 - a method may not apply to this model
                    result[method] = repr(type(e))
    return result


def main():
    original_path, patched_path, *keys = sys.argv[1:]
    booster = "--booster" in keys
    # KEY alone expects None; KEY=JSON expects that value.
    wanted = {}
    for k in keys:
        if not k.startswith("--"):
            name, _, value = k.partition("=")
            wanted[name] = json.loads(value) if value else None
    original, patched = load(original_path), load(patched_path)
    problems = member_problems(original_path, patched_path) if is_zip(original_path) else []
    a, b = estimators(original), estimators(patched)
    if len(a) != len(b):
        problems.append(f"{len(a)} estimators before, {len(b)} after")
    for x, y in zip(a, b):
        px, py = x.get_params(deep=False), y.get_params(deep=False)
        for key, want in wanted.items():
            # CatBoost keeps its parameters in _init_params, not as attributes.
            where = vars(y) if key in vars(y) else py
            if key in where and where[key] != want:
                problems.append(f"{type(y).__name__}.{key} = {where[key]!r}, not {want!r}")
        for name, value in px.items():
            if name in wanted or not plain(value):
                continue
            if py.get(name) != value and not (value != value and py.get(name) != py.get(name)):
                problems.append(f"{type(y).__name__}.{name}: {value!r} became {py.get(name)!r}")
    X = sample(original)
    before, after = outputs(original, X), outputs(patched, X)
    for method, value in before.items():
        other = after.get(method)
        same = (isinstance(value, str) and value == other) or (
            isinstance(value, np.ndarray) and isinstance(other, np.ndarray) and value.shape == other.shape
            and value.dtype == other.dtype and value.tobytes() == other.tobytes()
        )
        if not same:
            problems.append(f"{method} differs")
    if booster:
        for y in b:
            module = type(y).__module__
            if module.startswith("xgboost"):
                config = json.loads(y.get_booster().save_config())["learner"]["generic_param"]
                if config.get("nthread") != "0" or config.get("n_jobs") != "0":
                    problems.append(f"xgboost booster config: nthread={config.get('nthread')!r} n_jobs={config.get('n_jobs')!r}")
            if module.startswith("lightgbm"):
                text = y.booster_.model_to_string()
                if "[num_threads: 0]" not in text:
                    problems.append("lightgbm model text does not say [num_threads: 0]")
    for p in problems:
        print(p)
    print(f"{len(problems)} problems, {len(before)} methods compared")
    sys.exit(1 if problems or not before else 0)


if __name__ == "__main__":
    main()
