#!/usr/bin/env bash
# The device check of issues 7 and 21, in one call: correctness of toongan on the GPU through
# CUDA and through wgpu (Vulkan) (published generator on a real photo vs the CPU engine, within
# 1/255; a tiny CartoonGAN training step vs the CPU step, within 1e-3) and timings side by side
# with PyTorch on the same card: generator forward 256² and 1024², batch 1 and 8; CartoonGAN
# training step 256², batch 8. With gpu_check-tuned (TUNED=1 prepare.sh), the same again with
# burn's fusion + autotune.
#
# On the GPU machine (after bench/gpu/prepare.sh here):   bash bench/gpu/run.sh
# CPU fallback, to test this script anywhere:             bash bench/gpu/run.sh --cpu
#   (with a wgpu build it also runs wgpu:cpu, Mesa's software Vulkan: a correctness check
#   only, its timings are not benchmarks)
#
# Results: $OUT (or ./gpu-results) gets toongan-<device>[-tuned].jsonl, pytorch.jsonl,
# devices.txt, log.txt, and a cartoonized photo from each device.
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=cuda
[ "${1:-}" = "--cpu" ] && MODE=cpu
OUTDIR="${OUT:-gpu-results}"
mkdir -p "$OUTDIR"
exec > >(tee "$OUTDIR/log.txt") 2>&1
date -u
PHOTO=assets/example-cat.png  # a real photo (CC0) that travels with the repo
PY=python3
[ -x .venv/bin/python ] && [ "$MODE" = cpu ] && PY=.venv/bin/python

if [ "$MODE" = cuda ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  mkdir -p /tmp/toongan-bin
  for f in .gpu/bin/*.xz; do xz -dc "$f" > "/tmp/toongan-bin/$(basename "$f" .xz)"; done
  chmod +x /tmp/toongan-bin/*
  BIN=/tmp/toongan-bin
  EXAMPLE=$BIN/gpu_check
  # wgpu needs the Vulkan loader; the NVIDIA driver provides the ICD (when the container has
  # the "graphics" driver capability).
  [ -d .gpu/lib ] && export LD_LIBRARY_PATH=$PWD/.gpu/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # Widen the carried float16 weights back to float32 .npy files.
  WEIGHTS=/tmp/toongan-weights
  mkdir -p $WEIGHTS/shinkai
  $PY - .gpu/weights/shinkai $WEIGHTS/shinkai <<'PYEOF'
import os, sys
import numpy as np
src, dst = sys.argv[1:]
for name in os.listdir(src):
    np.save(os.path.join(dst, name), np.load(os.path.join(src, name)).astype(np.float32))
PYEOF
  QUICK=""
else
  BIN=target/release
  EXAMPLE=target/release/examples/gpu_check
  WEIGHTS="${TOONGAN_WEIGHTS_DIR:-../shared/weights/cartoongan}"
  QUICK="--quick"
fi
export TOONGAN_WEIGHTS_DIR=$WEIGHTS
rc=0

echo "== devices"
"$BIN/toongan" devices | tee "$OUTDIR/devices.txt"
DEVICES="$MODE"
if [ "$MODE" = cuda ]; then
  # wgpu on the same card, when the machine exposes it through Vulkan.
  grep -q '^wgpu:0 ' "$OUTDIR/devices.txt" && DEVICES="cuda wgpu:0" \
    || echo "wgpu: no hardware Vulkan adapter here (see devices.txt): wgpu not measured"
elif grep -q '^wgpu:cpu ' "$OUTDIR/devices.txt"; then
  DEVICES="cpu wgpu:cpu"  # software Vulkan: checks the code path; its timings mean nothing
fi
for DEV in $DEVICES; do
  for EX in "$EXAMPLE" "$EXAMPLE-tuned"; do
    [ -x "$EX" ] || continue
    TAG="$DEV${EX##*gpu_check}"
    echo "== toongan ($(basename "$EX")): correctness and timings on $DEV"
    "$EX" --device "$DEV" --photo "$PHOTO" --weights-dir "$WEIGHTS" $QUICK \
      --json "$OUTDIR/toongan-${TAG//:/_}.jsonl" || rc=1
  done
done

echo "== toongan cartoonize end to end on $MODE (burn) and on the CPU engine"
# On the CPU fallback the "device" side is burn's model on the CPU, so the two sides differ.
"$BIN/toongan" cartoonize "$PHOTO" --style shinkai --offline --device "$MODE" --engine burn \
  --output "$OUTDIR/photo_device.png" || rc=1
"$BIN/toongan" cartoonize "$PHOTO" --style shinkai --offline --device cpu \
  --output "$OUTDIR/photo_cpu.png" || rc=1
$PY - "$OUTDIR/photo_device.png" "$OUTDIR/photo_cpu.png" <<'PYEOF' || rc=1
import sys
import numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p), dtype=np.int16) for p in sys.argv[1:])
d = np.abs(a - b)
print(f"cartoonize {sys.argv[1]} vs {sys.argv[2]}: max {d.max()} levels, {(d > 1).sum()} values off by more than 1")
sys.exit(0 if d.max() <= 1 else 1)
PYEOF

echo "== PyTorch: the same timings on $MODE"
$PY bench/gpu/pytorch_gpu.py --device "$MODE" --weights "$WEIGHTS/shinkai" $QUICK \
  --json "$OUTDIR/pytorch.jsonl" || rc=1
echo "exit $rc"
exit $rc
