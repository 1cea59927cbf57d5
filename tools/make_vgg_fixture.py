"""Deterministic VGG19 / VGG19-BN weights in torchvision's exact file layout, and the
conv4_4 features torchvision computes with them: the parity fixture of toongan's VGG19 loader.

Regenerate (from the repository root):

    /work/main/.venv/bin/python tools/make_vgg_fixture.py --out tests/fixtures/train

What it writes
    - ``vgg19_fixture.pth.gz`` / ``vgg19_bn_fixture.pth.gz``: gzip of the ``torch.save`` of a
      state dict with every key and shape of torchvision's ``vgg19()`` / ``vgg19_bn()``
      (features and classifier, as ``vgg19-dcbb9e9d.pth`` / ``vgg19_bn-c79401a0.pth``),
      float32; the test un-gzips it to a temporary ``.pth``. Every tensor is a view
      (``torch.as_strided``) at its own offset into ONE shared storage (8 segments of 2.4M
      floats: He-uniform per fan-in, biases, a positive segment for BN weights and running
      variances, the classifier), which ``torch.save`` writes once; so the loader must honour
      storage offsets. Each segment tiles one random block of 4099 values (prime length, so
      neighbouring channels differ), which is what lets gzip shrink 77 MB to ~100 KB.
      The tensors the loader reads (features up to conv4_4) are contiguous views; the others
      (later features, classifier) have overlapping strides. burn-store 0.21's PytorchStore
      ignores strides (its ``rebuild_tensor_v2`` drops them), harmless for torchvision's files,
      whose tensors are contiguous; the strided, skipped keys show they are never read.
    - ``vgg_input.npy``: float32 (2, 3, 64, 48), deterministic, roughly ImageNet-normalized.
    - ``vgg19_conv4_4.npy`` / ``vgg19_bn_conv4_4.npy``: float32 (2, 512, 8, 6), torchvision's
      ``vgg19().features[:26]`` / ``vgg19_bn().features[:37]`` in eval mode, computed in float64
      then cast, loaded from the saved file with ``load_state_dict``.
"""
import argparse
import gzip
import io
import os

import numpy as np
import torch
import torchvision

PERIOD = 4099  # prime: a tiled random block, so deflate shrinks the file ~1000x
SEG = 2_400_000  # one segment holds the largest conv (512x512x3x3 = 2,359,296)
N_SEG = 8


def storage():
    rng = np.random.default_rng(20261126)
    block = rng.uniform(-1.0, 1.0, size=PERIOD)
    u = np.tile(block, SEG // PERIOD + 1)[:SEG]
    segs = []
    # segments 0-4: He-uniform for fan-ins 27, 576, 1152, 2304, 4608; 5: bias; 6: positive;
    # 7: classifier
    for fan_in in [27, 576, 1152, 2304, 4608]:
        segs.append(u * np.sqrt(6.0 / fan_in))
    segs.append(u * 0.1)
    segs.append(1.0 + 0.4 * u)
    segs.append(u * 0.01)
    return torch.from_numpy(np.concatenate(segs).astype(np.float32))


def view(base, shape, segment, rng, contiguous):
    """A view of `base` of `shape` inside `segment`, at a random storage offset; contiguous,
    or (for keys the loader must skip) with overlapping strides."""
    nd = len(shape)
    if contiguous:
        strides = [int(np.prod(shape[i + 1:])) for i in range(nd)]
    else:
        strides = [7, 1] if nd == 2 else [1] * nd
    extent = sum((s - 1) * st for s, st in zip(shape, strides)) + 1
    assert extent <= SEG, (shape, extent)
    off = segment * SEG + int(rng.integers(0, SEG - extent + 1))
    return torch.as_strided(base, shape, strides, off)


def fan_segment(shape):
    fan_in = int(np.prod(shape[1:]))
    return {27: 0, 576: 1, 1152: 2, 2304: 3, 4608: 4}.get(fan_in, 4)


def make_state(model, base, seed, cut):
    rng = np.random.default_rng(seed)
    state = {}
    for key, t in model.state_dict().items():
        shape = tuple(t.shape)
        parts = key.split(".")
        used = parts[0] == "features" and int(parts[1]) < cut
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(seed, dtype=torch.long)
        elif key.startswith("classifier") and key.endswith("weight"):
            state[key] = view(base, shape, 7, rng, False)
        elif len(shape) == 4:
            state[key] = view(base, shape, fan_segment(shape), rng, used)
        elif key.endswith("running_var") or (len(shape) == 1 and key.endswith("weight")):
            state[key] = view(base, shape, 6, rng, used)
        else:
            state[key] = view(base, shape, 5, rng, used)
    return state


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="tests/fixtures/train")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    base = storage()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 64, 48)).astype(np.float32)
    x += np.sin(np.arange(48) / 5.0)[None, None, None, :].astype(np.float32)
    np.save(os.path.join(args.out, "vgg_input.npy"), x)
    for name, ctor, cut, seed in [
        ("vgg19", torchvision.models.vgg19, 26, 1),
        ("vgg19_bn", torchvision.models.vgg19_bn, 37, 2),
    ]:
        model = ctor(weights=None)
        state = make_state(model, base, seed, cut)
        raw = io.BytesIO()
        torch.save(state, raw)
        path = os.path.join(args.out, f"{name}_fixture.pth.gz")
        with gzip.open(path, "wb", compresslevel=9) as f:
            f.write(raw.getvalue())
        loaded = ctor(weights=None)
        with gzip.open(path, "rb") as f:
            loaded.load_state_dict(torch.load(io.BytesIO(f.read())))
        feats = loaded.features[:cut].double().eval()
        with torch.no_grad():
            y = feats(torch.from_numpy(x).double()).float().numpy()
        print(name, os.path.getsize(path), y.shape, float(np.abs(y).mean()), float(np.abs(y).max()))
        np.save(os.path.join(args.out, f"{name}_conv4_4.npy"), y)


if __name__ == "__main__":
    main()
