#!/usr/bin/env python3
"""OpenVINO on two ONNX files of one torchvision swin3d_t: `vcoswin export`'s and PyTorch's.

    export_openvino.py OURS.onnx WEIGHTS.pth [--frames 32] [--size 224] [--threads 2]
                       [--iterations 5] [--json]

Loads torchvision's swin3d_t with WEIGHTS.pth (the file OURS.onnx was exported from), writes
it with `torch.onnx.export(..., opset_version=17)` (batch dynamic, as in OURS.onnx) beside
OURS.onnx as torch_export.onnx, compiles
both files with OpenVINO on the CPU with the same threads, and times them in alternation on
the same input: fp32 inference precision, and bf16 where the CPU has it (OpenVINO's
OPTIMIZATION_CAPABILITIES lists BF16; otherwise the bf16 rows say so). Prints the median
seconds per clip of each, their ratio, and the largest logit difference of each against
PyTorch eager. Benchmarks/export_openvino.sh runs it.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
import openvino as ov
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tools"))
from torchvision_import import swin3d_t as load_swin3d_t  # noqa: E402


def torch_export(model, x, path):
    kwargs = dict(
        input_names=["video"], output_names=["logits"], opset_version=17,
        dynamic_axes={"video": {0: "batch"}, "logits": {0: "batch"}},
    )
    try:  # the TorchScript-based exporter where the version still has it, as most users ran it
        torch.onnx.export(model, (x,), path, dynamo=False, **kwargs)
        return "torch.onnx.export(dynamo=False, opset_version=17)"
    except TypeError:
        torch.onnx.export(model, (x,), path, **kwargs)
        return "torch.onnx.export(opset_version=17)"


def describe(path):
    m = onnx.load(path, load_external_data=False)
    return {"bytes": os.path.getsize(path), "nodes": len(m.graph.node),
            "initializers": len(m.graph.initializer)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("ours")
    p.add_argument("weights")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = load_swin3d_t()(weights=None).eval()
    model.load_state_dict(torch.load(a.weights, map_location="cpu", weights_only=True))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, a.frames, a.size, a.size), dtype=np.float32)
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).double().numpy()
    scale = float(np.abs(reference).max())
    theirs = os.path.join(os.path.dirname(os.path.abspath(a.ours)), "torch_export.onnx")
    with torch.no_grad():
        how = torch_export(model, torch.from_numpy(x), theirs)
    files = {"vcoswin export": a.ours, how: theirs}

    core = ov.Core()
    capabilities = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    cpu = core.get_property("CPU", "FULL_DEVICE_NAME")
    precisions = ["f32"] + (["bf16"] if "BF16" in capabilities else [])
    rows = []
    for precision in precisions:
        compiled = {}
        for name, path in files.items():
            t0 = time.perf_counter()
            compiled[name] = core.compile_model(path, "CPU", {
                "INFERENCE_NUM_THREADS": a.threads, "INFERENCE_PRECISION_HINT": precision,
                "PERFORMANCE_HINT": "LATENCY"})
            compile_s = time.perf_counter() - t0
            out = compiled[name]({"video": x})["logits"].astype(np.float64)  # warm-up run too
            rows.append({"file": name, "precision": precision, "compile_s": compile_s,
                         "largest_logit": scale,
                         "difference_vs_pytorch": float(np.abs(out - reference).max()),
                         "times": [], **describe(files[name])})
        mine = rows[-len(files):]
        for _ in range(a.iterations):  # alternate, so drift on a shared machine hits both
            for row in mine:
                t0 = time.perf_counter()
                compiled[row["file"]]({"video": x})
                row["times"].append(time.perf_counter() - t0)
        for row in mine:
            row["seconds"] = statistics.median(row["times"])
        mine[0]["ratio_vs_torch_export"] = mine[1]["seconds"] / mine[0]["seconds"]

    print(f"CPU: {cpu}; OpenVINO {ov.get_version()}, torch {torch.__version__}; "
          f"threads {a.threads}; input 1×3×{a.frames}×{a.size}×{a.size}; "
          f"{a.iterations} timed runs each, alternating (median)")
    print(f"{'file':<52} {'prec':>5} {'s/clip':>8} {'speed':>6} {'compile s':>9} "
          f"{'MiB':>6} {'nodes':>6} {'|Δ| vs torch':>12}")
    for r in rows:
        speed = f"{r['ratio_vs_torch_export']:.2f}×" if "ratio_vs_torch_export" in r else "1"
        print(f"{r['file']:<52} {r['precision']:>5} {r['seconds']:8.3f} {speed:>6} "
              f"{r['compile_s']:9.2f} {r['bytes'] / 2**20:6.1f} {r['nodes']:6d} "
              f"{r['difference_vs_pytorch']:12.3g}")
    if "BF16" not in capabilities:
        print(f"bf16: not available on this CPU (OpenVINO capabilities: {', '.join(capabilities)})")
    print(f"largest |logit| of PyTorch eager: {scale:.4g}; speed = torch export's s/clip ÷ this one's")
    if a.json:
        print(json.dumps({"cpu": cpu, "threads": a.threads, "rows": rows}))


if __name__ == "__main__":
    main()
