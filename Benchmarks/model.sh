#!/usr/bin/env bash
# Model benchmark: vcoswin (Swift) and PyTorch/torchvision side by side, same machine, threads,
# shapes and protocol, each case in its own process (peak RSS per case). Prints a table with
# throughput ratios, memory ratios and the fraction of raw sgemm the Swift model reaches.
#
#   Benchmarks/model.sh [threads=2] [iterations=3] [cases="video16 video32 image8 train"]
#   (also: train16 train16-recompute — peak memory of a training step at 16×224², without and
#   with activation recompute / torch.utils.checkpoint per block)
#   CLOCK=cpu times process CPU time / threads on both sides (a shared machine; default wall).
#   ROUNDS=N runs each case N times, alternating which side goes first, and reports the median
#   of the N per-round ratios with their range: a machine whose speed drifts (a shared host) moves
#   both sides of one round together, so the median ratio is steadier than any one run
#   (default 1).
#   GEMM=openblas runs the Swift side on OpenBLAS's sgemm instead of the package's kernel.
#   "%own" is the time of the case's own GEMM shapes, each timed alone with raw sgemm, over the
#   case's time: the fraction of the honest ceiling reached.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
ITERS=${2:-3}
CASES=$(echo "${3:-video16 video32 image8 train}" | tr ',' ' ')
CLOCK=${CLOCK:-wall}
ROUNDS=${ROUNDS:-1}
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a whole number ≥ 1 (got '$ROUNDS')" >&2; exit 2; }
GEMM_OPTION=()
[ -z "${GEMM:-}" ] || GEMM_OPTION=(--gemm "$GEMM")
[ -n "${SKIP_BUILD:-}" ] || swift build -c release --product vcoswin-bench >/dev/null
OUT=$(mktemp)
swift_side() {
  .build/release/vcoswin-bench model --only "$1" --threads "$THREADS" --iterations "$ITERS" \
    --clock "$CLOCK" "${GEMM_OPTION[@]}" --json | sed "s/^{/{\"round\": $2, /" >>"$OUT"
}
torch_side() {
  python3 Benchmarks/model_torch.py --only "$1" --threads "$THREADS" --iterations "$ITERS" \
    --clock "$CLOCK" | sed "s/^{/{\"round\": $2, /" >>"$OUT"
}
for c in $CASES; do
  for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then swift_side "$c" "$r"; torch_side "$c" "$r"
    else torch_side "$c" "$r"; swift_side "$c" "$r"; fi
  done
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by, rounds = {}, {}
for r in rows:
    rounds.setdefault(r["case"], {}).setdefault(r["round"], {})[r["impl"]] = r
def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
for c, rs in rounds.items():
    pairs = [d for d in rs.values() if "swift" in d and "torch" in d]
    if not pairs:
        continue
    ratios = [d["torch"]["seconds"] / d["swift"]["seconds"] for d in pairs]
    # The round whose ratio is the median (the lower middle one for an even count) stands for
    # the case; the range of the ratios over all rounds is printed beside it.
    mid = sorted(range(len(pairs)), key=lambda i: ratios[i])[(len(pairs) - 1) // 2]
    by[c] = dict(pairs[mid], ratios=ratios)
names = {"video16": "swin3d_t 1x3x16x224x224 inference", "video32": "swin3d_t 1x3x32x224x224 inference",
         "image8": "swin_t 8x3x224x224 inference", "train": "swin3d_t 2x3x8x112x112 train step",
         "train16": "swin3d_t 2x3x16x224x224 train step",
         "train16-recompute": "  same, activation recompute"}
print(f"{'case':38} {'swift s':>8} {'torch s':>8} {'speedup':>8} {'swift MB':>9} {'torch MB':>9} {'mem':>6} {'GFLOP/s':>8} {'%sgemm':>7} {'%own':>6}  rounds")
for c, d in by.items():
    s, t = d.get("swift"), d.get("torch")
    if not s or not t:
        continue
    print(f"{names.get(c, c):38} {s['seconds']:8.3f} {t['seconds']:8.3f} {t['seconds'] / s['seconds']:7.2f}x "
          f"{s['peak_rss_mb']:9.0f} {t['peak_rss_mb']:9.0f} {s['peak_rss_mb'] / t['peak_rss_mb']:6.2f} "
          f"{s['gflops']:8.1f} {100 * s['gflops'] / s['sgemm_gflops']:6.0f}% "
          f"{100 * s['gemm_seconds'] / s['seconds']:5.0f}%  "
          + (f"{len(d['ratios'])}: {min(d['ratios']):.2f}–{max(d['ratios']):.2f}x" if len(d["ratios"]) > 1 else "1"))
PY
rm -f "$OUT"
