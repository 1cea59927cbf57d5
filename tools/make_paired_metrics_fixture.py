#!/usr/bin/env python3
"""Reference values for toongan's paired image metrics (src/eval/delta_e.rs, src/eval/ssim.rs),
from an independent float64 implementation in plain Python (no numpy, no skimage), written
from the papers:

- CIEDE2000 colour difference: G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference
  formula: implementation notes, supplementary test data, and mathematical observations",
  Color Res. Appl. 30 (2005). Checked here against rows of that paper's test data.
- sRGB (IEC 61966-2-1) to CIELAB with the D65 white point.
- SSIM: Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
  error visibility to structural similarity", IEEE TIP 13 (2004), as its reference ssim.m:
  11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, 'valid' region, on the
  luma 0.299 R + 0.587 G + 0.114 B.

Writes tests/fixtures/paired/paired_metrics.json: small deterministic RGB image pairs (pixel
values as lists) with their mean CIEDE2000 and SSIM, plus the Sharma test rows.

    python3 tools/make_paired_metrics_fixture.py
"""
import json
import math
import os

# Rows of Sharma et al.'s test data: (L1, a1, b1), (L2, a2, b2), dE00.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, -1.1848, -84.8006), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, -0.9009, -85.5211), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, -1.0, 2.0), (50.0, 0.0, 0.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
]


def ciede2000(lab1, lab2):
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    c1 = math.hypot(a1, b1)
    c2 = math.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2.0) ** 7
    g = 0.5 * (1.0 - math.sqrt(cbar7 / (cbar7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)

    def hue(b, ap):
        if b == 0.0 and ap == 0.0:
            return 0.0
        h = math.degrees(math.atan2(b, ap))
        return h + 360.0 if h < 0.0 else h

    h1p, h2p = hue(b1, a1p), hue(b2, a2p)
    dl = l2 - l1
    dc = c2p - c1p
    if c1p * c2p == 0.0:
        dh = 0.0
    elif abs(h2p - h1p) <= 180.0:
        dh = h2p - h1p
    elif h2p - h1p > 180.0:
        dh = h2p - h1p - 360.0
    else:
        dh = h2p - h1p + 360.0
    dH = 2.0 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2.0))
    lbar = (l1 + l2) / 2.0
    cbarp = (c1p + c2p) / 2.0
    if c1p * c2p == 0.0:
        hbar = h1p + h2p
    elif abs(h1p - h2p) <= 180.0:
        hbar = (h1p + h2p) / 2.0
    elif h1p + h2p < 360.0:
        hbar = (h1p + h2p + 360.0) / 2.0
    else:
        hbar = (h1p + h2p - 360.0) / 2.0
    t = (1.0 - 0.17 * math.cos(math.radians(hbar - 30.0))
         + 0.24 * math.cos(math.radians(2.0 * hbar))
         + 0.32 * math.cos(math.radians(3.0 * hbar + 6.0))
         - 0.20 * math.cos(math.radians(4.0 * hbar - 63.0)))
    dtheta = 30.0 * math.exp(-(((hbar - 275.0) / 25.0) ** 2))
    cbarp7 = cbarp ** 7
    rc = 2.0 * math.sqrt(cbarp7 / (cbarp7 + 25.0 ** 7))
    sl = 1.0 + 0.015 * (lbar - 50.0) ** 2 / math.sqrt(20.0 + (lbar - 50.0) ** 2)
    sc = 1.0 + 0.045 * cbarp
    sh = 1.0 + 0.015 * cbarp * t
    rt = -math.sin(math.radians(2.0 * dtheta)) * rc
    return math.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dH / sh) ** 2
                     + rt * (dc / sc) * (dH / sh))


def srgb_to_lab(rgb):
    def lin(v):
        c = v / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in rgb)
    x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b
    xn, yn, zn = 0.95047, 1.0, 1.08883

    def f(t):
        d = 6.0 / 29.0
        return t ** (1.0 / 3.0) if t > d ** 3 else t / (3.0 * d * d) + 4.0 / 29.0

    fx, fy, fz = f(x / xn), f(y / yn), f(z / zn)
    return (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz))


def mean_delta_e(a, b):
    """a, b: lists of (r, g, b) pixels."""
    return sum(ciede2000(srgb_to_lab(p), srgb_to_lab(q)) for p, q in zip(a, b)) / len(a)


def ssim(a, b, w, h):
    luma = lambda img: [0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] for p in img]
    x, y = luma(a), luma(b)
    radius, sigma = 5, 1.5
    k = [math.exp(-(i * i) / (2.0 * sigma * sigma)) for i in range(-radius, radius + 1)]
    win = [[ki * kj for kj in k] for ki in k]
    total = sum(sum(r) for r in win)
    win = [[v / total for v in r] for r in win]
    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    vals = []
    for oy in range(h - 2 * radius):
        for ox in range(w - 2 * radius):
            mx = my = sxx = syy = sxy = 0.0
            for j in range(11):
                for i in range(11):
                    wt = win[j][i]
                    idx = (oy + j) * w + ox + i
                    u, v = x[idx], y[idx]
                    mx += wt * u
                    my += wt * v
                    sxx += wt * u * u
                    syy += wt * v * v
                    sxy += wt * u * v
            vx, vy, cxy = sxx - mx * mx, syy - my * my, sxy - mx * my
            vals.append(((2 * mx * my + c1) * (2 * cxy + c2))
                        / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return sum(vals) / len(vals)


def lcg(seed):
    state = seed
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield state >> 33


def image_pair(seed, w, h, mode):
    rnd = lcg(seed)
    a, b = [], []
    for yy in range(h):
        for xx in range(w):
            base = (int(120 + 100 * math.sin(xx / 3.0 + seed)),
                    int(128 + 90 * math.cos(yy / 4.0 - seed)),
                    (xx * 13 + yy * 7 + seed * 31) % 256)
            p = tuple(max(0, min(255, v)) for v in base)
            if mode == "noise":
                q = tuple(max(0, min(255, v + int(next(rnd) % 41) - 20)) for v in p)
            elif mode == "tint":
                q = (min(255, p[0] + 30), p[1], max(0, p[2] - 25))
            else:
                q = tuple(int(next(rnd) % 256) for _ in range(3))
            a.append(p)
            b.append(q)
    return a, b


def main():
    for lab1, lab2, want in SHARMA:
        got = ciede2000(lab1, lab2)
        assert abs(got - want) < 5e-5, (lab1, lab2, got, want)
    pairs = []
    for seed, (w, h), mode in [(1, (16, 13), "noise"), (2, (12, 20), "tint"), (3, (14, 14), "random")]:
        a, b = image_pair(seed, w, h, mode)
        pairs.append({
            "width": w, "height": h, "mode": mode,
            "a": [v for p in a for v in p], "b": [v for p in b for v in p],
            "mean_ciede2000": mean_delta_e(a, b), "ssim": ssim(a, b, w, h),
            "lab_a0": list(srgb_to_lab(a[0])),
        })
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "paired",
                       "paired_metrics.json")
    with open(out, "w") as fh:
        json.dump({"sharma": [[list(l1), list(l2), d] for l1, l2, d in SHARMA], "pairs": pairs}, fh)
    for p in pairs:
        print(p["mode"], p["width"], p["height"], "dE00", p["mean_ciede2000"], "ssim", p["ssim"])


if __name__ == "__main__":
    main()
