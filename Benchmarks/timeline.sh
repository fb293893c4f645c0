#!/usr/bin/env bash
# Timeline benchmark (Docs/BENCHMARKS.md, "Timeline"): peak RSS of `vcoswin timeline` on 1 and
# 10 minutes of the same kind of synthetic video, and the streaming pass against the naive way
# (every window cut out beforehand and classified on its own), interleaved round by round.
# Usage: Benchmarks/timeline.sh [DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/tmp/vcoswin-timeline-bench}
ROUNDS=${2:-3}
mkdir -p "$DIR"
swift build -c release --product vcoswin >&2
swift build -c release --product vcoswin-bench >&2
BIN=.build/release
grep -m1 'model name' /proc/cpuinfo
# The default model's size (32×32), MPEG-4 in Matroska, segments of 2–4 clips of one motion.
[ -f "$DIR/m1/long.mkv" ] || "$BIN/vcoswin" synth --out "$DIR/m1" --long 60 --size 32 --seed 1
[ -f "$DIR/m10/long.mkv" ] || "$BIN/vcoswin" synth --out "$DIR/m10" --long 600 --size 32 --seed 1
# Naive: the 1-minute video's windows (16 frames = 8 × interval 2, stride 8) as files.
[ -d "$DIR/win1" ] || "$BIN/vcoswin-bench" cut-windows "$DIR/m1/long.mkv" --out "$DIR/win1" \
  --window-frames 16 --stride-frames 8
WINDOWS=$(ls "$DIR"/win1/*.mkv | wc -l)
FRAMES=$("$BIN/vcoswin" probe "$DIR/m1/long.mkv" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
echo "1-minute video: $FRAMES frames, $WINDOWS windows"
# CPU seconds (user + system, children included): immune to other processes' load.
cpu() { /usr/bin/time -f "%U %S %e" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2, $3}'; }
for round in $(seq "$ROUNDS"); do
  for m in m1 m10; do
    /usr/bin/time -f "rss $m %M KB, %e s wall, %U s user" "$BIN/vcoswin" timeline "$DIR/$m/long.mkv" --json 2>&1 >/dev/null | tail -1
  done
  s=$(cpu "$BIN/vcoswin" timeline "$DIR/m1/long.mkv")
  a=$(cpu "$BIN/vcoswin" classify "$DIR"/win1/*.mkv)
  b=$(cpu bash -c "for f in $DIR/win1/*.mkv; do $BIN/vcoswin classify \$f > /dev/null; done")
  python3 - "$s" "$a" "$b" "$WINDOWS" "$FRAMES" <<'PY'
import sys
(s, sw), (a, aw), (b, bw) = (map(float, x.split()) for x in sys.argv[1:4]); n, f = int(sys.argv[4]), int(sys.argv[5])
print(f"timeline: {s:.2f} CPU-s ({sw:.2f} s wall): {n/s:.0f} windows per CPU-s, {f/s:.0f} decoded frames per CPU-s ({f/n:.1f} frames decoded per window)")
print(f"naive, one classify over the {n} cut windows: {a:.2f} CPU-s ({aw:.2f} s wall): {n/a:.0f} windows per CPU-s; timeline {a/s:.2f}x")
print(f"naive, one classify process per window: {b:.2f} CPU-s ({bw:.2f} s wall): {n/b:.1f} windows per CPU-s; timeline {b/s:.1f}x")
PY
done
