#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of Tests/TorchCheckpointTests (run once; outputs committed).

    python3 Tools/make_pth_fixtures.py [out_dir=Tests/TorchCheckpointTests/Fixtures]

For each checkpoint NAME.pth written with torch.save, NAME.expected.safetensors holds the tensors
the reader must return: contiguous float32 copies (int64 stays int64), and in its metadata
`dtype.<key>` = the safetensors dtype the reader must report. Hostile checkpoints carry objects
whose unpickling by `pickle` would run a command creating /tmp/vcoswin-pwned-<name>; this script
proves each one does so under torch.load(weights_only=False) in a child process, then removes
the marker. `wrong_args.pth` is a hand-written pickle calling _rebuild_tensor_v2 with 3 arguments.
"""
import argparse
import builtins
import collections
import io
import os
import subprocess
import sys
import zipfile

import torch
from safetensors.torch import save_file

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "TorchCheckpointTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)

SAFETENSORS_DTYPE = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def expected(tensors):
    """Contiguous float32 copies (int64 kept), and the dtypes the reader must report."""
    out, meta = {}, {}
    for k, v in tensors.items():
        v = v.detach()
        meta["dtype." + k] = SAFETENSORS_DTYPE[v.dtype]
        out[k] = (v if v.dtype == torch.int64 else v.to(torch.float32)).contiguous().clone()
    return out, meta


def write(name, obj, state_dict, **save_options):
    path = os.path.join(OUT, name + ".pth")
    torch.save(obj, path, **save_options)
    tensors, meta = expected(state_dict)
    save_file(tensors, os.path.join(OUT, name + ".expected.safetensors"), metadata=meta)
    # The reader's answer is what torch.load(weights_only=True) gives for the same state dict.
    print(f"{name}.pth: {os.path.getsize(path)} bytes, {len(tensors)} tensors")
    return path


class Small(torch.nn.Module):
    """A linear layer and a batch norm: F32 weights, F32 running stats, an I64 counter."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)
        self.norm = torch.nn.BatchNorm1d(4)


small = Small()
small.norm.num_batches_tracked += 7
small.norm.running_mean.uniform_()
sd = small.state_dict()  # an OrderedDict with a _metadata attribute
write("ordered_f32", sd, sd)

dtypes = {
    "f32": torch.randn(2, 3),
    "f16": torch.randn(2, 3).half(),
    "bf16": torch.randn(3, 2).bfloat16(),
    "f64": torch.randn(5, dtype=torch.float64),
    "i64": torch.tensor([-(2**40), -1, 0, 3, 2**40]),
    "i32": torch.tensor([-(2**30), -1, 0, 7], dtype=torch.int32),
    "i16": torch.tensor([-30000, -1, 0, 9], dtype=torch.int16),
    "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
}
write("dtypes", dtypes, dtypes)

base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
shared = torch.arange(10, dtype=torch.float32) * 0.5
views = {
    "base": base,
    "transposed": base.t(),                         # stride (1, 6)
    "sliced": base[1:3, 2:5],                       # offset 8, stride (6, 1)
    "every_other": base[:, ::2],                    # stride (6, 2)
    "row": base[2],                                 # contiguous, offset 12
    "expanded": torch.arange(3, dtype=torch.float32).expand(4, 3),  # stride (0, 1)
    "shared_a": shared[:4],                         # two views of one storage
    "shared_b": shared[4:].view(2, 3),
    "scalar": torch.tensor(3.5),
    "empty": torch.zeros(0, 3),
    "transposed_f16": torch.randn(3, 4).half().t(),
}
write("views", views, views)

# Protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL) instead of torch's default 2.
write("protocol4", views, views, pickle_protocol=4)

wrapped = {"state_dict": sd, "args": argparse.Namespace(lr=0.1, arch="swin3d_t"), "epoch": 3}
write("wrapped_state_dict", wrapped, sd)
write("wrapped_model", {"model": sd, "epoch": 5, "optimizer": {"state": {}, "param_groups": []}}, sd)

params = {
    "weight": torch.nn.Parameter(torch.randn(3, 2)),
    "frozen": torch.nn.Parameter(torch.randn(2), requires_grad=False),
    "count": torch.tensor(11),
}
write("parameters", params, params)

legacy_path = os.path.join(OUT, "legacy.pth")
torch.save({"w": torch.ones(2)}, legacy_path, _use_new_zipfile_serialization=False)
print(f"legacy.pth: {os.path.getsize(legacy_path)} bytes")


class Hostile:
    """An object whose unpickling runs `call(*args)`."""

    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return (self.call, self.args)


def marker(name):
    return f"/tmp/vcoswin-pwned-{name}"


HOSTILE = {
    "os_system": (os.system, (f"touch {marker('os_system')}",)),
    "eval": (builtins.eval, (f"open('{marker('eval')}', 'w').close()",)),
    "popen": (subprocess.Popen, (["touch", marker("popen")],)),
}
weight = torch.arange(4, dtype=torch.float32)
for name, (call, args) in HOSTILE.items():
    path = write("hostile_" + name, {"weight": weight, "payload": Hostile(call, args)}, {"weight": weight})
    # Prove the file is hostile: unrestricted unpickling creates the marker.
    if os.path.exists(marker(name)):
        os.remove(marker(name))
    subprocess.run([sys.executable, "-c", f"import torch, time; torch.load({path!r}, weights_only=False); time.sleep(0.5)"],
                   check=True, capture_output=True)
    assert os.path.exists(marker(name)), f"{name}: the payload did not run under torch.load"
    os.remove(marker(name))
    print(f"  proved: torch.load(weights_only=False) runs the payload of hostile_{name}.pth")

# A hostile object at the top level (no tensors anywhere).
root_path = os.path.join(OUT, "hostile_root.pth")
torch.save(Hostile(os.system, (f"touch {marker('root')}",)), root_path)
print(f"hostile_root.pth: {os.path.getsize(root_path)} bytes")

# _rebuild_tensor_v2 with 3 arguments (storage, offset, size), hand-written (protocol 2).
def unicode(s):
    b = s.encode()
    return b"X" + len(b).to_bytes(4, "little") + b


pid = b"(" + unicode("storage") + b"ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + b"K\x04tQ"
pkl = (b"\x80\x02}" + unicode("weight") + b"ctorch._utils\n_rebuild_tensor_v2\n("
       + pid + b"K\x00K\x04\x85tRs.")
with zipfile.ZipFile(os.path.join(OUT, "wrong_args.pth"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("wrong_args/data.pkl", pkl)
    z.writestr("wrong_args/byteorder", "little")
    z.writestr("wrong_args/data/0", torch.arange(4, dtype=torch.float32).numpy().tobytes())
print("wrong_args.pth: hand-written _rebuild_tensor_v2 call with 3 arguments")
