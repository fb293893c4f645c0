#!/usr/bin/env python3
"""torch.load(f, weights_only=True) of a checkpoint: load time and peak RSS, one JSON line.

    python3 Benchmarks/pth_load_torch.py FILE

`seconds` times torch.load alone (after `import torch`); `peak_rss_mb` is the process's peak
(ru_maxrss), `base_rss_mb` its resident set after importing torch, before loading.
"""
import json
import os
import resource
import sys
import time

import torch


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


path = sys.argv[1]
torch.set_num_threads(1)
base = rss_mb()
start = time.perf_counter()
state = torch.load(path, weights_only=True, map_location="cpu")
seconds = time.perf_counter() - start
values = sum(t.numel() for t in state.values())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"impl": "torch", "seconds": seconds, "peak_rss_mb": peak, "base_rss_mb": base,
                  "file_mb": os.path.getsize(path) / 1048576, "values": values, "torch": torch.__version__}))
