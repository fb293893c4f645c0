#!/usr/bin/env python3
"""Writes the model parity fixtures the Models tests assert against (Tests/ModelsTests/Fixtures).

Run from the repository root:  python3 Tools/make_model_fixtures.py

Two torchvision models of the real architectures (`swin_t`'s SwinTransformer and `swin3d_t`'s
SwinTransformer3d) at small widths, with seeded random weights (every parameter, biases and
LayerNorms included, so each one matters), inputs chosen to exercise padding, shifted windows,
the 2D "window covers the input" rule and the 3D window clamp (also spatially, where torchvision
indexes a truncated relative-position index):

  swin2d: embed 4, depths [2,2,2,1], heads [1,1,2,2], window 3x3, MLP ratio 2, 5 classes, input 2x3x36x44
          stages 9x11 -> 5x6 -> 3x3 -> 2x2 (padded to 3x3, shift dropped)
  swin3d: embed 4, depths [2,2,2,1], heads [1,1,2,2], window (2,3,3), MLP ratio 2, patch (2,4,4), 5 classes,
          input 1x3x5x36x44 (5 frames: padded to 6) -> 3x9x11 -> 3x5x6 -> 3x3x3 -> 3x2x2 (clamped)

Files per model: <name>_weights.safetensors (the state dict as torchvision saves it, buffers
included) and <name>_io.safetensors: input, logits, dlogits (a fixed random upstream gradient,
i.e. the loss is sum(logits * dlogits)), grad.input and grad.<parameter> for every parameter.
The reference runs in float64 and is stored as float32.
"""
import os
import torch
from safetensors.torch import save_file
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.video.swin_transformer import SwinTransformer3d

OUT = os.path.join("Tests", "ModelsTests", "Fixtures")


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def make(name, model, input_shape, seed):
    gen = torch.Generator().manual_seed(seed)
    randomize(model, gen)
    model.eval()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(OUT, f"{name}_weights.safetensors"))
    x = torch.randn(input_shape, generator=gen)
    m64 = model.double()
    x64 = x.double().requires_grad_(True)
    logits = m64(x64)
    dlogits = torch.randn(logits.shape, generator=gen).double()
    (logits * dlogits).sum().backward()
    io = {
        "input": x.float(),
        "logits": logits.detach().float(),
        "dlogits": dlogits.float(),
        "grad.input": x64.grad.float(),
    }
    for k, p in m64.named_parameters():
        io["grad." + k] = p.grad.float().contiguous()
    save_file(io, os.path.join(OUT, f"{name}_io.safetensors"))
    # float32 PyTorch against the float64 reference: the rounding scale our tolerances sit on.
    m32 = model.float()
    d = (m32(x) - logits.float()).abs().max().item()
    print(f"{name}: logits {list(logits.shape)}, float32 PyTorch max |diff| to float64 = {d:.2e}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    make(
        "swin2d",
        SwinTransformer(patch_size=[4, 4], embed_dim=4, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2],
                        window_size=[3, 3], mlp_ratio=2.0, stochastic_depth_prob=0.0, num_classes=5),
        (2, 3, 36, 44), seed=1)
    make(
        "swin3d",
        SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=4, depths=[2, 2, 2, 1], num_heads=[1, 1, 2, 2],
                          window_size=[2, 3, 3], mlp_ratio=2.0, stochastic_depth_prob=0.0, num_classes=5),
        (1, 3, 5, 36, 44), seed=2)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"fixtures: {total} bytes")
