"""PyTorch side of the device benchmark (issue 7): the same work `examples/gpu_check.rs` times
in toongan, on the same card in the same call: the published CartoonGAN generator forward at
256² and 1024² (batch 1 and 8) and a full-size CartoonGAN training step at 256², batch 8
(G + D + VGG19 conv4_4 + Adam; the networks of bench/pytorch_train_step.py).

    python3 bench/gpu/pytorch_gpu.py --device cuda --weights WEIGHTS/shinkai --json out.jsonl
    python3 bench/gpu/pytorch_gpu.py --device cpu --quick       # CPU fallback, small sizes

Two settings on CUDA: `fp32` (TF32 off: the arithmetic toongan does) and `default` (PyTorch's
defaults: cuDNN convolutions may use TF32). Medians after one warm-up; every timed run ends
with a device synchronisation.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from pytorch_generator import build_generator  # noqa: E402
from pytorch_train_step import discriminator, generator, vgg19_conv4_4  # noqa: E402


def median_seconds(fn, runs, device):
    fn()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_forward(g, size, batch, runs, device):
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    # The published port takes BGR; the order does not change the work.
    with torch.no_grad():
        return median_seconds(lambda: g(x), runs, device)


def time_train_step(size, batch, runs, device):
    torch.manual_seed(0)
    g, d, vgg = generator().to(device), discriminator().to(device), vgg19_conv4_4().to(device).eval()
    for p in vgg.parameters():
        p.requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    feat = lambda x: vgg(((x + 1) / 2 - mean) / std)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    x, c, s = (torch.rand(batch, 3, size, size, device=device) * 2 - 1 for _ in range(3))

    def step():
        gen = g(x)
        dr, de, df = d(c), d(s), d(gen.detach())
        d_loss = bce(dr, torch.ones_like(dr)) + bce(de, torch.zeros_like(de)) + bce(df, torch.zeros_like(df))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        dg = d(gen)
        g_loss = bce(dg, torch.ones_like(dg)) + 10 * (feat(gen) - feat(x).detach()).abs().mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        return g_loss.item()  # toongan's step reads its losses back too

    return median_seconds(step, runs, device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--weights", default=None, help="folder of the shinkai .npy files (random weights if absent)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small sizes (the CPU fallback)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("CUDA is not available to PyTorch here")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    sizes, batches, train = ([64], [1, 2], (64, 2)) if args.quick else ([256, 1024], [1, 8], (256, 8))
    settings = ["fp32", "default"] if device.type == "cuda" else ["fp32"]
    rows = []
    for setting in settings:
        tf32 = setting == "default"
        torch.backends.cuda.matmul.allow_tf32 = False  # PyTorch's default for matmul
        torch.backends.cudnn.allow_tf32 = tf32  # PyTorch's default for convolutions: True
        if args.weights and os.path.isdir(args.weights):
            g = build_generator(args.weights).to(device)
        else:
            torch.manual_seed(0)
            g = generator().to(device).eval()  # same layout and work, random weights
        for size in sizes:
            for batch in batches:
                s = time_forward(g, size, batch, args.runs, device)
                rows.append(dict(timing="generator forward", engine=f"pytorch {setting}", device=name,
                                 batch=batch, size=size, median_s=s))
        s = time_train_step(train[0], train[1], min(args.runs, 5), device)
        rows.append(dict(timing="cartoongan train step", engine=f"pytorch {setting}", device=name,
                         batch=train[1], size=train[0], median_s=s))
    print(f"torch {torch.__version__}, device {name}")
    print("| engine | work | batch | size | median s | images/s |\n|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['engine']} | {r['timing']} | {r['batch']} | {r['size']} | {r['median_s']:.4f} | "
              f"{r['batch'] / r['median_s']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
