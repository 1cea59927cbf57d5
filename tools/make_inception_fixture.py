"""Deterministic FID-Inception weights and pytorch-fid's features on them.

What it makes (in ``--out``, default ``tests/fixtures/eval``)
    - ``pt_inception_test.pth``: a state_dict with exactly the keys, shapes and
      dtypes of pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (the network
      of ``pytorch_fid.inception.fid_inception_v3()``: torchvision's Inception3 with
      1008 classes, no aux head, FIDInceptionA/C/E_1/E_2 blocks), written by
      ``torch.save`` in the legacy (pre-1.6, non-zip) serialization, like a file
      published in 2019, without ``num_batches_tracked`` buffers.
      To keep the file small, every conv weight is a contiguous view (its own
      storage offset) into ONE shared float32 storage of ~1.55M values (torch.save
      keeps views of one storage as one storage, so the loader must honour storage
      offsets); ``fc.weight`` is an overlapping strided view of the same storage.
      BatchNorm parameters and running statistics are small separate tensors,
      calibrated so activations stay O(1) through the 94 conv layers, then
      perturbed so that none is trivial (running_var != 1, running_mean != 0).
    - ``inception_input_{i}.png``: deterministic RGB test images of sizes
      299x299, 120x90 and 400x333 (width x height), so that pytorch-fid's bilinear
      resize (align_corners=False) upsamples and downsamples.
    - ``inception_features.npz``: for each image ``i`` (in file order) the
      features pytorch-fid's ``InceptionV3([0, 1, 2, 3], resize_input=True,
      normalize_input=True)`` returns, global-average-pooled to vectors for blocks
      0-2 (64, 192, 768) exactly as ``pytorch_fid.fid_score`` does for dims < 2048
      (``adaptive_avg_pool2d(pred, (1, 1))``), and the pool3 vector (2048): arrays
      ``f64``, ``f192``, ``f768``, ``f2048``, float32, shape (3, dims).

How pytorch-fid is run
    ``pytorch_fid.inception.load_state_dict_from_url`` is replaced by a function
    returning ``torch.load(pt_inception_test.pth)``, so pytorch-fid's own
    ``InceptionV3``/``fid_inception_v3`` code builds and loads the network.
    Images are read as pytorch-fid's ImagePathDataset does (PIL, RGB,
    ``ToTensor``: uint8/255), one at a time (they differ in size), float32, CPU.

Regenerate (from the repository root)::

    /work/main/.venv/bin/python tools/make_inception_fixture.py --out tests/fixtures/eval

Deterministic: fixed seeds; re-running gives the same weights and images
(features may differ in the last float32 bits with another torch build).
"""

import argparse
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import pytorch_fid.inception as pfi

SHARED = 1_548_288  # largest conv weight (448 -> 384, 3x3) fits as one contiguous view
SIZES = [(299, 299), (120, 90), (400, 333)]  # (width, height)


def build_state_dict(seed=1234):
    """Returns a state_dict in the published file's layout, with deterministic values."""
    torch.manual_seed(seed)
    # Build pytorch-fid's network without its download: the same construction as
    # fid_inception_v3() minus load_state_dict.
    net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pfi.FIDInceptionE_1(1280)
    net.Mixed_7c = pfi.FIDInceptionE_2(2048)
    net.eval()

    gen = torch.Generator().manual_seed(seed)
    shared = torch.rand(SHARED, generator=gen, dtype=torch.float32) * 2 - 1
    convs = [(n, m) for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    for name, conv in convs:
        shape = tuple(conv.weight.shape)
        numel = int(np.prod(shape))
        offset = int(torch.randint(0, SHARED - numel + 1, (1,), generator=gen))
        strides = tuple(int(np.prod(shape[i + 1:])) for i in range(len(shape)))
        view = torch.as_strided(shared, shape, strides, offset)
        conv.weight = torch.nn.Parameter(view, requires_grad=False)
    # fc (1008 x 2048, unused for features): overlapping rows of the shared storage.
    net.fc.weight = torch.nn.Parameter(
        torch.as_strided(shared, (1008, 2048), (1013, 1), 17), requires_grad=False)
    net.fc.bias = torch.nn.Parameter(
        torch.as_strided(shared, (1008,), (1,), 4321), requires_grad=False)

    # Calibrate each BatchNorm on a deterministic batch so activations stay O(1),
    # then perturb, so every statistic is non-trivial.
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        c = bn.num_features
        bn.weight.data = 0.6 + 0.8 * torch.rand(c, generator=gen)
        bn.bias.data = 0.4 * torch.rand(c, generator=gen) - 0.1

    def calibrate(module, inputs):
        x = inputs[0]
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        c = mean.numel()
        module.running_mean.data = mean + 0.1 * var.sqrt() * (torch.rand(c, generator=gen) - 0.5)
        module.running_var.data = var * (0.7 + 0.6 * torch.rand(c, generator=gen)) + 1e-3

    hooks = [bn.register_forward_pre_hook(calibrate) for bn in bns]
    calib = torch.rand(4, 3, 299, 299, generator=gen) * 2 - 1
    with torch.no_grad():
        net(calib)
    for h in hooks:
        h.remove()

    sd = net.state_dict()
    out = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    return out


def make_images(out_dir, seed=99):
    rng = np.random.default_rng(seed)
    paths = []
    for i, (w, h) in enumerate(SIZES):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        r = 0.5 + 0.5 * np.sin(xx / (7 + 3 * i)) * np.cos(yy / 11)
        g = (xx + 2 * yy) / (w + 2 * h)
        b = 0.5 + 0.4 * np.sin((xx - yy) / 5.0 + i)
        img = np.stack([r, g, b], axis=-1) + 0.15 * rng.standard_normal((h, w, 3))
        img = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
        path = os.path.join(out_dir, f"inception_input_{i}.png")
        Image.fromarray(img, "RGB").save(path)
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/eval")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    weights = os.path.join(args.out, "pt_inception_test.pth")
    torch.save(build_state_dict(), weights, _use_new_zipfile_serialization=False)

    pfi.load_state_dict_from_url = lambda *a, **k: torch.load(weights)
    model = pfi.InceptionV3([0, 1, 2, 3], resize_input=True, normalize_input=True)
    model.eval()
    feats = {64: [], 192: [], 768: [], 2048: []}
    for path in make_images(args.out):
        img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        x = torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            outs = model(x)
        for dims, o in zip([64, 192, 768, 2048], outs):
            if o.shape[2] != 1 or o.shape[3] != 1:
                o = F.adaptive_avg_pool2d(o, output_size=(1, 1))
            feats[dims].append(o.squeeze(3).squeeze(2)[0].numpy())
    arrays = {f"f{d}": np.stack(v).astype(np.float32) for d, v in feats.items()}
    np.savez(os.path.join(args.out, "inception_features.npz"), **arrays)
    for k, v in arrays.items():
        print(k, v.shape, "mean", float(v.mean()), "std", float(v.std()))
    print("weights", weights, os.path.getsize(weights), "bytes")


if __name__ == "__main__":
    main()
