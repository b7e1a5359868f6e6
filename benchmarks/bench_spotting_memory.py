"""Benchmark: peak memory of whole-video ingestion and tracking on a 3,000-frame recording.

The issue's goal: a whole 3,000-frame 848 x 480 RealSense recording through ingestion and face
tracking with < 500 MB peak memory. Writes such a recording (60 rendered synthetic frames of
one subject, cycled with their frame numbers running on; color + registered depth), then runs
``microexp.spotting.video.crop_video(iter_recording(...))`` in a fresh process and reads its
peak resident set size (``ru_maxrss``), frames per second and the size of what it keeps.

Writes spotting_memory.json to `out_dir`. Under load on a shared machine: indicative.

Run: python -m benchmarks bench_spotting_memory
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_FRAMES = 3000
CHILD = r"""
import json, resource, sys, time
import yaml
from microexp.face2d.stage import Face2DParams
from microexp.spotting.video import crop_video, iter_recording
config = yaml.safe_load(open(sys.argv[2]))
start = time.perf_counter()
crops = crop_video(iter_recording(sys.argv[1]), Face2DParams.from_config(config["face2d"]))
elapsed = time.perf_counter() - start
print(json.dumps({
    "frames": int(len(crops.frame_numbers)),
    "faces_found": int(crops.face_found.sum()),
    "seconds": elapsed,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "kept_mb": (crops.gray.nbytes + crops.landmarks.nbytes
                + (crops.block_depth.nbytes if crops.block_depth is not None else 0)) / 2**20,
}))
"""


def write_long_recording(path: Path, n_frames: int = N_FRAMES) -> None:
    import yaml

    from microexp.io.containers import CaptureFrame
    from microexp.synthetic.generate import render_sample, subject_for
    from microexp.synthetic.recording import write_recording
    from microexp.synthetic.schedule import SyntheticSettings, plan_samples

    root = Path(__file__).resolve().parents[1]
    settings = SyntheticSettings.from_config(yaml.safe_load((root / "config.yaml").read_text()))
    plan = plan_samples(settings)[0]
    subject = subject_for(settings, plan.subject_index)
    frames = []
    for frame in render_sample(plan, settings, subject):
        frames.append(frame)
        if len(frames) == 60:
            break
    # cycle forwards and backwards so that the face moves smoothly (no jump at the seam)
    cycle = frames + frames[-2:0:-1]

    def capture():
        for i in range(n_frames):
            f = cycle[i % len(cycle)]
            yield CaptureFrame(color=f.color, depth=f.depth, frame_number=i + 1,
                               timestamp_ms=i * 1000.0 / 30.0)  # fmt: skip

    write_recording(path, capture(), color_intrinsics=subject.intrinsics,
                    depth_scale=settings.depth_scale, fps=30)  # fmt: skip


def main(out_dir: Path) -> dict:
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "long.db3"
        start = time.perf_counter()
        write_long_recording(recording)
        written = time.perf_counter() - start
        size_mb = recording.stat().st_size / 2**20
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(recording), str(root / "config.yaml")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        recording_frames=N_FRAMES, recording_mb=size_mb, write_seconds=written,
        frames_per_s=result["frames"] / result["seconds"], resolution=[848, 480],
    )  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "spotting_memory.json").write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    return result


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
