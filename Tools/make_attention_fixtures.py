#!/usr/bin/env python3
"""Writes the window-attention parity fixtures (Tests/NNTests/Fixtures/attention_*.safetensors).

Run from the repository root:  python3 Tools/make_attention_fixtures.py

Each file holds one torchvision ShiftedWindowAttention (2D) or ShiftedWindowAttention3d module
with seeded random weights (larger than the default init, so that the bias table and every
weight matter), an input needing padding/shift/clamping, and for the loss L = sum(y * r):
  input, output, proj_r (r), input_grad,
  <param>, <param>.grad for qkv.weight, qkv.bias, proj.weight, proj.bias,
  relative_position_bias_table, and relative_position_index (the torchvision buffer, as I64).
Metadata: dim, heads, window, shift (JSON lists), kind ("2d" or "3d").
"""
import json
import os

import torch
from safetensors.torch import save_file
from torchvision.models.swin_transformer import ShiftedWindowAttention
from torchvision.models.video.swin_transformer import ShiftedWindowAttention3d

OUT = os.path.join("Tests", "NNTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)

# name, kind, dim, heads, window, shift, input shape
CASES = [
    # 2D, shifted, padding in both dimensions (5 -> 6, 7 -> 9).
    ("attention_2d_shifted", "2d", 8, 2, [3, 3], [1, 1], [2, 5, 7, 8]),
    # 2D, input smaller than the window in H (padded up to the window, shift dropped there).
    ("attention_2d_small", "2d", 8, 2, [4, 4], [2, 2], [1, 3, 6, 8]),
    # 3D, shifted, padding in every dimension (3 -> 4, 5 -> 6, 7 -> 9).
    ("attention_3d_shifted", "3d", 8, 2, [2, 3, 3], [1, 1, 1], [1, 3, 5, 7, 8]),
    # 3D, clamped in T and H (window 4 -> 2, 3 -> 2, their shifts dropped), shifted in W.
    ("attention_3d_clamped", "3d", 8, 2, [4, 3, 3], [2, 1, 1], [2, 2, 2, 5, 8]),
    # 3D, unshifted, no padding, four heads.
    ("attention_3d_plain", "3d", 16, 4, [2, 3, 3], [0, 0, 0], [1, 4, 6, 6, 16]),
]

for i, (name, kind, dim, heads, window, shift, shape) in enumerate(CASES):
    torch.manual_seed(1000 + i)
    if kind == "2d":
        m = ShiftedWindowAttention(dim, window, shift, heads)
    else:
        m = ShiftedWindowAttention3d(dim, window, shift, heads)
    with torch.no_grad():
        m.qkv.weight.normal_(0, 0.3)
        m.qkv.bias.normal_(0, 0.3)
        m.proj.weight.normal_(0, 0.3)
        m.proj.bias.normal_(0, 0.3)
        m.relative_position_bias_table.normal_(0, 1.0)
    m.train()
    x = torch.randn(*shape, requires_grad=True)
    y = m(x)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    t = {
        "input": x.detach().contiguous(),
        "output": y.detach().contiguous(),
        "proj_r": r.contiguous(),
        "input_grad": x.grad.contiguous(),
        "relative_position_index": m.relative_position_index.to(torch.int64).contiguous(),
    }
    for pname, p in m.named_parameters():
        t[pname] = p.detach().contiguous()
        t[pname + ".grad"] = p.grad.contiguous()
    meta = {
        "kind": kind,
        "dim": json.dumps(dim),
        "heads": json.dumps(heads),
        "window": json.dumps(window),
        "shift": json.dumps(shift),
    }
    path = os.path.join(OUT, name + ".safetensors")
    save_file(t, path, metadata=meta)
    print("wrote", path, os.path.getsize(path), "bytes")
