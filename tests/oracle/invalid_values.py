"""CPython as the oracle for CFG001: usage `invalid_values.py OUT_DIR`.

Writes artifacts whose settings hold odd values, loads each and predicts. Prints one JSON
line per artifact (file, setting, the error predict raised or null) for
`tests/setting_values.rs`, which checks that `artifact check` reports CFG001 on exactly the
ones that failed. Some odd values work (joblib converts `True` and `2.0`, KMeans takes
`_n_threads=0`): those must not be flagged.
"""

import json
import os
import pickle
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore")
out = sys.argv[1]
rng = np.random.RandomState(0)
X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
y = (X["a"] > 0).astype(int)


def pipeline(n_jobs):
    ct = ColumnTransformer([("num", StandardScaler(), ["a", "b", "c"])])
    model = Pipeline([("pre", ct), ("clf", LogisticRegression())]).fit(X, y)
    model.steps[0][1].n_jobs = n_jobs
    return model


def kmeans(threads):
    km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X.to_numpy())
    km._n_threads = threads
    return km


cases = [
    ("ct_njobs_text.p4.pkl", "pre__n_jobs", pipeline("eight"), X),
    ("ct_njobs_zero.p4.pkl", "pre__n_jobs", pipeline(0), X),
    ("ct_njobs_float.p4.pkl", "pre__n_jobs", pipeline(1e20), X),
    ("ct_njobs_int_max.p4.pkl", "pre__n_jobs", pipeline(2**31 - 1), X),
    ("ct_njobs_true.p4.pkl", "pre__n_jobs", pipeline(True), X),
    ("ct_njobs_two_float.p4.pkl", "pre__n_jobs", pipeline(2.0), X),
    ("kmeans_threads_zero.p5.pkl", "_n_threads", kmeans(0), X.to_numpy()),
    ("kmeans_threads_none.p5.pkl", "_n_threads", kmeans(None), X.to_numpy()),
]
for name, setting, model, data in cases:
    path = os.path.join(out, name)
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=int(name.split(".p")[1][0]))
    with open(path, "rb") as f:
        loaded = pickle.load(f)
    try:
        loaded.predict(data)
        failure = None
    except Exception as e:  # the point: which error the library raises
        failure = f"{type(e).__name__}: {e}"[:200]
    print(json.dumps({"file": name, "setting": setting, "failure": failure}))
