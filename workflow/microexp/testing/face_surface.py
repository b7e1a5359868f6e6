"""A face-like depth surface with known pose, for the 3D registration tests and benchmark.

A height field in millimetres (rounded, with a nose and brows, optionally a local bump standing
for an expression), turned rigidly about a pivot behind it (the neck) and seen by a pinhole
camera through a z-buffer: depth images whose head motion and surface change are known exactly.
"""

from __future__ import annotations

import numpy as np

from microexp.camera import Intrinsics

__all__ = ["LANDMARKS_HEAD", "PIVOT", "face_points", "head_pose", "project", "render_depth"]

PIVOT = np.array([0.0, 0.0, 700.0])  # the neck, 100 mm behind the face
# points on the surface standing for stable landmarks (nose tip, brows, cheeks), mm at rest
LANDMARKS_HEAD = np.array(
    [[0, 5, 578.0], [-32, -20, 600], [32, -20, 600], [-15, -22, 602], [15, -22, 602],
     [0, 30, 606], [-25, 40, 612], [25, 40, 612]]
)  # fmt: skip


def face_points(
    bump_mm: float = 0.0,
    bump_at: tuple[float, float] = (25.0, 25.0),
    spacing: float = 0.5,
    half_size: float = 120.0,
) -> np.ndarray:
    """(N, 3) points of the surface at rest (camera frame, mm), `bump_mm` towards the camera
    at `bump_at` (Gaussian, sigma 8 mm)."""
    x, y = np.meshgrid(
        np.arange(-half_size, half_size, spacing), np.arange(-half_size, half_size, spacing)
    )
    z = 600.0 + (x**2 + y**2) / 500.0 - 22.0 * np.exp(-(x**2 + (y - 5) ** 2) / (2 * 9.0**2))
    z -= 8.0 * np.exp(-((np.abs(x) - 32) ** 2 + (y + 20) ** 2) / (2 * 10.0**2))  # brows
    z -= bump_mm * np.exp(-((x - bump_at[0]) ** 2 + (y - bump_at[1]) ** 2) / (2 * 8.0**2))
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)


def head_pose(yaw_deg: float, pitch_deg: float = 0.0) -> np.ndarray:
    """4 x 4 rigid motion: yaw (about y) after pitch (about x), both about `PIVOT`."""
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    m = np.eye(4)
    m[:3, :3] = ry @ rx
    m[:3, 3] = PIVOT - m[:3, :3] @ PIVOT
    return m


def project(points: np.ndarray, camera: Intrinsics) -> np.ndarray:
    """(N, 2) pixel positions (column, row) of camera-frame points (pinhole)."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack(
        [camera.fx * p[:, 0] / p[:, 2] + camera.cx, camera.fy * p[:, 1] / p[:, 2] + camera.cy],
        axis=1,
    )


def render_depth(points: np.ndarray, camera: Intrinsics) -> np.ndarray:
    """(H, W) depth in mm (NaN = no surface) of a dense point set: the nearest point per pixel."""
    uv = np.floor(project(points, camera) + 0.5).astype(np.intp)
    u, v = uv[:, 0], uv[:, 1]
    ok = (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    depth = np.full(camera.height * camera.width, np.inf)
    np.minimum.at(depth, v[ok] * camera.width + u[ok], points[ok, 2])
    depth[~np.isfinite(depth)] = np.nan
    return depth.reshape(camera.height, camera.width)
