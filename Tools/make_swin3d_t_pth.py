#!/usr/bin/env python3
"""Writes a torchvision `swin3d_t` state dict with seeded random weights as a `.pth` file.

    make_swin3d_t_pth.py OUT.pth [--seed 0]

The model of torchvision.models.video.swin3d_t (patch 2×4×4, embed 96, depths 2,2,6,2,
window 8×7×7, 400 classes), initialised by torchvision itself with `torch.manual_seed(seed)`,
saved with `torch.save(model.state_dict())` — the file torchvision's released weights come as,
with the same names, shapes and buffers. Used by Benchmarks/export_openvino.sh where the
released weights cannot be downloaded; every check there compares runtimes on the same
weights, so random ones show the same differences.
"""
import argparse

import torch
from torchvision_import import swin3d_t as load_swin3d_t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = load_swin3d_t()(weights=None).eval()
    torch.save(model.state_dict(), args.out)
    print(f"{args.out}: torchvision swin3d_t, seed {args.seed}, "
          f"{sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
