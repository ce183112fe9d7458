"""What CatBoost's thread_count and imbalanced-learn's BalancedBagging n_jobs do at predict.

Usage: `python scripts/measure_predict_parallelism.py` (needs strace and catboost,
imbalanced-learn from fixtures/requirements.txt). Pickles one fitted model per setting,
then counts what a fresh process creates to load it and call `predict_proba` on 20,000
rows: threads (clone with CLONE_THREAD) and processes (fork, vfork, clone without it),
from `strace -f`. This is the measurement PAR004 (CatBoost) and PAR001 (BalancedBagging)
rest on. Measured on 2 cores, catboost 1.2.10, imbalanced-learn 0.14.2:
CatBoost thread_count 8, -1, 1 and None: 4 threads, 0 processes each (the stored value
is ignored); BalancedBagging n_jobs=4: 6 processes, None: 0.
"""

import os
import pickle
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np

warnings.filterwarnings("ignore")

CALL = """
import pickle, sys, numpy as np
m = pickle.load(open(sys.argv[1], "rb"))
X = np.random.RandomState(0).normal(size=(20000, 4))
if sys.argv[2] == "predict":
    m.predict_proba(X)
"""


def created(path, method):
    out = subprocess.run(
        ["strace", "-f", "-e", "trace=clone,clone3,fork,vfork", sys.executable, "-c", CALL, path, method],
        capture_output=True, text=True, check=True,
    )
    threads = processes = 0
    for line in out.stderr.splitlines():
        if "resumed>" in line or not re.search(r"\b(clone3?|v?fork)\(", line):
            continue
        if "CLONE_THREAD" in line:
            threads += 1
        else:
            processes += 1
    return threads, processes


def measure(label, model, directory):
    path = os.path.join(directory, "model.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    load = created(path, "load")
    predict = created(path, "predict")
    print(f"{label:38} load: {load[0]} threads {load[1]} processes; "
          f"load+predict: {predict[0]} threads {predict[1]} processes")


def main():
    from catboost import CatBoostClassifier
    from imblearn.ensemble import BalancedBaggingClassifier
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4))
    y = (X[:, 0] > 0.3).astype(int)
    print(f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        for threads in (8, -1, 1, None):
            model = CatBoostClassifier(iterations=20, depth=4, thread_count=threads, verbose=0,
                                       allow_writing_files=False).fit(X, y)
            measure(f"CatBoost thread_count={threads}", model, d)
        for n_jobs in (4, None):
            model = BalancedBaggingClassifier(KNeighborsClassifier(), n_estimators=8, n_jobs=n_jobs,
                                              random_state=0).fit(X, y)
            measure(f"BalancedBagging n_jobs={n_jobs}", model, d)


if __name__ == "__main__":
    main()
