"""JPEG decoding fixtures: what PIL (libjpeg-turbo) decodes, for toongan's JPEG decoder.

What it makes, in ``--out`` (default ``tests/fixtures/jpeg``):

- ``citrus_128x96.jpg``: the 128x96 crop at x 80, y 50 of citrus-small.jpg, re-encoded
  by Pillow (quality 90, 4:2:0, baseline); ``citrus_128x96.pil.png``: PIL's decode of it
  (``Image.open(f).convert("RGB")``), the reference pixels.
- ``citrus_progressive.jpg`` / ``.pil.png``: the same crop, progressive, 4:4:4.
- ``citrus_gray.jpg`` / ``.pil.png``: the crop in greyscale (a 1-channel JPEG), PIL's
  ``convert("RGB")`` of it (R = G = B).
- ``citrus_exif6.jpg`` / ``.pil.png``: the crop with EXIF Orientation 6 (rotate 90° CW to
  display); the reference is ``ImageOps.exif_transpose`` then ``convert("RGB")`` (96x128).
- ``citrus_truncated.jpg``: ``citrus_128x96.jpg`` cut at 60% of its bytes, inside the
  entropy-coded scan (libjpeg warns "Premature end of JPEG file"; PIL raises "image file
  is truncated").
- ``citrus_128x96_shinkai.npy``: the float64 reference generator (tools/ref_cartoongan.py)
  run on PIL's pixels of ``citrus_128x96.jpg`` with the shinkai weights, stored as float32
  (H, W, 3) RGB in [0, 1].

Source photo: shared/images/photos/citrus-small.jpg, "Citrus fruits", US Department of
Agriculture, public domain (see shared/images/photos/SOURCES.md); the crops stay public
domain.

Regenerate (from the repository root)::

    python3 tools/make_jpeg_fixtures.py --photos ../shared/images/photos \
        --weights ../shared/weights/cartoongan --out tests/fixtures/jpeg
"""

import argparse
import io
import os
import sys

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_cartoongan as ref  # noqa: E402

CROP = (80, 50, 80 + 128, 50 + 96)


def save_pil_decode(jpg_path, png_path, transpose=False):
    im = Image.open(jpg_path)
    if transpose:
        im = ImageOps.exif_transpose(im)
    rgb = im.convert("RGB")
    rgb.save(png_path)
    return np.asarray(rgb)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", default="../shared/images/photos")
    ap.add_argument("--weights", default="../shared/weights/cartoongan")
    ap.add_argument("--out", default="tests/fixtures/jpeg")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731

    crop = Image.open(os.path.join(args.photos, "citrus-small.jpg")).convert("RGB").crop(CROP)
    crop.save(out("citrus_128x96.jpg"), quality=90, subsampling=2)
    base = save_pil_decode(out("citrus_128x96.jpg"), out("citrus_128x96.pil.png"))

    crop.save(out("citrus_progressive.jpg"), quality=90, subsampling=0, progressive=True)
    save_pil_decode(out("citrus_progressive.jpg"), out("citrus_progressive.pil.png"))

    crop.convert("L").save(out("citrus_gray.jpg"), quality=90)
    save_pil_decode(out("citrus_gray.jpg"), out("citrus_gray.pil.png"))

    exif = Image.Exif()
    exif[0x0112] = 6
    crop.save(out("citrus_exif6.jpg"), quality=90, exif=exif.tobytes())
    upright = save_pil_decode(out("citrus_exif6.jpg"), out("citrus_exif6.pil.png"), True)
    assert upright.shape == (128, 96, 3), upright.shape

    data = open(out("citrus_128x96.jpg"), "rb").read()
    cut = data[: int(len(data) * 0.6)]
    open(out("citrus_truncated.jpg"), "wb").write(cut)
    try:
        Image.open(io.BytesIO(cut)).convert("RGB")
        raise SystemExit("PIL decoded the truncated file without complaint")
    except OSError as e:
        print("PIL on the truncated file:", e)

    ref.self_check()
    params = ref.load_weights(os.path.join(args.weights, "shinkai"))
    y = ref.generator(params, ref.to_input(base))
    res = ref.from_output(y)
    assert res.shape == base.shape
    np.save(out("citrus_128x96_shinkai.npy"), res.astype(np.float32))
    print("wrote fixtures to", args.out)


if __name__ == "__main__":
    main()
