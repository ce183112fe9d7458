"""Builds the benchmark artifacts under bench/out/ (skips files that already exist).

- big_array.p5.pkl: a 2 GiB protocol-5 pickle holding one 2 GiB float64 array
  (numpy pickles it in-band as one BYTEARRAY8).
- text_pipeline.pkl: Pipeline[TfidfVectorizer, LogisticRegression] fitted on synthetic
  documents with a 1.3 M-term vocabulary: about 42 MB of small opcodes.
- big_pipeline.joblib: a ColumnTransformer(n_jobs=14) pipeline holding a 2 GiB array, for patch.
- forest400.p5.pkl and forest400.joblib: a 400-tree random forest (n_jobs=-1), ~470 MB.
- forest400.zlib3.joblib, forest400.lz4.joblib, forest400.xz1.joblib: the same forest
  compressed by joblib (compress=3, 'lz4', ('xz', 1)), for patch on a compressed file.
- forest400.gz.joblib: the same forest as joblib's gzip, for inspect beside zcat.
- small/: 500 small artifacts (the committed fixtures, copied), for `check` on a folder;
  registry-1000/, registry-2000/: 1,000 and 2,000 of them, for how `check` grows.
"""

import io
import os
import pickle
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def big_array(path):
    array = np.zeros(2**28, dtype="f8")  # 2 GiB
    array[::4096] = 1.0
    with open(path, "wb") as f:
        pickle.dump(array, f, protocol=5)


def text_pipeline(path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    rng = np.random.RandomState(0)
    terms = [f"t{i:07x}" for i in range(1_300_000)]
    order = rng.permutation(len(terms))
    docs = [" ".join(terms[j] for j in order[i::2000]) for i in range(2000)]
    labels = rng.randint(0, 2, size=len(docs))
    model = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression(max_iter=5))])
    model.fit(docs, labels)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=5)


def big_joblib(path):
    """Pipeline[ColumnTransformer(n_jobs=14), LogisticRegression] whose coef_ is a 2 GiB array."""
    import joblib
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])
    model = Pipeline([
        ("preprocessor", ColumnTransformer([("num", StandardScaler(), ["a", "b", "c"])], n_jobs=14)),
        ("clf", LogisticRegression()),
    ]).fit(df, rng.randint(0, 2, size=50))
    model.steps[1][1].coef_ = np.zeros((1, 2**28))
    joblib.dump(model, path)


def forest(path):
    """A 400-tree random forest, about 470 MB pickled (the landscape's forest)."""
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(54000, 10))
    y = (X[:, 0] + rng.normal(size=54000) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=400, n_jobs=-1, random_state=0).fit(X, y)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=5)
    import joblib

    joblib.dump(model, path.replace(".p5.pkl", ".joblib"))


def compressed_forest(path, compress):
    import joblib

    model = joblib.load(os.path.join(OUT, "forest400.joblib"))
    joblib.dump(model, path, compress=compress)


def small_folder(path, count=500):
    """`count` small artifacts: the committed fixtures, copied over and over."""
    import shutil

    fixtures = os.path.join(os.path.dirname(OUT), "..", "fixtures", "artifacts")
    names = sorted(n for n in os.listdir(fixtures) if not n.startswith(("sec_", "prt_")))
    os.makedirs(path)
    for i in range(count):
        name = names[i % len(names)]
        shutil.copy(os.path.join(fixtures, name), os.path.join(path, f"{i:04d}_{name}"))


def torch_checkpoint(path):
    """A 2 GiB PyTorch checkpoint as torch.save writes it (a zip: archive/data.pkl with
    persistent ids for two 1 GiB float32 storages in archive/data/0 and /1, stored), made
    without torch: the pickle names torch's globals through stand-in modules."""
    import pickle
    import types
    import zipfile

    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        pass

    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, _rebuild_tensor_v2, utils
    sys.modules.update({"torch": torch, "torch._utils": utils})
    numel = 2**28

    class Storage:
        def __init__(self, key):
            self.key = key

    class Tensor:
        def __init__(self, key, shape):
            self.storage, self.shape = Storage(key), shape

        def __reduce__(self):
            stride = (self.shape[1], 1)
            return _rebuild_tensor_v2, (self.storage, 0, self.shape, stride, False, {})

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, obj.key, "cpu", numel)
            return None

    import collections

    state = collections.OrderedDict([("encoder.weight", Tensor("0", (2**14, 2**14))),
                                     ("decoder.weight", Tensor("1", (2**14, 2**14)))])
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(state)
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            z.writestr("big/data.pkl", buf.getvalue())
            z.writestr("big/byteorder", "little")
            chunk = bytes(1 << 24)
            for key in ("0", "1"):
                with z.open(f"big/data/{key}", "w", force_zip64=True) as member:
                    for _ in range(numel * 4 // len(chunk)):
                        member.write(chunk)
            z.writestr("big/version", "3\n")
    finally:
        for name in ("torch", "torch._utils"):
            sys.modules.pop(name, None)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in [("big_array.p5.pkl", big_array), ("text_pipeline.pkl", text_pipeline),
                       ("big_pipeline.joblib", big_joblib), ("forest400.p5.pkl", forest),
                       ("big_checkpoint.pt", torch_checkpoint)]:
        path = os.path.join(OUT, name)
        if not os.path.exists(path):
            print(f"building {path}", file=sys.stderr)
            make(path)
        print(f"{name}: {os.path.getsize(path):,} bytes", file=sys.stderr)
    for name, compress in [("forest400.zlib3.joblib", 3), ("forest400.lz4.joblib", "lz4"),
                           ("forest400.xz1.joblib", ("xz", 1)), ("forest400.gz.joblib", ("gzip", 3))]:
        path = os.path.join(OUT, name)
        if not os.path.exists(path):
            print(f"building {path}", file=sys.stderr)
            compressed_forest(path, compress)
        print(f"{name}: {os.path.getsize(path):,} bytes", file=sys.stderr)
    small = os.path.join(OUT, "small")
    if not os.path.exists(small):
        small_folder(small)
    for count in (1000, 2000):
        folder = os.path.join(OUT, f"registry-{count}")
        if not os.path.exists(folder):
            small_folder(folder, count)


if __name__ == "__main__":
    main()
