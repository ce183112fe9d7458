"""artifact's verify harness: runs inside an isolated child process, one artifact per run.

    python harness.py MODE ARTIFACT DATA ROWS OUTDIR ALLOWED_JSON

MODE is `equivalence` (parallelism pinned to one worker, every prediction method's output
saved as OUTDIR/<method>.npy for artifact to hash) or `runtime` (unpinned, as production
runs it, timings only). The artifact is loaded with joblib's unpickler restricted to the
globals artifact's static scan listed (ALLOWED_JSON, a list of [module, name]); joblib's
object arrays, which it reads with a plain pickle.load, are restricted the same way.
Progress goes to OUTDIR/result.json; anything unexpected raises, and the parent reports it.
"""

import json
import os
import pickle
import sys
import time


def fail(kind, message):
    sys.stderr.write(f"artifact-harness: {kind}: {message}\n")
    sys.exit(3)


class UnsupportedFile(Exception):
    """A file joblib reads in a way this loader does not reproduce."""


def joblib_load(path, on_global):
    """`joblib.load(path)`, with `on_global(module, name, proto)` called before every
    `find_class`, in joblib's unpickler and in the plain `pickle.load` joblib uses for
    object arrays (`proto` 3 there: those are protocol 2+ streams). `on_global` raises to
    refuse a global. Shared with scripts/differential.py, so the loader the tests trust is
    the one verify runs."""
    from joblib import numpy_pickle
    from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap

    class Joblib(numpy_pickle.NumpyUnpickler):
        def find_class(self, module, name):
            on_global(module, name, self.proto)
            return super().find_class(module, name)

    class Plain(pickle.Unpickler):
        def find_class(self, module, name):
            on_global(module, name, 3)
            return super().find_class(module, name)

    class PickleModule:
        """What joblib's object arrays call instead of pickle.load."""

        def __getattr__(self, attr):
            return getattr(pickle, attr)

        @staticmethod
        def load(file, **kwargs):
            return Plain(file, **kwargs).load()

    # joblib reads object arrays with a plain `pickle.load` of its module's `pickle`.
    original = numpy_pickle.pickle
    numpy_pickle.pickle = PickleModule()
    try:
        with open(path, "rb") as f:
            with _validate_fileobject_and_memmap(f, path, None) as (fobj, _):
                if isinstance(fobj, str):
                    raise UnsupportedFile("a joblib < 0.10 file with companion array files")
                return Joblib(path, fobj, True, mmap_mode=None).load()
    finally:
        numpy_pickle.pickle = original


def restricted_load(path, allowed):
    try:
        import joblib  # noqa: F401
    except ImportError as e:
        fail("missing-package", f"{e.name}: install joblib (pip install joblib) in this Python")

    allowed = {tuple(pair) for pair in allowed}

    def check(module, name, _proto):
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"global {module}.{name} was not in the static scan; refused")

    try:
        return joblib_load(path, check)
    except UnsupportedFile as e:
        fail("unsupported", str(e))


def read_data(path, rows):
    try:
        data = read_table(path)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure is a data error
        fail("data", f"cannot be read: {type(e).__name__}: {e}")
    if rows > 0:
        data = data[:rows]
    if len(data) == 0:
        fail("data", "has no rows")
    return data


def check_columns(model, data):
    """A sample without the model's columns cannot prove a repair: both models raise."""
    expected = getattr(model, "feature_names_in_", None)
    if expected is None or not hasattr(data, "columns"):
        return
    have = [str(c) for c in data.columns]
    missing = [str(c) for c in expected if str(c) not in set(have)]
    if missing:
        more = "..." if len(missing) > 8 else ""
        hint = " (is it ';'-separated? only ',' is read)" if len(have) == 1 and ";" in have[0] else ""
        fail("data", f"lacks the columns the model was fitted on: {missing[:8]}{more}; it has {have[:8]}{hint}")


def read_table(path):
    lower = path.lower()
    if lower.endswith(".npy"):
        import numpy as np

        data = np.load(path, allow_pickle=False)
    else:
        try:
            import pandas as pd
        except ImportError as e:
            fail("missing-package", f"{e.name}: install pandas to read {path}")
        if lower.endswith(".parquet") or lower.endswith(".pq"):
            try:
                data = pd.read_parquet(path)
            except ImportError as e:
                fail("missing-package", f"{e}: install pyarrow to read Parquet")
        else:
            data = pd.read_csv(path)
    return data


METHODS = ["predict", "predict_proba", "decision_function", "transform", "score_samples"]


def as_saveable(value):
    import numpy as np

    if hasattr(value, "toarray"):  # scipy sparse
        value = value.toarray()
    array = np.asarray(value)
    if array.dtype == object:
        array = array.astype(str)
    return np.ascontiguousarray(array)


def count_process_creation(result):
    """Counts every process Python creates from here on, however short-lived: loky,
    multiprocessing and subprocess go through _posixsubprocess.fork_exec, the fork start
    method through os.fork, the rest through os.posix_spawn(p)."""
    import _posixsubprocess

    result["processes_started"] = 0

    def started():
        result["processes_started"] += 1

    os.register_at_fork(after_in_parent=started)

    def counting(original):
        def wrapper(*args, **kwargs):
            pid = original(*args, **kwargs)
            started()
            return pid

        return wrapper

    _posixsubprocess.fork_exec = counting(_posixsubprocess.fork_exec)
    for name in ("posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, counting(getattr(os, name)))


def main():
    mode, artifact, data_path, rows, outdir, allowed_path = sys.argv[1:7]
    with open(allowed_path) as f:
        allowed = json.load(f)
    result = {"mode": mode, "methods": {}}
    if mode == "runtime":
        count_process_creation(result)

    def save():
        with open(os.path.join(outdir, "result.json"), "w") as f:
            json.dump(result, f)

    try:
        import numpy as np  # noqa: F401
    except ImportError as e:
        fail("missing-package", f"{e.name}: install numpy")
    data = read_data(data_path, int(rows))
    start = time.perf_counter()
    model = restricted_load(artifact, allowed)
    result["load_seconds"] = time.perf_counter() - start
    check_columns(model, data)
    result["class"] = f"{type(model).__module__}.{type(model).__qualname__}"
    save()

    def call(method):
        start = time.perf_counter()
        output = getattr(model, method)(data)
        return output, time.perf_counter() - start

    methods = [m for m in METHODS if callable(getattr(model, m, None))]
    if mode == "equivalence":
        try:
            import joblib
            from threadpoolctl import threadpool_limits
        except ImportError as e:
            fail("missing-package", f"{e.name}: install {e.name} (pip install {e.name})")
        with joblib.parallel_config(backend="sequential"), threadpool_limits(1):
            for method in methods:
                try:
                    output, seconds = call(method)
                except Exception as e:  # a method that does not apply to this model
                    result["methods"][method] = {"error": f"{type(e).__name__}: {e}"}
                    continue
                np.save(os.path.join(outdir, f"{method}.npy"), as_saveable(output), allow_pickle=False)
                result["methods"][method] = {"seconds": seconds}
                save()
    else:
        for method in methods:
            try:
                _, seconds = call(method)
            except Exception as e:
                result["methods"][method] = {"error": f"{type(e).__name__}: {e}"}
                continue
            result["methods"][method] = {"seconds": seconds}
            save()
    result["done"] = True
    save()


if __name__ == "__main__":
    main()
