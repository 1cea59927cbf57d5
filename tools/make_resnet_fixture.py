"""torchvision ResNet reference for toongan's ResNet feature extractor (the improved
CartoonGAN's content loss).

What it makes, in ``--out`` (default ``tests/fixtures/resnet``):

- ``resnet18.pth``, ``resnet34.pth``, ``resnet50.pth``, ``resnet101.pth``: ``torch.save(model.state_dict())``
  of ``torchvision.models.resnetNN()``, i.e. exactly the key names, shapes, dtypes and zip
  layout of the official files (``resnet18-f37072fd.pth`` ...), with deterministic
  non-trivial weights instead of the trained ones (those cannot be downloaded here).
- ``input.npy``: the input, float32 (2, 3, 64, 48), already normalized.
- ``<model>_<layer>.npy``: the features after that layer (eval mode), float32, computed
  by torchvision in float64: resnet18 after layer1, layer2 and layer3; resnet34,
  resnet50 and resnet101 after layer2.

Keeping the files small while keeping the official layout
    Every tensor is a view into a few shared storages (``torch.save`` writes a storage once
    however many views use it):

    - convolution weights the features need: contiguous views at pseudo-random, overlapping
      offsets into one float32 storage ``W`` of N(0, 1) values, just longer than the largest
      of them (this exercises storage offsets);
    - batch-norm tensors the features need: contiguous, consecutive slices of a second
      storage; weight ~ U(0.5, 1.5), bias ~ N(0, 0.2), running stats calibrated on a
      different random batch (so activations stay O(1) through 30+ blocks despite the
      unscaled weights), then perturbed (mean + N(0, 0.1)·std, var · U(0.7, 1.4)) so
      eval-mode BN is not an identity normalization on the test input;
    - every ``num_batches_tracked``: a 0-d view of one int64 storage;
    - tensors the features do NOT need (later layers, ``fc``): views into ``W`` with
      shrunken, overlapping strides (right shapes, garbage values). burn-store 0.21 ignores
      strides when it reads a ``.pth`` (its pickle reader drops them), so reading one of
      these would fail or give wrong values: the Rust test passing shows they are skipped.
      For the same reason the needed tensors are contiguous views (the official files are
      contiguous too).

Regenerate (from the repository root; about 10 s)::

    ../.venv/bin/python tools/make_resnet_fixture.py --out tests/fixtures/resnet

(or ``/work/main/.venv/bin/python``). Deterministic for a given torch/torchvision build.
"""

import argparse
import os

import numpy as np
import torch
import torchvision

LAYERS = ["layer1", "layer2", "layer3", "layer4"]
MODELS = [  # (name, constructor, layers whose output is saved)
    ("resnet18", torchvision.models.resnet18, ["layer1", "layer2", "layer3"]),
    ("resnet34", torchvision.models.resnet34, ["layer2"]),
    ("resnet50", torchvision.models.resnet50, ["layer2"]),
    ("resnet101", torchvision.models.resnet101, ["layer2"]),
]


def needed(key, last):
    """Whether the features up to ``last`` (a layer name) use this state-dict key."""
    top = key.split(".")[0]
    if top in ("conv1", "bn1"):
        return True
    return top in LAYERS and LAYERS.index(top) <= LAYERS.index(last)


def shrunk_strides(shape, budget):
    """Overlapping strides for ``shape`` whose largest offset stays below ``budget``."""
    contiguous = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
    k = int(np.ceil(int(np.prod(shape)) / budget)) + 1
    return [max(1, s // k) for s in contiguous]


def features(model, x, upto):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    out = {}
    for name in LAYERS:
        x = getattr(model, name)(x)
        out[name] = x
        if name == upto:
            return out
    return out


def build(ctor, last, seed):
    gen = torch.Generator().manual_seed(seed)
    model = ctor(weights=None)
    sd = model.state_dict()
    need = {k for k in sd if needed(k, last)}
    conv_keys = [k for k in sd if k in need and sd[k].dim() == 4]
    w_len = max(sd[k].numel() for k in conv_keys) + 4099
    W = torch.randn(w_len, generator=gen, dtype=torch.float32)
    long_store = torch.ones(1, dtype=torch.int64)

    # 1. conv weights: contiguous views at random offsets into W.
    new = {}
    for k in conv_keys:
        shape = sd[k].shape
        off = int(torch.randint(0, w_len - sd[k].numel() + 1, (1,), generator=gen))
        new[k] = W.as_strided(shape, sd[k].stride(), off)
    # 2. batch norm: affine parameters, then running stats calibrated in train mode.
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.BatchNorm2d) and name + ".weight" in need:
            c = mod.num_features
            mod.weight.data = 0.5 + torch.rand(c, generator=gen)
            mod.bias.data = 0.2 * torch.randn(c, generator=gen)
            mod.momentum = 1.0  # running stats := this batch's stats
    with torch.no_grad():
        for k in conv_keys:
            sd[k].copy_(new[k])
        model.train()
        calib = torch.randn(4, 3, 64, 48, generator=gen)
        features(model, calib, last)
    bn_vals = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.BatchNorm2d) and name + ".weight" in need:
            c = mod.num_features
            std = mod.running_var.sqrt()
            mean = mod.running_mean + 0.1 * std * torch.randn(c, generator=gen)
            var = mod.running_var * (0.7 + 0.7 * torch.rand(c, generator=gen))
            for suffix, v in [("weight", mod.weight.data), ("bias", mod.bias.data),
                              ("running_mean", mean), ("running_var", var)]:
                bn_vals.append((name + "." + suffix, v.detach().clone()))
    B = torch.cat([v for _, v in bn_vals])
    off = 0
    for k, v in bn_vals:
        new[k] = B.as_strided(v.shape, (1,), off)
        off += v.numel()
    # 3. the rest: num_batches_tracked shares one int64, unneeded tensors overlap in W.
    for k, v in sd.items():
        if k in new:
            continue
        if k.endswith("num_batches_tracked"):
            new[k] = long_store.as_strided((), (), 0)
        else:
            assert k not in need, k
            new[k] = W.as_strided(v.shape, shrunk_strides(list(v.shape), w_len), 0)
            assert new[k].storage_offset() + sum(
                (d - 1) * s for d, s in zip(v.shape, new[k].stride())) < w_len
    new = {k: new[k] for k in sd}  # same keys, same order as the official files
    model.load_state_dict(new)
    return model.eval(), new


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/resnet")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print("torch", torch.__version__, "torchvision", torchvision.__version__)
    x = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(7))
    np.save(os.path.join(args.out, "input.npy"), x.numpy())
    for i, (name, ctor, layers) in enumerate(MODELS):
        model, sd = build(ctor, layers[-1], seed=100 + i)
        path = os.path.join(args.out, name + ".pth")
        torch.save(sd, path)
        # The file reads back as the official layout, with shared storages.
        back = torch.load(path, weights_only=True)
        official = ctor(weights=None).state_dict()
        assert list(back) == list(official)
        for k in official:
            assert back[k].shape == official[k].shape and back[k].dtype == official[k].dtype, k
            assert torch.equal(back[k], sd[k]), k
        storages = {t.untyped_storage().data_ptr() for t in back.values()}
        with torch.no_grad():
            ref = features(model.double(), x.double(), layers[-1])
        for layer in layers:
            y = ref[layer].float().numpy()
            np.save(os.path.join(args.out, "%s_%s.npy" % (name, layer)), y)
            print("%-9s %-6s %-18s mean %+.3f std %.3f max|y| %.3f" % (
                name, layer, tuple(y.shape), y.mean(), y.std(), np.abs(y).max()))
        print("%-9s %d keys, %d storages, %.2f MB" % (
            name, len(back), len(storages), os.path.getsize(path) / 1e6))


if __name__ == "__main__":
    main()
