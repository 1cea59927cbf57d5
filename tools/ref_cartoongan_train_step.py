"""PyTorch reference of one CartoonGAN training step (tiny configuration), the fixture of
toongan's training-step parity test.

Regenerate (from the repository root):

    /work/main/.venv/bin/python tools/ref_cartoongan_train_step.py --out tests/fixtures/train

The networks are written here independently of toongan, in plain PyTorch, with attribute
names chosen so that ``state_dict`` keys equal toongan's module paths (burn's BatchNorm
``gamma``/``beta`` are PyTorch's ``weight``/``bias``):

- generator (CartoonGAN, as Yijunmaverick's port but batch norm, eps 1e-5, width 8,
  2 residual blocks): reflect-pad 3 + 7x7 conv, BN, ReLU; 2 down blocks (zero-pad 1 3x3
  stride-2 conv; zero-pad 1 3x3 conv, BN, ReLU); residual blocks (reflect-pad 1 3x3 conv,
  BN, ReLU, reflect-pad 1 3x3 conv, BN, + skip); 2 up blocks (ConvTranspose2d 3x3 stride 2
  padding 1 output_padding 1; zero-pad 1 3x3 conv, BN, ReLU); reflect-pad 3 + 7x7 conv, tanh.
- discriminator (znxlwm/pytorch-CartoonGAN, width 8, batch norm, no final sigmoid).
- VGG19 features to conv4_4 at width 16 (channels 16,16,M,32,32,M,64x4,M,128x4), input
  ImageNet-normalized from (x+1)/2.
- losses: content = 10 * L1(vgg(G(x)), vgg(x)); D: BCEWithLogits(D(cartoon), 1) +
  BCEWithLogits(D(smoothed), 0) + BCEWithLogits(D(G(x).detach()), 0); G: BCEWithLogits(D(G(x)), 1)
  + content, G(x) computed once per step. Adam lr 2e-4, betas (0.5, 0.999), eps 1e-8.
- step 1 is an initialization-phase step (content only), step 2 an adversarial step.

Everything runs in float64 (train mode). Outputs in ``--out``:
``step_init.safetensors`` (float32 initial weights: ``g.*``, ``d.*``, ``vgg.*``, and the batch
``batch.photos``, ``batch.cartoons``, ``batch.smoothed``, 2x3x64x64), ``step_expected.safetensors``
(float32 weights after step 1 ``g1.*`` and after step 2 ``g2.*``, ``d2.*``) and
``step_losses.json``.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_default_dtype(torch.float64)


class PaddedConv(nn.Module):
    def __init__(self, cin, cout, k, stride, pad, reflect):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride)
        self.pad, self.reflect = pad, reflect

    def forward(self, x):
        if self.pad:
            x = F.pad(x, [self.pad] * 4, mode="reflect" if self.reflect else "constant")
        return self.conv(x)


class Block(nn.Module):
    pass


class Generator(nn.Module):
    def __init__(self, w=8, n_res=2):
        super().__init__()
        self.input_conv = PaddedConv(3, w, 7, 1, 3, True)
        self.input_norm = nn.BatchNorm2d(w)
        self.down = nn.ModuleList()
        for cin, cout in [(w, 2 * w), (2 * w, 4 * w)]:
            b = Block()
            b.down = PaddedConv(cin, cout, 3, 2, 1, False)
            b.conv = PaddedConv(cout, cout, 3, 1, 1, False)
            b.norm = nn.BatchNorm2d(cout)
            self.down.append(b)
        self.residual = nn.ModuleList()
        for _ in range(n_res):
            b = Block()
            b.conv1 = PaddedConv(4 * w, 4 * w, 3, 1, 1, True)
            b.norm1 = nn.BatchNorm2d(4 * w)
            b.conv2 = PaddedConv(4 * w, 4 * w, 3, 1, 1, True)
            b.norm2 = nn.BatchNorm2d(4 * w)
            self.residual.append(b)
        self.up = nn.ModuleList()
        for cin, cout in [(4 * w, 2 * w), (2 * w, w)]:
            b = Block()
            b.up = nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1)
            b.conv = PaddedConv(cout, cout, 3, 1, 1, False)
            b.norm = nn.BatchNorm2d(cout)
            self.up.append(b)
        self.output_conv = PaddedConv(w, 3, 7, 1, 3, True)

    def forward(self, x):
        y = F.relu(self.input_norm(self.input_conv(x)))
        for b in self.down:
            y = F.relu(b.norm(b.conv(b.down(y))))
        for b in self.residual:
            h = F.relu(b.norm1(b.conv1(y)))
            y = b.norm2(b.conv2(h)) + y
        for b in self.up:
            y = F.relu(b.norm(b.conv(b.up(y))))
        return torch.tanh(self.output_conv(y))


class Discriminator(nn.Module):
    def __init__(self, w=8):
        super().__init__()
        plan = [(3, w, 1, False), (w, 2 * w, 2, False), (2 * w, 4 * w, 1, True),
                (4 * w, 4 * w, 2, False), (4 * w, 8 * w, 1, True), (8 * w, 8 * w, 1, True)]
        self.layers = nn.ModuleList()
        for cin, cout, s, normed in plan:
            b = Block()
            b.conv = nn.Conv2d(cin, cout, 3, s, 1)
            if normed:
                b.norm = nn.BatchNorm2d(cout)
            self.layers.append(b)
        self.output_conv = nn.Conv2d(8 * w, 1, 3, 1, 1)

    def forward(self, x):
        for b in self.layers:
            x = b.conv(x)
            if hasattr(b, "norm"):
                x = b.norm(x)
            x = F.leaky_relu(x, 0.2)
        return self.output_conv(x)


class Vgg(nn.Module):
    LAYOUT = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512]

    def __init__(self, width=16):
        super().__init__()
        self.convs = nn.ModuleList()
        cin = 3
        for c in self.LAYOUT:
            if c:
                self.convs.append(nn.Conv2d(cin, c * width // 64, 3, 1, 1))
                cin = c * width // 64

    def forward(self, x):
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        x = ((x + 1) / 2 - mean) / std
        i = 0
        for c in self.LAYOUT:
            if not c:
                x = F.max_pool2d(x, 2, 2)
                continue
            x = self.convs[i](x)
            if i == len(self.convs) - 1:
                return x
            x = F.relu(x)
            i += 1


def init_weights(module, gen):
    """Deterministic, non-trivial weights: He-normal convs, BN weight 1 ± 0.05, small biases."""
    for name, p in module.named_parameters():
        if "norm" in name and name.endswith("weight"):
            p.data = 1.0 + 0.1 * torch.rand(p.shape, generator=gen) - 0.05
        elif p.dim() == 1:
            p.data = 0.1 * (torch.rand(p.shape, generator=gen) - 0.5)
        else:
            p.data = torch.randn(p.shape, generator=gen) * (2.0 / p[0].numel()) ** 0.5


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def state(module, prefix):
    return {
        f"{prefix}.{k}": v.detach().float().contiguous()
        for k, v in module.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="tests/fixtures/train")
    args = p.parse_args()
    gen = torch.Generator().manual_seed(3)
    g, d, vgg = Generator(), Discriminator(), Vgg()
    for m in (g, d, vgg):
        init_weights(m, gen)
    # Round the float64 weights to float32 so both sides start from identical values.
    for m in (g, d, vgg):
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.float().double())
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    photos = torch.stack([torch.stack([torch.sin(xx / (5 + i + c) + yy / (7 + c)) for c in range(3)]) for i in range(2)])
    photos = (0.8 * photos + 0.1 * torch.rand(photos.shape, generator=gen)).clamp(-1, 1)
    cartoons = torch.sign(torch.sin(xx / 6.0 + yy / 9.0)).expand(2, 3, 64, 64) * 0.7
    cartoons = (cartoons + 0.2 * torch.rand(cartoons.shape, generator=gen)).clamp(-1, 1)
    smoothed = F.avg_pool2d(F.pad(cartoons, [1, 1, 1, 1], mode="replicate"), 3, 1)
    photos, cartoons, smoothed = (t.float().double() for t in (photos, cartoons, smoothed))
    init = {**state(g, "g"), **state(d, "d"), **state(vgg, "vgg"),
            "batch.photos": photos.float(), "batch.cartoons": cartoons.float(),
            "batch.smoothed": smoothed.float()}
    os.makedirs(args.out, exist_ok=True)
    save_file(init, os.path.join(args.out, "step_init.safetensors"))

    for prm in vgg.parameters():
        prm.requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    g.train(), d.train()
    losses = {}
    # Step 1: initialization phase.
    generated = g(photos)
    content = 10.0 * (vgg(generated) - vgg(photos).detach()).abs().mean()
    opt_g.zero_grad()
    content.backward()
    opt_g.step()
    losses["init"] = {"content": content.item()}
    expected = state(g, "g1")
    # Step 2: adversarial phase.
    generated = g(photos)
    d_loss = bce(d(cartoons), 1.0) + bce(d(smoothed), 0.0) + bce(d(generated.detach()), 0.0)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_adv = bce(d(generated), 1.0)
    content = 10.0 * (vgg(generated) - vgg(photos).detach()).abs().mean()
    g_loss = g_adv + content
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    losses["adversarial"] = {"d_loss": d_loss.item(), "g_adv": g_adv.item(),
                             "content": content.item(), "g_loss": g_loss.item()}
    expected.update(state(g, "g2"))
    expected.update(state(d, "d2"))
    save_file(expected, os.path.join(args.out, "step_expected.safetensors"))
    with open(os.path.join(args.out, "step_losses.json"), "w") as f:
        json.dump(losses, f, indent=2)
    print(json.dumps(losses))


if __name__ == "__main__":
    main()
