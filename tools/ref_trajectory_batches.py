"""The batch sequence of toongan's trajectory-parity tests (`tests/trajectory.rs`): both the
PyTorch reference loops (`tools/ref_cartoongan_trajectory.py`, `tools/ref_cyclegan_trajectory.py`)
and toongan (`train::ReplayBatches`) train on exactly these batches, in this order, so
neither side's data pipeline decides what is trained on.

Regenerate (from the repository root; then rerun both trajectory scripts):

    python3 tools/ref_trajectory_batches.py --out tests/fixtures/trajectory

Writes ``batches.safetensors``: ``photos``, ``cartoons``, ``smoothed``, each uint8 of shape
[30, 2, 3, 24, 24] (30 batches of 2 RGB images, 8-bit as decoded images are; both sides map a
value v to v / 127.5 - 1 in float32), and the metadata ``steps_per_epoch`` = 5 (batch k is
step k % 5 of epoch k // 5). Photos are smooth coloured waves with noise; cartoons flat
colour regions with hard edges and a little noise; "smoothed" is each cartoon blurred with a
3x3 box filter (edge-replicated), standing in for CartoonGAN's edge smoothing.
"""
import argparse
import os

import numpy as np
from safetensors.numpy import save_file

BATCHES, N, SIZE, STEPS_PER_EPOCH = 30, 2, 24, 5


def photo(rng):
    yy, xx = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    f = rng.uniform(0.15, 0.6, size=(3, 2))
    phase = rng.uniform(0, 2 * np.pi, size=3)
    img = np.stack([np.sin(f[c, 0] * xx + f[c, 1] * yy + phase[c]) for c in range(3)])
    img = 0.8 * img + 0.15 * rng.standard_normal(img.shape)
    return np.clip(np.round((img + 1) * 127.5), 0, 255).astype(np.uint8)


def cartoon(rng):
    yy, xx = np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij")
    f = rng.uniform(0.1, 0.4, size=2)
    regions = (np.sin(f[0] * xx + rng.uniform(0, 6)) + np.cos(f[1] * yy + rng.uniform(0, 6)) > 0)
    colours = rng.integers(20, 236, size=(2, 3))
    img = np.where(regions[None], colours[0][:, None, None], colours[1][:, None, None])
    img = img + rng.integers(-6, 7, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def box_blur(img):
    padded = np.pad(img.astype(np.float64), [(0, 0), (1, 1), (1, 1)], mode="edge")
    out = sum(padded[:, dy:dy + SIZE, dx:dx + SIZE] for dy in range(3) for dx in range(3)) / 9
    return np.round(out).astype(np.uint8)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="tests/fixtures/trajectory")
    args = p.parse_args()
    rng = np.random.default_rng(20261203)
    photos = np.stack([np.stack([photo(rng) for _ in range(N)]) for _ in range(BATCHES)])
    cartoons = np.stack([np.stack([cartoon(rng) for _ in range(N)]) for _ in range(BATCHES)])
    smoothed = np.stack([np.stack([box_blur(c) for c in b]) for b in cartoons])
    os.makedirs(args.out, exist_ok=True)
    save_file({"photos": photos, "cartoons": cartoons, "smoothed": smoothed},
              os.path.join(args.out, "batches.safetensors"),
              metadata={"steps_per_epoch": str(STEPS_PER_EPOCH)})
    print(f"{BATCHES} batches of {N}x3x{SIZE}x{SIZE}, {STEPS_PER_EPOCH} per epoch")


def load(path):
    """The batches as float64 tensors in [-1, 1], each value rounded as toongan's float32
    `v / 127.5 - 1` is (for the reference loops)."""
    import torch
    from safetensors.numpy import load_file

    data = load_file(path)
    return [tuple(torch.from_numpy((data[k][i].astype(np.float32) / np.float32(127.5)
                                    - np.float32(1.0)).astype(np.float64))
                  for k in ("photos", "cartoons", "smoothed"))
            for i in range(data["photos"].shape[0])]


if __name__ == "__main__":
    main()
