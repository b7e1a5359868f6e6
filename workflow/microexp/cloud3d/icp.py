"""Rigid registration of each frame's face cloud to the first frame's (DSME-3D 4.1.2).

DSME-3D aligns every frame's face point cloud to the first frame's with ICP and moves the 3D
landmarks with the same transform, so that what is left between frames is facial deformation,
not head motion. Here: open3d point-to-plane ICP with the reference (frame 0) normals estimated
once and oriented toward the camera; both clouds are voxel-downsampled for speed, the reference
more finely, so the planes it offers stay accurate.

ICP only finds the nearest local minimum, so it starts from a coarse pose computed from the 3D
landmarks that expressions hardly move (Kabsch on eye corners, nose bridge and tip). The same
landmark pose is the sanity check afterwards: an ICP result far from it, or one that matched
too few points, is a failed registration, not a result (docs/methods.md#3d-face,
docs/layout.md#failures).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import open3d as o3d

from microexp.cloud3d.landmarks3d import STABLE_LANDMARKS

__all__ = [
    "IcpParams",
    "IcpResult",
    "apply_transform",
    "icp_disagreement",
    "kabsch_transform",
    "landmark_pose",
    "open3d_threads",
    "reference_cloud",
    "register_icp",
    "rotation_angle_deg",
    "source_cloud",
]

_reg = o3d.pipelines.registration


@dataclass(frozen=True)
class IcpParams:
    """ICP and its sanity thresholds (config `cloud3d.icp`).

    Distances in mm. `voxel_mm` downsamples the moving (source) cloud and
    `reference_voxel_mm` the reference before its normals are estimated (0 = off; finer than
    the source so the source points find planes, not scattered samples);
    `normal_radius_mm` / `normal_max_nn` set the reference normals' neighbourhood (hybrid
    search); `robust_kernel` (none, tukey, huber) with scale `robust_k_mm` down-weights points
    that moved by expression rather than by the head. A frame fails when its fitness (share
    of source points matched) is below `min_fitness`, its inlier RMSE above
    `max_inlier_rmse_mm`, or the ICP pose differs from the landmark pose by more than
    `max_rotation_disagreement_deg` or moves the stable landmarks more than
    `max_landmark_disagreement_mm` (RMS) away from where the landmark pose puts them.
    """

    max_correspondence_mm: float = 5.0
    max_iterations: int = 30
    relative_fitness: float = 1e-5
    relative_rmse: float = 1e-5
    voxel_mm: float = 2.5
    reference_voxel_mm: float = 1.5
    normal_radius_mm: float = 5.0
    normal_max_nn: int = 30
    robust_kernel: Literal["none", "tukey", "huber"] = "tukey"
    robust_k_mm: float = 2.0
    landmark_init: bool = True
    stable_landmarks: tuple[int, ...] = STABLE_LANDMARKS
    min_fitness: float = 0.6
    max_inlier_rmse_mm: float = 2.0
    max_rotation_disagreement_deg: float = 5.0
    max_landmark_disagreement_mm: float = 6.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> IcpParams:
        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown ICP option(s) {sorted(unknown)}; {sorted(known)}")
        if "stable_landmarks" in config:
            config["stable_landmarks"] = tuple(int(i) for i in config["stable_landmarks"])
        return cls(**config)

    def __post_init__(self) -> None:
        if self.robust_kernel not in ("none", "tukey", "huber"):
            raise ValueError(f"robust_kernel must be none, tukey or huber: {self.robust_kernel!r}")
        if not self.max_correspondence_mm > 0 or self.max_iterations < 1:
            raise ValueError("ICP needs max_correspondence_mm > 0 and max_iterations >= 1")


@dataclass(frozen=True)
class IcpResult:
    """transform (4, 4) maps source (frame t) points onto the reference (frame 0)."""

    transform: np.ndarray
    fitness: float
    inlier_rmse: float
    source_points: int


@contextmanager
def open3d_threads(n: int) -> Iterator[None]:
    """Run open3d with `n` threads inside the block, then restore the previous setting.

    open3d sums ICP's normal equations over threads in whatever order they finish, so with
    more than one thread the transforms differ between runs in the last bits; one thread makes
    the stage bit-reproducible (docs/layout.md#determinism-and-versions). Snakemake parallelises
    over samples instead."""
    previous = o3d.utility.get_max_threads()
    o3d.utility.set_max_threads(int(n))
    try:
        yield
    finally:
        o3d.utility.set_max_threads(previous)


def apply_transform(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 3) moved by a 4 x 4 rigid transform; NaN rows stay NaN."""
    p = np.asarray(points, dtype=np.float64)
    return p @ transform[:3, :3].T + transform[:3, 3]


def rotation_angle_deg(transform: np.ndarray) -> float:
    """Angle of the rotation part, in degrees (0 for the identity)."""
    cos = (np.trace(transform[:3, :3]) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def kabsch_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares rigid transform (rotation + translation, no scale) taking source to target.

    Kabsch/Umeyama without scale: the face does not change size between frames, and letting
    the scale float would absorb depth errors of the landmarks.
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    cov = (dst - mu_d).T @ (src - mu_s)
    u, _, vt = np.linalg.svd(cov)
    # Flip the last axis if needed so the result is a rotation, never a reflection.
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag([1.0, 1.0, d]) @ vt
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = mu_d - rot @ mu_s
    return out


def landmark_pose(
    landmarks: np.ndarray, reference_landmarks: np.ndarray, stable: Sequence[int] = STABLE_LANDMARKS
) -> np.ndarray | None:
    """Rigid transform from a frame's stable 3D landmarks onto the reference frame's.

    Uses the stable landmarks present (finite) in both frames; None when fewer than 3 remain
    (no pose can be determined).
    """
    idx = np.asarray(stable, dtype=np.int64)
    src, dst = np.asarray(landmarks)[idx], np.asarray(reference_landmarks)[idx]
    ok = np.all(np.isfinite(src), axis=1) & np.all(np.isfinite(dst), axis=1)
    if ok.sum() < 3:
        return None
    return kabsch_transform(src[ok], dst[ok])


def reference_cloud(points: np.ndarray, params: IcpParams) -> o3d.geometry.PointCloud:
    """The reference (frame 0) cloud, voxel-averaged, normals estimated once, toward the camera."""
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    if params.reference_voxel_mm > 0:
        # Voxel averaging also averages the depth noise the planes are fitted to.
        cloud = cloud.voxel_down_sample(params.reference_voxel_mm)
    cloud.estimate_normals(
        o3d.geometry.KDTreeSearchParamHybrid(
            radius=params.normal_radius_mm, max_nn=params.normal_max_nn
        )
    )
    # Point-to-plane only needs a consistent plane per point; toward the camera (the origin)
    # is the convention the curvature stage uses too (docs/methods.md#curvature).
    cloud.orient_normals_towards_camera_location(np.zeros(3))
    return cloud


def source_cloud(points: np.ndarray, params: IcpParams) -> o3d.geometry.PointCloud:
    """The moving cloud, voxel-downsampled (point-to-plane ICP needs no source normals)."""
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    if params.voxel_mm > 0:
        cloud = cloud.voxel_down_sample(params.voxel_mm)
    return cloud


def _estimation(params: IcpParams) -> Any:
    if params.robust_kernel == "tukey":
        return _reg.TransformationEstimationPointToPlane(_reg.TukeyLoss(k=params.robust_k_mm))
    if params.robust_kernel == "huber":
        return _reg.TransformationEstimationPointToPlane(_reg.HuberLoss(k=params.robust_k_mm))
    return _reg.TransformationEstimationPointToPlane()


def register_icp(
    source: o3d.geometry.PointCloud,
    reference: o3d.geometry.PointCloud,
    init: np.ndarray,
    params: IcpParams,
) -> IcpResult:
    """Point-to-plane ICP of `source` onto `reference` from `init` (4 x 4)."""
    result = _reg.registration_icp(
        source,
        reference,
        params.max_correspondence_mm,
        np.asarray(init, dtype=np.float64),
        _estimation(params),
        _reg.ICPConvergenceCriteria(
            relative_fitness=params.relative_fitness,
            relative_rmse=params.relative_rmse,
            max_iteration=params.max_iterations,
        ),
    )
    return IcpResult(
        np.array(result.transformation, dtype=np.float64),
        float(result.fitness),
        float(result.inlier_rmse),
        len(source.points),
    )


def icp_disagreement(
    icp_transform: np.ndarray, landmark_transform: np.ndarray, landmarks: np.ndarray
) -> tuple[float, float]:
    """(rotation difference in degrees, RMS distance in mm) between two poses of one frame.

    The distance is measured where it matters, at the frame's own stable landmarks: comparing
    translation vectors would mix in rotation about the camera origin, ~0.5 m away.
    """
    relative = icp_transform @ np.linalg.inv(landmark_transform)
    pts = np.asarray(landmarks, dtype=np.float64)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    gap = apply_transform(icp_transform, pts) - apply_transform(landmark_transform, pts)
    rms = float(np.sqrt(np.mean(np.sum(gap**2, axis=1)))) if len(pts) else 0.0
    return rotation_angle_deg(relative), rms
