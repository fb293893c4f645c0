#!/usr/bin/env bash
# Fine-tuning at the recipe's size (Docs/BENCHMARKS.md, "Fine-tuning at 16×224²"): swin3d_t on
# clips of 64 frames at 256×256 (rendered by `vcoswin synth`), 16 frames × 224² crops, batch 4,
# one epoch, with and without --recompute-activations. Prints clips/s, the fraction of training
# time spent waiting for data, and peak RSS.
# Usage: Benchmarks/finetune_size.sh [DIR] [TRAIN_CLIPS=24] [THREADS=2] [WORKERS=1]
# SKIP_BUILD=1 reuses the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/vcoswin-finetune-size}
TRAIN=${2:-24}
THREADS=${3:-2}
WORKERS=${4:-1}
[ -n "${SKIP_BUILD:-}" ] || swift build -c release --product vcoswin >&2
BIN=.build/release/vcoswin
grep -m1 'model name' /proc/cpuinfo
uptime
mkdir -p "$DIR"
[ -f "$DIR/data/train.txt" ] || "$BIN" synth --out "$DIR/data" --train "$TRAIN" --val 8 \
  --frames 64 --size 256 --image-every 1000000 >&2
[ -f "$DIR/init.safetensors" ] || "$BIN" init --preset swin3d_t --classes 8 \
  --labels "$DIR/data/motion_labels.txt" --out "$DIR/init.safetensors" >&2
for mode in plain recompute; do
  extra=()
  [ "$mode" = recompute ] && extra=(--recompute-activations)
  /usr/bin/time -f "%M" -o "$DIR/rss-$mode" "$BIN" finetune --train "$DIR/data/train.txt" \
    --val "$DIR/data/val.txt" --labels "$DIR/data/motion_labels.txt" \
    --init "$DIR/init.safetensors" --out "$DIR/run-$mode" --overwrite --epochs 1 \
    --batch-size 4 --clip-len 16 --interval 4 --size 224 --threads "$THREADS" \
    --workers "$WORKERS" --quiet "${extra[@]}" >&2
  python3 - "$DIR/run-$mode/metrics.jsonl" "$DIR/rss-$mode" "$mode" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(f"{sys.argv[3]:10} {m['clips_per_second']:.2f} clips/s  data wait {100 * m.get('data_wait', float('nan')):.1f} %"
      f"  epoch {m['seconds']:.1f} s  peak RSS {rss:.0f} MB")
PY
done
