#!/usr/bin/env bash
# Data-parallel training on this machine, side by side in one run:
#   1. the gradient all-reduce alone: swin3d_t's 28.2 M floats summed over 2 ranks
#      (`vcoswin-bench allreduce`): time and bandwidth, one buffer and 25 MB buckets;
#   2. a swin3d_t training step at 2×3×8×112² in all (`vcoswin-bench dp-step`: forward,
#      backward with the buckets all-reduced as they are finished, AdamW): 1 rank × 2 threads
#      × batch 2 against 2 ranks × 1 thread × batch 1, in ROUNDS alternating rounds; then the
#      throughput ratio 2 ranks / 1 rank (target ≥ 0.9: MPI costs almost nothing) and the
#      all-reduce wait after backward (the communication the backward pass did not hide).
#
#   make bench && Benchmarks/distributed.sh
#
# Knobs (environment): ROUNDS (2), ITERATIONS (3 timed steps per run), PRESET (swin3d_t),
# SIZE (112), FRAMES (8).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench="$root/.build/release/vcoswin-bench"
rounds=${ROUNDS:-2} iterations=${ITERATIONS:-3} preset=${PRESET:-swin3d_t}
size=${SIZE:-112} frames=${FRAMES:-8}
[ -x "$bench" ] || { echo "error: $bench: not built (make bench)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "error: mpirun is not installed (make deps)" >&2; exit 1; }
mpi=(mpirun --oversubscribe -np 2 -x OPENBLAS_THREAD_TIMEOUT=4)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
export OPENBLAS_THREAD_TIMEOUT=4

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "avx512: $(grep -m1 -o 'avx512f' /proc/cpuinfo || echo no)"
echo "load before: $(uptime | sed 's/.*load/load/')"

echo
echo "== all-reduce, 2 ranks on this machine (shared memory)"
"${mpi[@]}" "$bench" allreduce --preset "$preset" --iterations 5

echo
echo "== $preset training step, 2×3×${frames}×${size}² in all, $rounds rounds of $iterations steps"
step=(dp-step --preset "$preset" --frames "$frames" --size "$size" --iterations "$iterations")
log=$(mktemp /tmp/vcoswin-distributed-XXXXXX)
trap 'rm -f "$log"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "-- round $r"
  "$bench" "${step[@]}" --batch 2 --threads 2 | tee -a "$log"
  "${mpi[@]}" "$bench" "${step[@]}" --batch 1 --threads 1 | tee -a "$log"
done
python3 - "$log" <<'EOF'
import re, sys
one, two = [], []
for line in open(sys.argv[1]):
    if line.startswith("dp-step:"):
        runs = two if "2 processes" in line else one
    m = re.search(r"([0-9.]+) samples/s", line)
    if m:
        runs.append(float(m.group(1)))
b1, b2 = max(one), max(two)
print(f"== best of {len(one)} runs each: 1 rank × 2 threads {b1:.3f} samples/s, "
      f"2 ranks × 1 thread {b2:.3f} samples/s")
print(f"   throughput ratio 2 ranks / 1 rank: {b2 / b1:.2f} (target ≥ 0.90)")
EOF
echo "load after: $(uptime | sed 's/.*load/load/')"
