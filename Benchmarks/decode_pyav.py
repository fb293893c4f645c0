#!/usr/bin/env python3
"""PyAV counterpart of `vcoswin-bench decode`: the same measurements on the same files.

For each file and thread count prints one JSON object per line:
  decode_fps    decode every frame, convert to RGB24 resized to a short side of 224
  decode_fps_cpu  the same per CPU-second of this process (all threads)
  decode_all_s  that pass's time in seconds
  clips_per_s   (and clips_per_cpu_s) 32x2 clips at evenly spaced offsets (mmaction2 test
                mode, the same frames as the Swift side), each with a fresh container:
                open, seek to the keyframe before the clip, decode forward, convert the wanted
                frames, centre crop 224, Float32 [3, T, H, W]
  clip_speedup  decode_all_s * clips_per_s
Usage: decode_pyav.py FILE... [--threads 1 2] [--clips 12] [--repeats 2] [--interpolation AREA]
(--interpolation: swscale filter for the resize; PyAV's default is BILINEAR)
"""
import argparse
import json
import os
import time

import av
import numpy as np


def resized(w, h, short=224):
    if w <= h:
        return short, int(h * short / w + 0.5)
    return int(w * short / h + 0.5), short


def open_stream(path, threads):
    container = av.open(path)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    stream.thread_count = threads
    return container, stream


def decode_all(path, threads, interpolation):
    cpu = time.process_time()
    start = time.perf_counter()
    container, stream = open_stream(path, threads)
    w, h = resized(stream.codec_context.width, stream.codec_context.height)
    frames, checksum = 0, 0
    for frame in container.decode(stream):
        rgb = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation=interpolation)
        checksum += int(rgb[h // 2, w // 2, 0])
        frames += 1
    container.close()
    return frames, time.perf_counter() - start, time.process_time() - cpu


def test_offsets(frames, clip_len, interval, clips):
    """mmaction2 SampleFrames test mode: evenly spaced clip offsets (as the Swift side)."""
    max_offset = max(frames - clip_len * interval, 0)
    if clips == 1:
        return [max_offset // 2]
    return [int(x) for x in np.round(np.arange(clips) * (max_offset / (clips - 1)))]


def sample_clip(path, threads, offset, interpolation, clip_len=32, interval=2, size=224):
    container, stream = open_stream(path, threads)
    frames = stream.frames
    fps = float(stream.average_rate)
    tb = float(stream.time_base)
    start_pts = stream.start_time or 0
    wanted = [(offset + j * interval) % frames for j in range(clip_len)]
    targets = sorted(set(wanted))
    w, h = resized(stream.codec_context.width, stream.codec_context.height, size)
    x0, y0 = (w - size) // 2, (h - size) // 2
    got = {}
    container.seek(int(targets[0] / fps / tb) + start_pts, stream=stream, backward=True)
    for frame in container.decode(stream):
        index = int(round((frame.pts - start_pts) * tb * fps))
        if index in targets and index not in got:
            rgb = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation=interpolation)
            got[index] = rgb[y0:y0 + size, x0:x0 + size]
        if index >= targets[-1]:
            break
    container.close()
    clip = np.stack([got.get(i, np.zeros((size, size, 3), np.uint8)) for i in wanted])
    return (clip.astype(np.float32) / 255.0).transpose(3, 0, 1, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--interpolation", default="BILINEAR")
    args = parser.parse_args()
    for path in args.files:
        for threads in args.threads:
            decode_s, decode_cpu, clip_s, clip_cpu, frames = (float("inf"),) * 4 + (0,)
            for _ in range(args.repeats):
                frames, seconds, cpu = decode_all(path, threads, args.interpolation)
                decode_s = min(decode_s, seconds)
                decode_cpu = min(decode_cpu, cpu)
                start, cpu = time.perf_counter(), time.process_time()
                with av.open(path) as probe:
                    offsets = test_offsets(probe.streams.video[0].frames, 32, 2, args.clips)
                for offset in offsets:
                    clip = sample_clip(path, threads, offset, interpolation=args.interpolation)
                    assert clip.shape == (3, 32, 224, 224)
                clip_s = min(clip_s, time.perf_counter() - start)
                clip_cpu = min(clip_cpu, time.process_time() - cpu)
            clips_per_s = args.clips / clip_s
            print(json.dumps({
                "impl": "pyav" if args.interpolation == "BILINEAR" else "pyav-" + args.interpolation.lower(),
                "file": os.path.basename(path), "threads": threads, "frames": frames,
                "decode_fps": round(frames / decode_s, 3), "decode_fps_cpu": round(frames / decode_cpu, 3),
                "decode_all_s": round(decode_s, 3),
                "clips_per_s": round(clips_per_s, 3), "clips_per_cpu_s": round(args.clips / clip_cpu, 3), "clip_speedup": round(decode_s * clips_per_s, 3),
            }), flush=True)


if __name__ == "__main__":
    main()
