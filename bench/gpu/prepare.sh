#!/usr/bin/env bash
# Prepares what bench/gpu/run.sh needs on a GPU machine, HERE (the GPU machine has no Rust
# toolchain and cannot see ../shared), into .gpu/ (ignored by git, carried by the device tool):
#   .gpu/bin/gpu_check.xz, .gpu/bin/toongan.xz   CUDA + wgpu builds, stripped and compressed
#   .gpu/bin/gpu_check-tuned.xz                   with burn's fusion + autotune (TUNED=1 only)
#   .gpu/lib/libvulkan.so.1                       the Vulkan loader (wgpu needs it; the GPU
#                                                 machine may lack it, the NVIDIA driver has the ICD)
#   .gpu/weights/shinkai/*.npy                     the published shinkai weights, as float16
# The device tool carries at most 64 MiB with the working tree (~25 MB of it tracked files),
# so the 43 MB of float32 weights travel as float16 (22 MB); run.sh widens them back to
# float32 before use. The GPU-vs-CPU check runs both sides on the same rounded weights.
#
#   bash bench/gpu/prepare.sh            # then: device run "bash bench/gpu/run.sh", carry [".gpu"]
#   TUNED=1 bash bench/gpu/prepare.sh    # also a fusion+autotune gpu_check (needs carry room:
#                                        # it prints the total; the limit is 64 MiB with the tree)
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${TOONGAN_SHARED_DIR:-$(cd .. && pwd)/shared}"
TARGET="${CARGO_TARGET_DIR:-target-cuda}"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude

CARGO_TARGET_DIR="$TARGET" cargo build --release --locked --features cuda,wgpu \
  --bin toongan --example gpu_check
rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib .gpu/weights/shinkai
for b in "$TARGET/release/toongan" "$TARGET/release/examples/gpu_check"; do
  strip -o ".gpu/bin/$(basename "$b")" "$b"
  xz -T0 -9 ".gpu/bin/$(basename "$b")"
done
if [ "${TUNED:-0}" = 1 ]; then
  # A second target folder: the feature change would rebuild burn in the first one.
  CARGO_TARGET_DIR="$TARGET-tuned" cargo build --release --locked \
    --features cuda,wgpu,fusion,autotune --example gpu_check
  strip -o .gpu/bin/gpu_check-tuned "$TARGET-tuned/release/examples/gpu_check"
  xz -T0 -9 .gpu/bin/gpu_check-tuned
fi
cp -L "$(ldconfig -p | awk '/libvulkan.so.1 /{print $NF; exit}')" .gpu/lib/ \
  || echo "no libvulkan.so.1 here (apt-get install libvulkan1): the GPU machine must have its own"
PY="${PYTHON:-.venv/bin/python}"
"$PY" - "$SHARED/weights/cartoongan/shinkai" .gpu/weights/shinkai <<'PYEOF'
import os, sys
import numpy as np
src, dst = sys.argv[1:]
for name in sorted(os.listdir(src)):
    if name.endswith(".npy"):
        np.save(os.path.join(dst, name), np.load(os.path.join(src, name)).astype(np.float16))
PYEOF
du -sh .gpu/bin/* .gpu/lib .gpu/weights
echo "carry: $(du -sm .gpu | cut -f1) MB of .gpu + $(git ls-files -z | du -cm --files0-from=- | tail -1 | cut -f1) MB of tracked files (limit 64 MiB)"
echo "ready: call the device tool with command 'bash bench/gpu/run.sh' and carry ['.gpu']"
