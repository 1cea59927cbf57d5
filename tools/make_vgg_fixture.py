"""Deterministic VGG19 / VGG19-BN weights in torchvision's exact file layout, and the
conv4_4 features torchvision computes with them: the parity fixture of toongan's VGG19 loader.

Regenerate (from the repository root):

    /work/main/.venv/bin/python tools/make_vgg_fixture.py --out tests/fixtures/train

What it writes
    - ``vgg19_fixture.pth`` / ``vgg19_bn_fixture.pth``: ``torch.save`` of a state dict with
      every key and shape of torchvision's ``vgg19()`` / ``vgg19_bn()`` (features and
      classifier, as ``vgg19-dcbb9e9d.pth`` / ``vgg19_bn-c79401a0.pth``), float32. To keep the
      files small every tensor is a view (``torch.as_strided`` with a storage offset and
      overlapping strides) into ONE shared storage of 2**19 floats, which ``torch.save`` writes
      once; so the loader must honour storage offsets and strides. The storage holds segments
      scaled for each fan-in (He-uniform), a bias segment and a positive segment (BN weight and
      running variance), so activations stay O(1) through conv4_4.
    - ``vgg_input.npy``: float32 (2, 3, 64, 48), deterministic, roughly ImageNet-normalized.
    - ``vgg19_conv4_4.npy`` / ``vgg19_bn_conv4_4.npy``: float32 (2, 512, 8, 6), torchvision's
      ``vgg19().features[:26]`` / ``vgg19_bn().features[:37]`` in eval mode, computed in float64
      then cast, loaded from the saved file with ``load_state_dict``.
"""
import argparse
import os

import numpy as np
import torch
import torchvision

N = 1 << 19
SEG = N // 8


def storage():
    rng = np.random.default_rng(20261126)
    u = rng.uniform(-1.0, 1.0, size=N)
    segs = []
    # segments 0-4: He-uniform for fan-ins 27, 576, 1152, 2304, 4608; 5: bias; 6: positive; 7: classifier
    for fan_in in [27, 576, 1152, 2304, 4608]:
        segs.append(np.sqrt(6.0 / fan_in))
    scale = np.ones(N)
    for k, a in enumerate(segs):
        scale[k * SEG:(k + 1) * SEG] = a
    scale[5 * SEG:6 * SEG] = 0.1
    scale[7 * SEG:] = 0.01
    v = u * scale
    v[6 * SEG:7 * SEG] = 1.0 + 0.4 * u[6 * SEG:7 * SEG]
    return torch.from_numpy(v.astype(np.float32))


def view(base, shape, segment, rng):
    """A view of `base` of `shape` inside `segment`, with overlapping strides."""
    nd = len(shape)
    strides = [1] * nd
    prime = [1, 5, 37, 173][-nd:] if nd <= 4 else None
    if nd == 1:
        strides = [1]
    elif nd == 2:
        strides = [7, 1]
    else:
        strides = prime
    extent = sum((s - 1) * st for s, st in zip(shape, strides)) + 1
    assert extent <= SEG, (shape, extent)
    off = segment * SEG + int(rng.integers(0, SEG - extent + 1))
    return torch.as_strided(base, shape, strides, off)


def fan_segment(shape):
    fan_in = int(np.prod(shape[1:]))
    return {27: 0, 576: 1, 1152: 2, 2304: 3, 4608: 4}.get(fan_in, 4)


def make_state(model, base, seed):
    rng = np.random.default_rng(seed)
    state = {}
    for key, t in model.state_dict().items():
        shape = tuple(t.shape)
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(seed, dtype=torch.long)
        elif key.startswith("classifier") and key.endswith("weight"):
            state[key] = view(base, shape, 7, rng)
        elif len(shape) == 4:
            state[key] = view(base, shape, fan_segment(shape), rng)
        elif key.endswith("running_var") or (len(shape) == 1 and key.endswith("weight")):
            state[key] = view(base, shape, 6, rng)
        else:
            state[key] = view(base, shape, 5, rng)
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
        state = make_state(model, base, seed)
        path = os.path.join(args.out, f"{name}_fixture.pth")
        torch.save(state, path)
        loaded = ctor(weights=None)
        loaded.load_state_dict(torch.load(path))
        feats = loaded.features[:cut].double().eval()
        with torch.no_grad():
            y = feats(torch.from_numpy(x).double()).float().numpy()
        print(name, os.path.getsize(path), y.shape, float(np.abs(y).mean()), float(np.abs(y).max()))
        np.save(os.path.join(args.out, f"{name}_conv4_4.npy"), y)


if __name__ == "__main__":
    main()
