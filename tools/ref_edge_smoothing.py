"""OpenCV reference for CartoonGAN's edge smoothing (its data preprocessing).

What it makes
    Parity fixtures in ``--out`` (default ``tests/fixtures/edge_smoothing``) for
    toongan's edge-smoothing step.  For each of 5 inputs (4 photo crops and one
    synthetic cartoon-like drawing), all 256x256:

    - ``<name>.png``           input, RGB uint8 (the fixture input: read it back, not the photo)
    - ``<name>_edges.png``     ``cv2.Canny(gray, 100, 200)``, greyscale uint8 0/255
    - ``<name>_dilated.png``   edges dilated with a 5x5 square of ones, uint8 0/255
    - ``<name>_smoothed.png``  RGB uint8: the input where dilated == 0, the 5x5
                               Gaussian blur of the input where dilated != 0

The spec (what toongan matches), on an RGB uint8 image already 256x256::

    gray    = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)          # RGB data, RGB2GRAY
    edges   = cv2.Canny(gray, 100, 200)                       # aperture 3, L1 gradient
    dilated = cv2.dilate(edges, np.ones((5, 5), np.uint8))    # 1 iteration, anchor centre
    blurred = cv2.GaussianBlur(img, (5, 5), 0)                # [1,4,6,4,1]/16 separable, BORDER_REFLECT_101
    out     = np.where(dilated[..., None] != 0, blurred, img)

    This follows, in spirit, the widely copied ``edge_promoting.py`` of
    znxlwm/pytorch-CartoonGAN (a re-implementation; the CartoonGAN authors
    released test code only).  It differs in two places where the spec above
    is the one toongan follows: (1) it takes the grey image from
    ``cv2.imread(path, 0)`` and resizes it separately, instead of converting the
    resized colour image; (2) it blurs in a Python loop with the float kernel
    ``getGaussianKernel(5, 0)`` outer product and stores the sum into uint8,
    i.e. floor(S / 256) (truncation), where cv2.GaussianBlur rounds,
    (S + 128) >> 8: about half of the blurred channel values are one level
    lower there (measured on these fixtures: 46-50 %, never more than 1).

    Every run also checks, with asserts, plain NumPy re-implementations of each
    OpenCV call against OpenCV on every fixture, so the exact integer rules the
    Rust side must follow are written down here (see ``np_gray``, ``np_canny``,
    ``np_dilate``, ``np_gaussian5``).  If OpenCV changes behaviour, the asserts fire.

Inputs, licences, provenance (``shared/images/photos/``, see its SOURCES.md)
    - astronaut.png: NASA, public domain.  Whole 512x512 image, cv2.resize to
      256x256 with INTER_AREA.
    - cat.png: Stefan van der Walt, CC0.  Centre 300x300 (x 75-374), INTER_AREA to 256.
    - coffee.jpg: Rachel Michetti (courtesy Pikolo Espresso Bar), CC0.  Centre
      400x400 (x 100-499), INTER_AREA to 256.
    - raccoon.jpg: unknown author, public domain.  Centre 768x768 (x 128-895),
      INTER_AREA to 256.
    - cartoon: synthetic, drawn here with cv2 primitives (flat colour regions with
      black outlines, some anti-aliased); no third-party content.

Regenerate (from the repository root)::

    .venv/bin/python tools/ref_edge_smoothing.py --photos ../shared/images/photos \
        --out tests/fixtures/edge_smoothing

Deterministic for a given OpenCV build (the version is printed and recorded in the
fixture README).
"""

import argparse
import os

import cv2
import numpy as np
from PIL import Image

SIZE = 256

# (fixture name, photo file, crop (x0, y0, w, h) or None for the whole image)
PHOTOS = [
    ("astronaut", "astronaut.png", None),
    ("cat", "cat.png", (75, 0, 300, 300)),
    ("coffee", "coffee.jpg", (100, 0, 400, 400)),
    ("raccoon", "raccoon.jpg", (128, 0, 768, 768)),
]


# ---------------------------------------------------------------- the spec

def edge_smooth(img):
    """img: (256, 256, 3) RGB uint8.  Returns (edges, dilated, smoothed)."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(gray, 100, 200)
    dilated = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    blurred = cv2.GaussianBlur(img, (5, 5), 0)
    out = np.where(dilated[:, :, None] != 0, blurred, img)
    return gray, edges, dilated, blurred, out


# ---------------------------------------------------------------- NumPy re-implementations

def np_gray(img):
    """COLOR_RGB2GRAY on uint8 in OpenCV 5.0.0: fixed point,
    (9798 R + 19235 G + 3735 B + 2^14) >> 15 (checked exhaustively on all 2^24
    colours).  The 14-bit rule (4899, 9617, 1868, >> 14) differs by one level on
    43,864 of the 2^24 colours, so the exact rule is version dependent."""
    r, g, b = (img[:, :, k].astype(np.int64) for k in range(3))
    return ((9798 * r + 19235 * g + 3735 * b + (1 << 14)) >> 15).astype(np.uint8)


def np_gaussian5(img):
    """GaussianBlur (5,5), sigma 0, uint8: kernel k = [1,4,6,4,1]/16 in both
    directions, BORDER_REFLECT_101 (mirror without repeating the edge pixel),
    exact integer sum S = sum k_u k_v x * 256, result (S + 128) >> 8."""
    k = np.array([1, 4, 6, 4, 1], dtype=np.int64)
    x = np.pad(img.astype(np.int64), ((2, 2), (2, 2), (0, 0)), mode="reflect")
    h, w = img.shape[:2]
    rows = sum(k[u] * x[u:u + h, :, :] for u in range(5))
    s = sum(k[v] * rows[:, v:v + w, :] for v in range(5))
    return ((s + 128) >> 8).astype(np.uint8)


def np_dilate(m, r=2):
    """dilate with a (2r+1)^2 square of ones: max over the window; pixels outside
    the image do not count (OpenCV's default border value for dilate)."""
    h, w = m.shape
    p = np.zeros((h + 2 * r, w + 2 * r), dtype=m.dtype)  # 0 never wins a max of uint8
    p[r:r + h, r:r + w] = m
    out = np.zeros_like(m)
    for u in range(2 * r + 1):
        for v in range(2 * r + 1):
            out = np.maximum(out, p[u:u + h, v:v + w])
    return out


def np_canny(gray, low=100, high=200):
    """cv2.Canny(gray, low, high) with apertureSize 3 and L2gradient False.

    1. dx, dy: 3x3 Sobel ([-1,0,1] x [1,2,1]) with BORDER_REPLICATE, exact ints.
    2. m = |dx| + |dy| (L1).  Outside the image m counts as 0.
    3. Non-maximum suppression with OpenCV's integer direction test
       (TG22 = round(tan(22.5 deg) * 2^15) = 13573, ax = |dx|, ay = |dy| << 15):
       - ay < ax*TG22                  (near horizontal gradient): keep if
         m > m[left] and m >= m[right];
       - ay > ax*TG22 + (ax << 16)     (near vertical): keep if
         m > m[up] and m >= m[down];
       - otherwise diagonal: s = -1 if dx, dy have opposite signs else +1;
         keep if m > m[up, x - s] and m > m[down, x + s].
       Only pixels with m > low are considered at all.
    4. Hysteresis: kept pixels with m > high are edges; edges grow into kept
       pixels (m > low) through 8-connected neighbours.  Output 255 / 0.
    """
    g = np.pad(gray.astype(np.int64), 1, mode="edge")
    h, w = gray.shape
    sm = lambda a, b, c: a + 2 * b + c
    dx = sm(g[0:h, 2:w + 2] - g[0:h, 0:w], g[1:h + 1, 2:w + 2] - g[1:h + 1, 0:w],
            g[2:h + 2, 2:w + 2] - g[2:h + 2, 0:w])
    dy = sm(g[2:h + 2, 0:w] - g[0:h, 0:w], g[2:h + 2, 1:w + 1] - g[0:h, 1:w + 1],
            g[2:h + 2, 2:w + 2] - g[0:h, 2:w + 2])
    m = np.abs(dx) + np.abs(dy)
    mp = np.pad(m, 1)  # zeros outside
    c = lambda di, dj: mp[1 + di:1 + di + h, 1 + dj:1 + dj + w]
    ax = np.abs(dx)
    ay = np.abs(dy) << 15
    tg22x = ax * 13573
    horiz = ay < tg22x
    vert = ~horiz & (ay > tg22x + (ax << 16))
    diag = ~horiz & ~vert
    same = (dx ^ dy) >= 0  # s = +1
    keep_h = (m > c(0, -1)) & (m >= c(0, 1))
    keep_v = (m > c(-1, 0)) & (m >= c(1, 0))
    keep_d = np.where(same, (m > c(-1, -1)) & (m > c(1, 1)),
                      (m > c(-1, 1)) & (m > c(1, -1)))
    cand = (m > low) & ((horiz & keep_h) | (vert & keep_v) | (diag & keep_d))
    edge = cand & (m > high)
    stack = list(zip(*np.nonzero(edge)))
    while stack:
        i, j = stack.pop()
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                a, b = i + di, j + dj
                if 0 <= a < h and 0 <= b < w and cand[a, b] and not edge[a, b]:
                    edge[a, b] = True
                    stack.append((a, b))
    return np.where(edge, 255, 0).astype(np.uint8)


# ---------------------------------------------------------------- inputs

def photo_input(path, crop):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    assert bgr is not None, path
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if crop is not None:
        x0, y0, w, h = crop
        assert y0 + h <= rgb.shape[0] and x0 + w <= rgb.shape[1], (path, rgb.shape)
        rgb = rgb[y0:y0 + h, x0:x0 + w]
    return cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def cartoon_input():
    """Flat colour regions with black outlines, like a simplified anime frame."""
    img = np.zeros((SIZE, SIZE, 3), np.uint8)
    img[:150] = (150, 200, 240)                      # sky (RGB)
    img[150:] = (110, 180, 90)                       # grass
    cv2.line(img, (0, 150), (255, 150), (20, 20, 20), 2, cv2.LINE_8)
    cv2.circle(img, (210, 45), 24, (250, 220, 80), -1, cv2.LINE_AA)        # sun
    cv2.circle(img, (210, 45), 24, (0, 0, 0), 2, cv2.LINE_AA)
    house = np.array([[40, 180], [40, 110], [95, 70], [150, 110], [150, 180]], np.int32)
    cv2.fillPoly(img, [house], (230, 200, 160), cv2.LINE_8)
    cv2.polylines(img, [house], True, (0, 0, 0), 3, cv2.LINE_8)
    cv2.rectangle(img, (82, 135), (108, 180), (140, 80, 50), -1)           # door
    cv2.rectangle(img, (82, 135), (108, 180), (0, 0, 0), 2)
    cv2.rectangle(img, (52, 120), (72, 140), (180, 220, 250), -1)          # window
    cv2.rectangle(img, (52, 120), (72, 140), (0, 0, 0), 2)
    cv2.ellipse(img, (200, 205), (38, 22), 15, 0, 360, (240, 120, 150), -1, cv2.LINE_AA)
    cv2.ellipse(img, (200, 205), (38, 22), 15, 0, 360, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.circle(img, (188, 200), 5, (0, 0, 0), -1, cv2.LINE_AA)             # eye
    cv2.line(img, (15, 230), (120, 245), (60, 60, 60), 1, cv2.LINE_AA)     # thin hair line
    cv2.putText(img, "toon", (160, 140), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2,
                cv2.LINE_AA)
    return img


# ---------------------------------------------------------------- main

def save_png(path, a):
    Image.fromarray(np.ascontiguousarray(a), "RGB" if a.ndim == 3 else "L").save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", default="../shared/images/photos")
    ap.add_argument("--out", default="tests/fixtures/edge_smoothing")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print("OpenCV", cv2.__version__)

    inputs = [(n, photo_input(os.path.join(args.photos, f), c)) for n, f, c in PHOTOS]
    inputs.append(("cartoon", cartoon_input()))
    for name, img in inputs:
        path = os.path.join(args.out, name + ".png")
        save_png(path, img)
        img = np.asarray(Image.open(path))  # the PNG is the fixture input
        assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
        gray, edges, dilated, blurred, out = edge_smooth(img)

        # NumPy re-implementations must agree exactly with OpenCV
        assert np.array_equal(np_gray(img), gray), name + ": gray"
        assert np.array_equal(np_gaussian5(img), blurred), name + ": gaussian"
        assert np.array_equal(np_canny(gray), edges), name + ": canny"
        assert np.array_equal(np_dilate(edges), dilated), name + ": dilate"
        assert set(np.unique(edges)) <= {0, 255} and set(np.unique(dilated)) <= {0, 255}

        save_png(os.path.join(args.out, name + "_edges.png"), edges)
        save_png(os.path.join(args.out, name + "_dilated.png"), dilated)
        save_png(os.path.join(args.out, name + "_smoothed.png"), out)
        changed = np.any(out != img, axis=2).mean()
        print("%-10s edges %5.1f%%  dilated %5.1f%%  pixels changed %5.1f%%"
              % (name, 100 * (edges > 0).mean(), 100 * (dilated > 0).mean(), 100 * changed))


if __name__ == "__main__":
    main()
