"""Checks that a statistics ``.npz`` loads the way pytorch-fid loads it.

pytorch-fid (``fid_score.compute_statistics_of_path``) does::

    with np.load(path) as f:
        m, s = f['mu'][:], f['sigma'][:]

and then needs ``m`` of shape (d,) and ``s`` of shape (d, d), float64, symmetric.

Usage::

    /work/main/.venv/bin/python tools/check_npz.py STATS.npz

Exit status 0 and a one-line summary when it is fine; an assertion error otherwise.
``tests/eval.rs`` runs it on a file toongan writes when ``TOONGAN_PYTHON`` names a Python
with numpy.
"""

import sys

import numpy as np


def main(path):
    with np.load(path) as f:
        assert sorted(f.files) == ["mu", "sigma"], f.files
        m, s = f["mu"][:], f["sigma"][:]
    assert m.dtype == np.float64 and s.dtype == np.float64, (m.dtype, s.dtype)
    d = m.shape[0]
    assert m.shape == (d,) and s.shape == (d, d), (m.shape, s.shape)
    assert np.all(np.isfinite(m)) and np.all(np.isfinite(s))
    assert np.allclose(s, s.T), "sigma is not symmetric"
    print(f"{path}: mu ({d},), sigma ({d}, {d}) float64: loads as pytorch-fid loads it")


if __name__ == "__main__":
    main(sys.argv[1])
