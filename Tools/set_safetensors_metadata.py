#!/usr/bin/env python3
"""Sets one `__metadata__` string of a safetensors file in place; tensors are byte-identical.

Used once to replace the absolute path in the shipped model's provenance:
    python3 Tools/set_safetensors_metadata.py Clips/default-model.safetensors provenance \
        "demo: fine-tuned from video-init.safetensors (the demo's inflated image model)"
The header keeps its key order, is compact JSON padded with spaces to a multiple of 8 bytes
(as the package writes it); the data section is copied unchanged.
"""
import json
import os
import struct
import sys


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: set_safetensors_metadata.py FILE KEY VALUE")
    path, key, value = sys.argv[1:]
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    data = blob[8 + length :]
    header.setdefault("__metadata__", {})[key] = value
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    temp = os.path.join(os.path.dirname(os.path.abspath(path)), "." + os.path.basename(path) + f".tmp-{os.getpid()}-0")
    with open(temp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


if __name__ == "__main__":
    main()
