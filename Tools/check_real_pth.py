#!/usr/bin/env python3
"""From a full-size `.pth` to Kinetics-400 names, the way a user goes (issue: real checkpoints).

Run from the repository root after `swift build -c release --product vcoswin`:
    python3 Tools/check_real_pth.py [WORKDIR]

Builds torchvision's `swin3d_t` (random weights: released weights cannot be downloaded here, but
the file is made exactly as the released one was, `torch.save(model.state_dict())`), then:
1. `vcoswin import --from swin3d_t.pth --labels kinetics400`;
2. `vcoswin features --input` on a 1×3×32×224² input, against torchvision's logits on it;
3. the same through the official Video Swin layout (`backbone.*`, `cls_head.fc_cls`, `{"state_dict"}`);
4. `vcoswin classify VIDEO --json` with the imported checkpoint: Kinetics-400 names.
Prints the relative logit error of each path and the classify output.
"""
import collections
import json
import os
import re
import subprocess
import sys

import torch
from safetensors.torch import load_file, save_file
from torchvision.models.video import swin3d_t

BIN = os.path.join(".build", "release", "vcoswin")


def official(name):
    m = re.fullmatch(r"features\.(\d+)\.(\d+)\.(.*)", name)
    if m:
        rest = m.group(3).replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
        return f"backbone.layers.{int(m.group(1)) // 2}.blocks.{m.group(2)}.{rest}"
    m = re.fullmatch(r"features\.(\d+)\.(.*)", name)
    if m:
        return f"backbone.layers.{(int(m.group(1)) - 1) // 2}.downsample.{m.group(2)}"
    if name.startswith("head."):
        return "cls_head.fc_cls." + name[5:]
    return "backbone." + name


def run(*args):
    print("$", " ".join(args), flush=True)
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return out.stdout


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/vcoswin-real"
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    model = swin3d_t().eval()
    pth = os.path.join(work, "swin3d_t.pth")
    torch.save(model.state_dict(), pth)
    vswin = os.path.join(work, "swin_tiny_patch244_window877_kinetics400_1k.pth")
    torch.save({"meta": {}, "state_dict": collections.OrderedDict((official(k), v) for k, v in model.state_dict().items())}, vswin)
    x = torch.randn(1, 3, 32, 224, 224, generator=torch.Generator().manual_seed(1))
    save_file({"input": x}, os.path.join(work, "input.safetensors"))
    with torch.no_grad():
        ref = model(x)
    for name, src in [("torchvision", pth), ("official Video Swin", vswin)]:
        ckpt = os.path.join(work, f"{name.split()[0]}.safetensors")
        print(run(BIN, "import", "--from", src, "--out", ckpt, "--labels", "kinetics400").strip())
        feats = os.path.join(work, f"{name.split()[0]}-features.safetensors")
        run(BIN, "features", "--input", os.path.join(work, "input.safetensors"), "--checkpoint", ckpt, "--output", feats)
        ours = load_file(feats)["logits"]
        print(f"{name}: logits relative error against torchvision {rel(ours, ref):.2e}")
        direct = os.path.join(work, f"{name.split()[0]}-direct.safetensors")
        run(BIN, "features", "--input", os.path.join(work, "input.safetensors"), "--checkpoint", src, "--output", direct)
        print(f"{name}: .pth given directly to features, relative error {rel(load_file(direct)['logits'], ref):.2e}")
    video = sys.argv[2] if len(sys.argv) > 2 else "Clips/val/0003.mkv"
    out = run(BIN, "classify", video, "--checkpoint", os.path.join(work, "torchvision.safetensors"), "--json", "--top", "3")
    print(out.strip())
    assert all(t["label"] in open("Clips/kinetics400_labels.txt").read().splitlines() for t in json.loads(out)["top"])


if __name__ == "__main__":
    main()
