"""The face2d stage's file format: `results/{dataset}/face2d/{sample}.npz` (numpy only).

Later stages (cloud3d, features, learn) read the 2D face data through `load_face2d`; keeping the
format here, apart from the stage that computes it (`microexp.face2d.stage`: dlib, OpenCV), lets
them do so without importing the detector.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from microexp.stagefile import load_result, save_result


@dataclass
class Face2DResult:
    """One clip's 2D face data (T frames; coordinates x = column, y = row).

    landmarks68 (T, 68, 2): raw landmarks on the unaligned image (what the 3D stage needs).
    landmarks49_index (49,): the 68-point indices of the 49-point set (docs/methods.md#2d-face).
    detected (T,) bool: frames where the HOG detector placed the box (0 and re-detections);
    detection_score (T,): its score there, NaN on tracked frames; landmark_jump (T,) (in
    first-frame inner-eye-corner distances) and appearance_ncc (T,): per-frame fit quality.
    similarity (2, 3): image -> aligned frame (non-reflective; from the first frame's 39, 42).
    crop_box (4,): x0, y0, x1, y1 of the face box in the aligned frame; crop_units (2,): its
    u_x, u_y. crop_transform (2, 3): image -> output crop (similarity, then box -> output).
    aligned_gray (T, h, w) uint8: the cropped gray volume; aligned_landmarks (T, 68, 2): the
    landmarks in its pixel coordinates. onset, apex: clip indices; params_json: the parameters.
    """

    landmarks68: np.ndarray
    landmarks49_index: np.ndarray
    detected: np.ndarray
    detection_score: np.ndarray
    landmark_jump: np.ndarray
    appearance_ncc: np.ndarray
    similarity: np.ndarray
    crop_box: np.ndarray
    crop_units: np.ndarray
    crop_transform: np.ndarray
    aligned_gray: np.ndarray
    aligned_landmarks: np.ndarray
    onset: int
    apex: int
    params_json: str = "{}"

    @property
    def n_frames(self) -> int:
        return len(self.landmarks68)

    @property
    def redetected_frames(self) -> np.ndarray:
        """Frames after the first where the face had to be detected again."""
        return np.flatnonzero(self.detected[1:]) + 1

    @property
    def crop_size(self) -> tuple[int, int]:
        return tuple(self.aligned_gray.shape[1:])


_ARRAYS = (
    "landmarks68",
    "landmarks49_index",
    "detected",
    "detection_score",
    "landmark_jump",
    "appearance_ncc",
    "similarity",
    "crop_box",
    "crop_units",
    "crop_transform",
    "aligned_gray",
    "aligned_landmarks",
)


_SCALARS = {"onset": int, "apex": int, "params_json": str}


def save_face2d(path: str | os.PathLike[str], result: Face2DResult) -> None:
    """Write ``results/{dataset}/face2d/{sample}.npz`` (compressed)."""
    save_result(path, result, _ARRAYS, tuple(_SCALARS))


def load_face2d(path: str | os.PathLike[str]) -> Face2DResult:
    """Read what ``save_face2d`` wrote."""
    return load_result(path, Face2DResult, _ARRAYS, _SCALARS)
