"""PyTorch reference of 30 CartoonGAN training steps, the fixture of toongan's trajectory-parity
test (`tests/trajectory.rs`, `cartoongan_trajectory_matches_pytorch`).

Regenerate (from the repository root, after `tools/ref_trajectory_batches.py`):

    python3 tools/ref_cartoongan_trajectory.py --out tests/fixtures/trajectory

An independent loop in plain PyTorch, float64, train mode throughout. The networks are those of
`tools/ref_cartoongan_train_step.py` (imported: CartoonGAN generator with batch norm, eps 1e-5;
znxlwm's patch discriminator with batch norm; VGG19 to conv4_4 with ImageNet normalization),
in tiny widths: generator width 4 with 2 residual blocks, discriminator width 4, VGG width 4.
The batches are `batches.safetensors` in order: 6 epochs of 5 steps, batch 2, 24x24.

- Epochs 0 and 1 (steps 1-10): initialization, G minimises 10·L1(vgg(G(x)), vgg(x)).
- Epochs 2-5 (steps 11-30): adversarial. G(x) is computed once per step; D takes an Adam step
  on BCE(D(cartoon), 1) + BCE(D(smoothed cartoon), 0) + BCE(D(G(x).detach()), 0); then G one
  on BCE(D(G(x)), 1) + 10·L1(vgg(G(x)), vgg(x)) through the updated D.
- Adam lr 3e-5, betas (0.5, 0.999), eps 1e-8, one for G (kept from the init phase into the
  adversarial one) and one for D (first used at step 11).

lr is 3e-5, not the paper's 2e-4: at these widths, with lr 2e-4 the trajectory is chaotic.
PyTorch's own float32 run of this loop parts from the float64 one at step 11 and by more than
1e-3 from step 21 (``--lr 2e-4 --dtype float32 --compare``): D's first Adam step is
lr·g/(|g| + 1e-8), and a weight of d.layers.3 whose gradient happens to be 1.3e-8 (rounding-
noise size) moves by 1.1e-4 in float64 and by -6.1e-5 in float32; the dynamics amplify that.
At 3e-5 float32 stays within 3.4e-6 of float64 over all 30 steps. Even so an implementation can
part from the float64 run when an activation sits within float32 rounding of a ReLU kink
(`tests/trajectory.rs` says how often, with other ``--seed`` values, and how to tell).

Outputs in ``--out``: ``cartoongan_init.safetensors`` (float32 initial ``g.*`` and ``d.*``
under toongan's module paths, BN ``weight``/``bias`` for burn's gamma/beta),
``cartoongan_vgg.pth`` (the VGG's weights as a torchvision ``vgg19`` state dict holds them,
``features.<i>.weight``/``bias`` up to conv4_4, for toongan's `content.weights`),
``cartoongan_expected.safetensors`` (float32 ``g.*``, ``d.*`` after step 30) and
``cartoongan_losses.json`` (the config and each step's losses).

``--dtype float32`` runs the same loop in float32 (to see how far PyTorch's own rounding moves
the trajectory); ``--dump DIR`` also writes every step's weights (float64) to DIR/step-KK.pt
and each step's gradients to DIR/grad-KK.pt, for finding where another implementation departs.
Neither changes the fixture files unless ``--out`` is given.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_cartoongan_train_step import Discriminator, Generator, Vgg, bce, init_weights  # noqa: E402
from ref_trajectory_batches import load as load_batches  # noqa: E402

CONFIG = {"g_width": 4, "g_residual": 2, "d_width": 4, "vgg_width": 4, "epochs": 6,
          "steps_per_epoch": 5, "init_epochs": 2, "lr": 3e-5, "content_weight": 10.0,
          "seed": 5, "eps": 1e-8}


def state(module, prefix):
    return {f"{prefix}.{k}": v.detach().float().contiguous()
            for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}


def vgg_state(vgg):
    """The VGG's convs under torchvision's `features.<i>` indices (pools take an index)."""
    out, i, conv = {}, 0, 0
    for c in Vgg.LAYOUT:
        if c:
            out[f"features.{i}.weight"] = vgg.convs[conv].weight.detach().float().contiguous()
            out[f"features.{i}.bias"] = vgg.convs[conv].bias.detach().float().contiguous()
            conv += 1
            i += 2
        else:
            i += 1
    return out


def build():
    c = CONFIG
    gen = torch.Generator().manual_seed(c["seed"])
    g = Generator(c["g_width"], c["g_residual"])
    d = Discriminator(c["d_width"])
    vgg = Vgg(c["vgg_width"])
    for m in (g, d, vgg):
        init_weights(m, gen)
        # Round to float32 so both sides start from identical values.
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.float().double())
    return g, d, vgg


def content_loss(vgg, generated, photos):
    return CONFIG["content_weight"] * (vgg(generated) - vgg(photos).detach()).abs().mean()


def run(nets, batches, dtype, dump=None):
    """30 steps; returns each step's losses."""
    torch.set_default_dtype(dtype)  # the VGG's mean/std constants too
    g, d, vgg = (m.to(dtype) for m in nets)
    for p in vgg.parameters():
        p.requires_grad_(False)
    c = CONFIG
    opt_g = torch.optim.Adam(g.parameters(), lr=c["lr"], betas=(0.5, 0.999), eps=c["eps"])
    opt_d = torch.optim.Adam(d.parameters(), lr=c["lr"], betas=(0.5, 0.999), eps=c["eps"])
    g.train(), d.train()
    history = []
    for k, batch in enumerate(batches[:c["epochs"] * c["steps_per_epoch"]]):
        photos, cartoons, smoothed = (t.to(dtype) for t in batch)
        epoch = k // c["steps_per_epoch"]
        generated = g(photos)
        grads = {}
        if epoch < c["init_epochs"]:
            content = content_loss(vgg, generated, photos)
            opt_g.zero_grad()
            content.backward()
            grads.update({f"g.{n}": p.grad.clone() for n, p in g.named_parameters()})
            opt_g.step()
            history.append({"step": k + 1, "phase": "init", "losses": {"content": content.item()}})
        else:
            d_real = bce(d(cartoons), 1.0)
            d_edge = bce(d(smoothed), 0.0)
            d_fake = bce(d(generated.detach()), 0.0)
            d_loss = d_real + d_edge + d_fake
            opt_d.zero_grad()
            d_loss.backward()
            grads.update({f"d.{n}": p.grad.clone() for n, p in d.named_parameters()})
            opt_d.step()
            g_adv = bce(d(generated), 1.0)
            content = content_loss(vgg, generated, photos)
            g_loss = g_adv + content
            opt_g.zero_grad()
            g_loss.backward()
            grads.update({f"g.{n}": p.grad.clone() for n, p in g.named_parameters()})
            opt_g.step()
            history.append({"step": k + 1, "phase": "adversarial", "losses": {
                "d_loss": d_loss.item(), "g_adv": g_adv.item(), "content": content.item(),
                "g_loss": g_loss.item(), "d_real": d_real.item(), "d_edge": d_edge.item(),
                "d_fake": d_fake.item()}})
        if dump:
            os.makedirs(dump, exist_ok=True)
            weights = {f"g.{k2}": v.double() for k2, v in g.state_dict().items()}
            weights.update({f"d.{k2}": v.double() for k2, v in d.state_dict().items()})
            torch.save(weights, os.path.join(dump, f"step-{k + 1:02}.pt"))
            torch.save({n: v.double() for n, v in grads.items()},
                       os.path.join(dump, f"grad-{k + 1:02}.pt"))
    return history


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", help="fixture folder (tests/fixtures/trajectory)")
    p.add_argument("--batches", default="tests/fixtures/trajectory/batches.safetensors")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--dump", help="folder for every step's weights and gradients")
    p.add_argument("--compare", help="losses.json of another run: print the step-wise gap")
    p.add_argument("--lr", type=float, help="override the learning rate (chaos checks)")
    p.add_argument("--eps", type=float, help="override Adam's epsilon (chaos checks)")
    p.add_argument("--seed", type=int, help="override the initial weights' seed")
    args = p.parse_args()
    if args.seed is not None:
        CONFIG["seed"] = args.seed
    if args.lr:
        CONFIG["lr"] = args.lr
    if args.eps:
        CONFIG["eps"] = args.eps
    batches = load_batches(args.batches)
    g, d, vgg = build()
    init = {**state(g, "g"), **state(d, "d")}
    vgg_weights = vgg_state(vgg)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    history = run((g, d, vgg), batches, dtype, args.dump)
    for h in history:
        print(h["step"], h["phase"], {k: round(v, 6) for k, v in h["losses"].items()})
    if args.compare:
        with open(args.compare) as f:
            other = json.load(f)["steps"]
        for a, b in zip(history, other):
            worst = max(abs(a["losses"][k] - b["losses"][k]) / abs(b["losses"][k])
                        for k in b["losses"])
            print(f"step {a['step']}: worst loss rel. gap {worst:.2e}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        from safetensors.torch import save_file
        save_file(init, os.path.join(args.out, "cartoongan_init.safetensors"))
        torch.save(vgg_weights, os.path.join(args.out, "cartoongan_vgg.pth"))
        save_file({**state(g, "g"), **state(d, "d")},
                  os.path.join(args.out, "cartoongan_expected.safetensors"))
        with open(os.path.join(args.out, "cartoongan_losses.json"), "w") as f:
            json.dump({"config": CONFIG, "steps": history}, f, indent=1)


if __name__ == "__main__":
    main()
