#!/usr/bin/env python3
"""Differential corpus: every scikit-learn estimator that fits on small generic data, plus
XGBoost and LightGBM, pickled with protocols 0-5 and saved with joblib raw and with every
codec; then, for each file, `artifact` against CPython:

- dis:     for pure pickles, `artifact dis --format json` lists the same offsets and
           opcodes as pickletools.genops (tests/oracle/dis_oracle.py);
- globals: the globals `artifact inspect` lists are exactly those CPython's unpickler
           imports (a recording find_class; the corpus is ours, so loading it is safe);
- quiet:   `artifact check --select SEC` finds no SEC error (the allowlist covers every
           benign model: the gate is complete and quiet);
- patch:   where an estimator has n_jobs (fitted with n_jobs=2), `artifact patch --set
           n_jobs=null` loads with every n_jobs None and identical pinned predictions.

Usage: differential.py ARTIFACT_BIN [--every K] [--out DIR]
  --every K   take every K-th estimator (the CI slice uses a representative fraction);
              the whole corpus is --every 1 (the default).
Prints one line per failure, the exceptions (estimators that cannot be fitted on generic
data, with why), and the pass rate; exits 1 on any failure.
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import joblib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "oracle"))
import dis_oracle  # noqa: E402
import patched as patch_oracle  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "src", "verify"))
import harness  # noqa: E402

warnings.filterwarnings("ignore")
CODECS = [("zlib", "z"), ("gzip", "gz"), ("bz2", "bz2"), ("xz", "xz"), ("lzma", "lzma"), ("lz4", "lz4")]


def data():
    rng = np.random.RandomState(0)
    X = np.abs(rng.normal(size=(60, 4))) + 0.1
    y = (X[:, 0] > X[:, 1]).astype(int)
    return X, y


def fitted(est, X, y):
    """Fits with the inputs the estimator's kind needs; raises when none works."""
    from sklearn.base import is_classifier, is_regressor

    attempts = []
    if is_classifier(est):
        attempts.append((X, y))
    elif is_regressor(est):
        attempts.append((X, X[:, 0] * 2.0 + y))
    attempts.extend([(X, y), (X, None), (X, np.column_stack([y, 1 - y])), (y, None)])
    # Other kinds of input: 1-D features (IsotonicRegression), a kernel (KernelCenterer),
    # text (vectorizers), dicts (DictVectorizer).
    words = ["red apple", "green pear", "ripe red cherry", "old green apple"] * 15
    attempts.extend([
        (X[:, 0], X[:, 0] * 2.0 + y),
        (X @ X.T, None),
        (words, y),
        ([{"a": float(r[0]), "b": float(r[1])} for r in X], y),
    ])
    last = None
    for Xa, ya in attempts:
        try:
            return est.fit(Xa) if ya is None else est.fit(Xa, ya)
        except Exception as e:  # noqa: BLE001 - try the next kind of input
            last = e
    raise last


def corpus(every):
    from sklearn.utils import all_estimators
    from sklearn.utils._test_common.instance_generator import _construct_instances

    X, y = data()
    models, exceptions = [], []
    for i, (name, Est) in enumerate(all_estimators()):
        if i % every:
            continue
        try:
            if name == "FrozenEstimator":
                from sklearn.linear_model import LogisticRegression

                est = Est(LogisticRegression().fit(X, y))
            elif name == "SparseCoder":
                est = Est(dictionary=np.random.RandomState(1).normal(size=(3, X.shape[1])))
            else:
                est = next(iter(_construct_instances(Est)))
            if "n_jobs" in est.get_params(deep=False):
                est.set_params(n_jobs=2)
            models.append((name, fitted(est, X, y)))
        except Exception as e:  # noqa: BLE001 - recorded and reported
            exceptions.append((name, f"{type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"))
    import lightgbm
    import xgboost

    models.append(("XGBClassifier", xgboost.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=2).fit(X, y)))
    models.append(("LGBMClassifier", lightgbm.LGBMClassifier(n_estimators=3, num_leaves=4, n_jobs=2, verbose=-1).fit(X, y)))
    return models, exceptions


def recording_joblib_load(path, record):
    """`joblib.load(path)` with every `find_class(module, name)` reported to
    `record(module, name, proto)` first: the verify harness's own loader. Our own corpus
    only: it really loads."""
    return harness.joblib_load(path, record)


def recorded_globals(path):
    """The globals CPython's joblib unpickler imports for this file, as spelled."""
    seen = set()
    recording_joblib_load(path, lambda module, name, proto: seen.add((module, name)))
    return seen


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True)


def check_file(binary, path, model, has_n_jobs, pure):
    problems = []
    if pure:
        problems += dis_oracle.check(binary, path)
    out = run(binary, "inspect", "--format", "json", path)
    if out.returncode != 0:
        return problems + [f"{path}: inspect failed: {out.stderr.decode().strip()}"]
    ours = {(g["module"], g["name"]) for g in json.loads(out.stdout)["artifacts"][0]["globals"]}
    theirs = recorded_globals(path)
    out = run(binary, "check", "--isolated", "--select", "SEC", "--format", "json", path)
    loud = [f"{f['code']} {f['message']}" for a in json.loads(out.stdout)["artifacts"] for f in a["findings"]
            if f["severity"] == "error"]
    if loud:
        problems.append(f"{path}: SEC errors on a benign model: {loud[:3]}")
    if ours != theirs:
        problems.append(f"{path}: globals differ: only ours {sorted(ours - theirs)}, only CPython's {sorted(theirs - ours)}")
    if has_n_jobs:
        patched = path + ".patched"
        out = run(binary, "patch", path, "--set", "n_jobs=null", "-o", patched, "--force")
        if out.returncode != 0:
            problems.append(f"{path}: patch failed: {out.stderr.decode().strip()}")
        else:
            original, fixed = joblib.load(path), joblib.load(patched)
            for est in patch_oracle.estimators(fixed):
                if vars(est).get("n_jobs") is not None:
                    problems.append(f"{path}: {type(est).__name__}.n_jobs = {vars(est)['n_jobs']!r} after patch")
            sample = data()[0]
            before, after = patch_oracle.outputs(original, sample), patch_oracle.outputs(fixed, sample)
            for method, value in before.items():
                other = after.get(method)
                same = (isinstance(value, str) and value == other) or (
                    isinstance(value, np.ndarray) and isinstance(other, np.ndarray) and value.tobytes() == other.tobytes()
                    and value.shape == other.shape
                )
                if not same:
                    problems.append(f"{path}: {method} differs after patch")
            os.remove(patched)
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    out_dir = args.out or tempfile.mkdtemp(prefix="artifact-differential-")
    os.makedirs(out_dir, exist_ok=True)
    models, exceptions = corpus(args.every)
    files, failures = 0, []
    for name, model in models:
        has_n_jobs = any("n_jobs" in vars(e) and vars(e)["n_jobs"] is not None for e in patch_oracle.estimators(model))
        variants = []
        for protocol in range(6):
            path = os.path.join(out_dir, f"{name}.p{protocol}.pkl")
            with open(path, "wb") as f:
                pickle.dump(model, f, protocol=protocol)
            variants.append((path, True))
        path = os.path.join(out_dir, f"{name}.joblib")
        joblib.dump(model, path)
        variants.append((path, False))
        for codec, ext in CODECS:
            path = os.path.join(out_dir, f"{name}.joblib.{ext}")
            joblib.dump(model, path, compress=(codec, 3))
            variants.append((path, False))
        for path, pure in variants:
            files += 1
            try:
                failures += check_file(args.binary, path, model, has_n_jobs, pure)
            except Exception as e:  # noqa: BLE001 - a failure of the check itself
                failures.append(f"{path}: the check raised {type(e).__name__}: {e}")
    for f in failures:
        print(f)
    for name, why in exceptions:
        print(f"not in the corpus: {name}: cannot be fitted on generic data ({why})")
    failed_files = len({f.split(":")[0] for f in failures})
    print(
        f"{len(models)} models, {files} files, {files - failed_files} passed, {failed_files} failed "
        f"({100.0 * (files - failed_files) / max(files, 1):.1f}%); {len(exceptions)} estimators not fittable on generic data"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
