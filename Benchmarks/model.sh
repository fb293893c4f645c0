#!/usr/bin/env bash
# Model benchmark: vcoswin (Swift) and PyTorch/torchvision side by side, same machine, threads,
# shapes and protocol, each case in its own process (peak RSS per case). Prints a table with
# throughput ratios, memory ratios and the fraction of raw sgemm the Swift model reaches.
#
#   Benchmarks/model.sh [threads=2] [iterations=3] [cases="video16 video32 image8 train"]
#   (also: train16 train16-recompute — peak memory of a training step at 16×224², without and
#   with activation recompute / torch.utils.checkpoint per block)
#   CLOCK=cpu times process CPU time / threads on both sides (a shared machine; default wall).
#   "%own" is the time of the case's own GEMM shapes, each timed alone with raw sgemm, over the
#   case's time: the fraction of the honest ceiling reached.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
ITERS=${2:-3}
CASES=$(echo "${3:-video16 video32 image8 train}" | tr ',' ' ')
CLOCK=${CLOCK:-wall}
[ -n "${SKIP_BUILD:-}" ] || swift build -c release --product vcoswin-bench >/dev/null
OUT=$(mktemp)
for c in $CASES; do
  .build/release/vcoswin-bench model --only "$c" --threads "$THREADS" --iterations "$ITERS" \
    --clock "$CLOCK" --json >>"$OUT"
  python3 Benchmarks/model_torch.py --only "$c" --threads "$THREADS" --iterations "$ITERS" \
    --clock "$CLOCK" >>"$OUT"
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["case"], {})[r["impl"]] = r
names = {"video16": "swin3d_t 1x3x16x224x224 inference", "video32": "swin3d_t 1x3x32x224x224 inference",
         "image8": "swin_t 8x3x224x224 inference", "train": "swin3d_t 2x3x8x112x112 train step",
         "train16": "swin3d_t 2x3x16x224x224 train step",
         "train16-recompute": "  same, activation recompute"}
print(f"{'case':38} {'swift s':>8} {'torch s':>8} {'speedup':>8} {'swift MB':>9} {'torch MB':>9} {'mem':>6} {'GFLOP/s':>8} {'%sgemm':>7} {'%own':>6}")
for c, d in by.items():
    s, t = d.get("swift"), d.get("torch")
    if not s or not t:
        continue
    print(f"{names.get(c, c):38} {s['seconds']:8.3f} {t['seconds']:8.3f} {t['seconds'] / s['seconds']:7.2f}x "
          f"{s['peak_rss_mb']:9.0f} {t['peak_rss_mb']:9.0f} {s['peak_rss_mb'] / t['peak_rss_mb']:6.2f} "
          f"{s['gflops']:8.1f} {100 * s['gflops'] / s['sgemm_gflops']:6.0f}% "
          f"{100 * s['gemm_seconds'] / s['seconds']:5.0f}%")
PY
rm -f "$OUT"
