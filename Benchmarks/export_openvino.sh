#!/usr/bin/env bash
# ONNX export in other runtimes, in one run (Docs/EXPORT.md, Docs/BENCHMARKS.md):
#
#   Benchmarks/export_openvino.sh [threads=2] [iterations=5]
#
# 1. a torchvision swin3d_t state dict (.pth, seeded random weights: Tools/make_swin3d_t_pth.py)
#    and the shipped Clips/default-model.safetensors, exported by `vcoswin export` at their
#    test recipes (swin3d_t 32×224×224, the default model 8×32×32);
# 2. each run on the same input by `vcoswin features`, ONNX Runtime and OpenVINO (fp32):
#    the largest logit difference against vcoswin (Tools/onnx_check.py --openvino);
# 3. OpenVINO's speed on the exported swin3d_t against OpenVINO on torch.onnx.export of
#    torchvision's own model (opset 17), fp32 and, where the CPU has it, bf16
#    (Benchmarks/export_openvino.py).
#
# PYTHON names a Python with torch, torchvision, onnx, onnxruntime and openvino (default
# python3); WORK a folder to keep the files in (default: a new temporary one).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
ITERS=${2:-5}
PY=${PYTHON:-python3}
[ -n "${SKIP_BUILD:-}" ] || swift build -c release --product vcoswin >/dev/null
BIN=$(swift build -c release --show-bin-path)/vcoswin
DIR=${WORK:-$(mktemp -d)}
mkdir -p "$DIR"
[ -f "$DIR/swin3d_t.pth" ] || "$PY" Tools/make_swin3d_t_pth.py "$DIR/swin3d_t.pth"
"$BIN" export "$DIR/swin3d_t.pth" --onnx "$DIR/swin3d_t.onnx" --overwrite
"$BIN" export Clips/default-model.safetensors --onnx "$DIR/default.onnx" --overwrite
# Inputs (seeded normal values, tensor `input`) in safetensors, as `features --input` reads them.
"$PY" - "$DIR" <<'PY'
import json, struct, sys
import numpy as np
for name, shape, seed in [("swin3d_t", (1, 3, 32, 224, 224), 1), ("default", (2, 3, 8, 32, 32), 2)]:
    x = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    header = json.dumps({"input": {"dtype": "F32", "shape": list(shape),
                                   "data_offsets": [0, x.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(f"{sys.argv[1]}/{name}-in.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + x.astype("<f4").tobytes())
PY
for m in swin3d_t:"$DIR/swin3d_t.pth" default:Clips/default-model.safetensors; do
  name=${m%%:*}
  "$BIN" features --input "$DIR/$name-in.safetensors" --checkpoint "${m#*:}" \
    --output "$DIR/$name-features.safetensors" --threads "$THREADS" --batch 1
done
echo "== logits of the exported models in ONNX Runtime and OpenVINO (fp32) against vcoswin features"
"$PY" Tools/onnx_check.py --openvino \
  "$DIR/swin3d_t.onnx" "$DIR/swin3d_t-in.safetensors" "$DIR/swin3d_t-features.safetensors" \
  "$DIR/default.onnx" "$DIR/default-in.safetensors" "$DIR/default-features.safetensors" \
  || echo "(a difference above the tolerance: see the lines marked FAIL)"
echo "== OpenVINO: the exported swin3d_t against torch.onnx.export of torchvision's model"
"$PY" Benchmarks/export_openvino.py "$DIR/swin3d_t.onnx" "$DIR/swin3d_t.pth" \
  --threads "$THREADS" --iterations "$ITERS"
echo "files in $DIR"
