#!/usr/bin/env python3
"""Writes the tiny safetensors fixtures the SafeTensors tests read (Tests/SafeTensorsTests/Fixtures).

Run from the repository root:  python3 Tools/make_safetensors_fixtures.py
The values are simple formulas so the Swift tests can recompute them independently.
"""
import os
import torch
from safetensors.torch import save_file

OUT = os.path.join("Tests", "SafeTensorsTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)

# f32: [2,3] with value 0.25*i - 0.5; scalar f32 3.5; f16/bf16/f64 with exactly representable
# values 0.5*i - 1; integers i64 with large magnitudes, i32 negatives; an empty [0,4] tensor.
t = {
    "f32": (torch.arange(6, dtype=torch.float32) * 0.25 - 0.5).reshape(2, 3),
    "scalar": torch.tensor(3.5, dtype=torch.float32),
    "f16": (torch.arange(8, dtype=torch.float32) * 0.5 - 1).to(torch.float16).reshape(2, 4),
    "bf16": (torch.arange(8, dtype=torch.float32) * 0.5 - 1).to(torch.bfloat16).reshape(4, 2),
    "f64": (torch.arange(5, dtype=torch.float64) * 0.5 - 1),
    "i64": torch.tensor([-3, 0, 7, 1 << 40], dtype=torch.int64),
    "i32": torch.tensor([[-2, 5], [9, -11]], dtype=torch.int32),
    "empty": torch.zeros(0, 4, dtype=torch.float32),
}
save_file(t, os.path.join(OUT, "python.safetensors"), metadata={"origin": "python", "note": "é ✓ \"quoted\""})
print("wrote", os.path.join(OUT, "python.safetensors"), os.path.getsize(os.path.join(OUT, "python.safetensors")), "bytes")
