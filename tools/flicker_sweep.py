#!/usr/bin/env python3
"""Flicker of cartoonized video under several stabilizations, on the clip tests/video.rs makes.

Makes the 1 px/frame pan (ffmpeg, H.264 crf 10), cartoonizes every frame on its own with the
toongan binary (`--no-stabilize` is what each frame alone gives), then applies each blend in
NumPy exactly as src/cartoonize/video/stabilize.rs does (the shift is known: the content moves
1 px left a frame) and prints, for each: the flicker ratio, the change beyond the motion, and
frame 24's PSNR against its image result. Also the score of one cartoon of the whole photo
cropped where the frames are (a cartoon that moves exactly with the content).

    python3 tools/flicker_sweep.py --toongan target/release/toongan \
        --photo ../shared/images/photos/mountain-lake.jpg --weights ../shared/weights/cartoongan

Needs ffmpeg, numpy and Pillow. Figures from 2026-12-02 are in docs/video.md.
"""

import argparse
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

FRAMES, W, H = 48, 160, 120


def sh(*args, env=None):
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)


def load(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64)


def flicker(out, inp):
    o = sum(np.abs(out[i + 1] - out[i]).mean() for i in range(len(out) - 1))
    d = sum(np.abs(inp[i + 1] - inp[i]).mean() for i in range(len(inp) - 1))
    return o / d


def beyond_motion(out):
    """Mean |out[t+1] - out[t] moved 1 px left| over the pixels both have."""
    return np.mean([np.abs(out[i + 1][:, :-1] - out[i][:, 1:]).mean() for i in range(len(out) - 1)])


def psnr(a, b):
    mse = ((a - b) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def moved(prev, new):
    """prev moved 1 px left; the uncovered column comes from new (stabilize.rs leaves it)."""
    out = new.copy()
    out[:, :-1] = prev[:, 1:]
    return out


def blend(cartoons, weight, cutoff):
    outs = [cartoons[0]]
    for new in cartoons[1:]:
        prev = moved(outs[-1], new)
        diff = np.abs(new - prev).max(axis=2, keepdims=True)
        a = weight * np.clip(1 - diff / cutoff, 0, None)
        outs.append(np.clip(np.round(new + a * (prev - new)), 0, 255))
    return outs


def average(cartoons, keep):
    outs = [cartoons[0]]
    for new in cartoons[1:]:
        outs.append((1 - keep) * new + keep * outs[-1])
    return [np.round(o) for o in outs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--toongan", required=True)
    ap.add_argument("--photo", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--style", default="hayao")
    a = ap.parse_args()
    env = dict(os.environ, TOONGAN_WEIGHTS_DIR=a.weights)
    with tempfile.TemporaryDirectory() as d:
        pan = f"{d}/pan.mp4"
        sh("ffmpeg", "-v", "error", "-y", "-loop", "1", "-framerate", "24", "-i", a.photo,
           "-filter_complex",
           f"[0:v]scale=480:-2,crop={W}:{H}:x='40+n':y=60:exact=1,format=yuv420p[v]",
           "-map", "[v]", "-frames:v", str(FRAMES), "-c:v", "libx264", "-crf", "10", pan)
        os.makedirs(f"{d}/in")
        sh("ffmpeg", "-v", "error", "-i", pan, "-start_number", "0", f"{d}/in/f%03d.png")
        sh(a.toongan, "cartoonize", f"{d}/in", "--style", a.style, "-o", f"{d}/out", env=env)
        sh("ffmpeg", "-v", "error", "-i", a.photo, "-vf", "scale=480:-2", f"{d}/strip.png")
        sh(a.toongan, "cartoonize", f"{d}/strip.png", "--style", a.style, "-o",
           f"{d}/strip_c.png", env=env)
        inputs = [load(f"{d}/in/f{n:03d}.png") for n in range(FRAMES)]
        cartoons = [load(f"{d}/out/f{n:03d}.png") for n in range(FRAMES)]
        strip_in, strip_out = load(f"{d}/strip.png"), load(f"{d}/strip_c.png")
    crops_in = [strip_in[60:60 + H, 40 + n:40 + n + W] for n in range(FRAMES)]
    crops_out = [strip_out[60:60 + H, 40 + n:40 + n + W] for n in range(FRAMES)]

    def row(name, outs, inp=inputs):
        print(f"| {name} | {flicker(outs, inp):.3f} | {beyond_motion(outs):.2f} | "
              f"{psnr(outs[24], cartoons[24]):.1f} dB |")

    print("| stabilization | flicker ratio | change beyond the motion | frame 24 vs image |")
    print("|---|---:|---:|---:|")
    row("none", cartoons)
    for weight, cutoff in [(0.5, 48), (0.5, 96), (0.6, 96), (0.6, 128), (0.5, 1e9), (0.7, 1e9)]:
        row(f"blend {weight}, cutoff {cutoff:g}", blend(cartoons, weight, cutoff))
    row("average without motion compensation, 0.5", average(cartoons, 0.5))
    print(f"| one cartoon of the whole photo, cropped | {flicker(crops_out, crops_in):.3f} | "
          f"{beyond_motion(crops_out):.2f} | {psnr(crops_out[24], cartoons[24]):.1f} dB |")


if __name__ == "__main__":
    main()
