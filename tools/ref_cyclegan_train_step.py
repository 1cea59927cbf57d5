"""PyTorch reference of one CycleGAN training step, the fixture of toongan's CycleGAN
training-step parity test (`tests/cyclegan_train.rs`).

Regenerate (from the repository root):

    /work/main/.venv/bin/python tools/ref_cyclegan_train_step.py --out tests/fixtures/cyclegan_train

Written here independently of toongan, following junyanz/pytorch-CycleGAN-and-pix2pix:

- networks (`models/networks.py`, `--netG resnet_Nblocks --netD basic --norm instance
  --no_dropout`): ResnetGenerator (ReflectionPad 3 + 7x7 conv, InstanceNorm(affine=False),
  ReLU; two stride-2 3x3 convs; residual blocks [pad, conv, norm, relu, pad, conv, norm] + skip;
  two ConvTranspose2d(3, stride 2, padding 1, output_padding 1) + norm + relu; pad 3 + 7x7 conv
  + tanh) and NLayerDiscriminator (n_layers 3: 4x4 convs stride 2, 2, 2, 1, 1, padding 1,
  LeakyReLU 0.2, norm on all but the first and last), all convs with bias. Tiny widths: ngf 4,
  2 residual blocks, ndf 4 (keeps the fixture small).
- one step (`models/cycle_gan_model.py`, `optimize_parameters`), A = photos, B = cartoons:
  forward (fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A));
  G step (D frozen): MSE(D_A(fake_B), 1) + MSE(D_B(fake_A), 1) + 10 |rec_A - A| + 10 |rec_B - B|
  + 0.5 * (10 |G_A(B) - B| + 10 |G_B(A) - A|); D step: 0.5 (MSE(D_A(B), 1) + MSE(D_A(pool(fake_B)), 0))
  + 0.5 (MSE(D_B(A), 1) + MSE(D_B(pool(fake_A)), 0)). One Adam (lr 2e-4, betas (0.5, 0.999),
  eps 1e-8) over both G, one over both D. The pools (50) are still filling on the first step,
  so they return the fakes themselves (util/image_pool.py).
- toongan's edge-smoothing ablation: D_A's half also gets + MSE(D_A(smoothed B), 0).
- toongan's init phase: the G step with the cycle and identity terms only, no D.

Four scenarios from the same initial weights and batch (float64, each with fresh optimizers):
``adversarial`` (identity 0.5, edge-smoothing loss on: losses and all four nets after the step),
``plain`` (identity 0, no edge loss: losses and all four nets after the step), ``init``
(identity 0.5: losses and both generators after the step), and ``gradient`` (as
``adversarial`` but Adam lr = eps = 1000: a first Adam step moves each weight by
lr·g/(|g| + eps) ≈ g, so the weights after it check every gradient's value, where the default
first step, lr·g/(|g| + 1e-8) ≈ lr·sign(g), checks mostly its sign).

Outputs in ``--out``: ``init.safetensors`` (float32 initial weights ``g_a.*``, ``g_b.*``,
``d_a.*``, ``d_b.*`` under toongan's module paths, and the batch ``batch.photos``,
``batch.cartoons``, ``batch.smoothed``, 2x3x40x40), ``expected.safetensors`` (float32 weights
after each scenario's step, ``<scenario>.g_a.*`` ...) and ``losses.json``.
"""
import argparse
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.set_default_dtype(torch.float64)

NGF, N_BLOCKS, NDF, SIZE = 4, 2, 4, 40


def norm(c):
    return nn.InstanceNorm2d(c, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, ngf=NGF, n_blocks=N_BLOCKS):
        super().__init__()
        m = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), norm(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            m += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), norm(2 * c), nn.ReLU(True)]
        m += [ResnetBlock(4 * ngf) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            m += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                  norm(c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, ndf=NDF, n_layers=3):
        super().__init__()
        m = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            m += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1), norm(ndf * mult),
                  nn.LeakyReLU(0.2, True)]
        m += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


def generator_names():
    """junyanz Sequential keys -> toongan `ResnetGenerator` module paths."""
    names = {"model.1": "input.conv.conv", "model.4": "down.0.conv.conv",
             "model.7": "down.1.conv.conv"}
    for i in range(N_BLOCKS):
        names[f"model.{10 + i}.conv_block.1"] = f"residual.{i}.first.conv.conv"
        names[f"model.{10 + i}.conv_block.5"] = f"residual.{i}.conv2.conv"
    names[f"model.{10 + N_BLOCKS}"] = "up.0.up"
    names[f"model.{13 + N_BLOCKS}"] = "up.1.up"
    names[f"model.{17 + N_BLOCKS}"] = "output.conv"
    return names


def discriminator_names():
    """junyanz Sequential keys -> toongan `PatchGan` module paths."""
    return {"model.0": "layers.0.conv", "model.2": "layers.1.conv", "model.5": "layers.2.conv",
            "model.8": "layers.3.conv", "model.11": "output"}


def state(module, prefix, names):
    out = {}
    for k, v in module.state_dict().items():
        layer, param = k.rsplit(".", 1)
        out[f"{prefix}.{names[layer]}.{param}"] = v.detach().float().contiguous()
    return out


def init_weights(module, gen):
    """Deterministic, non-trivial weights: He-normal convs, biases uniform in ±0.05."""
    for _, p in module.named_parameters():
        if p.dim() == 1:
            p.data = 0.1 * (torch.rand(p.shape, generator=gen) - 0.5)
        else:
            p.data = torch.randn(p.shape, generator=gen) * (2.0 / p[0].numel()) ** 0.5


def mse(pred, target):
    return F.mse_loss(pred, torch.full_like(pred, target))


def step(nets, batch, lambda_idt, edge, init_phase, lr, eps):
    g_a, g_b, d_a, d_b = nets
    real_a, real_b, smoothed = batch
    opt_g = torch.optim.Adam(list(g_a.parameters()) + list(g_b.parameters()), lr=lr,
                             betas=(0.5, 0.999), eps=eps)
    opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=lr,
                             betas=(0.5, 0.999), eps=eps)
    lam_a = lam_b = 10.0
    fake_b = g_a(real_a)
    rec_a = g_b(fake_b)
    fake_a = g_b(real_b)
    rec_b = g_a(fake_a)
    cycle_a = (rec_a - real_a).abs().mean() * lam_a
    cycle_b = (rec_b - real_b).abs().mean() * lam_b
    if lambda_idt > 0:
        idt_a = (g_a(real_b) - real_b).abs().mean() * lam_b * lambda_idt
        idt_b = (g_b(real_a) - real_a).abs().mean() * lam_a * lambda_idt
    else:
        idt_a = idt_b = torch.zeros(())
    losses = {"cycle_a": cycle_a.item(), "idt_a": idt_a.item(), "cycle_b": cycle_b.item(),
              "idt_b": idt_b.item()}
    g_loss = cycle_a + cycle_b + idt_a + idt_b
    if not init_phase:
        for p in list(d_a.parameters()) + list(d_b.parameters()):
            p.requires_grad_(False)
        loss_g_a = mse(d_a(fake_b), 1.0)
        loss_g_b = mse(d_b(fake_a), 1.0)
        g_loss = g_loss + loss_g_a + loss_g_b
        losses.update(g_a=loss_g_a.item(), g_b=loss_g_b.item())
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    losses["g_loss"] = g_loss.item()
    if init_phase:
        return losses
    for p in list(d_a.parameters()) + list(d_b.parameters()):
        p.requires_grad_(True)
    # The pools are filling (50 > 2 images): they return the fakes themselves.
    loss_d_a = mse(d_a(real_b), 1.0) + mse(d_a(fake_b.detach()), 0.0)
    if edge:
        loss_d_a = loss_d_a + mse(d_a(smoothed), 0.0)
    loss_d_a = loss_d_a * 0.5
    loss_d_b = (mse(d_b(real_a), 1.0) + mse(d_b(fake_a.detach()), 0.0)) * 0.5
    opt_d.zero_grad()
    (loss_d_a + loss_d_b).backward()
    opt_d.step()
    losses.update(d_a=loss_d_a.item(), d_b=loss_d_b.item())
    return losses


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="tests/fixtures/cyclegan_train")
    args = p.parse_args()
    gen = torch.Generator().manual_seed(11)
    nets = [ResnetGenerator(), ResnetGenerator(), NLayerDiscriminator(), NLayerDiscriminator()]
    for m in nets:
        init_weights(m, gen)
        # Round to float32 so both sides start from identical values.
        for t in m.state_dict().values():
            t.copy_(t.float().double())
    initial = [{k: v.clone() for k, v in m.state_dict().items()} for m in nets]
    s = SIZE
    yy, xx = torch.meshgrid(torch.arange(float(s)), torch.arange(float(s)), indexing="ij")
    photos = torch.stack([torch.stack([torch.sin(xx / (4 + i + c) + yy / (6 + c))
                                       for c in range(3)]) for i in range(2)])
    photos = (0.8 * photos + 0.1 * torch.rand(photos.shape, generator=gen)).clamp(-1, 1)
    cartoons = torch.sign(torch.sin(xx / 5.0 + yy / 7.0)).expand(2, 3, s, s) * 0.7
    cartoons = (cartoons + 0.2 * torch.rand(cartoons.shape, generator=gen)).clamp(-1, 1)
    smoothed = F.avg_pool2d(F.pad(cartoons, [1, 1, 1, 1], mode="replicate"), 3, 1)
    batch = [t.float().double() for t in (photos, cartoons, smoothed)]

    prefixes = ["g_a", "g_b", "d_a", "d_b"]
    names = [generator_names(), generator_names(), discriminator_names(), discriminator_names()]
    init = {}
    for m, pre, nm in zip(nets, prefixes, names):
        init.update(state(m, pre, nm))
    for key, t in zip(["photos", "cartoons", "smoothed"], batch):
        init[f"batch.{key}"] = t.float().contiguous()
    os.makedirs(args.out, exist_ok=True)
    save_file(init, os.path.join(args.out, "init.safetensors"))

    losses, expected = {}, {}
    scenarios = [("adversarial", 0.5, True, False, 2e-4, 1e-8),
                 ("plain", 0.0, False, False, 2e-4, 1e-8),
                 ("init", 0.5, False, True, 2e-4, 1e-8),
                 ("gradient", 0.5, True, False, 1e3, 1e3)]
    for name, lambda_idt, edge, init_phase, lr, eps in scenarios:
        for m, sd in zip(nets, initial):
            m.load_state_dict(sd)
            m.train()
        losses[name] = step(nets, batch, lambda_idt, edge, init_phase, lr, eps)
        saved = 2 if init_phase else 4
        for m, pre, nm in list(zip(nets, prefixes, names))[:saved]:
            expected.update(state(m, f"{name}.{pre}", nm))
    save_file(expected, os.path.join(args.out, "expected.safetensors"))
    with open(os.path.join(args.out, "losses.json"), "w") as f:
        json.dump(losses, f, indent=2)
    print(json.dumps(losses, indent=1))


if __name__ == "__main__":
    main()
