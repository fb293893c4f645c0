#!/usr/bin/env python3
"""Checks models written by `vcoswin export` against `vcoswin features` (Docs/EXPORT.md).

    onnx_check.py [--tolerance 1e-4] [--openvino] MODEL.onnx INPUT.safetensors FEATURES.safetensors [...]

Takes triples: the exported model, the safetensors file whose tensor `input` was fed to
`vcoswin features --input`, and the file that command wrote (tensor `logits`). For each:

- `onnx.checker.check_model(full_check=True)` (with shape inference, on the file's path);
- the graph's input `video` and output `logits` have the batch symbolic and the rest fixed;
- ONNX Runtime (CPU, default optimisations) runs the whole batch, and every entry alone (the
  batch dimension is dynamic): the largest |difference| from vcoswin's logits, relative to the
  largest |logit|, must be at most the tolerance (1e-4);
- with --openvino, OpenVINO (CPU, fp32 inference precision) is held to the same tolerance.

Prints one line per model and runtime; exits 1 if any check fails. Needs numpy, onnx and
onnxruntime (and openvino with --openvino); `make test` installs them in .build/pyenv.
"""
import argparse
import json
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort


def read_safetensors(path):
    """Float32 tensors of a safetensors file by name (the format: u64 header length, JSON header
    with dtype, shape and data_offsets per tensor, then the data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        start, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(entry["shape"])
    return out


def relative_difference(got, want):
    scale = float(np.max(np.abs(want)))
    return float(np.max(np.abs(got.astype(np.float64) - want))) / max(scale, 1e-30), scale


def check_interface(model_path, batch_input):
    """The graph's declared input and output, as `vcoswin export` writes them."""
    model = onnx.load(model_path, load_external_data=False)
    (inp,) = model.graph.input
    (out,) = model.graph.output
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    problems = []
    if inp.name != "video" or out.name != "logits":
        problems.append(f"names {inp.name}, {out.name}")
    if dims != ["batch"] + list(batch_input.shape[1:]):
        problems.append(f"input dims {dims} for input {list(batch_input.shape)}")
    keys = {p.key for p in model.metadata_props}
    for key in ("config", "kind", "input", "output"):
        if key not in keys:
            problems.append(f"metadata has no {key}")
    ops = {n.op_type for n in model.graph.node}
    domains = {n.domain for n in model.graph.node} | {o.domain for o in model.opset_import}
    if domains - {"", "ai.onnx"}:
        problems.append(f"non-standard domains {domains}")
    return problems, ops


def run_onnxruntime(model_path, x):
    options = ort.SessionOptions()
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    whole = session.run(["logits"], {"video": x})[0]
    alone = np.concatenate([session.run(["logits"], {"video": x[i : i + 1]})[0] for i in range(len(x))])
    return whole, alone


def run_openvino(model_path, x):
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(model_path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    whole = compiled({"video": x})["logits"]
    alone = np.concatenate([compiled({"video": x[i : i + 1]})["logits"] for i in range(len(x))])
    return whole, alone


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--openvino", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    if len(args.files) % 3 != 0:
        parser.error("give MODEL INPUT FEATURES triples")
    failed = 0
    for i in range(0, len(args.files), 3):
        model_path, input_path, features_path = args.files[i : i + 3]
        x = np.ascontiguousarray(read_safetensors(input_path)["input"])
        want = read_safetensors(features_path)["logits"].astype(np.float64)
        try:
            onnx.checker.check_model(model_path, full_check=True)
        except Exception as e:  # the checker's own exception types vary between versions
            print(f"FAIL {model_path}: onnx.checker: {e}")
            failed += 1
            continue
        problems, ops = check_interface(model_path, x)
        if problems:
            print(f"FAIL {model_path}: {'; '.join(problems)}")
            failed += 1
        runtimes = [("onnxruntime", run_onnxruntime)]
        if args.openvino:
            runtimes.append(("openvino", run_openvino))
        for name, run in runtimes:
            whole, alone = run(model_path, x)
            rel, scale = relative_difference(whole, want)
            rel_alone, _ = relative_difference(alone, want)
            worst = max(rel, rel_alone)
            ok = whole.shape == want.shape and worst <= args.tolerance
            failed += not ok
            print(
                f"{'ok  ' if ok else 'FAIL'} {model_path} [{name}]: batch {len(x)}, "
                f"largest |logit| {scale:.4g}, largest difference {worst * scale:.3g} "
                f"({worst:.2e} of it; tolerance {args.tolerance:g}); {len(ops)} operator types"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
