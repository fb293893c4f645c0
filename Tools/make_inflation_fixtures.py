"""Reference fixtures for inflation: PyTorch bicubic resizes of bias tables.

Writes Tests/InflationTests/Fixtures/bicubic.safetensors with, for each case k:
  case{k}.input  [S, G]   a relative-position-bias table for a (Wh, Ww) window
  case{k}.output [S', G]  the table resized to (Wh', Ww') as torch does it:
      interpolate(table.T.view(1, G, 2Wh-1, 2Ww-1), size=(2Wh'-1, 2Ww'-1),
                  mode="bicubic", align_corners=False).view(G, -1).T
  case{k}.windows [4] = Wh, Ww, Wh', Ww' (as float)
Run: python3 Tools/make_inflation_fixtures.py
"""
import os
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(7)
cases = [((7, 7), (8, 8), 3), ((3, 3), (7, 7), 2), ((7, 7), (5, 5), 4), ((4, 6), (5, 3), 2)]
out = {}
for k, ((wh, ww), (th, tw), g) in enumerate(cases):
    table = torch.randn((2 * wh - 1) * (2 * ww - 1), g)
    img = table.T.reshape(1, g, 2 * wh - 1, 2 * ww - 1)
    res = F.interpolate(img, size=(2 * th - 1, 2 * tw - 1), mode="bicubic", align_corners=False)
    out[f"case{k}.input"] = table.contiguous()
    out[f"case{k}.output"] = res.reshape(g, -1).T.contiguous()
    out[f"case{k}.windows"] = torch.tensor([wh, ww, th, tw], dtype=torch.float32)
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "InflationTests", "Fixtures", "bicubic.safetensors")
save_file(out, path)
print("wrote", os.path.normpath(path))

# --- A torchvision swin_t-architecture model, inflated by an independent implementation -----
#
# Writes Tests/InflationTests/Fixtures/swin2d_source.safetensors (the 2D state dict, buffers
# included, as a user would save it) and swin3d_expected.safetensors (the 3D state dict the
# rules give, head aside). The expected dict is checked to load into torchvision's
# SwinTransformer3d strictly, up to the head and the relative_position_index buffers.
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.video.swin_transformer import SwinTransformer3d

torch.manual_seed(11)
KT = 2
W3D = [2, 4, 4]  # the 2D window is 3×3: the spatial table must be resized bicubically
m2 = SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[2, 2], num_heads=[1, 2],
                     window_size=[3, 3], num_classes=5)
with torch.no_grad():
    for p in m2.parameters():
        p.add_(torch.randn_like(p) * 0.05)
sd2 = {k: v.contiguous() for k, v in m2.state_dict().items()}


def inflate_independently(sd2):
    """The rules, written out once more: names 2D → 3D, conv / Kt, tables resized and repeated."""
    out = {}
    for k, v in sd2.items():
        if k.endswith("relative_position_index") or k.startswith("head."):
            continue
        parts = k.split(".")
        if k.startswith("features.0.0."):
            name = "patch_embed.proj." + parts[-1]
        elif k.startswith("features.0.2."):
            name = "patch_embed.norm." + parts[-1]
        elif parts[0] == "features":
            parts[1] = str(int(parts[1]) - 1)
            name = ".".join(parts)
        else:
            name = k
        if v.dim() == 4:
            v = v.unsqueeze(2).repeat(1, 1, KT, 1, 1) / KT
        if name.endswith("relative_position_bias_table"):
            g = v.shape[1]
            img = v.T.reshape(1, g, 5, 5)
            img = F.interpolate(img, size=(2 * W3D[1] - 1, 2 * W3D[2] - 1), mode="bicubic",
                                align_corners=False)
            flat = img.reshape(g, -1).T
            v = flat.repeat(2 * W3D[0] - 1, 1)
        out[name] = v.contiguous()
    return out


sd3 = inflate_independently(sd2)
m3 = SwinTransformer3d(patch_size=[KT, 4, 4], embed_dim=8, depths=[2, 2], num_heads=[1, 2],
                       window_size=W3D, num_classes=5)
missing, unexpected = m3.load_state_dict(sd3, strict=False)
assert not unexpected, unexpected
assert all(k.startswith("head.") or k.endswith("relative_position_index") for k in missing), missing
fixtures = os.path.join(os.path.dirname(__file__), "..", "Tests", "InflationTests", "Fixtures")
save_file(sd2, os.path.join(fixtures, "swin2d_source.safetensors"))
save_file(sd3, os.path.join(fixtures, "swin3d_expected.safetensors"))
print("wrote swin2d_source / swin3d_expected:", len(sd2), "→", len(sd3), "tensors; loads into SwinTransformer3d")
