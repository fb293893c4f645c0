#!/usr/bin/env bash
# Decoding benchmark: `vcoswin-bench decode` and Benchmarks/decode_pyav.py on the same files
# and thread counts, interleaved (Swift, PyAV, Swift, PyAV, …) so that load from other
# processes hits both alike; the best of the rounds is kept. Prints both and the ratios.
# Usage: Benchmarks/decode.sh [DIR] [ROUNDS]
# DIR holds the generated test videos (default /tmp/vcoswin-bench; kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/vcoswin-bench}
ROUNDS=${2:-3}
CLIPS=8
mkdir -p "$DIR"
swift build -c release --product vcoswin-bench >&2
BENCH=.build/release/vcoswin-bench
# 720p_h264.mp4 (libx264, B-frames) and sd_mpeg4.avi, written by our encoder if missing.
"$BENCH" decode --generate "$DIR" --threads 1 --clips 1 --repeats 1 > /dev/null
FILES=("$(ls "$DIR"/720p_*.mp4 | head -1)" "$DIR/sd_mpeg4.avi")
: > "$DIR/runs.jsonl"
for round in $(seq "$ROUNDS"); do
  for file in "${FILES[@]}"; do
    for threads in 1 2; do
      "$BENCH" decode --file "$file" --threads "$threads" --clips $CLIPS --repeats 1 >> "$DIR/runs.jsonl"
      python3 Benchmarks/decode_pyav.py "$file" --threads "$threads" --clips $CLIPS --repeats 1 >> "$DIR/runs.jsonl"
    done
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$DIR/runs.jsonl" <<'PY'
import json, sys
best = {}
for r in map(json.loads, open(sys.argv[1])):
    key = (r["impl"], r["file"], r["threads"])
    b = best.setdefault(key, dict(r))
    for k in ("decode_fps", "clips_per_s"):
        b[k] = max(b[k], r[k])
    b["clip_speedup"] = max(b["clip_speedup"], r["clip_speedup"])
print(f"{'file':14} {'thr':>3} {'fps swift':>9} {'fps pyav':>8} {'ratio':>6} "
      f"{'clip/s swift':>12} {'clip/s pyav':>11} {'ratio':>6} {'clip vs all, swift':>18}")
for (impl, f, t), s in sorted(best.items()):
    if impl != "swift" or ("pyav", f, t) not in best:
        continue
    p = best[("pyav", f, t)]
    print(f"{f:14} {t:>3} {s['decode_fps']:>9.1f} {p['decode_fps']:>8.1f} "
          f"{s['decode_fps'] / p['decode_fps']:>5.2f}x {s['clips_per_s']:>12.2f} {p['clips_per_s']:>11.2f} "
          f"{s['clips_per_s'] / p['clips_per_s']:>5.2f}x {s['clip_speedup']:>17.1f}x")
PY
