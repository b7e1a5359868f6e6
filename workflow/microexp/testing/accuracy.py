"""How close each stage comes to the synthetic data set's ground truth.

For a finished run on the synthetic data set: 2D landmark error and detection (face2d),
alignment residual of the inner eye corners, the head motion ICP recovers against the truth
poses (rotation in degrees, translation at the nose tip in mm), and the 3D landmark error
(cloud3d). `benchmarks/bench_pipeline.py` writes these for the closing notes; the
integration tests assert bounds on the same quantities independently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from microexp.cloud3d.result import load_cloud3d
from microexp.face2d.result import load_face2d
from microexp.failures import upstream_failure
from microexp.io.clips import read_clip_index
from microexp.synthetic.motion import rotation_angle_deg

INNER_FACE = np.arange(17, 68)  # the jaw outline sits on the silhouette's depth cliff


@dataclass(frozen=True)
class SampleAccuracy:
    sample: str
    frames: int
    landmark_error_px: float
    landmark_error_p95_px: float
    landmark_error_iod: float
    redetections: int
    eye_corner_residual_px: float
    rotation_error_deg: float
    translation_error_mm: float
    true_rotation_deg: float
    landmark3d_error_mm: float


def _truth(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def sample_accuracy(results: Path, sample: str) -> SampleAccuracy | None:
    """Errors of one sample against its truth (None when a stage failed for it)."""
    paths = [results / stage / f"{sample}.npz" for stage in ("clips", "face2d", "cloud3d")]
    if upstream_failure(*paths):
        return None
    truth = _truth(results / "raw" / "truth" / f"{sample}.npz")
    clip = read_clip_index(paths[0])
    rows = np.searchsorted(truth["frame_numbers"], clip.frame_numbers)
    face2d = load_face2d(paths[1])
    cloud = load_cloud3d(paths[2])
    expected2d = truth["landmarks2d"][rows]
    error2d = np.linalg.norm(face2d.landmarks68 - expected2d, axis=2)
    iod = np.linalg.norm(expected2d[:, 39] - expected2d[:, 42], axis=1)
    # Eye corners of every frame through the first frame's similarity: how far they drift
    # from where frame 0's went (head motion + detection jitter).
    corners = face2d.landmarks68[:, [39, 42]]
    aligned = corners @ face2d.similarity[:, :2].T + face2d.similarity[:, 2]
    residual = np.linalg.norm(aligned - aligned[0], axis=2).max()
    poses = truth["head_pose"][rows]
    expected = np.einsum("ij,tjk->tik", np.linalg.inv(poses[0]), poses)
    nose = truth["landmarks3d"][rows[0], 30]
    rot, trans = [], []
    for found, true in zip(cloud.transforms, expected, strict=True):
        rot.append(rotation_angle_deg(np.linalg.inv(true) @ found))
        trans.append(np.linalg.norm((found - true)[:3, :3] @ nose + (found - true)[:3, 3]))
    error3d = np.linalg.norm(cloud.landmarks3d_camera - truth["landmarks3d"][rows], axis=2)
    return SampleAccuracy(
        sample=sample,
        frames=len(rows),
        landmark_error_px=float(error2d.mean()),
        landmark_error_p95_px=float(np.percentile(error2d, 95)),
        landmark_error_iod=float((error2d.mean(axis=1) / iod).mean()),
        redetections=len(face2d.redetected_frames),
        eye_corner_residual_px=float(residual),
        rotation_error_deg=float(max(rot)),
        translation_error_mm=float(max(trans)),
        true_rotation_deg=float(max(rotation_angle_deg(t) for t in expected)),
        landmark3d_error_mm=float(np.nanmedian(error3d[:, INNER_FACE])),
    )


def run_accuracy(results: Path) -> tuple[pd.DataFrame, list[str]]:
    """Per-sample accuracy of a run's synthetic results folder, and the failed samples."""
    rows, failed = [], []
    for truth in sorted((results / "raw" / "truth").glob("*.npz")):
        accuracy = sample_accuracy(results, truth.stem)
        if accuracy is None:
            failed.append(truth.stem)
        else:
            rows.append(asdict(accuracy))
    return pd.DataFrame(rows), failed
