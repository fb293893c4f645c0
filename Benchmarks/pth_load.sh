#!/usr/bin/env bash
# .pth loading: torch.load(f, weights_only=True) and TorchCheckpointFile side by side on a
# full-size torchvision swin3d_t state dict (random init, written once with torch.save). Ours runs
# in pth-load, a small executable that also converts every tensor to [Float]; each run is its own
# process; the best of N runs per side. Prints load time, peak RSS and the ratios (time vs
# torch.load; peak RSS vs the file size and vs torch).
#
#   Benchmarks/pth_load.sh [runs=3] [file=/tmp/vcoswin-swin3d_t.pth]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
FILE=${2:-/tmp/vcoswin-swin3d_t.pth}
if [ ! -f "$FILE" ]; then
  python3 -c "import sys, torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.video.swin3d_t().state_dict(), sys.argv[1])" "$FILE"
fi
[ -n "${SKIP_BUILD:-}" ] || swift build -c release --product pth-load >/dev/null
OUT=$(mktemp)
for _ in $(seq "$RUNS"); do
  .build/release/pth-load "$FILE" >>"$OUT"
  python3 Benchmarks/pth_load_torch.py "$FILE" >>"$OUT"
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
best = {}
for r in rows:
    b = best.get(r["impl"])
    if b is None or r["seconds"] < b["seconds"]:
        best[r["impl"]] = r
peak = {i: max(r["peak_rss_mb"] for r in rows if r["impl"] == i) for i in best}
s, t = best["swift"], best["torch"]
assert s["values"] == t["values"], (s["values"], t["values"])
f = s["file_mb"]
print(f"file {f:.1f} MB, {s['values']} values, best of {len(rows) // 2} runs each")
print(f"{'':28} {'seconds':>8} {'peak MB':>8} {'base MB':>8} {'peak/file':>9} {'(peak-base)/file':>16}")
for name, r in (("torch.load(weights_only)", t), ("TorchCheckpointFile+floats", s)):
    p = peak[r["impl"]]
    print(f"{name:28} {r['seconds']:8.3f} {p:8.1f} {r['base_rss_mb']:8.1f} {p / f:9.2f} {(p - r['base_rss_mb']) / f:16.2f}")
for name, impl in (("torch.load", "torch"), ("ours (read + floats)", "swift")):
    runs = sorted(r["seconds"] for r in rows if r["impl"] == impl)
    print(f"{name} every run: " + " ".join(f"{x:.3f}" for x in runs))
print("ours (read alone) every run: " + " ".join(f"{x:.3f}" for x in sorted(r["read_s"] for r in rows if r["impl"] == "swift")))
print(f"speed: {t['seconds'] / s['seconds']:.2f}x torch.load (read alone {t['seconds'] / s['read_s']:.2f}x); "
      f"peak RSS: {peak['swift'] / f:.2f}x the file, {peak['swift'] / peak['torch']:.2f}x torch's")
PY
rm -f "$OUT"
