#!/usr/bin/env bash
# Video and large-photo benchmarks of issue 18, side by side in one run (run on a quiet
# machine; figures from a loaded machine are not benchmarks):
#   - frames/s at 480p and 720p: toongan cartoonize (ffmpeg pipes) vs a PyTorch per-frame
#     loop with OpenCV decoding (bench/pytorch_video.py), same weights;
#   - a 12 MP (4000x3000) photo and a 4096x4096 one: toongan's time and peak memory (banded
#     whole-image inference), and PyTorch / ONNX Runtime on the whole image
#     (bench/pytorch_generator.py --photo).
# Usage: bench/video.sh [python]   (from the repository root, after cargo build --release)
set -euo pipefail
PY=${1:-/work/main/.venv/bin/python}
SHARED=${TOONGAN_SHARED_DIR:-../shared}
export TOONGAN_WEIGHTS_DIR=${TOONGAN_WEIGHTS_DIR:-$SHARED/weights/cartoongan}
PHOTO=$SHARED/images/photos/mountain-lake.jpg
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
peak() { grep "Maximum resident" "$1" | awk '{printf "%.0f MiB", $6/1024}'; }
for size in 854x480 1280x720; do
  w=${size%x*}; h=${size#*x}
  ffmpeg -v error -nostdin -y -loop 1 -framerate 24 -i "$PHOTO" \
    -vf "scale=$((w * 3 / 2)):-2,crop=$w:$h:x='n':y=0,format=yuv420p" -frames:v 48 \
    -c:v libx264 -crf 12 "$T/clip_$h.mp4"
  /usr/bin/time -v target/release/toongan cartoonize "$T/clip_$h.mp4" --style shinkai \
    -o "$T/out_$h.mp4" 2> "$T/toongan_$h.log" || { cat "$T/toongan_$h.log"; exit 1; }
  echo "toongan $size: $(grep '^wrote' "$T/toongan_$h.log"), peak RSS $(peak "$T/toongan_$h.log")"
  "$PY" bench/pytorch_video.py "$T/clip_$h.mp4" --style shinkai --out "$T/torch_$h.mp4"
done
for size in 4000x3000 4096x4096; do
  ffmpeg -v error -nostdin -y -i "$PHOTO" -vf "scale=${size/x/:}" -q:v 2 "$T/photo_$size.jpg"
  /usr/bin/time -v target/release/toongan cartoonize "$T/photo_$size.jpg" --style shinkai \
    -o "$T/out_$size.png" 2> "$T/toongan_$size.log"
  echo "toongan photo $size: $(grep '^wrote' "$T/toongan_$size.log"), peak RSS $(peak "$T/toongan_$size.log")"
done
"$PY" bench/pytorch_generator.py --weights "$TOONGAN_WEIGHTS_DIR" --photo "$T/photo_4000x3000.jpg" --cases photo
