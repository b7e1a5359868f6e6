"""Synthetic data set quality: does a real detector find the faces, and how close are its
landmarks to the truth? Runs dlib (HOG + 68-point predictor) on the written frames of a
generated data set (default `results/synthetic/raw`, from `make run`) and writes detection
rate, landmark error (mean, p95, max; px and fraction of the inter-ocular distance) and the
data set's size on disk to `<out>/synthetic.json`.

    python -m benchmarks bench_synthetic            # after `make run`
    MICROEXP_SYNTHETIC_RAW=/path/to/raw python -m benchmarks bench_synthetic
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from microexp.face2d.detector import LandmarkDetector
from microexp.io.frames import index_frame_folder, read_frames
from microexp.io.realsense import read_recording

STRIDE = int(os.environ.get("MICROEXP_SYNTHETIC_STRIDE", "3"))


def _frames(raw: Path, truth: dict) -> tuple[np.ndarray, np.ndarray]:
    """(every STRIDE-th) color frames of a sample and the matching truth indices."""
    source = raw / str(truth["source"])
    picks = np.arange(0, len(truth["frame_numbers"]), STRIDE)
    numbers = truth["frame_numbers"][picks]
    if source.suffix == ".db3":
        recording = read_recording(source, frames=numbers.tolist())
        return recording.color, picks
    color, _ = read_frames(index_frame_folder(source), numbers.tolist())
    return color, picks


def disk_usage(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(out_dir: Path) -> dict:
    raw = Path(os.environ.get("MICROEXP_SYNTHETIC_RAW", "results/synthetic/raw"))
    truth_files = sorted((raw / "truth").glob("*.npz"))
    if not truth_files:
        print(f"bench_synthetic: no data set under {raw}; run `make run` first")
        return {}
    detector = LandmarkDetector()
    errors, iods, found, total = [], [], 0, 0
    started = time.perf_counter()
    for path in truth_files:
        with np.load(path) as npz:
            truth = {k: npz[k] for k in npz.files}
        color, picks = _frames(raw, truth)
        for image, index in zip(color, picks, strict=True):
            total += 1
            landmarks = detector(image)
            if landmarks is None:
                continue
            found += 1
            expected = truth["landmarks2d"][index]
            errors.append(np.linalg.norm(landmarks - expected, axis=1).mean())
            iods.append(np.linalg.norm(expected[39] - expected[42]))
    errors_px = np.array(errors)
    relative = errors_px / np.array(iods)
    result = {
        "raw": str(raw),
        "samples": len(truth_files),
        "frames_checked": total,
        "stride": STRIDE,
        "detection_rate": found / total,
        "landmark_error_px": {
            "mean": float(errors_px.mean()),
            "p95": float(np.percentile(errors_px, 95)),
            "max": float(errors_px.max()),
        },
        "landmark_error_over_inner_eye_corner_distance": {
            "mean": float(relative.mean()),
            "p95": float(np.percentile(relative, 95)),
        },
        "disk_bytes": disk_usage(raw),
        "seconds": time.perf_counter() - started,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "synthetic.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result
