#!/usr/bin/env python3
"""Full-size parity check (development time; too big to commit as fixtures):
torchvision `swin_t` and `swin3d_t` with seeded random weights (every parameter randomised),
imported with `vcoswin import` and run with `vcoswin features`, against PyTorch's logits.
Also checks that Python's safetensors reads the imported checkpoints.

Run from the repository root after `swift build -c release --product vcoswin`:
    python3 Tools/check_full_size_parity.py [--frames 16] [--height 224] [--width 224] [--threads 2]
Odd sizes (e.g. --frames 5 --height 100 --width 120) exercise padding and clamped windows.
Exits non-zero when the relative logit error exceeds 1e-4.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file
from torchvision.models import swin_t
from torchvision.models.video import swin3d_t

sys.path.insert(0, os.path.dirname(__file__))
from make_model_fixtures import randomize  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--frames", type=int, default=16)
p.add_argument("--height", type=int, default=224)
p.add_argument("--width", type=int, default=224)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--binary", default=".build/release/vcoswin")
args = p.parse_args()

ok = True
with tempfile.TemporaryDirectory() as d:
    hw = (args.height, args.width)
    for name, model, shape in [("swin_t", swin_t(), (2, 3) + hw),
                               ("swin3d_t", swin3d_t(), (1, 3, args.frames) + hw)]:
        gen = torch.Generator().manual_seed(7)
        randomize(model, gen)
        model.eval()
        weights = os.path.join(d, name + "_tv.safetensors")
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
        x = torch.randn(shape, generator=gen)
        with torch.no_grad():
            ref = model.double()(x.double())
        inp = os.path.join(d, name + "_in.safetensors")
        save_file({"input": x}, inp)
        ckpt = os.path.join(d, name + ".safetensors")
        out = os.path.join(d, name + "_out.safetensors")
        subprocess.run([args.binary, "import", "--from", weights, "--out", ckpt], check=True)
        load_file(ckpt)  # Python reads our checkpoint
        subprocess.run([args.binary, "features", "--input", inp, "--checkpoint", ckpt, "--output", out,
                        "--threads", str(args.threads)], check=True)
        got = load_file(out)["logits"].double()
        err = ((got - ref).abs().max() / ref.abs().max()).item()
        print(f"{name} {list(shape)}: max |logit diff| / max |logit| = {err:.2e}")
        ok &= err < 1e-4
sys.exit(0 if ok else 1)
