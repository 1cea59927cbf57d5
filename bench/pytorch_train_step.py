"""PyTorch side of the CartoonGAN training-step benchmark: the same full-size step toongan
times in ``examples/bench_train_step.rs`` (G width 64, 8 residual blocks, batch norm; patch
D width 32, batch norm; VGG19 to conv4_4, random weights, frozen; BCE-with-logits + 10·L1
content; Adam 2e-4 (0.5, 0.999); one adversarial step = G forward, D step, G step), 256².

    /work/main/.venv/bin/python bench/pytorch_train_step.py --batch 1 --steps 3
    /work/main/.venv/bin/python bench/pytorch_train_step.py --batch 8 --steps 2

Prints one line: batch, seconds per step (mean of the timed steps after one warm-up step),
peak resident memory (ru_maxrss), torch version and thread count.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, s, p, reflect=False):
    layers = [nn.ReflectionPad2d(p)] if reflect and p else []
    layers.append(nn.Conv2d(cin, cout, k, s, 0 if reflect else p))
    return layers


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*conv(c, c, 3, 1, 1, True), nn.BatchNorm2d(c), nn.ReLU(True),
                                  *conv(c, c, 3, 1, 1, True), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def generator(w=64, n_res=8):
    return nn.Sequential(
        *conv(3, w, 7, 1, 3, True), nn.BatchNorm2d(w), nn.ReLU(True),
        *conv(w, 2 * w, 3, 2, 1), *conv(2 * w, 2 * w, 3, 1, 1), nn.BatchNorm2d(2 * w), nn.ReLU(True),
        *conv(2 * w, 4 * w, 3, 2, 1), *conv(4 * w, 4 * w, 3, 1, 1), nn.BatchNorm2d(4 * w), nn.ReLU(True),
        *[Res(4 * w) for _ in range(n_res)],
        nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, 1), *conv(2 * w, 2 * w, 3, 1, 1), nn.BatchNorm2d(2 * w), nn.ReLU(True),
        nn.ConvTranspose2d(2 * w, w, 3, 2, 1, 1), *conv(w, w, 3, 1, 1), nn.BatchNorm2d(w), nn.ReLU(True),
        *conv(w, 3, 7, 1, 3, True), nn.Tanh())


def discriminator(w=32):
    return nn.Sequential(
        nn.Conv2d(3, w, 3, 1, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(w, 2 * w, 3, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(2 * w, 4 * w, 3, 1, 1), nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2, True),
        nn.Conv2d(4 * w, 4 * w, 3, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(4 * w, 8 * w, 3, 1, 1), nn.BatchNorm2d(8 * w), nn.LeakyReLU(0.2, True),
        nn.Conv2d(8 * w, 8 * w, 3, 1, 1), nn.BatchNorm2d(8 * w), nn.LeakyReLU(0.2, True),
        nn.Conv2d(8 * w, 1, 3, 1, 1))


def vgg19_conv4_4():
    layers, cin = [], 3
    for c in [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512]:
        if c == 0:
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, c, 3, 1, 1), nn.ReLU(True)]
            cin = c
    return nn.Sequential(*layers[:-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    torch.manual_seed(0)
    g, d, vgg = generator(), discriminator(), vgg19_conv4_4().eval()
    for prm in vgg.parameters():
        prm.requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    feat = lambda x: vgg(((x + 1) / 2 - mean) / std)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    shape = (args.batch, 3, args.size, args.size)
    x, c, s = (torch.rand(shape) * 2 - 1 for _ in range(3))

    def step():
        gen = g(x)
        dr, de, df = d(c), d(s), d(gen.detach())
        d_loss = bce(dr, torch.ones_like(dr)) + bce(de, torch.zeros_like(de)) + bce(df, torch.zeros_like(df))
        opt_d.zero_grad(); d_loss.backward(); opt_d.step()
        dg = d(gen)
        g_loss = bce(dg, torch.ones_like(dg)) + 10 * (feat(gen) - feat(x).detach()).abs().mean()
        opt_g.zero_grad(); g_loss.backward(); opt_g.step()
        return g_loss.item()

    step()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    dt = (time.perf_counter() - t) / args.steps
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch cartoongan batch {args.batch} {args.size}px: {dt:.2f} s/step, peak RSS {peak:.0f} MiB "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
