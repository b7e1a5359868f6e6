"""2D landmarks to 3D landmarks by a robust depth look-up (docs/methods.md#3d-face; DSME-3D 4.1.2).

DSME-3D finds its 3D landmarks by carrying the 2D ones (found on the unaligned color frame,
to which depth is registered) onto the point cloud. A single depth pixel under a landmark is
fragile: holes, flying pixels at the nose's silhouette and noise. So the depth of a landmark is
the median of the valid (non-zero) depths in a small window around it; holes are ignored, and a
landmark with no valid depth in its window is NaN (and counted), never guessed. The point is
then deprojected at the landmark's own sub-pixel position with that depth.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from microexp.cloud3d.deproject import Intrinsics, deproject_pixels

__all__ = ["NOSE_TIP", "STABLE_LANDMARKS", "landmark_depths", "landmarks_to_3d"]

#: 68-point index of the nose tip (the crop centre, docs/methods.md#3d-face).
NOSE_TIP = 30
#: Landmarks that expressions hardly move (nose bridge and tip, eye corners): the rigid head
#: pose is estimated from these; brows and mouth are left out because they carry the expression.
STABLE_LANDMARKS = (27, 28, 29, 30, 36, 39, 42, 45)


def landmark_depths(
    depth: np.ndarray, landmarks: np.ndarray, window: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Median valid depth in a `window` x `window` box around each landmark of one frame.

    depth: (H, W) in any unit (0 = hole); the result is in the same unit. landmarks: (L, 2)
    as (column, row), pixel centres at integer coordinates. Returns depth (L,) float64, NaN
    where the window holds no valid depth (or the landmark is NaN or off the image), and the
    number of valid depths used (L,) int.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"landmark depth window must be odd and >= 1, got {window}")
    h, w = depth.shape
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    known = np.all(np.isfinite(pts), axis=1)
    centre = np.zeros((len(pts), 2), dtype=np.int64)
    centre[known] = np.floor(pts[known] + 0.5).astype(np.int64)
    half = window // 2
    offsets = np.arange(-half, half + 1)
    cols = centre[:, 0, None, None] + offsets[None, None, :]  # (L, 1, k)
    rows = centre[:, 1, None, None] + offsets[None, :, None]  # (L, k, 1)
    inside = (cols >= 0) & (cols < w) & (rows >= 0) & (rows < h) & known[:, None, None]
    values = depth[np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)].astype(np.float64)
    values = np.where(inside & (values > 0), values, np.nan).reshape(len(pts), -1)
    count = np.sum(np.isfinite(values), axis=1)
    depth = np.full(len(pts), np.nan)
    found = count > 0
    depth[found] = np.nanmedian(values[found], axis=1)
    return depth, count


def landmarks_to_3d(
    landmarks: np.ndarray,
    depth: np.ndarray,
    intrinsics: Intrinsics | Mapping[str, Any],
    window: int = 5,
    mm_per_unit: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """3D landmarks (L, 3) mm of one frame and the valid-depth counts (L,) (0 = not found).

    `depth` in mm, or in depth units with `mm_per_unit`. The landmark is deprojected at its
    sub-pixel position with its window's median depth, so the 3D point keeps the 2D
    landmark's precision and only the depth is robustified.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    z, count = landmark_depths(depth, pts, window)
    points = deproject_pixels(np.nan_to_num(pts), z * mm_per_unit, intrinsics)
    points[~np.all(np.isfinite(pts), axis=1)] = np.nan
    return points, count
