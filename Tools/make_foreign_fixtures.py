#!/usr/bin/env python3
"""Writes the foreign-checkpoint fixtures (Tests/ModelsTests/Fixtures/foreign): the weights of the
model parity fixtures (`swin2d_weights`, `swin3d_weights`, made by make_model_fixtures.py) saved
with `torch.save` the way released checkpoints are, one file per layout and wrapper.

Run from the repository root:  python3 Tools/make_foreign_fixtures.py

| file | layout | wrapper and tensor storage |
|---|---|---|
| tv3d.pth | torchvision swin3d | `torch.save(model.state_dict())` of a SwinTransformer3d |
| tv2d_ddp.pth | torchvision swin | `{"model": {"module." + k}, "args": argparse.Namespace, "epoch"}` (reference-script style) |
| swin2d_fp16.pth | official Swin 2D | `{"model": …}` in float16, with `attn_mask` and `[N, N]` index buffers |
| videoswin_bf16.pth | official Video Swin / mmaction2 0.x | `{"meta", "state_dict": backbone.*, cls_head.fc_cls.*}` in bfloat16 |
| mmaction2.pth | mmaction2 1.x (`backbone.norm3`) | non-contiguous views, two tensors sharing one storage, nn.Parameter values, one float64 tensor |

Beside each reduced-precision file, the same values under torchvision names as safetensors
(`swin2d_fp16.safetensors`, `swin3d_bf16.safetensors`), so the tests compare logits from the two
formats exactly; the float32 files compare with the parity fixtures themselves.
"""
import argparse
import collections
import os
import re

import torch
from safetensors.torch import load_file, save_file
from torchvision.models.video.swin_transformer import SwinTransformer3d

FIX = os.path.join("Tests", "ModelsTests", "Fixtures")
OUT = os.path.join(FIX, "foreign")


def official(name, dims):
    """The official Swin / Video Swin name of a torchvision key (the inverse of the package's table)."""
    block = re.compile(r"features\.(\d+)\.(\d+)\.(.*)")
    if dims == 2:
        if name.startswith("features.0.0."):
            return "patch_embed.proj." + name.split(".")[-1]
        if name.startswith("features.0.2."):
            return "patch_embed.norm." + name.split(".")[-1]
    m = block.fullmatch(name)
    if m:
        f, j, rest = int(m.group(1)), m.group(2), m.group(3)
        stage = (f - 1) // 2 if dims == 2 else f // 2
        rest = rest.replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
        return f"layers.{stage}.blocks.{j}.{rest}"
    m = re.fullmatch(r"features\.(\d+)\.(norm|reduction)\.(weight|bias)", name)
    if m:
        f = int(m.group(1))
        stage = (f - 2) // 2 if dims == 2 else (f - 1) // 2
        return f"layers.{stage}.downsample.{m.group(2)}.{m.group(3)}"
    return name  # patch_embed.* (3D), norm.*, head.*


def official_2d(state):
    out = collections.OrderedDict()
    for k, v in state.items():
        name = official(k, 2)
        if name.endswith("relative_position_index"):
            n = int(round(v.numel() ** 0.5))
            v = v.view(n, n)  # the official release keeps [N, N]
        out[name] = v
        if name.endswith("attn.relative_position_bias_table") and ".blocks.1." in name:
            # Shifted blocks of the official release carry their attention mask as a buffer.
            out[name.replace("attn.relative_position_bias_table", "attn_mask")] = torch.zeros(4, 9, 9)
    return out


def backbone(state, final_norm):
    out = collections.OrderedDict()
    for k, v in state.items():
        if k.startswith("head."):
            out["cls_head.fc_cls." + k[len("head."):]] = v
        elif k.startswith("norm."):
            out[f"backbone.{final_norm}." + k[len("norm."):]] = v
        else:
            out["backbone." + official(k, 3)] = v
    return out


def floats_to(state, dtype):
    return collections.OrderedDict(
        (k, v.to(dtype) if v.is_floating_point() else v) for k, v in state.items())


def main():
    os.makedirs(OUT, exist_ok=True)
    w2 = load_file(os.path.join(FIX, "swin2d_weights.safetensors"))
    w3 = load_file(os.path.join(FIX, "swin3d_weights.safetensors"))

    # torchvision 3D, saved from the model itself.
    model = SwinTransformer3d(
        patch_size=[2, 4, 4], embed_dim=4, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2],
        window_size=[2, 3, 3], mlp_ratio=2.0, num_classes=5)
    model.load_state_dict(w3)
    torch.save(model.state_dict(), os.path.join(OUT, "tv3d.pth"))

    # torchvision 2D in a reference-script checkpoint, wrapped by DistributedDataParallel.
    ddp = collections.OrderedDict(("module." + k, v) for k, v in w2.items())
    torch.save({"model": ddp, "args": argparse.Namespace(model="swin_t", lr=0.001, epochs=300), "epoch": 299},
               os.path.join(OUT, "tv2d_ddp.pth"))

    # Official Swin 2D in float16.
    half = floats_to(w2, torch.float16)
    torch.save({"model": official_2d(half)}, os.path.join(OUT, "swin2d_fp16.pth"))
    save_file({k: v.contiguous() for k, v in half.items()}, os.path.join(OUT, "swin2d_fp16.safetensors"))

    # Official Video Swin / mmaction2 0.x in bfloat16.
    bf = floats_to(w3, torch.bfloat16)
    torch.save({"meta": {"epoch": 30, "mmaction_version": "0.x"}, "state_dict": backbone(bf, "norm")},
               os.path.join(OUT, "videoswin_bf16.pth"))
    save_file({k: v.contiguous() for k, v in bf.items()}, os.path.join(OUT, "swin3d_bf16.safetensors"))

    # mmaction2 1.x with views: every 2D weight stored as the transpose of a transposed copy
    # (non-contiguous), norm1/norm2 weights of each block sharing one storage, parameters as
    # nn.Parameter, the head weight in float64.
    mm = collections.OrderedDict()
    for k, v in backbone(w3, "norm3").items():
        if v.dim() == 2 and v.is_floating_point() and "relative_position" not in k:
            v = v.t().contiguous().t()
            assert not v.is_contiguous()
        mm[k] = v
    for k in list(mm):
        if k.endswith("norm1.weight"):
            k2 = k.replace("norm1", "norm2")
            both = torch.cat([mm[k], mm[k2]])
            n = mm[k].numel()
            mm[k], mm[k2] = both[:n], both[n:]
    mm["cls_head.fc_cls.weight"] = mm["cls_head.fc_cls.weight"].double()
    for k in list(mm):
        if mm[k].is_floating_point() and not k.endswith("norm2.weight"):
            mm[k] = torch.nn.Parameter(mm[k], requires_grad=False)
    torch.save({"meta": {"mmaction_version": "1.x"}, "state_dict": mm}, os.path.join(OUT, "mmaction2.pth"))

    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
