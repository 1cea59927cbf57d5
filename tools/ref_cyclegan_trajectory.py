"""PyTorch reference of 30 CycleGAN training steps, the fixture of toongan's trajectory-parity
test (`tests/trajectory.rs`, `cyclegan_trajectory_matches_pytorch`).

Regenerate (from the repository root, after `tools/ref_trajectory_batches.py`):

    python3 tools/ref_cyclegan_trajectory.py --out tests/fixtures/trajectory

An independent loop in plain PyTorch, float64, following junyanz/pytorch-CycleGAN-and-pix2pix
(`models/cycle_gan_model.py` `optimize_parameters`, `util/image_pool.py`, the `linear` LR
policy). Networks: those of `tools/ref_cyclegan_train_step.py` (imported: ResnetGenerator
ngf 4 with 2 residual blocks, NLayerDiscriminator ndf 4, instance norm without affine). The
batches are `batches.safetensors` in order: 6 epochs of 5 steps, batch 2, 24x24, A = photos,
B = cartoons. Each step: the G step (D frozen) on LSGAN(D_A(G_A(A)), 1) + LSGAN(D_B(G_B(B)), 1)
+ 10 |rec_A - A| + 10 |rec_B - B| + 0.5·(10 |G_A(B) - B| + 10 |G_B(A) - A|), then the D step on
0.5 (MSE(D_A(B), 1) + MSE(D_A(pool_B(fake_B)), 0)) + 0.5 (MSE(D_B(A), 1) + MSE(D_B(pool_A(fake_A)), 0))
with the fakes made before the G step. One Adam over both G, one over both D, betas (0.5, 0.999),
eps 1e-8.

Image pools (size 4, so they fill during step 2 and draw from then on): junyanz's semantics
(while filling, store and return; once full, with probability 0.5 return a random stored image
and store the new one in its place, else return the new one). The random numbers are toongan's
(`src/train/image_pool.rs`: SplitMix64 on a counter started at mix(seed ^ 0x1A6EF001), the pool
of fake cartoons seeded with train.seed ^ 0xB, of fake photos with train.seed ^ 0xA; p = top 53
bits / 2^53, swap when p > 0.5, index = (u64 · size) >> 64) in place of Python's `random`, so
both sides swap the same images at the same steps.

Learning rate: toongan's documented schedule (docs/train.md, `cyclegan.n_epochs_decay`), the
0-based epoch e trains at lr·(1 − max(0, e + 1 − (epochs − N)) / (N + 1)), here epochs 6,
N = 3: factors 1, 1, 1, 0.75, 0.5, 0.25. This is junyanz's `lambda_rule` with epoch_count 1
stepped at the end of each epoch (as junyanz's train.py did until 2023: the epoch that follows
the k-th `scheduler.step()` uses factor(k)); junyanz's current train.py calls
`update_learning_rate()` at the start of each epoch, which shifts the decay one epoch earlier.
The reference follows toongan's documented semantics.

lr is 3e-5 (not 2e-4): at these widths, with lr 2e-4 the dynamics are chaotic: PyTorch's own
float32 and float64 runs of this loop part by more than 1e-3 within 30 steps (run with
``--dtype float32 --compare``), so no implementation could be held to 1e-3 there.

Outputs in ``--out``: ``cyclegan_init.safetensors`` (float32 initial ``g_a.*``, ``g_b.*``,
``d_a.*``, ``d_b.*`` under toongan's module paths), ``cyclegan_expected.safetensors`` (the same
after step 30) and ``cyclegan_losses.json`` (the config and each step's losses).
``--dump DIR`` also writes every step's weights (float64) to DIR/step-KK.pt.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_cyclegan_train_step import (NLayerDiscriminator, ResnetGenerator,  # noqa: E402
                                     discriminator_names, generator_names, init_weights, state)
from ref_trajectory_batches import load as load_batches  # noqa: E402

CONFIG = {"g_width": 4, "g_residual": 2, "d_width": 4, "epochs": 6, "steps_per_epoch": 5,
          "n_epochs_decay": 3, "lr": 3e-5, "lambda": 10.0, "lambda_identity": 0.5,
          "pool_size": 4, "seed": 0}

MASK = (1 << 64) - 1


def mix(z):
    """SplitMix64's output function, as toongan's `train::rng::mix`."""
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class ImagePool:
    """junyanz's util/image_pool.py with toongan's random numbers."""

    def __init__(self, size, seed):
        self.size, self.images, self.counter = size, [], mix(seed ^ 0x1A6EF001)

    def next_u64(self):
        self.counter = (self.counter + 1) & MASK
        return mix(self.counter)

    def query(self, images):
        out = []
        for image in images:
            image = image.detach().clone()
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
                continue
            p = (self.next_u64() >> 11) / float(1 << 53)
            if p > 0.5:
                i = (self.next_u64() * self.size) >> 64
                out.append(self.images[i])
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)


def lr_factor(epoch):
    c = CONFIG
    constant = c["epochs"] - c["n_epochs_decay"]
    return 1.0 - max(0, epoch + 1 - constant) / (c["n_epochs_decay"] + 1)


def mse(pred, target):
    return F.mse_loss(pred, torch.full_like(pred, target))


def build():
    c = CONFIG
    gen = torch.Generator().manual_seed(17)
    nets = [ResnetGenerator(c["g_width"], c["g_residual"]),
            ResnetGenerator(c["g_width"], c["g_residual"]),
            NLayerDiscriminator(c["d_width"]), NLayerDiscriminator(c["d_width"])]
    for m in nets:
        init_weights(m, gen)
        for t in m.state_dict().values():
            t.copy_(t.float().double())
    return nets


PREFIXES = ["g_a", "g_b", "d_a", "d_b"]


def all_state(nets):
    names = [generator_names(), generator_names(), discriminator_names(), discriminator_names()]
    out = {}
    for m, pre, nm in zip(nets, PREFIXES, names):
        out.update(state(m, pre, nm))
    return out


def run(nets, batches, dtype, dump=None):
    c = CONFIG
    g_a, g_b, d_a, d_b = (m.to(dtype).train() for m in nets)
    g_params = list(g_a.parameters()) + list(g_b.parameters())
    d_params = list(d_a.parameters()) + list(d_b.parameters())
    opt_g = torch.optim.Adam(g_params, lr=c["lr"], betas=(0.5, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(d_params, lr=c["lr"], betas=(0.5, 0.999), eps=1e-8)
    pool_b = ImagePool(c["pool_size"], c["seed"] ^ 0xB)  # fake cartoons, for D_A
    pool_a = ImagePool(c["pool_size"], c["seed"] ^ 0xA)  # fake photos, for D_B
    lam, idt = c["lambda"], c["lambda_identity"]
    history = []
    for k, batch in enumerate(batches[:c["epochs"] * c["steps_per_epoch"]]):
        real_a, real_b, _ = (t.to(dtype) for t in batch)
        lr = c["lr"] * lr_factor(k // c["steps_per_epoch"])
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        fake_b = g_a(real_a)
        rec_a = g_b(fake_b)
        fake_a = g_b(real_b)
        rec_b = g_a(fake_a)
        idt_a = (g_a(real_b) - real_b).abs().mean() * lam * idt
        idt_b = (g_b(real_a) - real_a).abs().mean() * lam * idt
        for p in d_params:
            p.requires_grad_(False)
        loss_g_a = mse(d_a(fake_b), 1.0)
        loss_g_b = mse(d_b(fake_a), 1.0)
        cycle_a = (rec_a - real_a).abs().mean() * lam
        cycle_b = (rec_b - real_b).abs().mean() * lam
        g_loss = loss_g_a + loss_g_b + cycle_a + cycle_b + idt_a + idt_b
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        pooled_b = pool_b.query(fake_b)
        pooled_a = pool_a.query(fake_a)
        loss_d_a = (mse(d_a(real_b), 1.0) + mse(d_a(pooled_b), 0.0)) * 0.5
        loss_d_b = (mse(d_b(real_a), 1.0) + mse(d_b(pooled_a), 0.0)) * 0.5
        opt_d.zero_grad()
        (loss_d_a + loss_d_b).backward()
        opt_d.step()
        history.append({"step": k + 1, "lr": lr, "losses": {
            "d_a": loss_d_a.item(), "g_a": loss_g_a.item(), "cycle_a": cycle_a.item(),
            "idt_a": idt_a.item(), "d_b": loss_d_b.item(), "g_b": loss_g_b.item(),
            "cycle_b": cycle_b.item(), "idt_b": idt_b.item(), "g_loss": g_loss.item()}})
        if dump:
            os.makedirs(dump, exist_ok=True)
            torch.save({k2: v.double() for k2, v in all_state(nets).items()},
                       os.path.join(dump, f"step-{k + 1:02}.pt"))
    return history


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", help="fixture folder (tests/fixtures/trajectory)")
    p.add_argument("--batches", default="tests/fixtures/trajectory/batches.safetensors")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--lr", type=float, help="override the learning rate (chaos checks)")
    p.add_argument("--dump", help="folder for every step's weights (float64, step-KK.pt)")
    p.add_argument("--compare", help="folder with cyclegan_losses.json and "
                   "cyclegan_expected.safetensors of another run: print the gap to it")
    args = p.parse_args()
    if args.lr:
        CONFIG["lr"] = args.lr
    batches = load_batches(args.batches)
    nets = build()
    init = all_state(nets)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    history = run(nets, batches, dtype, args.dump)
    final = all_state(nets)
    for h in history:
        print(h["step"], {k: round(v, 6) for k, v in h["losses"].items()})
    if args.compare:
        from safetensors.torch import load_file
        with open(os.path.join(args.compare, "cyclegan_losses.json")) as f:
            other = json.load(f)["steps"]
        for a, b in zip(history, other):
            worst = max(abs(a["losses"][k] - b["losses"][k]) / max(abs(b["losses"][k]), 1e-30)
                        for k in b["losses"])
            print(f"step {a['step']}: worst loss rel. gap {worst:.2e}")
        want = load_file(os.path.join(args.compare, "cyclegan_expected.safetensors"))
        gap = max(((final[k] - want[k]).abs().max() / want[k].abs().max().clamp_min(1e-30)).item()
                  for k in want if not k.endswith(".bias"))
        print(f"final weights (conv weights): worst rel. gap {gap:.2e}")
    if args.out:
        from safetensors.torch import save_file
        os.makedirs(args.out, exist_ok=True)
        save_file(init, os.path.join(args.out, "cyclegan_init.safetensors"))
        save_file(final, os.path.join(args.out, "cyclegan_expected.safetensors"))
        with open(os.path.join(args.out, "cyclegan_losses.json"), "w") as f:
            json.dump({"config": CONFIG, "steps": history}, f, indent=1)


if __name__ == "__main__":
    main()
