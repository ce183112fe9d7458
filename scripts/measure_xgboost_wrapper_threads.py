"""Does XGBClassifier's wrapper `n_jobs` act at predict time? (PAR004's judgement.)

Usage: `python scripts/measure_xgboost_wrapper_threads.py` (needs strace). Pickles one
fitted model twice, the booster's nthread at "0" in both and the wrapper n_jobs at 14 and
None, then counts the threads a fresh process creates (clone/clone3 under strace -f) to
load each and call `predict` on a COO matrix (in-place prediction refuses it, so
xgboost builds `DMatrix(nthread=self.n_jobs)`) or `apply` (always a DMatrix).
Measured with xgboost 3.2.0 on 2 cores: 3 clones in every case, the same as loading alone.
"""

import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import xgboost

CALL = """
import pickle, sys, numpy as np, scipy.sparse as sp
m = pickle.load(open(sys.argv[1], "rb"))
X = np.random.RandomState(0).normal(size=(20000, 8))
if sys.argv[2] == "predict":
    m.predict(sp.coo_matrix(X))
elif sys.argv[2] == "apply":
    m.apply(X)
"""


def clones(path, method):
    out = subprocess.run(
        ["strace", "-f", "-e", "trace=clone,clone3", sys.executable, "-c", CALL, path, method],
        capture_output=True, text=True, check=True,
    )
    return sum(1 for line in out.stderr.splitlines() if "clone" in line and "resumed" not in line)


def main():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 8))
    y = (X[:, 0] > 0).astype(int)
    model = xgboost.XGBClassifier(n_estimators=5, n_jobs=14).fit(X, y)
    model.get_booster().set_param({"nthread": 0})
    with tempfile.TemporaryDirectory() as d:
        print(f"xgboost {xgboost.__version__}, {os.cpu_count()} cores")
        for n_jobs in (14, None):
            model.n_jobs = n_jobs
            path = os.path.join(d, f"xgb_{n_jobs}.pkl")
            with open(path, "wb") as f:
                pickle.dump(model, f)
            for method in ("load", "predict", "apply"):
                print(f"wrapper n_jobs={n_jobs!s:5} {method:8} threads created: {clones(path, method)}")


if __name__ == "__main__":
    main()
