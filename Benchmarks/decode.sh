#!/usr/bin/env bash
# Decoding benchmark: vcoswin-bench decode and the PyAV script on the same files, same
# threads, in one run; prints both and the ratios. Usage: Benchmarks/decode.sh [DIR]
# DIR holds the generated test videos (default /tmp/vcoswin-bench; kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/vcoswin-bench}
mkdir -p "$DIR"
swift build -c release --product vcoswin-bench >&2
BENCH=.build/release/vcoswin-bench
# Generates 720p_h264.mp4 (libx264) and sd_mpeg4.avi with our encoder, then measures them.
"$BENCH" decode --generate "$DIR" --threads 1 --threads 2 | tee "$DIR/swift.jsonl"
H264=$(ls "$DIR"/720p_*.mp4 | head -1)
python3 Benchmarks/decode_pyav.py "$H264" "$DIR/sd_mpeg4.avi" --threads 1 2 | tee "$DIR/pyav.jsonl"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
python3 - "$DIR/swift.jsonl" "$DIR/pyav.jsonl" <<'PY'
import json, sys
swift = {(r["file"], r["threads"]): r for r in map(json.loads, open(sys.argv[1]))}
pyav = {(r["file"], r["threads"]): r for r in map(json.loads, open(sys.argv[2]))}
print(f"{'file':16} {'thr':>3} {'fps swift':>10} {'fps pyav':>9} {'ratio':>6} "
      f"{'clip/s swift':>12} {'clip/s pyav':>11} {'ratio':>6} {'clip vs decode-all':>18}")
for key in sorted(swift):
    s, p = swift[key], pyav.get(key)
    if p is None:
        continue
    print(f"{key[0]:16} {key[1]:>3} {s['decode_fps']:>10.1f} {p['decode_fps']:>9.1f} "
          f"{s['decode_fps'] / p['decode_fps']:>5.2f}x {s['clips_per_s']:>12.2f} {p['clips_per_s']:>11.2f} "
          f"{s['clips_per_s'] / p['clips_per_s']:>5.2f}x {s['clip_speedup']:>17.1f}x")
PY
