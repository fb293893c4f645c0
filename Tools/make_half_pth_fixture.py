#!/usr/bin/env python3
"""Writes Tests/ModelsTests/Fixtures/foreign/tv3d_all_half.pth: the torchvision swin3d weights of
the model parity fixture (`swin3d_weights.safetensors`, made by make_model_fixtures.py) saved in
half precision as a whole, the common way to halve a file:

    torch.save({k: v.half() for k, v in sd.items()}, path)

which turns the `relative_position_index` buffers into float16 as well (their values, 0…74 here,
happen to be exact; a real swin3d_t's reach 2534, past float16's exact integers). The package
treats the buffers as derived: it checks them when they are integers and otherwise ignores them
with a note.

Run from the repository root:  python3 Tools/make_half_pth_fixture.py
"""
import os

import torch
from safetensors.torch import load_file

FIX = os.path.join("Tests", "ModelsTests", "Fixtures")


def main():
    sd = load_file(os.path.join(FIX, "swin3d_weights.safetensors"))
    assert any(k.endswith("relative_position_index") for k in sd)
    path = os.path.join(FIX, "foreign", "tv3d_all_half.pth")
    torch.save({k: v.half() for k, v in sd.items()}, path)
    print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
