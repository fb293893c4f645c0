#!/usr/bin/env bash
# Decoding benchmark: `vcoswin-bench decode` and Benchmarks/decode_pyav.py on the same files
# and thread counts, interleaved (Swift, PyAV, Swift, PyAV, …) so that load from other
# processes hits both alike; the best of the rounds is kept. Prints both and the ratios:
# wall-clock frames per second, frames per CPU-second (immune to other processes' load),
# clips per second, and how much faster one sampled clip is than decoding the whole file.
# PyAV runs twice: with its default resize filter (bilinear) and with ours (area).
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
      python3 Benchmarks/decode_pyav.py "$file" --threads "$threads" --clips $CLIPS --repeats 1 \
        --interpolation AREA >> "$DIR/runs.jsonl"
    done
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$DIR/runs.jsonl" <<'PY'
import json, sys
best = {}
for r in map(json.loads, open(sys.argv[1])):
    b = best.setdefault((r["impl"], r["file"], r["threads"]), dict(r))
    for k in ("decode_fps", "decode_fps_cpu", "clips_per_s", "clips_per_cpu_s"):
        b[k] = max(b[k], r[k])
cols = [("decode_fps", "fps"), ("decode_fps_cpu", "fps/cpu-s"), ("clips_per_s", "clips/s"),
        ("clips_per_cpu_s", "clips/cpu-s")]
print(f"{'file':14} {'thr':>3} " + " ".join(f"| {n + ' swift':>17} {'pyav':>7} {'ratio':>6}" for _, n in cols)
      + f" | {'fps/cpu-s vs pyav-area':>22} | {'clip vs all (cpu)':>17}")
for (impl, f, t), s in sorted(best.items()):
    p, a = best.get(("pyav", f, t)), best.get(("pyav-area", f, t))
    if impl != "swift" or p is None or a is None:
        continue
    line = f"{f:14} {t:>3} "
    for k, _ in cols:
        line += f"| {s[k]:>17.2f} {p[k]:>7.2f} {s[k] / p[k]:>5.2f}x "
    # One clip against decoding the whole file, both in CPU time (load-independent).
    speedup = s["frames"] / s["decode_fps_cpu"] * s["clips_per_cpu_s"]
    line += f"| {s['decode_fps_cpu'] / a['decode_fps_cpu']:>21.2f}x | {speedup:>16.1f}x"
    print(line)
PY
