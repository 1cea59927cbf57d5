"""FID and KID reference values from pytorch-fid and torch-fidelity on fixed feature sets.

What it makes (``--out``, default ``tests/fixtures/eval/fid_kid.npz``)
    Three cases, each with two feature sets ``<case>_a``, ``<case>_b`` (float32, rows =
    images) whose values are exactly representable in float32, so Rust and Python
    start from identical numbers:

    - ``d64``: 300 x 64 vs 260 x 64, correlated Gaussians with different means and
      covariances (well-conditioned, n > d);
    - ``d192``: 400 x 192 vs 350 x 192, one side with a low-rank-plus-noise covariance;
    - ``small``: 40 x 64 vs 50 x 64 (fewer images than dimensions: singular covariances,
      where pytorch-fid's sqrtm needs care).

    For each case:

    - ``<case>_mu_a/_sigma_a/_mu_b/_sigma_b``: ``np.mean(axis=0)`` and
      ``np.cov(rowvar=False)`` in float64 (pytorch-fid's ``calculate_activation_statistics``);
    - ``<case>_fid``: ``pytorch_fid.fid_score.calculate_frechet_distance`` (scipy
      ``linalg.sqrtm``) on those statistics;
    - ``<case>_kid_idx_a``/``_kid_idx_b``: int64 (subsets, size) row indices of the KID
      subsets (drawn here with ``np.random.RandomState(7)``, passed to Rust so both sides
      use the same subsets), and ``<case>_kid_mean``/``_kid_std``: mean and ``np.std`` of
      torch-fidelity's ``metric_kid.kernel_mmd`` (unbiased MMD², cubic polynomial kernel
      with gamma 1/d, coef0 1) over those subsets, computed in float64.

Also writes ``pytorch_fid_stats_d64.npz`` next to it: ``np.savez(mu=, sigma=)`` of case
``d64`` side a, exactly as ``pytorch_fid.fid_score.save_fid_stats`` writes statistics.

Regenerate (from the repository root)::

    /work/main/.venv/bin/python tools/make_fid_fixture.py --out tests/fixtures/eval/fid_kid.npz
"""

import argparse
import os

import numpy as np
from pytorch_fid.fid_score import calculate_frechet_distance
from torch_fidelity.metric_kid import kernel_mmd

KID_KW = dict(kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
              kid_kernel_poly_coef0=1)


def gaussian(rng, n, d, rank=None, shift=0.0, scale=1.0):
    if rank is None:
        a = rng.standard_normal((d, d)) / np.sqrt(d)
        z = rng.standard_normal((n, d)) @ a
    else:
        a = rng.standard_normal((rank, d)) / np.sqrt(rank)
        z = rng.standard_normal((n, rank)) @ a + 0.05 * rng.standard_normal((n, d))
    # Inception pool3 features are non-negative with means around 0.3-0.5.
    x = np.abs(scale * z + shift + 0.3 * rng.standard_normal(d))
    return x.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/eval/fid_kid.npz")
    args = ap.parse_args()
    rng = np.random.default_rng(42)
    cases = {
        "d64": (gaussian(rng, 300, 64), gaussian(rng, 260, 64, shift=0.2, scale=1.3), 20, 100),
        "d192": (gaussian(rng, 400, 192, rank=20), gaussian(rng, 350, 192, shift=-0.1), 10, 200),
        "small": (gaussian(rng, 40, 64), gaussian(rng, 50, 64, scale=0.7), 10, 30),
    }
    out = {}
    pick = np.random.RandomState(7)
    for name, (a, b, subsets, size) in cases.items():
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        mu_a, s_a = np.mean(a64, axis=0), np.cov(a64, rowvar=False)
        mu_b, s_b = np.mean(b64, axis=0), np.cov(b64, rowvar=False)
        fid = calculate_frechet_distance(mu_a, s_a, mu_b, s_b)
        idx_a = np.stack([pick.choice(len(a), size, replace=False) for _ in range(subsets)])
        idx_b = np.stack([pick.choice(len(b), size, replace=False) for _ in range(subsets)])
        mmds = np.array([kernel_mmd(a64[ia], b64[ib], **KID_KW) for ia, ib in zip(idx_a, idx_b)])
        out.update({
            f"{name}_a": a, f"{name}_b": b,
            f"{name}_mu_a": mu_a, f"{name}_sigma_a": s_a,
            f"{name}_mu_b": mu_b, f"{name}_sigma_b": s_b,
            f"{name}_fid": np.float64(fid),
            f"{name}_kid_idx_a": idx_a.astype(np.int64), f"{name}_kid_idx_b": idx_b.astype(np.int64),
            f"{name}_kid_mean": np.float64(mmds.mean()), f"{name}_kid_std": np.float64(mmds.std()),
        })
        print(f"{name}: FID {fid:.6f}  KID {mmds.mean():.8f} ± {mmds.std():.8f}")
    np.savez_compressed(args.out, **out)
    # A statistics file exactly as pytorch-fid's save_fid_stats writes it.
    stats = os.path.join(os.path.dirname(args.out), "pytorch_fid_stats_d64.npz")
    np.savez(stats, mu=out["d64_mu_a"], sigma=out["d64_sigma_a"])


if __name__ == "__main__":
    main()
