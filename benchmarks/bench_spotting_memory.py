"""Benchmark: peak memory of whole-video ingestion and tracking on a 3,000-frame video.

The issue's goal: a whole 3,000-frame 848 x 480 video through ingestion and face tracking with
< 500 MB peak memory. Writes 3,000 848 x 480 frames (60 rendered synthetic frames of one
subject, cycled back and forth) as a frame folder (``img<n>.jpg``), then runs
``microexp.spotting.video.crop_video`` over it in a fresh process and reads its peak resident
set size (``ru_maxrss``), frames per second and the size of what it keeps. With a path to a
RealSense recording as second argument, that recording is measured the same way
(``iter_recording``). Writing a 3,000-frame recording with the SDK's recorder takes ~0.8 s a
frame here, so the recording case is run on the synthetic long videos instead.

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
from pathlib import Path
from microexp.spotting.video import crop_video, iter_frame_folder, iter_recording
config = yaml.safe_load(open(sys.argv[2]))
source = Path(sys.argv[1])
frames = iter_recording(source) if source.is_file() else iter_frame_folder(source)
start = time.perf_counter()
crops = crop_video(frames, Face2DParams.from_config(config["face2d"]))
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


def write_long_folder(folder: Path, n_frames: int = N_FRAMES) -> None:
    import cv2
    import yaml

    from microexp.synthetic.generate import render_sample, subject_for
    from microexp.synthetic.schedule import SyntheticSettings, plan_samples

    root = Path(__file__).resolve().parents[1]
    settings = SyntheticSettings.from_config(yaml.safe_load((root / "config.yaml").read_text()))
    plan = plan_samples(settings)[0]
    subject = subject_for(settings, plan.subject_index)
    frames = []
    for frame in render_sample(plan, settings, subject):
        frames.append(cv2.cvtColor(frame.color, cv2.COLOR_RGB2BGR))
        if len(frames) == 60:
            break
    cycle = frames + frames[-2:0:-1]  # back and forth: no jump at the seam
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_frames):
        cv2.imwrite(str(folder / f"img{i + 1}.jpg"), cycle[i % len(cycle)])


def _measure(source: Path, root: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(root / "config.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"ingestion of {source} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["frames_per_s"] = result["frames"] / result["seconds"]
    result["source"] = str(source)
    return result


def main(out_dir: Path, recording: Path | None = None) -> dict:
    root = Path(__file__).resolve().parents[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rawpic" / "s01" / "01_0101long"
        start = time.perf_counter()
        write_long_folder(folder)
        results["frame_folder"] = _measure(folder, root)
        results["frame_folder"].update(write_seconds=time.perf_counter() - start,
                                       resolution=[848, 480])  # fmt: skip
    if recording is not None:
        results["recording"] = _measure(recording, root)
    (out_dir / "spotting_memory.json").write_text(json.dumps(results, indent=2))
    for case, values in results.items():
        for key, value in values.items():
            print(
                f"{case} {key}: {value:.1f}"
                if isinstance(value, float)
                else f"{case} {key}: {value}"
            )
    return results


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"),
        Path(sys.argv[2]) if len(sys.argv) > 2 else None,
    )
