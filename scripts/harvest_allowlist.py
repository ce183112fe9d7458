#!/usr/bin/env python3
"""Harvests the exact allowlist of `artifact check`: every (module, qualname) pair that the ML
libraries our users ship actually pickle, as CPython's unpickler resolves it.

The corpus is ours (made here, from the pinned libraries), so loading it is safe: each file is
loaded with a recording `find_class` by the C unpickler (`pickle.load`, protocols 0-5) and by
joblib's own unpickler (`joblib.load`, raw and compressed). Names are recorded after
`_compat_pickle`'s renames (what protocol 0-2 files really import).

The corpus: every scikit-learn estimator that fits on generic data (scripts/differential.py),
XGBoost, LightGBM, CatBoost, imbalanced-learn, pandas and numpy values of every common dtype,
scipy sparse matrices and frozen distributions, cloudpickle's by-value functions and classes.

Writes src/rules/data/allowlist.tsv. Needs the pinned environment of fixtures/requirements.txt
(scripts/test.sh creates it in .venv):

    .venv/bin/python scripts/harvest_allowlist.py
"""

import _compat_pickle
import io
import os
import pickle
import sys
import tempfile
import warnings

import joblib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "src", "rules", "data", "allowlist.tsv")
sys.path.insert(0, HERE)
import differential  # noqa: E402

warnings.filterwarnings("ignore")


def resolved(module, name, proto):
    """What `find_class` imports: `_compat_pickle`'s renames apply below protocol 3."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            return _compat_pickle.NAME_MAPPING[(module, name)]
        if module in _compat_pickle.IMPORT_MAPPING:
            return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


def record_pickle(data, seen):
    # The C unpickler does not expose its protocol; our own streams have one PROTO, first.
    proto = data[1] if data[:1] == b"\x80" else 0

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            seen.add(resolved(module, name, proto))
            return super().find_class(module, name)

    Recording(io.BytesIO(data)).load()


def record_joblib(path, seen):
    differential.recording_joblib_load(path, lambda module, name, proto: seen.add(resolved(module, name, proto)))


def values():
    """Plain data values models carry: numpy, pandas, scipy."""
    import pandas as pd
    import scipy.sparse as sp
    import scipy.stats as st

    out = []
    dtypes = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?", "c8", "c16",
              "U5", "S5", "O", "M8[ns]", "m8[s]", [("a", "i4"), ("b", "f8")]]
    for dt in dtypes:
        out.append(("ndarray", np.zeros(3, dtype=dt)))
    out.append(("scalars", [np.float64(1), np.int64(1), np.bool_(True), np.float32(1), np.str_("a"),
                            np.datetime64("2020-01-01"), np.timedelta64(1, "s"), np.dtype("f8"),
                            np.dtype([("a", "i4")])]))
    out.append(("random", [np.random.RandomState(0), np.random.default_rng(0), np.random.MT19937(0),
                           np.random.PCG64(0), np.random.Philox(0), np.random.SFC64(0)]))
    out.append(("masked", np.ma.masked_array([1, 2], mask=[0, 1])))
    out.append(("matrix", np.asmatrix(np.eye(2))))
    df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": pd.Categorical(["u", "v"]),
                       "d": pd.to_datetime(["2020-01-01", "2020-01-02"]), "e": [True, False],
                       "f": pd.array([1, None], dtype="Int64"), "g": pd.array(["p", None], dtype="string")})
    out.append(("pandas", [df, df["a"], df.index, pd.RangeIndex(3), pd.Index(["a"]), pd.MultiIndex.from_tuples([(1, 2)]),
                           pd.Timestamp("2020-01-01"), pd.Timedelta("1s"), pd.Interval(0, 1), pd.Period("2020-01"),
                           pd.CategoricalDtype(["a"]), pd.DatetimeIndex(["2020-01-01"]), pd.NA, pd.NaT]))
    m = np.eye(3)
    out.append(("sparse", [sp.csr_matrix(m), sp.csc_matrix(m), sp.coo_matrix(m), sp.lil_matrix(m), sp.dok_matrix(m),
                           sp.bsr_matrix(m), sp.dia_matrix(m), sp.csr_array(m), sp.csc_array(m), sp.coo_array(m)]))
    out.append(("distributions", [st.uniform(0, 1), st.randint(1, 5), st.loguniform(1e-3, 1), st.norm(), st.expon()]))
    import collections
    import datetime
    import decimal
    import fractions

    out.append(("stdlib", [collections.OrderedDict(a=1), collections.defaultdict(list), collections.Counter("ab"),
                           collections.deque([1]), datetime.datetime(2020, 1, 1), datetime.date(2020, 1, 1),
                           datetime.timedelta(1), datetime.timezone.utc, decimal.Decimal("1.5"), fractions.Fraction(1, 3),
                           slice(1, 2), range(3), complex(1, 2), frozenset([1]), set([1]), bytearray(b"a")]))
    return out


def extra_models():
    """Models beyond scikit-learn's own estimators: boosters in pipelines, imblearn, search objects."""
    import catboost
    import imblearn
    import lightgbm
    import pandas as pd
    import scipy.stats as st
    import xgboost
    from imblearn.ensemble import BalancedBaggingClassifier, BalancedRandomForestClassifier, EasyEnsembleClassifier
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.pipeline import Pipeline as ImbPipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor, make_column_selector
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import fbeta_score, make_scorer
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
    from sklearn.utils import Bunch

    X, y = differential.data()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["cat"] = np.where(y > 0, "p", "q")
    ct = ColumnTransformer([("num", StandardScaler(), ["a", "b", "c", "d"]), ("cat", OneHotEncoder(), ["cat"])])
    out = [
        ("catboost", catboost.CatBoostClassifier(iterations=3, depth=2, thread_count=2, verbose=0, allow_writing_files=False).fit(X, y)),
        ("catboost_regressor", catboost.CatBoostRegressor(iterations=3, depth=2, verbose=0, allow_writing_files=False).fit(X, y)),
        ("catboost_pipeline", Pipeline([("ct", ct), ("cb", catboost.CatBoostClassifier(iterations=3, verbose=0, allow_writing_files=False))]).fit(df, y)),
        ("xgb_pipeline", Pipeline([("ct", ct), ("xgb", xgboost.XGBClassifier(n_estimators=3, n_jobs=2))]).fit(df, y)),
        ("xgb_regressor", xgboost.XGBRegressor(n_estimators=3).fit(X, y)),
        ("xgb_ranker", xgboost.XGBRFClassifier(n_estimators=3).fit(X, y)),
        ("xgb_booster", xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, y), 2)),
        ("lgbm_pipeline", Pipeline([("ct", ct), ("lgbm", lightgbm.LGBMClassifier(n_estimators=3, verbose=-1))]).fit(df, y)),
        ("lgbm_regressor", lightgbm.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, y)),
        ("lgbm_booster", lightgbm.train({"verbose": -1}, lightgbm.Dataset(X, y), 2)),
        ("imblearn", ImbPipeline([("smote", SMOTE()), ("under", RandomUnderSampler()), ("over", RandomOverSampler()),
                                  ("clf", LogisticRegression())]).fit(X, y)),
        ("imblearn_ensembles", [BalancedBaggingClassifier(n_estimators=2, n_jobs=2).fit(X, y),
                                BalancedRandomForestClassifier(n_estimators=2).fit(X, y),
                                EasyEnsembleClassifier(n_estimators=2).fit(X, y)]),
        ("randomized_search", RandomizedSearchCV(LogisticRegression(), {"C": st.loguniform(1e-2, 1)}, n_iter=2, cv=2).fit(X, y)),
        ("grid_search", GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=2).fit(X, y)),
        ("function_transformer", FunctionTransformer(np.log1p).fit(X)),
        ("scored_search", GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=2,
                                       scoring={"auc": "roc_auc", "f2": make_scorer(fbeta_score, beta=2)},
                                       refit="auc").fit(X, y)),
        ("scorer", make_scorer(fbeta_score, beta=2)),
        ("target_transform", TransformedTargetRegressor(func=np.log1p, inverse_func=np.expm1).fit(X, X[:, 0])),
        ("column_selector", ColumnTransformer([("num", StandardScaler(), make_column_selector(dtype_include=np.number)),
                                               ("cat", OneHotEncoder(handle_unknown="ignore"),
                                                make_column_selector(dtype_include=object))]).fit(df)),
        ("bunch", Bunch(a=1, b=np.zeros(2))),
    ]
    print(f"catboost {catboost.__version__}, imblearn {imblearn.__version__}", file=sys.stderr)
    return out


def cloudpickled():
    """cloudpickle's by-value reconstructors: a lambda, a closure, a local class."""
    import cloudpickle
    from sklearn.preprocessing import FunctionTransformer

    scale = 2.0

    class Local:
        def __init__(self):
            self.k = 1

        def f(self, x):
            return x * scale

    return [cloudpickle.dumps(FunctionTransformer(lambda x: np.log1p(x) * scale), protocol=p) for p in (2, 4, 5)] + [
        cloudpickle.dumps(Local(), protocol=5)
    ]


def main():
    models, exceptions = differential.corpus(1)
    models += extra_models() + values()
    seen = set()
    tmp = tempfile.mkdtemp(prefix="artifact-harvest-")
    for name, model in models:
        for proto in range(6):
            record_pickle(pickle.dumps(model, protocol=proto), seen)
        path = os.path.join(tmp, f"{name}.joblib")
        joblib.dump(model, path)
        record_joblib(path, seen)
        joblib.dump(model, path + ".z", compress=3)
        record_joblib(path + ".z", seen)
    for data in cloudpickled():
        record_pickle(data, seen)
    fixtures = os.path.join(ROOT, "fixtures", "artifacts")
    benign = [f for f in sorted(os.listdir(fixtures)) if not f.startswith(("sec_", "prt_"))]
    for f in benign:
        record_joblib(os.path.join(fixtures, f), seen)
    # numpy 2 still loads numpy 1's spelling of its own modules (numpy.core is an alias package).
    for module, name in list(seen):
        if module.startswith("numpy._core"):
            seen.add(("numpy.core" + module[len("numpy._core"):], name))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("# Generated by scripts/harvest_allowlist.py; do not edit. module<TAB>qualname\n")
        for module, name in sorted(seen):
            f.write(f"{module}\t{name}\n")
    print(f"{len(seen)} globals from {len(models)} models and values ({len(exceptions)} estimators not fittable)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
