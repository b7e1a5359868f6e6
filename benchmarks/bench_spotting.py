"""Benchmark: spotting features per frame on aligned 168 x 168 crops, one core.

The issue's goal: >= 100 frames/s on one core, optical flow included. Measures, on a
300-frame video of a smooth face-like texture with a moving mouth region (the unit tests'
construction) at 30 fps and the default windows:

* MDMD: two DIS flows per frame per pass (head -> current, head -> tail), both passes;
  also the flow alone per preset (ultrafast, fast, medium) and Farneback for comparison;
* LBP difference: one LBP code pass + block histograms, then both passes;
* depth difference: block means + both passes on a 168 x 168 depth video;
* 3D registration of depth (``microexp.spotting.registration3d``, the spotting config's ICP
  settings): a face-like surface (``microexp.testing.face_surface``) turning +-6 degrees,
  848 x 480 depth frames, 168 x 168 crop; per frame: sampling, ICP, block means.

Writes spotting.json to `out_dir`. Timings come from a shared 2-core machine (cv2, numba and
open3d limited to one thread here): frames per wall second (`*_frames_per_s`) and per CPU
second of the process (`*_frames_per_cpu_s`, one core's rate even when the machine is
overloaded); indicative, not exact.

Run: python -m benchmarks bench_spotting
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numba
import numpy as np

from microexp.spotting import method_params, spotting_features
from microexp.spotting.lbp_difference import lbp_block_histograms
from microexp.spotting.mdmd import dense_flow

N_FRAMES = 300
FPS = 30.0
CONFIG = {
    "windows_s": {"micro": 0.2, "macro": 0.6},
    "p": 0.5,
    "interval": "peaks",
    "methods": {"mdmd": {"windows_s": {"micro": 0.4, "macro": 1.3}, "interval": "runs"}},
}


def video(n_frames: int = N_FRAMES, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((168, 168)).astype(np.float32), (0, 0), 1.5)
    base = (base - base.min()) / (base.max() - base.min())
    yy, xx = np.mgrid[0:168, 0:168].astype(np.float32)
    region = np.zeros((168, 168), np.float32)
    region[110:150, 44:124] = 1.0
    region = cv2.GaussianBlur(region, (0, 0), 4)
    out = np.empty((n_frames, 168, 168), np.uint8)
    for t in range(n_frames):
        a = 2.0 * np.sin(2 * np.pi * t / 40.0) ** 2
        img = cv2.remap(base, (xx - a * region).astype(np.float32), yy, cv2.INTER_LINEAR)
        noise = rng.normal(0, 1.0, img.shape)
        out[t] = np.clip(img * 200 + 20 + noise, 0, 255).astype(np.uint8)
    return out


def _fps(function, n_frames: int, cpu: dict | None = None, key: str = "") -> float:
    """Frames per wall second; with `cpu`, also frames per CPU second of this process (one
    thread here, so one core's rate even when the shared machine is overloaded) under `key`."""
    start, start_cpu = time.perf_counter(), time.process_time()
    function()
    if cpu is not None:
        cpu[key] = n_frames / max(time.process_time() - start_cpu, 1e-9)
    return n_frames / (time.perf_counter() - start)


def registration_speed(n_poses: int = 20, n_frames: int = 100) -> dict:
    """Frames per second of the depth spotter's 3D registration (one thread), and how far
    the registered block depths stray on a surface that only turns (mm, max over blocks)."""
    import yaml

    from microexp.camera import Intrinsics
    from microexp.cloud3d.icp import IcpParams
    from microexp.spotting.registration3d import FaceSurfaceRegistration
    from microexp.testing.face_surface import (
        LANDMARKS_HEAD,
        face_points,
        head_pose,
        project,
        render_depth,
    )

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    spotting = config["spotting"]
    icp = IcpParams.from_config({**config["cloud3d"]["icp"], **spotting.get("icp", {})})
    camera = Intrinsics(width=848, height=480, fx=600.0, fy=600.0, cx=423.5, cy=239.5)
    scale = 168 / 200  # a 200 x 200 pixel face region to the 168 x 168 crop
    crop = np.array([[scale, 0, -323.5 * scale], [0, scale, -139.5 * scale]])
    surface = face_points(spacing=0.4)
    rng = np.random.default_rng(0)
    poses = []
    for k in range(n_poses):
        pose = head_pose(6.0 * np.sin(2 * np.pi * k / n_poses))
        depth = render_depth(surface @ pose[:3, :3].T + pose[:3, 3], camera)
        depth += rng.normal(0.0, 0.5, depth.shape)  # D415-like noise at 60 cm
        marks = project(LANDMARKS_HEAD @ pose[:3, :3].T + pose[:3, 3], camera)
        poses.append((depth.astype(np.float32), marks))
    registration = FaceSurfaceRegistration(
        camera, (168, 168), tuple(spotting["grid"]), icp, int(spotting["icp_step"])
    )
    reference = registration(poses[0][0], crop, poses[0][1]).blocks
    out = []
    start, start_cpu = time.perf_counter(), time.process_time()
    for i in range(n_frames):
        depth, marks = poses[1 + i % (n_poses - 1)]
        out.append(registration(depth, crop, marks))
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    stray = max(float(np.nanmax(np.abs(o.blocks - reference))) for o in out)
    return {
        "depth_icp_registration_frames_per_s": n_frames / elapsed,
        "depth_icp_registration_frames_per_cpu_s": n_frames / elapsed_cpu,
        "depth_icp_registered_share": float(np.mean([o.ok for o in out])),
        "depth_icp_max_block_stray_mm": stray,
    }


def main(out_dir: Path) -> dict:
    cv2.setNumThreads(1)
    numba.set_num_threads(1)
    frames = video()
    depth = 500.0 + frames.astype(np.float64) / 50.0
    lbp_block_histograms(frames[:5])  # compile
    results: dict = {"n_frames": N_FRAMES, "crop": [168, 168], "threads": 1}
    pairs = 100
    for preset in ("ultrafast", "fast", "medium"):
        results[f"flow_{preset}_pairs_per_s"] = _fps(
            lambda p=preset: [dense_flow(frames[i], frames[i + 1], p) for i in range(pairs)], pairs
        )
    results["flow_farneback_pairs_per_s"] = _fps(
        lambda: [
            cv2.calcOpticalFlowFarneback(frames[i], frames[i + 1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
            for i in range(30)
        ],
        30,
    )
    cpu: dict = {}
    for method in ("mdmd", "lbp", "depth", "lbp_depth"):
        params = method_params(CONFIG, method)
        results[f"{method}_frames_per_s"] = _fps(
            lambda p=params: spotting_features(p, FPS, gray=frames, depth=depth),
            N_FRAMES, cpu, f"{method}_frames_per_cpu_s",
        )  # fmt: skip
    results.update(cpu)
    results["lbp_histograms_frames_per_s"] = _fps(lambda: lbp_block_histograms(frames), N_FRAMES)
    results.update(registration_speed())
    (out_dir / "spotting.json").write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    return results


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
