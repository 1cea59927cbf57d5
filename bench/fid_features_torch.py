"""pytorch-fid feature extraction speed, the PyTorch side of docs/eval.md's benchmark.

Runs pytorch-fid's own ``InceptionV3([3])`` (resize_input, normalize_input) on the
deterministic test weights ``tests/fixtures/eval/pt_inception_test.pth`` (same file the
Rust side loads) over every image directly in a folder, the way toongan does: decode
(PIL, RGB, /255), bilinear resize to 299x299 (``F.interpolate``, align_corners=False)
per image, batches of ``--batch-size``, 2048-d pool3 features. Prints images/second
(decode included, model load excluded) and the torch thread count. With
``--save-stats OUT.npz`` it also writes pytorch-fid-style statistics, to compare with
``toongan fid --save-stats`` on the same folder (``toongan fid A.npz B.npz`` ≈ 0).

Usage (from the repository root)::

    /work/main/.venv/bin/python bench/fid_features_torch.py /work/shared/images/photos \
        --batch-size 8
"""

import argparse
import glob
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import pytorch_fid.inception as pfi

EXTS = {"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--weights", default="tests/fixtures/eval/pt_inception_test.pth")
    ap.add_argument("--save-stats", help="also write mu/sigma (np.savez, as pytorch-fid) here")
    args = ap.parse_args()
    pfi.load_state_dict_from_url = lambda *a, **k: torch.load(args.weights)
    model = pfi.InceptionV3([3]).eval()
    files = sorted(p for p in glob.glob(os.path.join(args.folder, "*"))
                   if p.rsplit(".", 1)[-1].lower() in EXTS)
    t0 = time.perf_counter()
    feats, batch = [], []

    def flush():
        with torch.no_grad():
            feats.append(model(torch.cat(batch))[0].squeeze(3).squeeze(2).numpy())
        batch.clear()

    for p in files:
        img = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0
        x = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0)
        batch.append(F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False))
        if len(batch) == args.batch_size:
            flush()
    if batch:
        flush()
    dt = time.perf_counter() - t0
    n = sum(len(f) for f in feats)
    print(f"pytorch-fid: {n} images in {dt:.2f} s = {n / dt:.2f} images/s "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size})")
    if args.save_stats:
        act = np.concatenate(feats).astype(np.float64)
        np.savez(args.save_stats, mu=np.mean(act, axis=0), sigma=np.cov(act, rowvar=False))


if __name__ == "__main__":
    main()
