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
