"""The cloud3d stage's file format: `results/{dataset}/cloud3d/{sample}.npz` (numpy only).

The features stage reads the registered clouds through `load_cloud3d`; keeping the format here,
apart from the stage that computes it (`microexp.cloud3d.stage`: Open3D), lets it do so without
importing Open3D.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from microexp.stagefile import load_result, save_result


@dataclass
class Cloud3DResult:
    """One clip's registered face clouds and landmarks (all coordinates in mm, frame-0 camera).

    points (N, 3) float32 and colors (N, 3) uint8 (or None) are all frames' face points
    concatenated; frame t's are points[offsets[t]:offsets[t + 1]] (offsets (T + 1,) int64).
    landmarks3d (T, 68, 3) are registered (NaN where no depth was found);
    landmarks3d_camera are the same before registration. transforms (T, 4, 4) map frame-t
    points onto frame 0 (transforms[0] = identity); landmark_transforms are the coarse poses
    from the stable landmarks (NaN where there were too few). fitness / inlier_rmse per frame
    (frame 0: 1 and 0). The rest summarises the depth for QC: the share of holes in the box
    around the inner-face landmarks before and after filtering, the number of face points per
    frame (before `keep_points`), landmark_depth_count (T, 68) valid depths found per landmark
    (0 = none, its 3D landmark is NaN), and the raw and filtered depth (uint16, depth units)
    in frame `qc_frame` of the box around all 68 landmarks plus 20 px, whose image position
    is `qc_box` (row0, row1, col0, col1).
    """

    points: np.ndarray
    offsets: np.ndarray
    colors: np.ndarray | None
    landmarks3d: np.ndarray
    landmarks3d_camera: np.ndarray
    landmark_depth_count: np.ndarray
    transforms: np.ndarray
    landmark_transforms: np.ndarray
    fitness: np.ndarray
    inlier_rmse: np.ndarray
    face_hole_fraction_raw: np.ndarray
    face_hole_fraction_filtered: np.ndarray
    face_point_count: np.ndarray
    qc_frame: int
    qc_box: np.ndarray
    qc_depth_raw: np.ndarray
    qc_depth_filtered: np.ndarray
    depth_scale: float
    params_json: str = "{}"

    @property
    def n_frames(self) -> int:
        return len(self.offsets) - 1

    def frame_points(self, t: int) -> np.ndarray:
        return self.points[self.offsets[t] : self.offsets[t + 1]]

    def frame_colors(self, t: int) -> np.ndarray | None:
        return None if self.colors is None else self.colors[self.offsets[t] : self.offsets[t + 1]]


_ARRAYS = (
    "points",
    "offsets",
    "landmarks3d",
    "landmarks3d_camera",
    "landmark_depth_count",
    "transforms",
    "landmark_transforms",
    "fitness",
    "inlier_rmse",
    "face_hole_fraction_raw",
    "face_hole_fraction_filtered",
    "face_point_count",
    "qc_box",
    "qc_depth_raw",
    "qc_depth_filtered",
)


_SCALARS = {"qc_frame": int, "depth_scale": float, "params_json": str}
_OPTIONAL = ("colors",)


def save_cloud3d(path: str | os.PathLike[str], result: Cloud3DResult) -> None:
    """Write `results/{dataset}/cloud3d/{sample}.npz` (compressed; colors only when present)."""
    save_result(path, result, _ARRAYS, tuple(_SCALARS), _OPTIONAL)


def load_cloud3d(path: str | os.PathLike[str]) -> Cloud3DResult:
    """Read what `save_cloud3d` wrote."""
    return load_result(path, Cloud3DResult, _ARRAYS, _SCALARS, _OPTIONAL)
