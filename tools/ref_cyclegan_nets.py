"""PyTorch reference for toongan's CycleGAN networks (ResNet generator, 70x70 PatchGAN).

Builds the two networks exactly as junyanz/pytorch-CycleGAN-and-pix2pix `models/networks.py`
does for `--netG resnet_9blocks --netD basic --norm instance --no_dropout` (re-typed here from
that file's structure: ReflectionPad + Conv + InstanceNorm(affine=False) + ReLU; two stride-2
convs; residual blocks of [pad, conv, norm, relu, pad, conv, norm]; two ConvTranspose2d
(stride 2, padding 1, output_padding 1) + norm + relu; pad + 7x7 conv + tanh. PatchGAN: 4x4 convs
stride 2 / 2 / 2 / 1 / 1, padding 1, LeakyReLU 0.2, no norm on the first and last), in tiny
widths, fills them with deterministic non-trivial weights, saves the state_dicts with
`torch.save` (junyanz's key names, e.g. `model.1.weight`, `model.10.conv_block.5.weight`) and
the outputs on a fixed input.

Regenerate (from the repo root):
    .venv/bin/python tools/ref_cyclegan_nets.py --out tests/fixtures/cyclegan
"""

import argparse
import functools
import os

import numpy as np
import torch
import torch.nn as nn


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm_layer):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=True), norm_layer(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=True), norm_layer(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, ngf, n_blocks, norm_layer):
        super().__init__()
        model = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, padding=0, bias=True), norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=True),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            model += [ResnetBlock(ngf * 4, norm_layer)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=True),
                      norm_layer(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, ndf, n_layers, norm_layer):
        super().__init__()
        seq = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        for n in range(1, n_layers):
            prev, nf_mult = nf_mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * nf_mult, 4, stride=2, padding=1, bias=True),
                    norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        prev, nf_mult = nf_mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * nf_mult, 4, stride=1, padding=1, bias=True),
                norm_layer(ndf * nf_mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * nf_mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def fill_deterministic(module, seed):
    """Uniform weights scaled by 1/sqrt(fan_in), from a fixed generator: non-trivial and reproducible."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            fan_in = p[0].numel() if p.dim() > 1 else 1
            bound = 1.0 / np.sqrt(max(fan_in, 1))
            p.copy_((torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1).float() * bound * 1.7)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/cyclegan")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    norm = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)

    g = ResnetGenerator(ngf=8, n_blocks=2, norm_layer=norm).eval()
    fill_deterministic(g, 1)
    d = NLayerDiscriminator(ndf=8, n_layers=3, norm_layer=norm).eval()
    fill_deterministic(d, 2)

    gen = torch.Generator().manual_seed(3)
    x_g = torch.rand((2, 3, 40, 36), generator=gen) * 2 - 1
    x_d = torch.rand((2, 3, 64, 48), generator=gen) * 2 - 1
    with torch.no_grad():
        y_g = g(x_g)
        y_d = d(x_d)
    # Double-precision outputs of the same networks, to show the float32 error is small.
    with torch.no_grad():
        y_g64 = g.double()(x_g.double())
        y_d64 = d.double()(x_d.double())
    g.float(); d.float()
    print("generator f32 vs f64 max diff", (y_g.double() - y_g64).abs().max().item())
    print("discriminator f32 vs f64 max diff", (y_d.double() - y_d64).abs().max().item())

    torch.save(g.state_dict(), os.path.join(args.out, "resnet_generator_tiny.pth"))
    torch.save(d.state_dict(), os.path.join(args.out, "patchgan_tiny.pth"))
    np.save(os.path.join(args.out, "generator_input.npy"), x_g.numpy())
    np.save(os.path.join(args.out, "generator_output.npy"), y_g64.float().numpy())
    np.save(os.path.join(args.out, "discriminator_input.npy"), x_d.numpy())
    np.save(os.path.join(args.out, "discriminator_output.npy"), y_d64.float().numpy())
    print("keys:", list(g.state_dict().keys())[:6], "...")


if __name__ == "__main__":
    main()
