"""PyTorch and ONNX Runtime baselines for `toongan bench`: the same CartoonGAN generator
(published shinkai weights, read from the same .npy files), timed at the same sizes, printed
in the same table format.

Cases: forward 256x256, forward 512x512, and the photo end to end (decode with Pillow,
forward, encode PNG with Pillow). Each case runs in a child process (peak RSS = VmHWM of
that process), one warm-up then the median of N runs. ONNX Runtime runs a model exported
from the PyTorch module with dynamic height/width.

Run from the repository root (the lead reruns this on a quiet machine):

    TOONGAN_WEIGHTS_DIR=/work/shared/weights/cartoongan \
        /work/main/.venv/bin/python bench/pytorch_generator.py \
        --photo /work/shared/images/photos/mountain-lake.jpg
"""

import argparse
import json
import multiprocessing as mp
import os
import queue as queue_mod
import statistics
import tempfile
import time

import numpy as np


def build_generator(weights_dir):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class InstanceNorm(nn.Module):
        def __init__(self, scale, shift):
            super().__init__()
            self.scale = nn.Parameter(scale.view(1, -1, 1, 1))
            self.shift = nn.Parameter(shift.view(1, -1, 1, 1))

        def forward(self, x):
            mean = x.mean(dim=(2, 3), keepdim=True)
            var = ((x - mean) ** 2).mean(dim=(2, 3), keepdim=True)
            return (x - mean) / torch.sqrt(var + 1e-9) * self.scale + self.shift

    def load(name):
        return torch.from_numpy(np.load(os.path.join(weights_dir, f"{name}.npy")).astype(np.float32))

    def conv(name, stride=1, transpose=False):
        w, b = load(f"{name}.weight"), load(f"{name}.bias")
        if transpose:
            m = nn.ConvTranspose2d(w.shape[0], w.shape[1], 3, 2, 1, 1)
        else:
            m = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride)
        m.weight.data, m.bias.data = w, b
        return m

    def norm(name):
        return InstanceNorm(load(f"{name}.scale"), load(f"{name}.shift"))

    class Generator(nn.Module):
        """The published PyTorch port's Transformer (Yijunmaverick/CartoonGAN-Test-Pytorch-Torch)."""

        def __init__(self):
            super().__init__()
            self.c1, self.n1 = conv("conv01_1"), norm("in01_1")
            self.down = nn.ModuleList(
                nn.ModuleList([conv(f"conv{c}_1", 2), conv(f"conv{c}_2"), norm(f"in{c}_1")])
                for c in ("02", "03")
            )
            self.res = nn.ModuleList(
                nn.ModuleList(
                    [conv(f"conv{b:02}_1"), norm(f"in{b:02}_1"), conv(f"conv{b:02}_2"), norm(f"in{b:02}_2")]
                )
                for b in range(4, 12)
            )
            self.up = nn.ModuleList(
                nn.ModuleList([conv(f"deconv{d}_1", transpose=True), conv(f"deconv{d}_2"), norm(f"in{i}_1")])
                for d, i in (("01", "12"), ("02", "13"))
            )
            self.out = conv("deconv03_1")

        def forward(self, x):
            y = F.relu(self.n1(self.c1(F.pad(x, (3, 3, 3, 3), mode="reflect"))))
            for d, c, n in self.down:
                y = d(F.pad(y, (1, 1, 1, 1)))
                y = F.relu(n(c(F.pad(y, (1, 1, 1, 1)))))
            for c1, n1, c2, n2 in self.res:
                h = F.relu(n1(c1(F.pad(y, (1, 1, 1, 1), mode="reflect"))))
                y = n2(c2(F.pad(h, (1, 1, 1, 1), mode="reflect"))) + y
            for t, c, n in self.up:
                y = t(y)
                y = F.relu(n(c(F.pad(y, (1, 1, 1, 1)))))
            return torch.tanh(self.out(F.pad(y, (3, 3, 3, 3), mode="reflect")))

    return Generator().eval()


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def run_case(engine, case, weights_dir, photo, runs, onnx_path, queue):
    # A case that fails (an allocation it cannot get, say) reports why instead of leaving the
    # parent waiting on the queue.
    try:
        _run_case(engine, case, weights_dir, photo, runs, onnx_path, queue)
    except BaseException as e:  # noqa: BLE001 - MemoryError and runtime allocation errors alike
        label = str(case)
        if case == "photo":
            from PIL import Image

            label = "photo {}x{} e2e".format(*Image.open(photo).size)
        queue.put(dict(engine=engine, case=label, error=f"{type(e).__name__}: {e}"[:300],
                       peak_rss_mib=peak_rss_mib()))


def _run_case(engine, case, weights_dir, photo, runs, onnx_path, queue):
    import torch
    from PIL import Image

    torch.set_num_threads(os.cpu_count())
    g = build_generator(weights_dir)
    if engine == "onnxruntime":
        import onnxruntime as ort

        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])

        def forward(x):
            return sess.run(None, {"x": x})[0]
    else:

        def forward(x):
            with torch.inference_mode():
                return g(torch.from_numpy(x)).numpy()

    if case == "photo":
        out_dir = tempfile.mkdtemp()

        def once():
            img = np.asarray(Image.open(photo).convert("RGB"), dtype=np.float32) / 255.0
            h, w, _ = img.shape
            x = np.ascontiguousarray((img[:, :, ::-1] * 2 - 1).transpose(2, 0, 1)[None])
            y = forward(x)[0].transpose(1, 2, 0)[:, :, ::-1]
            u8 = np.clip(np.rint((y + 1) * 0.5 * 255), 0, 255).astype(np.uint8)
            Image.fromarray(u8).save(os.path.join(out_dir, "bench.png"))

        w, h = Image.open(photo).size
        label = f"photo {w}x{h} e2e"
    else:
        w, h = case
        x = np.random.default_rng(0).uniform(-1, 1, (1, 3, h, w)).astype(np.float32)

        def once():
            forward(x)

        label = f"forward {w}x{h}"
    once()
    times, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        once()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    queue.put(
        dict(
            engine=engine,
            case=label,
            runs=len(times),
            median_s=times[len(times) // 2],
            min_s=times[0],
            peak_rss_mib=peak_rss_mib(),
            cpu_s=sorted(cpu)[len(cpu) // 2],
        )
    )


def export_onnx(weights_dir, path):
    import torch

    g = build_generator(weights_dir)
    x = torch.zeros(1, 3, 64, 64)
    torch.onnx.export(
        g, (x,), path, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}}, opset_version=17, dynamo=False,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=os.environ.get("TOONGAN_WEIGHTS_DIR", "../shared/weights/cartoongan"))
    ap.add_argument("--photo", default="../shared/images/photos/mountain-lake.jpg")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engines", default="pytorch,onnxruntime")
    ap.add_argument("--cases", default="256,512,photo", help="comma-separated: N (NxN forward) or photo")
    args = ap.parse_args()
    weights_dir = os.path.join(args.weights, "shinkai")
    onnx_path = os.path.join(tempfile.mkdtemp(), "cartoongan_shinkai.onnx")
    export_onnx(weights_dir, onnx_path)
    ctx = mp.get_context("spawn")
    rows = []
    for engine in args.engines.split(","):
        for case in [c if c == "photo" else (int(c), int(c)) for c in args.cases.split(",")]:
            q = ctx.Queue()
            p = ctx.Process(target=run_case, args=(engine, case, weights_dir, args.photo, args.runs, onnx_path, q))
            p.start()
            r = None
            while r is None:
                try:
                    r = q.get(timeout=5)
                except queue_mod.Empty:
                    if not p.is_alive() and q.empty():
                        # Killed (the OOM killer: exit code -9) or crashed without a word.
                        r = dict(engine=engine, case=str(case), peak_rss_mib=None,
                                 error=f"child process died, exit code {p.exitcode}")
            p.join()
            if "error" in r:
                print(f"{r['engine']}: {r['case']} FAILED: {r['error']}", flush=True)
            else:
                print(f"{r['engine']}: {r['case']} median {r['median_s']:.3f} s (CPU {r['cpu_s']:.3f} s)", flush=True)
            rows.append(r)
    print("| engine | case | median s | min s | runs | peak RSS MiB |\n|---|---|---:|---:|---:|---:|")
    for r in rows:
        rss = "?" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib']:.0f}"
        if "error" in r:
            print(f"| {r['engine']} | {r['case']} | failed: {r['error']} | | | {rss} |")
        else:
            print(f"| {r['engine']} | {r['case']} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['runs']} | {rss} |")
    print(json.dumps({"threads": os.cpu_count()}))


if __name__ == "__main__":
    main()
