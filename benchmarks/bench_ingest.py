"""Benchmark: writing and reading a long RealSense recording (docs/methods.md#capture-formats).

Writes a 3,000-frame 848 x 480 @ 60 fps recording (50 s, DSME-3D's format) with the installed
SDK (`.db3`) to a temporary folder, frames made on the fly (fixture gradients plus sensor-like
noise, so LZ4 has realistic work), then reads it back three ways:

1. the whole file streamed through `iter_frames` without keeping frames (read throughput);
2. three 30-frame clips (at 25 %, 50 % and 75 %) in one pass with `read_clips`, as ingestion
   reads the samples of one video;
3. one clip near the start with `read_recording` (playback stops after the last frame wanted).

Each phase runs in its own process so its peak RSS is its own. The recording is deleted
afterwards. Writes ingest.json and ingest.tsv to `out_dir`. Timings come from a shared
2-core machine: treat them as indicative.

Run: python benchmarks/bench_ingest.py [out_dir]   (default results/bench)
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

FRAMES = 3000
WIDTH, HEIGHT, FPS = 848, 480, 60
CLIP = 30
SEED = 20240601


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _noisy_frames(n: int) -> Iterator[Any]:
    """Fixture frames with deterministic camera-like noise, generated one at a time."""
    import dataclasses

    from microexp.testing.recordings import iter_fixture_frames

    rng = np.random.default_rng(SEED)
    for f in iter_fixture_frames(n, WIDTH, HEIGHT, fps=FPS):
        color = np.clip(f.color.astype(np.int16) + rng.integers(-4, 5, f.color.shape), 0, 255)
        depth = f.depth.astype(np.int32)
        depth = np.where(depth > 0, depth + rng.integers(-2, 3, depth.shape), 0)
        yield dataclasses.replace(f, color=color.astype(np.uint8), depth=depth.astype(np.uint16))


def _phase_write(path: str, frames: int) -> dict[str, Any]:
    from microexp.synthetic.recording import write_recording
    from microexp.testing.recordings import fixture_intrinsics

    start = time.perf_counter()
    summary = write_recording(
        path, _noisy_frames(frames), color_intrinsics=fixture_intrinsics(WIDTH, HEIGHT), fps=FPS
    )
    seconds = time.perf_counter() - start
    # Frame generation is part of the time; measure it alone to report the writer's share.
    gen_start = time.perf_counter()
    for _ in _noisy_frames(200):
        pass
    gen_per_frame = (time.perf_counter() - gen_start) / 200
    return {
        "frames": summary.color_frames,
        "seconds": seconds,
        "fps": summary.color_frames / seconds,
        "fps_excluding_generation": summary.color_frames / (seconds - gen_per_frame * frames),
        "size_mb": summary.size_bytes / 1e6,
        "mb_per_frame_pair": summary.size_bytes / 1e6 / summary.color_frames,
        "raw_mb_per_frame_pair": WIDTH * HEIGHT * 5 / 1e6,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _phase_stream_all(path: str, frames: int) -> dict[str, Any]:
    from microexp.io.realsense import iter_frames

    start = time.perf_counter()
    n = 0
    with iter_frames(path) as reader:
        for _ in reader:
            n += 1
    seconds = time.perf_counter() - start
    return {
        "frames": n,
        "seconds": seconds,
        "fps": n / seconds,
        "dropped": reader.dropped.count,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _clip_ranges(frames: int) -> list[range]:
    first = 1  # fixture frame numbers start at 1
    return [
        range(first + int(frames * q), first + int(frames * q) + CLIP) for q in (0.25, 0.5, 0.75)
    ]


def _phase_clips(path: str, frames: int) -> dict[str, Any]:
    from microexp.io.realsense import read_clips

    start = time.perf_counter()
    clips = read_clips(path, _clip_ranges(frames))
    seconds = time.perf_counter() - start
    return {
        "clips": len(clips),
        "frames": sum(len(c) for c in clips),
        "seconds": seconds,
        "file_frames_per_s": max(_clip_ranges(frames)[-1]) / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _phase_early_clip(path: str, frames: int) -> dict[str, Any]:
    from microexp.io.realsense import read_recording

    start = time.perf_counter()
    rec = read_recording(path, frames=range(61, 61 + CLIP))
    seconds = time.perf_counter() - start
    return {"frames": len(rec), "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def _in_child(target: Any, path: str, frames: int) -> dict[str, Any]:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(target, (path, frames))


def main(out_dir: Path | str = Path("results/bench"), frames: int = FRAMES) -> dict[str, Any]:
    """Run the phases, write ingest.json / ingest.tsv to `out_dir`, return the figures."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "recording": {"frames": frames, "width": WIDTH, "height": HEIGHT, "fps": FPS},
        "machine": {"python": platform.python_version(), "cpus": mp.cpu_count()},
    }
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        path = str(Path(tmp) / "long.db3")
        for name, phase in (
            ("write", _phase_write),
            ("read_all_streamed", _phase_stream_all),
            ("read_three_clips", _phase_clips),
            ("read_early_clip", _phase_early_clip),
        ):
            results[name] = _in_child(phase, path, frames)
            print(name, json.dumps(results[name]), flush=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=2))
    with open(out / "ingest.tsv", "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["phase", "frames", "seconds", "frames_per_s", "peak_rss_mb"])
        for name in ("write", "read_all_streamed", "read_three_clips", "read_early_clip"):
            r = results[name]
            fps = r.get("fps", r.get("file_frames_per_s", r["frames"] / r["seconds"]))
            writer.writerow(
                [name, r["frames"], f"{r['seconds']:.2f}", f"{fps:.1f}", f"{r['peak_rss_mb']:.0f}"]
            )
    return results


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
