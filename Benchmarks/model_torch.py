#!/usr/bin/env python3
"""PyTorch side of the model benchmark: the same cases, threads and protocol as
`vcoswin-bench model` (one warm-up, then --iterations timed runs; fastest and median;
peak RSS of the process). Prints one JSON object.

    python3 Benchmarks/model_torch.py --only video16 --threads 2
"""
import argparse
import json
import os
import resource
import time

p = argparse.ArgumentParser()
p.add_argument("--only", default="video16",
               choices=["video16", "video32", "image8", "train", "train16", "train16-recompute"])
p.add_argument("--threads", type=int, default=2)
p.add_argument("--iterations", type=int, default=3)
p.add_argument("--clock", default="wall", choices=["wall", "cpu"],
               help="wall: elapsed time; cpu: process CPU time / threads (a shared machine)")
args = p.parse_args()

# With --clock cpu, OpenMP workers sleep instead of spinning between parallel regions, so that
# process CPU time counts work, not waiting (set before torch loads its OpenMP runtime).
if args.clock == "cpu":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.utils.checkpoint  # noqa: E402
from torchvision.models import swin_t  # noqa: E402
from torchvision.models.video import swin3d_t  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(1)
shape = {"video16": (1, 3, 16, 224, 224), "video32": (1, 3, 32, 224, 224),
         "image8": (8, 3, 224, 224), "train": (2, 3, 8, 112, 112),
         "train16": (2, 3, 16, 224, 224), "train16-recompute": (2, 3, 16, 224, 224)}[args.only]
model = swin_t() if args.only == "image8" else swin3d_t()
x = torch.randn(shape)


class Checkpointed(torch.nn.Module):
    """A block whose activations are recomputed in backward (RNG state preserved)."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return torch.utils.checkpoint.checkpoint(self.block, x, use_reentrant=False)


if args.only == "train16-recompute":
    # swin3d_t: features = [stage, merge, stage, merge, …]; a stage is a Sequential of blocks.
    for stage in model.features:
        if isinstance(stage, torch.nn.Sequential):
            for j in range(len(stage)):
                stage[j] = Checkpointed(stage[j])

if args.only.startswith("train"):
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    labels = torch.arange(shape[0]) % 400
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), labels)
        loss.backward()
        opt.step()
else:
    model.eval()

    def step():
        with torch.inference_mode():
            model(x)

def now():
    return time.perf_counter() if args.clock == "wall" else time.process_time() / args.threads


step()
times = []
for _ in range(args.iterations):
    t = now()
    step()
    times.append(now() - t)
times.sort()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux → MB
print(json.dumps({"impl": "torch", "case": args.only, "threads": args.threads, "clock": args.clock,
                  "seconds": times[0],
                  "median_seconds": times[len(times) // 2], "samples_per_second": shape[0] / times[0],
                  "peak_rss_mb": rss, "torch": torch.__version__}))
