#!/usr/bin/env bash
# Prepares what bench/gpu/run.sh needs on a GPU machine, HERE (the GPU machine has no Rust
# toolchain and cannot see ../shared), into .gpu/ (ignored by git, carried by the device tool):
#   .gpu/bin/gpu_check.xz, .gpu/bin/toongan.xz   CUDA builds, stripped and compressed
#   .gpu/weights/shinkai/*.npy                     the published shinkai weights, as float16
# The device tool carries at most 64 MiB with the working tree (~25 MB of it tracked files),
# so the 43 MB of float32 weights travel as float16 (22 MB); run.sh widens them back to
# float32 before use. The GPU-vs-CPU check runs both sides on the same rounded weights.
#
#   bash bench/gpu/prepare.sh            # then: device run "bash bench/gpu/run.sh", carry [".gpu"]
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${TOONGAN_SHARED_DIR:-$(cd .. && pwd)/shared}"
TARGET="${CARGO_TARGET_DIR:-target-cuda}"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude

CARGO_TARGET_DIR="$TARGET" cargo build --release --locked --features cuda \
  --bin toongan --example gpu_check
rm -rf .gpu && mkdir -p .gpu/bin .gpu/weights/shinkai
for b in "$TARGET/release/toongan" "$TARGET/release/examples/gpu_check"; do
  strip -o ".gpu/bin/$(basename "$b")" "$b"
  xz -T0 -6 ".gpu/bin/$(basename "$b")"
done
PY="${PYTHON:-.venv/bin/python}"
"$PY" - "$SHARED/weights/cartoongan/shinkai" .gpu/weights/shinkai <<'PYEOF'
import os, sys
import numpy as np
src, dst = sys.argv[1:]
for name in sorted(os.listdir(src)):
    if name.endswith(".npy"):
        np.save(os.path.join(dst, name), np.load(os.path.join(src, name)).astype(np.float16))
PYEOF
du -sh .gpu/bin/* .gpu/weights
echo "ready: call the device tool with command 'bash bench/gpu/run.sh' and carry ['.gpu']"
