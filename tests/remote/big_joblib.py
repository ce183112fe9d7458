"""Writes a joblib file holding one float64 array of SIZE bytes: python big_joblib.py OUT SIZE.

The array comes from a memory map of a sparse file, so building a 4 GB artifact reads
no real memory; joblib writes its bytes inline after the pickle's NumpyArrayWrapper.
"""

import sys
import tempfile

import joblib
import numpy as np


def main() -> None:
    out, size = sys.argv[1], int(sys.argv[2])
    with tempfile.NamedTemporaryFile() as backing:
        backing.truncate(size)
        array = np.memmap(backing.name, dtype=np.float64, mode="r", shape=(size // 8,))
        joblib.dump({"weights": np.asarray(array), "n_jobs": 14}, out)


if __name__ == "__main__":
    main()
