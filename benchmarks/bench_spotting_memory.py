"""Benchmark: peak memory and speed of whole-video ingestion and tracking on 3,000 frames.

The issue's goal: a whole 3,000-frame 848 x 480 recording through ingestion and face tracking
with < 500 MB peak memory. Renders 60 synthetic frames of one subject (848 x 480, color and
depth), cycles them back and forth to 3,000 frames and writes them twice: as a frame folder
(``img<n>.jpg``) and as a RealSense recording (``.db3`` through the SDK's own recorder, frame
numbers and timestamps increasing at 60 fps). Then runs ``microexp.spotting.video.crop_video``
over each in a fresh process (the recording with the default 3D registration of depth) and
reads its peak resident set size (``ru_maxrss``), frames per wall and per CPU second and the
size of what it keeps. With a path to another recording as second argument, that one is
measured as well. Then the spotting features' frames per second on one core
(``bench_spotting``: MDMD with its optical flow, LBP, depth, and the 3D registration of
depth), so one run reports both aims.

Writes spotting_memory.json to `out_dir`. Under load on a shared machine: indicative.

Run: python -m benchmarks bench_spotting_memory
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_FRAMES = 3000
FPS = 60
CHILD = r"""
import json, resource, sys, time
import numpy as np
import yaml
from microexp.face2d.stage import Face2DParams
from pathlib import Path
from microexp.spotting.video import crop_video, iter_frame_folder, iter_recording
config = yaml.safe_load(open(sys.argv[2]))
source = Path(sys.argv[1])
frames = iter_recording(source) if source.is_file() else iter_frame_folder(source)
spotting = config["spotting"]
icp = None
if source.is_file() and spotting.get("depth_registration", "icp") == "icp":
    from microexp.cloud3d.icp import IcpParams
    icp = IcpParams.from_config({**config["cloud3d"]["icp"], **spotting.get("icp", {})})
start, start_cpu = time.perf_counter(), time.process_time()
crops = crop_video(
    frames, Face2DParams.from_config(config["face2d"]), grid=tuple(spotting["grid"]),
    smoothing_frames=spotting["alignment_smoothing_frames"],
    depth_registration=spotting.get("depth_registration", "icp"), icp=icp,
    icp_step=spotting.get("icp_step", 6),
)
elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
print(json.dumps({
    "cpu_seconds": elapsed_cpu,
    "frames": int(len(crops.frame_numbers)),
    "faces_found": int(crops.face_found.sum()),
    "seconds": elapsed,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "kept_mb": (crops.gray.nbytes + crops.gray_fixed.nbytes + crops.landmarks.nbytes
                + (crops.block_depth.nbytes if crops.block_depth is not None else 0)) / 2**20,
    "depth_registration": crops.depth_registration,
    "icp_registered_frames": (None if crops.icp_fitness is None
                              else int(np.isfinite(crops.icp_fitness).sum())),
}))
"""


def rendered_cycle(n_rendered: int = 60) -> tuple[list, object, float]:
    """60 rendered frames (color RGB, depth in units) back and forth, the camera and depth scale."""
    import yaml

    from microexp.synthetic.generate import render_sample, subject_for
    from microexp.synthetic.schedule import SyntheticSettings, plan_samples

    root = Path(__file__).resolve().parents[1]
    settings = SyntheticSettings.from_config(yaml.safe_load((root / "config.yaml").read_text()))
    plan = plan_samples(settings)[0]
    subject = subject_for(settings, plan.subject_index)
    frames = []
    for frame in render_sample(plan, settings, subject):
        frames.append((frame.color, frame.depth))
        if len(frames) == n_rendered:
            break
    return frames + frames[-2:0:-1], subject.intrinsics, settings.depth_scale  # no seam jump


def write_long_folder(folder: Path, cycle: list, n_frames: int = N_FRAMES) -> None:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_frames):
        bgr = cv2.cvtColor(cycle[i % len(cycle)][0], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"img{i + 1}.jpg"), bgr)


def write_long_recording(
    path: Path, cycle: list, intrinsics, depth_scale: float, n_frames: int = N_FRAMES
) -> None:
    """The cycled frames as one recording, numbered 1..n and stamped at 60 fps."""
    from microexp.io.containers import CaptureFrame
    from microexp.synthetic.recording import write_recording

    def frames():
        for i in range(n_frames):
            color, depth = cycle[i % len(cycle)]
            yield CaptureFrame(color, depth, i + 1, i * 1000.0 / FPS)

    path.parent.mkdir(parents=True, exist_ok=True)
    write_recording(path, frames(), color_intrinsics=intrinsics, depth_scale=depth_scale, fps=FPS)


def _measure(source: Path, root: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(root / "config.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"ingestion of {source} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["frames_per_s"] = result["frames"] / result["seconds"]
    result["frames_per_cpu_s"] = result["frames"] / result["cpu_seconds"]
    result["source"] = str(source)
    return result


def main(out_dir: Path, recording: Path | None = None) -> dict:
    root = Path(__file__).resolve().parents[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cycle, intrinsics, depth_scale = rendered_cycle()
        render_seconds = time.perf_counter() - start
        folder = Path(tmp) / "rawpic" / "s01" / "01_0101long"
        start = time.perf_counter()
        write_long_folder(folder, cycle)
        write_seconds = time.perf_counter() - start
        results["frame_folder"] = _measure(folder, root)
        results["frame_folder"].update(write_seconds=write_seconds, resolution=[848, 480])
        shutil.rmtree(folder)
        long_recording = Path(tmp) / "realsense" / "s01" / "01_0101long.db3"
        start = time.perf_counter()
        write_long_recording(long_recording, cycle, intrinsics, depth_scale)
        write_seconds = time.perf_counter() - start
        size_mb = long_recording.stat().st_size / 2**20
        del cycle
        results["recording"] = _measure(long_recording, root)
        results["recording"].update(
            write_seconds=write_seconds, resolution=[848, 480], file_mb=size_mb,
            render_seconds_60_frames=render_seconds,
        )  # fmt: skip
    if recording is not None:
        results["given_recording"] = _measure(recording, root)
    # the spotting features per frame on one core (aim >= 100 frames/s, flow included) and
    # the 3D registration of depth: benchmarks/bench_spotting.py, also written to spotting.json
    from benchmarks import bench_spotting

    results["features_one_core"] = bench_spotting.main(out_dir)
    (out_dir / "spotting_memory.json").write_text(json.dumps(results, indent=2))
    for case, values in results.items():
        if case == "features_one_core":
            continue  # printed by bench_spotting
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
