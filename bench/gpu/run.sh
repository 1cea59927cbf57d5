#!/usr/bin/env bash
# The device check of issue 7, in one call: correctness of toongan on the GPU (published
# generator on a real photo vs the CPU engine, within 1/255; a tiny CartoonGAN training step
# vs the CPU step, within 1e-3) and timings side by side with PyTorch on the same card:
# generator forward 256² and 1024², batch 1 and 8; CartoonGAN training step 256², batch 8.
#
# On the GPU machine (after bench/gpu/prepare.sh here):   bash bench/gpu/run.sh
# CPU fallback, to test this script anywhere:             bash bench/gpu/run.sh --cpu
#
# Results: $OUT (or ./gpu-results) gets toongan.jsonl, pytorch.jsonl, log.txt, and a
# cartoonized photo from each device.
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

echo "== toongan: correctness and timings on $MODE"
"$EXAMPLE" --device "$MODE" --photo "$PHOTO" --weights-dir "$WEIGHTS" $QUICK \
  --json "$OUTDIR/toongan.jsonl" || rc=1

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
