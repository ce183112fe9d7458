"""Builds the benchmark artifacts under bench/out/ (skips files that already exist).

- big_array.p5.pkl: a 2 GiB protocol-5 pickle holding one 2 GiB float64 array
  (numpy pickles it in-band as one BYTEARRAY8).
- text_pipeline.pkl: Pipeline[TfidfVectorizer, LogisticRegression] fitted on synthetic
  documents with a 1.3 M-term vocabulary: about 42 MB of small opcodes.
- big_pipeline.joblib: a ColumnTransformer(n_jobs=14) pipeline holding a 2 GiB array, for patch.
- forest400.p5.pkl and forest400.joblib: a 400-tree random forest (n_jobs=-1), ~470 MB.
- forest400.zlib3.joblib, forest400.lz4.joblib, forest400.xz1.joblib: the same forest
  compressed by joblib (compress=3, 'lz4', ('xz', 1)), for patch on a compressed file.
- small/: 500 small artifacts (the committed fixtures, copied), for `check` on a folder.
"""

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


def small_folder(path):
    """500 small artifacts: the committed fixtures, copied over and over."""
    import shutil

    fixtures = os.path.join(os.path.dirname(OUT), "..", "fixtures", "artifacts")
    names = sorted(n for n in os.listdir(fixtures) if not n.startswith(("sec_", "prt_")))
    os.makedirs(path)
    for i in range(500):
        name = names[i % len(names)]
        shutil.copy(os.path.join(fixtures, name), os.path.join(path, f"{i:03d}_{name}"))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, make in [("big_array.p5.pkl", big_array), ("text_pipeline.pkl", text_pipeline),
                       ("big_pipeline.joblib", big_joblib), ("forest400.p5.pkl", forest)]:
        path = os.path.join(OUT, name)
        if not os.path.exists(path):
            print(f"building {path}", file=sys.stderr)
            make(path)
        print(f"{name}: {os.path.getsize(path):,} bytes", file=sys.stderr)
    for name, compress in [("forest400.zlib3.joblib", 3), ("forest400.lz4.joblib", "lz4"),
                           ("forest400.xz1.joblib", ("xz", 1))]:
        path = os.path.join(OUT, name)
        if not os.path.exists(path):
            print(f"building {path}", file=sys.stderr)
            compressed_forest(path, compress)
        print(f"{name}: {os.path.getsize(path):,} bytes", file=sys.stderr)
    small = os.path.join(OUT, "small")
    if not os.path.exists(small):
        small_folder(small)


if __name__ == "__main__":
    main()
