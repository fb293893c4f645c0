#!/usr/bin/env python3
"""Writes the layer fixtures of Tests/NNTests/Fixtures from PyTorch (seeded, Float32).

Each file holds the inputs, parameters, a random upstream gradient `dy`, and PyTorch's outputs
and gradients. Activations are stored channels-last (as the Swift layers use them); weights
keep PyTorch layouts. Run from the repository root:  python3 Tools/make_layer_fixtures.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.models.swin_transformer import PatchMerging

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "NNTests", "Fixtures")
torch.manual_seed(1234)


def leaf(t):
    return t.detach().clone().float().requires_grad_(True)


def save(name, tensors):
    path = os.path.join(OUT, name + ".safetensors")
    save_file({k: v.detach().contiguous().float() for k, v in tensors.items()}, path)
    print(path, os.path.getsize(path), "bytes")


def linear():
    x, w, b = leaf(torch.randn(3, 5, 7)), leaf(torch.randn(4, 7) * 0.3), leaf(torch.randn(4))
    y = F.linear(x, w, b)
    dy = torch.randn_like(y)
    y.backward(dy)
    save("linear", dict(x=x, weight=w, bias=b, y=y, dy=dy, dx=x.grad, dweight=w.grad, dbias=b.grad))


def layer_norm():
    x = leaf(torch.randn(6, 24) * 2 + 1)
    w, b = leaf(torch.randn(24)), leaf(torch.randn(24))
    y = F.layer_norm(x, (24,), w, b, eps=1e-5)
    dy = torch.randn_like(y)
    y.backward(dy)
    save("layernorm", dict(x=x, weight=w, bias=b, y=y, dy=dy, dx=x.grad, dweight=w.grad, dbias=b.grad))


def gelu():
    x = leaf(torch.linspace(-6, 6, 97) + 0.01 * torch.randn(97))
    y = F.gelu(x)  # exact erf form
    dy = torch.randn_like(y)
    y.backward(dy)
    save("gelu", dict(x=x, y=y, dy=dy, dx=x.grad))


def conv2d():
    # x [B, I, H, W] in PyTorch, stored channels-last [B, H, W, I].
    x = leaf(torch.randn(2, 3, 7, 6))
    w, b = leaf(torch.randn(4, 3, 3, 3) * 0.3), leaf(torch.randn(4))
    y = F.conv2d(x, w, b, stride=2, padding=1)
    dy = torch.randn_like(y)
    y.backward(dy)
    cl = lambda t: t.permute(0, 2, 3, 1)
    save("conv2d", dict(x=cl(x), weight=w, bias=b, y=cl(y), dy=cl(dy), dx=cl(x.grad),
                        dweight=w.grad, dbias=b.grad))


def conv3d(name, shape, out_channels, kernel, stride, padding, replicate):
    # x [B, I, T, H, W] in PyTorch, stored channels-last [B, T, H, W, I].
    x = leaf(torch.randn(*shape))
    w = leaf(torch.randn(out_channels, shape[1], *kernel) * 0.2)
    b = leaf(torch.randn(out_channels))
    if replicate:
        # Replicate the edge frames along time only, then convolve without temporal padding.
        padded = F.pad(x, (0, 0, 0, 0, padding[0], padding[0]), mode="replicate")
        y = F.conv3d(padded, w, b, stride=stride, padding=(0, padding[1], padding[2]))
    else:
        y = F.conv3d(x, w, b, stride=stride, padding=padding)
    dy = torch.randn_like(y)
    y.backward(dy)
    cl = lambda t: t.permute(0, 2, 3, 4, 1)
    save(name, dict(x=cl(x), weight=w, bias=b, y=cl(y), dy=cl(dy), dx=cl(x.grad),
                    dweight=w.grad, dbias=b.grad))


def patch_merging(name, shape):
    c = shape[-1]
    m = PatchMerging(c)
    with torch.no_grad():
        m.norm.weight.copy_(torch.randn(4 * c))
        m.norm.bias.copy_(torch.randn(4 * c))
    x = leaf(torch.randn(*shape))
    y = m(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    save(name, {"x": x, "reduction.weight": m.reduction.weight, "norm.weight": m.norm.weight,
                "norm.bias": m.norm.bias, "y": y, "dy": dy, "dx": x.grad,
                "dreduction.weight": m.reduction.weight.grad, "dnorm.weight": m.norm.weight.grad,
                "dnorm.bias": m.norm.bias.grad})


def adamw():
    # Two groups as the Swift store marks them: a decayed weight [3, 4] and an undecayed bias [3].
    w, b = torch.randn(3, 4), torch.randn(3)
    grads = [(torch.randn(3, 4), torch.randn(3)) for _ in range(3)]
    pw, pb = w.clone().requires_grad_(True), b.clone().requires_grad_(True)
    opt = torch.optim.AdamW([{"params": [pw], "weight_decay": 0.05}, {"params": [pb], "weight_decay": 0.0}],
                            lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for gw, gb in grads:
        pw.grad, pb.grad = gw.clone(), gb.clone()
        opt.step()
    tensors = {"w0": w, "b0": b, "w3": pw, "b3": pb}
    for i, (gw, gb) in enumerate(grads):
        tensors[f"gw{i}"], tensors[f"gb{i}"] = gw, gb
    save("adamw", tensors)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    linear()
    layer_norm()
    gelu()
    conv2d()
    conv3d("conv3d_merge", (1, 3, 4, 5, 6), 4, (3, 3, 3), (1, 2, 2), (1, 1, 1), replicate=False)
    conv3d("conv3d_merge_replicate", (1, 3, 4, 5, 6), 4, (3, 3, 3), (1, 2, 2), (1, 1, 1), replicate=True)
    conv3d("conv3d_patch", (1, 3, 4, 8, 8), 5, (2, 4, 4), (2, 4, 4), (0, 0, 0), replicate=False)
    patch_merging("patch_merging_2d", (2, 5, 7, 4))
    patch_merging("patch_merging_3d", (1, 2, 3, 5, 4))
    adamw()
