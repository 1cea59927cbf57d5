"""PyTorch side of the CycleGAN training-step benchmark: the step toongan times in
``examples/bench_train_step.rs --model cyclegan``, written after junyanz/pytorch-CycleGAN-and-pix2pix
(``models/networks.py``, ``models/cycle_gan_model.py``, ``util/image_pool.py``) with its defaults:
two ResnetGenerators (ngf 64, 9 blocks, InstanceNorm(affine=False), reflect padding, no dropout),
two NLayerDiscriminators (ndf 64, n_layers 3, InstanceNorm), LSGAN (MSE), cycle λ 10, identity
0.5, image pools of 50, one Adam (2e-4, (0.5, 0.999)) over both G and one over both D; one step
= forward, G step with the Ds frozen, D step on pooled fakes; 256², random inputs.

    python3 bench/pytorch_cyclegan_train_step.py --batch 1 --steps 2

Prints one line: batch, seconds per step (mean of the timed steps after one warm-up step),
peak resident memory (ru_maxrss), torch version and thread count.
"""
import argparse
import os
import random
import resource
import sys
import time

import torch
import torch.nn.functional as F

# junyanz's networks, as the parity fixtures' reference writes them (that module makes float64
# the default for its fixtures; this benchmark runs in float32, as PyTorch users train).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from ref_cyclegan_train_step import NLayerDiscriminator, ResnetGenerator  # noqa: E402

torch.set_default_dtype(torch.float32)


def resnet_generator():
    return ResnetGenerator(ngf=64, n_blocks=9)


def n_layer_discriminator():
    return NLayerDiscriminator(ndf=64, n_layers=3)


class ImagePool:
    """util/image_pool.py: fills to `size`, then returns a stored image half the time."""

    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=2)
    args = p.parse_args()
    torch.manual_seed(0)
    random.seed(0)
    g_a, g_b = resnet_generator(), resnet_generator()
    d_a, d_b = n_layer_discriminator(), n_layer_discriminator()
    opt_g = torch.optim.Adam(list(g_a.parameters()) + list(g_b.parameters()), 2e-4,
                             betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), 2e-4,
                             betas=(0.5, 0.999))
    pool_a, pool_b = ImagePool(), ImagePool()
    mse = lambda pred, target: F.mse_loss(pred, torch.full_like(pred, target))
    shape = (args.batch, 3, args.size, args.size)
    real_a, real_b = (torch.rand(shape) * 2 - 1 for _ in range(2))
    lam, lam_idt = 10.0, 0.5

    def step():
        fake_b = g_a(real_a)
        rec_a = g_b(fake_b)
        fake_a = g_b(real_b)
        rec_b = g_a(fake_a)
        for prm in list(d_a.parameters()) + list(d_b.parameters()):
            prm.requires_grad_(False)
        idt_a = (g_a(real_b) - real_b).abs().mean() * lam * lam_idt
        idt_b = (g_b(real_a) - real_a).abs().mean() * lam * lam_idt
        g_loss = (mse(d_a(fake_b), 1.0) + mse(d_b(fake_a), 1.0)
                  + (rec_a - real_a).abs().mean() * lam + (rec_b - real_b).abs().mean() * lam
                  + idt_a + idt_b)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        for prm in list(d_a.parameters()) + list(d_b.parameters()):
            prm.requires_grad_(True)
        opt_d.zero_grad()
        fb = pool_b.query(fake_b.detach())
        d_loss_a = (mse(d_a(real_b), 1.0) + mse(d_a(fb), 0.0)) * 0.5
        d_loss_a.backward()
        fa = pool_a.query(fake_a.detach())
        d_loss_b = (mse(d_b(real_a), 1.0) + mse(d_b(fa), 0.0)) * 0.5
        d_loss_b.backward()
        opt_d.step()
        return g_loss.item()

    step()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    dt = (time.perf_counter() - t) / args.steps
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch cyclegan batch {args.batch} {args.size}px: {dt:.2f} s/step, peak RSS "
          f"{peak:.0f} MiB (torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
