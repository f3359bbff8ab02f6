#!/usr/bin/env python3
"""Writes the NumPy-made fixtures that org.gradspark.job.io's tests read.

Run once from this directory (python3 make_fixtures.py) and commit the files: the tests must
not need Python. Every array holds value(i) = (i - 5.5) / 3 at flat row-major index i, computed
in float64 and then cast, so the Java tests can recompute the expected values exactly.
"""
import os
import zipfile

import numpy as np
from numpy.lib import format as npformat

HERE = os.path.dirname(os.path.abspath(__file__))


def values(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return ((np.arange(n, dtype=np.float64) - 5.5) / 3).astype(dtype).reshape(shape)


def path(name):
    return os.path.join(HERE, name)


def save_version(name, array, version):
    with open(path(name), "wb") as f:
        npformat.write_array(f, array, version=version)


def main():
    # np.save picks version 1.0; the Java writer must reproduce these bytes exactly.
    np.save(path("f32_3x4.npy"), values((3, 4), np.float32))
    np.save(path("f64_5.npy"), values((5,), np.float64))
    np.save(path("f32_2x3x4.npy"), values((2, 3, 4), np.float32))
    np.save(path("f64_scalar.npy"), values((), np.float64))
    np.save(path("f32_0x3.npy"), values((0, 3), np.float32))

    save_version("f64_3x4_v2.npy", values((3, 4), np.float64), (2, 0))
    save_version("f32_3x4_v3.npy", values((3, 4), np.float32), (3, 0))

    # Same logical values, stored column-major (np.save of a transposed or Fortran array).
    np.save(path("f64_3x4_fortran.npy"), np.asfortranarray(values((3, 4), np.float64)))
    np.save(path("f32_2x3x4_fortran.npy"), np.asfortranarray(values((2, 3, 4), np.float32)))
    np.save(path("f32_3x4_bigendian.npy"), values((3, 4), np.float32).astype(">f4"))

    # Inputs the reader must refuse, each with a message naming the dtype.
    np.save(path("object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(path("int64.npy"), np.arange(6, dtype=np.int64).reshape(2, 3))

    weights = {
        "w0": values((3, 4), np.float32),
        "b0": values((4,), np.float32),
        "w1": values((4, 2), np.float32),
        "b1": values((2,), np.float32),
    }
    np.savez(path("weights.npz"), **weights)
    np.savez_compressed(path("weights_compressed.npz"), **weights)
    # A weight saved as the transpose of a (out, in) matrix is a Fortran-order member.
    np.savez(path("weights_transposed.npz"), w0=values((4, 3), np.float64).T, b0=values((4,), np.float64))
    np.savez(path("weights_object.npz"), w0=values((3, 4), np.float32), b0=np.array([None], dtype=object))
    with zipfile.ZipFile(path("weights_with_readme.npz"), "w") as z:
        z.writestr("w0.npy", open(path("f32_3x4.npy"), "rb").read())
        z.writestr("README.txt", "not an array\n")


if __name__ == "__main__":
    main()
