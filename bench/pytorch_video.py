"""The usual peer for `toongan cartoonize clip.mp4`: a PyTorch per-frame loop with OpenCV
decoding and encoding (what AnimeGAN's video script does: cv2.VideoCapture, one forward per
frame, cv2.VideoWriter with the mp4v fourcc), with the same generator and weights as
bench/pytorch_generator.py. Prints frames per second (decode + forward + encode) two ways:
over all frames from opening the clip to releasing the writer (what `toongan cartoonize`
reports: its figure covers probe, decode, every frame and the encoder's flush, not loading
the weights), and after the first frame; and the process's peak RSS.

    TOONGAN_WEIGHTS_DIR=/work/shared/weights/cartoongan \
        /work/main/.venv/bin/python bench/pytorch_video.py clip_480p.mp4 --style shinkai
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_generator import build_generator, peak_rss_mib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clip")
    ap.add_argument("--style", default="shinkai")
    ap.add_argument("--weights", default=os.environ.get("TOONGAN_WEIGHTS_DIR"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import cv2
    import torch

    torch.set_num_threads(os.cpu_count())
    g = build_generator(os.path.join(args.weights, args.style))
    out_path = args.out
    if out_path is None:
        import tempfile

        out_path = os.path.join(tempfile.mkdtemp(), "out.mp4")
    opened = time.perf_counter()
    cap = cv2.VideoCapture(args.clip)
    fps_in = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    out = cv2.VideoWriter(
        out_path, cv2.VideoWriter_fourcc(*"mp4v"), fps_in, (w, h)
    )
    if not cap.isOpened() or not out.isOpened():
        sys.exit(f"OpenCV could not open {args.clip} or {out_path}")
    frames, start = 0, None
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        # The published weights take BGR in [-1, 1], like OpenCV's frames.
        x = np.ascontiguousarray((bgr.astype(np.float32) / 127.5 - 1).transpose(2, 0, 1)[None])
        with torch.inference_mode():
            y = g(torch.from_numpy(x))[0].numpy().transpose(1, 2, 0)
        out.write(np.clip(np.rint((y + 1) * 127.5), 0, 255).astype(np.uint8))
        frames += 1
        if frames == 1:
            start = time.perf_counter()
    out.release()
    cap.release()
    end = time.perf_counter()
    secs = end - start if start else float("nan")
    print(
        f"pytorch+opencv {w}x{h}: {frames} frames, {end - opened:.1f} s, "
        f"{frames / (end - opened):.3f} frames/s (all frames), "
        f"{(frames - 1) / secs:.3f} frames/s (after the first), "
        f"threads {torch.get_num_threads()}, peak RSS {peak_rss_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
