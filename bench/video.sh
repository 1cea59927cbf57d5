#!/usr/bin/env bash
# Video and large-photo benchmarks of issue 18, side by side in one run (run on a quiet
# machine; figures from a loaded machine are not benchmarks, so `uptime` is printed beside
# every pair):
#   - frames/s at 480p and 720p: toongan cartoonize (ffmpeg pipes, libx264 out), default
#     stabilization and --no-stabilize, vs a PyTorch per-frame loop with OpenCV decoding and
#     cv2.VideoWriter encoding (bench/pytorch_video.py, what AnimeGAN's video script does),
#     same weights, same style, same clip;
#   - a 12 MP (4000x3000) photo: toongan's time and peak memory (banded whole-image
#     inference), then PyTorch and ONNX Runtime on the whole image
#     (bench/pytorch_generator.py --photo, one warm-up run then PEER_PHOTO_RUNS timed runs);
#     then toongan on a 4096x4096 photo.
# Usage: bench/video.sh [python]   (from the repository root, after cargo build --release)
# Environment: TOONGAN_BIN (default target/release/toongan), TOONGAN_SHARED_DIR (../shared),
#   TOONGAN_WEIGHTS_DIR, PEER_PHOTO_RUNS (1), PEER_MEM_LIMIT (address-space cap for the
#   PyTorch/ORT photo processes, passed to prlimit --as, e.g. 20G; unset = no cap),
#   BENCH_KEEP (a folder to keep the /usr/bin/time logs in; default: deleted).
set -euo pipefail
PY=${1:-/work/main/.venv/bin/python}
BIN=${TOONGAN_BIN:-target/release/toongan}
SHARED=${TOONGAN_SHARED_DIR:-../shared}
export TOONGAN_WEIGHTS_DIR=${TOONGAN_WEIGHTS_DIR:-$SHARED/weights/cartoongan}
PHOTO=$SHARED/images/photos/mountain-lake.jpg
RUNS=${PEER_PHOTO_RUNS:-1}
T=$(mktemp -d)
if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP"; trap 'cp "$T"/*.log "$BENCH_KEEP"/ 2>/dev/null; rm -rf "$T"' EXIT
else trap 'rm -rf "$T"' EXIT; fi
peak() { grep "Maximum resident" "$1" | awk '{printf "%.0f MiB", $6/1024}'; }
wall() { grep "Elapsed (wall clock)" "$1" | awk '{print $NF}'; }
load() { echo "-- $(date -u +%FT%TZ) $(uptime)"; }
# Runs a command under /usr/bin/time -v with its stdout and stderr in log $1 (the PyTorch
# loop prints its figure on stdout, toongan on stderr); prints the log on failure.
timed() {
  local log=$1; shift
  /usr/bin/time -v "$@" > "$log" 2>&1 || { cat "$log"; echo "FAILED: $*"; return 1; }
}
echo "toongan: $BIN ($("$BIN" --version 2>/dev/null || echo '?')), python: $PY, $(nproc) cores"
load
for size in 854x480 1280x720; do
  w=${size%x*}; h=${size#*x}
  # 48 frames panning 1 px a frame across the photo scaled to 1.5x the clip's width
  # (exact=1: otherwise the crop rounds x to the chroma subsampling, as tests/video.rs notes).
  ffmpeg -v error -nostdin -y -loop 1 -framerate 24 -i "$PHOTO" \
    -vf "scale=$((w * 3 / 2)):-2,crop=$w:$h:x='n':y=0:exact=1,format=yuv420p" -frames:v 48 \
    -c:v libx264 -crf 12 "$T/clip_$h.mp4"
  timed "$T/toongan_$h.log" "$BIN" cartoonize "$T/clip_$h.mp4" --style shinkai -o "$T/out_$h.mp4"
  echo "toongan $size: $(grep '^wrote' "$T/toongan_$h.log"), process wall $(wall "$T/toongan_$h.log"), peak RSS $(peak "$T/toongan_$h.log")"
  load
  timed "$T/torch_$h.log" "$PY" bench/pytorch_video.py "$T/clip_$h.mp4" --style shinkai --out "$T/torch_$h.mp4"
  echo "$(grep '^pytorch+opencv' "$T/torch_$h.log"), process wall $(wall "$T/torch_$h.log"), peak RSS (time -v) $(peak "$T/torch_$h.log")"
  load
  timed "$T/toongan_ns_$h.log" "$BIN" cartoonize "$T/clip_$h.mp4" --style shinkai --no-stabilize -o "$T/out_ns_$h.mp4"
  echo "toongan --no-stabilize $size: $(grep '^wrote' "$T/toongan_ns_$h.log"), process wall $(wall "$T/toongan_ns_$h.log"), peak RSS $(peak "$T/toongan_ns_$h.log")"
  load
done
for size in 4000x3000 4096x4096; do
  ffmpeg -v error -nostdin -y -i "$PHOTO" -vf "scale=${size/x/:}" -q:v 2 "$T/photo_$size.jpg"
done
timed "$T/toongan_12mp.log" "$BIN" cartoonize "$T/photo_4000x3000.jpg" --style shinkai -o "$T/out_12mp.png"
echo "toongan photo 4000x3000: $(grep '^wrote' "$T/toongan_12mp.log"), process wall $(wall "$T/toongan_12mp.log"), peak RSS $(peak "$T/toongan_12mp.log")"
load
cap=()
if [ -n "${PEER_MEM_LIMIT:-}" ]; then cap=(prlimit --as="$(numfmt --from=iec "$PEER_MEM_LIMIT")" --); echo "peers capped: ${cap[*]}"; fi
# The generator script runs each engine's case in its own child process; a case that cannot
# allocate its memory is reported by the script and the run goes on.
"${cap[@]}" "$PY" bench/pytorch_generator.py --weights "$TOONGAN_WEIGHTS_DIR" \
  --photo "$T/photo_4000x3000.jpg" --cases photo --runs "$RUNS" || echo "FAILED: pytorch_generator.py (exit $?)"
load
timed "$T/toongan_16mp.log" "$BIN" cartoonize "$T/photo_4096x4096.jpg" --style shinkai -o "$T/out_16mp.png"
echo "toongan photo 4096x4096: $(grep '^wrote' "$T/toongan_16mp.log"), process wall $(wall "$T/toongan_16mp.log"), peak RSS $(peak "$T/toongan_16mp.log")"
load
