#!/usr/bin/env python3
"""Checks that Python's safetensors reads files written by the Swift SafeTensorsWriter.

Usage (from the repository root):
    VCOSWIN_SAFETENSORS_EXPORT=/tmp/swift.safetensors \
        swift test -c release --filter SafeTensorsTests.testWritesFileForPythonCheck
    python3 Tools/check_safetensors.py /tmp/swift.safetensors
Any other safetensors path (e.g. a checkpoint) is listed and loaded; the test file's known
contents are also compared value by value. Exits non-zero on any difference.
"""
import sys
import torch
from safetensors import safe_open
from safetensors.torch import load_file

path = sys.argv[1]
tensors = load_file(path)
with safe_open(path, framework="pt") as f:
    meta = f.metadata() or {}
for k in sorted(tensors):
    print(f"{k}: {tensors[k].dtype} {list(tensors[k].shape)}")
print("metadata:", meta)

if meta.get("origin") == "swift-test":
    expected = {
        "a": (torch.arange(6, dtype=torch.float32) * 0.5 - 1).reshape(2, 3),
        "b": torch.tensor([-1, 0, 1, 1 << 40], dtype=torch.int64),
        "scalar": torch.tensor(3.25, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    assert sorted(tensors) == sorted(expected), sorted(tensors)
    for k, v in expected.items():
        assert tensors[k].dtype == v.dtype and tensors[k].shape == v.shape, k
        assert torch.equal(tensors[k], v), k
    assert meta["unicode"] == "é ✓ \"q\"\n", meta
    print("OK: Python reads the Swift file exactly")
