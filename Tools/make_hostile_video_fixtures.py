#!/usr/bin/env python3
"""Writes the hostile video fixtures of Tests/VideoIOTests/Fixtures (development time only).

- timestamps_overflow.mkv: the 16 frames of Clips/val/0000.mkv in two Matroska clusters whose
  timestamps are 2^63 + 10 (wraps to about -2^63) and 2^63 - 1000: the span between the first
  and the last frame does not fit in a signed 64-bit integer.
- size_lie.png: a 68-byte PNG whose header claims 2^31 - 1 pixels a side, with no real image.

Run from the package root: python3 Tools/make_hostile_video_fixtures.py
"""
import struct
import zlib

SOURCE = "Clips/val/0000.mkv"
OUT = "Tests/VideoIOTests/Fixtures/"
MASTER = {0x1A45DFA3, 0x18538067, 0x1549A966, 0x1654AE6B, 0xAE, 0xE0, 0x1F43B675, 0xA0}


def vint(b, i, mask=True):
    """An EBML variable-length integer at b[i]: (value, length)."""
    first, n, m = b[i], 1, 0x80
    while n <= 8 and not (first & m):
        n, m = n + 1, m >> 1
    v = first & (m - 1) if mask else first
    for k in range(1, n):
        v = (v << 8) | b[i + k]
    return v, n


def walk(b, i, end, depth, out):
    """Every element as (depth, id, start, data start, data size), masters descended."""
    while i < end:
        eid, n = vint(b, i, mask=False)
        size, m = vint(b, i + n)
        k = i + n + m
        if size == (1 << (7 * m)) - 1:
            size = end - k
        out.append((depth, eid, i, k, size))
        if eid in MASTER:
            walk(b, k, min(k + size, end), depth + 1, out)
        i = k + size
    return out


def element(eid, data):
    """An element with an 8-byte size."""
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big") + b"\x01" + len(data).to_bytes(7, "big") + data


def matroska():
    b = open(SOURCE, "rb").read()
    els = walk(b, 0, len(b), 0, [])
    raw = lambda e: b[e[2]:e[3] + e[4]]
    first = lambda eid: next(e for e in els if e[1] == eid)
    blocks = [e for e in els if e[1] == 0xA3]

    def block(e, relative, key):
        data = bytearray(b[e[3]:e[3] + e[4]])
        data[1:3] = struct.pack(">h", relative)
        data[3] = data[3] | 0x80 if key else data[3] & 0x7F
        return element(0xA3, bytes(data))

    def cluster(timestamp, part):
        body = element(0xE7, timestamp.to_bytes(8, "big"))
        body += b"".join(block(e, 40 * j, j == 0) for j, e in enumerate(part))
        return element(0x1F43B675, body)

    segment = raw(first(0x1549A966)) + raw(first(0x1654AE6B))
    segment += cluster(2**63 + 10, blocks[:8]) + cluster(2**63 - 1000, blocks[8:])
    unknown_size = b"\x01" + b"\xff" * 7
    with open(OUT + "timestamps_overflow.mkv", "wb") as f:
        f.write(raw(first(0x1A45DFA3)) + b"\x18\x53\x80\x67" + unknown_size + segment)


def png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2**31 - 1, 2**31 - 1, 8, 2, 0, 0, 0)
    with open(OUT + "size_lie.png", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header))
        f.write(chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    matroska()
    png()
