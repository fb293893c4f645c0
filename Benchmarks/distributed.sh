#!/usr/bin/env bash
# Data-parallel training on this machine, side by side in one run:
#   1. the gradient all-reduce alone: swin3d_t's 28.2 M floats summed over 2 ranks
#      (`vcoswin-bench allreduce`): time and bandwidth, one buffer and 25 MB buckets;
#   2. a swin3d_t fine-tune at 2×3×8×112² per optimizer step (batch 2 of 8 frames at 112²):
#      1 rank × 2 threads (--batch-size 2) against 2 ranks × 1 thread (--batch-size 1 each),
#      training clips per second of the epoch (metrics.jsonl), in ROUNDS alternating rounds;
#      the ratio 2 ranks / 1 rank (target ≥ 0.9: MPI costs almost nothing).
#
#   make build bench && Benchmarks/distributed.sh
#
# Knobs (environment): CLIPS (24 training clips: 12 steps), ROUNDS (2), PRESET (swin3d_t),
# SIZE (112), CLIP_LEN (8).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.build/release/vcoswin"
bench="$root/.build/release/vcoswin-bench"
clips=${CLIPS:-24} rounds=${ROUNDS:-2} preset=${PRESET:-swin3d_t}
size=${SIZE:-112} clip_len=${CLIP_LEN:-8}
for b in "$bin" "$bench"; do [ -x "$b" ] || { echo "error: $b: not built" >&2; exit 1; }; done
command -v mpirun >/dev/null || { echo "error: mpirun is not installed (make deps)" >&2; exit 1; }
work=$(mktemp -d /tmp/vcoswin-distributed-XXXXXX)
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe -np 2 -x OPENBLAS_THREAD_TIMEOUT=4)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "avx512: $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo no)"
echo "load before: $(uptime | sed 's/.*load/load/')"

echo
echo "== all-reduce, 2 ranks on this machine (shared memory)"
"${mpi[@]}" "$bench" allreduce --preset "$preset" --iterations 5

echo
echo "== fine-tune $preset, 2×3×${clip_len}×${size}² per step, $clips clips, $rounds rounds"
head -n "$clips" "$root/Clips/train.txt" | sed "s|^|$root/Clips/|" > "$work/train.txt"
head -n 2 "$root/Clips/val.txt" | sed "s|^|$root/Clips/|" > "$work/val.txt"
"$bin" init --preset "$preset" --dims 3 --classes 8 --out "$work/init.safetensors" \
  --threads 2 >/dev/null
common=(finetune --train "$work/train.txt" --val "$work/val.txt"
        --labels "$root/Clips/motion_labels.txt" --init "$work/init.safetensors" --size "$size"
        --clip-len "$clip_len" --epochs 1 --quiet --overwrite)
rate() {  # rate OUT: the epoch's training clips per second
  tail -n 1 "$1/metrics.jsonl" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['clips_per_second'])"
}
one=() two=()
for r in $(seq 1 "$rounds"); do
  OPENBLAS_THREAD_TIMEOUT=4 "$bin" "${common[@]}" --batch-size 2 --threads 2 --out "$work/one" \
    >/dev/null
  one+=("$(rate "$work/one")")
  "${mpi[@]}" "$bin" "${common[@]}" --batch-size 1 --threads 1 --out "$work/two" >/dev/null
  two+=("$(rate "$work/two")")
  printf '   round %d: 1 rank × 2 threads %6.3f clips/s   2 ranks × 1 thread %6.3f clips/s\n' \
    "$r" "${one[-1]}" "${two[-1]}"
done
python3 - "${one[*]}" "${two[*]}" <<'EOF'
import sys
one = [float(x) for x in sys.argv[1].split()]
two = [float(x) for x in sys.argv[2].split()]
best1, best2 = max(one), max(two)
print(f"   best: 1 rank × 2 threads {best1:.3f} clips/s ({2 / best1:.3f} s/step), "
      f"2 ranks × 1 thread {best2:.3f} clips/s ({2 / best2:.3f} s/step)")
print(f"   throughput ratio 2 ranks / 1 rank: {best2 / best1:.2f} (target ≥ 0.90)")
EOF
echo "load after: $(uptime | sed 's/.*load/load/')"
