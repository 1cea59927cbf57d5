"""Independent float64 NumPy reference of the published CartoonGAN generator.

What it makes
    Parity fixtures for toongan's generator, in ``--out`` (default
    ``tests/fixtures/cartoongan``):

    - input crops (PNG): ``astronaut_192.png`` (centre 192x192 of astronaut.png,
      x 160-351, y 160-351), ``cat_224x148.png`` (centre 224 wide x 148 high of
      cat.png, x 113-336, y 76-223) and ``stairs_128.png`` (128x128 of
      stairs-gray.png at x 128-255, y 272-399, kept 8-bit greyscale);
    - un-quantized outputs ``<input-stem>_<style>.npy``: float32, shape (H, W, 3),
      RGB, values in [0, 1], for astronaut_192 x {hayao, shinkai},
      cat_224x148 x {hosoda, paprika}, stairs_128 x {shinkai}.

Forward pass
    Exactly the one written down in ``shared/weights/cartoongan/SOURCES.md``
    ("Forward pass", from Yijunmaverick/CartoonGAN-Test-Pytorch-Torch,
    network/Transformer.py): reflection pad 3 before conv01_1 and deconv03_1,
    reflection pad 1 before the 16 residual-block convs, zero pad 1 for all other
    3x3 convs; conv02_1/conv03_1 stride 2 without norm/relu; ConvTranspose2d
    deconv01_1/deconv02_1 with weight layout (in, out, kh, kw), stride 2, padding 1,
    output_padding 1; instance norm with the biased variance and eps 1e-9; no relu
    after the residual add; tanh at the end.  Everything is computed in float64
    with NumPy only (im2col + matmul); no deep-learning framework is imported.
    The conv and transposed conv are checked against naive loop implementations on
    tiny random cases every time the script runs (``self_check``).

Pre/post-processing for the fixtures
    PNG -> RGB uint8 (greyscale: R = G = B = grey) -> float64 / 255 -> BGR ->
    2 * v - 1 -> generator -> BGR output y in [-1, 1] -> RGB -> (y + 1) / 2 ->
    stored as float32.  No resizing: every input side is a multiple of 4, so the
    output has the input's size.

Inputs, licences, provenance
    - weights: ``shared/weights/cartoongan/<style>/<key>.npy`` (published CartoonGAN
      generators, Chen, Lai, Liu, CVPR 2018, via mnicnc404/CartoonGan-tensorflow;
      licence unclear, see that folder's SOURCES.md).  The weights are only read,
      never copied into the fixtures.
    - photos: ``shared/images/photos/`` astronaut.png (NASA, public domain),
      cat.png (Stefan van der Walt, CC0), stairs-gray.png (public domain); see
      ``shared/images/photos/SOURCES.md``.

Regenerate (from the repository root)::

    .venv/bin/python tools/ref_cartoongan.py --weights ../shared/weights/cartoongan \
        --photos ../shared/images/photos --out tests/fixtures/cartoongan

Deterministic: same inputs give byte-identical PNGs; the .npy values depend only on
float64 BLAS summation order (differences far below float32 resolution).
"""

import argparse
import os
import sys
import time

import numpy as np
from PIL import Image

EPS = 1e-9
RES_BLOCKS = ["%02d" % k for k in range(4, 12)]

# (input file, fixture stem, crop width, crop height, crop x0, crop y0, greyscale?)
# astronaut and cat: centre crops; stairs: the railing and the climbing person
# (the centre of stairs-gray.png is mostly flat wall and sky).
INPUTS = [
    ("astronaut.png", "astronaut_192", 192, 192, 160, 160, False),
    ("cat.png", "cat_224x148", 224, 148, 113, 76, False),
    ("stairs-gray.png", "stairs_128", 128, 128, 128, 272, True),
]
RUNS = [
    ("astronaut_192", "hayao"),
    ("astronaut_192", "shinkai"),
    ("cat_224x148", "hosoda"),
    ("cat_224x148", "paprika"),
    ("stairs_128", "shinkai"),
]


# ---------------------------------------------------------------- layers

def conv2d(x, w, b, stride=1):
    """Cross-correlation of an already padded x (C, H, W) with w (O, C, kh, kw)."""
    c, h, wd = x.shape
    o, c2, kh, kw = w.shape
    assert c == c2, (x.shape, w.shape)
    ho = (h - kh) // stride + 1
    wo = (wd - kw) // stride + 1
    cols = np.empty((c, kh, kw, ho, wo), dtype=np.float64)
    for u in range(kh):
        for v in range(kw):
            cols[:, u, v] = x[:, u:u + stride * (ho - 1) + 1:stride,
                              v:v + stride * (wo - 1) + 1:stride]
    out = w.reshape(o, c * kh * kw) @ cols.reshape(c * kh * kw, ho * wo)
    out += b[:, None]
    return out.reshape(o, ho, wo)


def conv_transpose2d(x, w, b):
    """ConvTranspose2d, stride 2, padding 1, output_padding 1, w (C_in, C_out, 3, 3).

    out[o, 2i-1+u, 2j-1+v] += x[c, i, j] * w[c, o, u, v]; positions outside
    [0, 2H) x [0, 2W) are dropped; then + b[o].  Output (C_out, 2H, 2W).
    """
    c, h, wd = x.shape
    c2, o, kh, kw = w.shape
    assert c == c2 and kh == 3 and kw == 3, (x.shape, w.shape)
    # buf index = output index + 1, so output -1 lands at buf 0 (dropped)
    buf = np.zeros((o, 2 * h + 1, 2 * wd + 1), dtype=np.float64)
    xf = x.reshape(c, h * wd)
    for u in range(3):
        for v in range(3):
            contrib = (w[:, :, u, v].T @ xf).reshape(o, h, wd)
            buf[:, u:u + 2 * h:2, v:v + 2 * wd:2] += contrib
    out = buf[:, 1:2 * h + 1, 1:2 * wd + 1]
    return out + b[:, None, None]


def reflpad(x, p):
    return np.pad(x, ((0, 0), (p, p), (p, p)), mode="reflect")


def zpad(x, p):
    return np.pad(x, ((0, 0), (p, p), (p, p)), mode="constant")


def instance_norm(x, scale, shift):
    n = x.shape[1] * x.shape[2]
    mean = x.sum(axis=(1, 2), keepdims=True) / n
    d = x - mean
    var = (d * d).sum(axis=(1, 2), keepdims=True) / n  # biased
    return d / np.sqrt(var + EPS) * scale[:, None, None] + shift[:, None, None]


def relu(x):
    return np.maximum(x, 0.0)


# ---------------------------------------------------------------- model

def load_weights(folder):
    p = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".npy"):
            a = np.load(os.path.join(folder, name))
            assert a.dtype == np.float32, (name, a.dtype)
            p[name[:-4]] = a.astype(np.float64)
    assert len(p) == 94, (folder, len(p))
    return p


def generator(p, x):
    """x: (3, H, W) BGR in [-1, 1], float64.  Returns (3, H', W') BGR in [-1, 1]."""
    def cv(name, t, stride=1):
        return conv2d(t, p[name + ".weight"], p[name + ".bias"], stride)

    def inorm(name, t):
        return instance_norm(t, p[name + ".scale"], p[name + ".shift"])

    y = relu(inorm("in01_1", cv("conv01_1", reflpad(x, 3))))
    y = cv("conv02_1", zpad(y, 1), stride=2)
    y = relu(inorm("in02_1", cv("conv02_2", zpad(y, 1))))
    y = cv("conv03_1", zpad(y, 1), stride=2)
    t = relu(inorm("in03_1", cv("conv03_2", zpad(y, 1))))
    for k in RES_BLOCKS:
        y = relu(inorm("in%s_1" % k, cv("conv%s_1" % k, reflpad(t, 1))))
        t = inorm("in%s_2" % k, cv("conv%s_2" % k, reflpad(y, 1))) + t
    y = conv_transpose2d(t, p["deconv01_1.weight"], p["deconv01_1.bias"])
    y = relu(inorm("in12_1", cv("deconv01_2", zpad(y, 1))))
    y = conv_transpose2d(y, p["deconv02_1.weight"], p["deconv02_1.bias"])
    y = relu(inorm("in13_1", cv("deconv02_2", zpad(y, 1))))
    return np.tanh(cv("deconv03_1", reflpad(y, 3)))


# ---------------------------------------------------------------- self-check

def naive_conv2d(x, w, b, stride):
    c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho = (h - kh) // stride + 1
    wo = (wd - kw) // stride + 1
    out = np.zeros((o, ho, wo))
    for oo in range(o):
        for i in range(ho):
            for j in range(wo):
                s = b[oo]
                for cc in range(c):
                    for u in range(kh):
                        for v in range(kw):
                            s += x[cc, i * stride + u, j * stride + v] * w[oo, cc, u, v]
                out[oo, i, j] = s
    return out


def naive_conv_transpose2d(x, w, b):
    # PyTorch definition: out[o, i*stride - padding + u] += x[c, i] * w[c, o, u];
    # output size (H-1)*stride - 2*padding + k + output_padding = 2H.
    c, h, wd = x.shape
    _, o, kh, kw = w.shape
    ho, wo = 2 * h, 2 * wd
    out = np.zeros((o, ho, wo))
    for cc in range(c):
        for i in range(h):
            for j in range(wd):
                for oo in range(o):
                    for u in range(kh):
                        for v in range(kw):
                            r, s = 2 * i - 1 + u, 2 * j - 1 + v
                            if 0 <= r < ho and 0 <= s < wo:
                                out[oo, r, s] += x[cc, i, j] * w[cc, oo, u, v]
    return out + b[:, None, None]


def self_check():
    rng = np.random.default_rng(1234)
    for (c, o, h, wd, k, stride, pad) in [(3, 4, 7, 6, 7, 1, 3), (2, 3, 5, 7, 3, 2, 1),
                                          (2, 3, 6, 6, 3, 2, 1), (3, 2, 5, 4, 3, 1, 1)]:
        x = rng.standard_normal((c, h, wd))
        w = rng.standard_normal((o, c, k, k))
        b = rng.standard_normal(o)
        for padf in (zpad, reflpad):
            xp = padf(x, pad)
            got = conv2d(xp, w, b, stride)
            want = naive_conv2d(xp, w, b, stride)
            assert got.shape == want.shape, (got.shape, want.shape)
            assert np.allclose(got, want, rtol=0, atol=1e-12), np.abs(got - want).max()
        if stride == 2:  # stride-2 zero-pad-1 3x3 conv gives ceil(H/2) x ceil(W/2)
            assert got.shape[1:] == (-(-h // 2), -(-wd // 2)), got.shape
    for (c, o, h, wd) in [(3, 2, 4, 5), (2, 4, 3, 3), (1, 1, 1, 2)]:
        x = rng.standard_normal((c, h, wd))
        w = rng.standard_normal((c, o, 3, 3))
        b = rng.standard_normal(o)
        got = conv_transpose2d(x, w, b)
        want = naive_conv_transpose2d(x, w, b)
        assert got.shape == (o, 2 * h, 2 * wd), got.shape
        assert np.allclose(got, want, rtol=0, atol=1e-12), np.abs(got - want).max()
    # reflection pad does not repeat the edge pixel
    assert reflpad(np.arange(4.0).reshape(1, 1, 4), 1)[0, 1].tolist() == [1, 0, 1, 2, 3, 2]
    # instance norm: biased variance
    x = rng.standard_normal((2, 3, 4))
    y = instance_norm(x, np.ones(2), np.zeros(2))
    assert np.allclose(y.mean(axis=(1, 2)), 0, atol=1e-12)
    assert np.allclose((y ** 2).mean(axis=(1, 2)), 1, atol=1e-6)


# ---------------------------------------------------------------- fixtures

def crop(img, cw, ch, x0, y0):
    h, w = img.shape[:2]
    assert 0 <= x0 and x0 + cw <= w and 0 <= y0 and y0 + ch <= h
    return img[y0:y0 + ch, x0:x0 + cw]


def to_input(rgb_u8):
    """(H, W, 3) RGB uint8 -> (3, H, W) BGR float64 in [-1, 1]."""
    v = rgb_u8.astype(np.float64) / 255.0
    return 2.0 * v[:, :, ::-1].transpose(2, 0, 1) - 1.0


def from_output(y):
    """(3, H, W) BGR in [-1, 1] -> (H, W, 3) RGB in [0, 1]."""
    return (y[::-1].transpose(1, 2, 0) + 1.0) / 2.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="../shared/weights/cartoongan")
    ap.add_argument("--photos", default="../shared/images/photos")
    ap.add_argument("--out", default="tests/fixtures/cartoongan")
    args = ap.parse_args()

    t0 = time.perf_counter()
    self_check()
    print("self-check ok (%.2f s)" % (time.perf_counter() - t0))

    os.makedirs(args.out, exist_ok=True)
    images = {}
    for src, stem, cw, ch, x0, y0, grey in INPUTS:
        im = Image.open(os.path.join(args.photos, src))
        if grey:
            assert im.mode == "L", im.mode
            a = np.asarray(im)
            c = crop(a, cw, ch, x0, y0)
            Image.fromarray(np.ascontiguousarray(c), "L").save(
                os.path.join(args.out, stem + ".png"))
            rgb = np.repeat(c[:, :, None], 3, axis=2)
        else:
            a = np.asarray(im.convert("RGB"))
            rgb = np.ascontiguousarray(crop(a, cw, ch, x0, y0))
            Image.fromarray(rgb, "RGB").save(os.path.join(args.out, stem + ".png"))
        # read back what was written: the PNG is the fixture input
        back = np.asarray(Image.open(os.path.join(args.out, stem + ".png")))
        if grey:
            back = np.repeat(back[:, :, None], 3, axis=2)
        assert np.array_equal(back, rgb)
        images[stem] = rgb
        print("%s: %s crop %dx%d at x=%d y=%d" % (stem, src, cw, ch, x0, y0))

    params = {}
    for stem, style in RUNS:
        if style not in params:
            params[style] = load_weights(os.path.join(args.weights, style))
        rgb = images[stem]
        t0 = time.perf_counter()
        y = generator(params[style], to_input(rgb))
        dt = time.perf_counter() - t0
        out = from_output(y)
        assert out.shape == rgb.shape, (out.shape, rgb.shape)
        assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
        path = os.path.join(args.out, "%s_%s.npy" % (stem, style))
        np.save(path, out.astype(np.float32))
        print("%s x %s: forward %.1f s, out min %.4f max %.4f mean %.4f -> %s"
              % (stem, style, dt, out.min(), out.max(), out.mean(), path))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
