"""Depth pixels to camera-space points in millimetres (docs/methods.md#3d-face; DSME-3D 4.1.2).

Depth is registered to the color image, so the color intrinsics describe its pixel grid. The
maths is librealsense's `rs2_deproject_pixel_to_point` (pixel centres at integer coordinates,
x right, y down, z forward), vectorised: a point is depth * ray, where the ray of a pixel does
not depend on depth. So a clip computes the rays of its pixel grid once (`pixel_rays`) and
every frame is one multiplication.

Distortion follows the SDK: `none`, and `brown_conrady` / `inverse_brown_conrady` undone with
the SDK's fixed 10-iteration scheme, so that points equal the SDK's for every model it can
deproject. `modified_brown_conrady`, `ftheta` and `kannala_brandt4` with non-zero coefficients
are refused (the SDK cannot deproject the first; the others are fisheye models no RGB-D face
data set uses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from microexp.camera import Intrinsics

__all__ = [
    "Intrinsics",
    "as_intrinsics",
    "deproject_depth",
    "deproject_pixels",
    "depth_to_mm",
    "pixel_rays",
    "project_points",
]

# The SDK iterates its undistortion a fixed number of times ("determined empirically").
_UNDISTORT_ITERATIONS = 10


def as_intrinsics(value: Intrinsics | Mapping[str, Any]) -> Intrinsics:
    """The project's `Intrinsics` from itself or from a mapping (clip `.npz` / config form)."""
    return Intrinsics.from_any(value)


def _distortion(intr: Intrinsics) -> str:
    """The distortion model that actually acts: zero coefficients mean none."""
    if not any(intr.coeffs) or intr.model == "none":
        return "none"
    if intr.model in ("brown_conrady", "inverse_brown_conrady"):
        return intr.model
    raise ValueError(
        f"cannot deproject through {intr.model} distortion with coefficients {intr.coeffs}"
    )


def _undistort(x: np.ndarray, y: np.ndarray, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Normalised image coordinates to ray slopes, as `rs2_deproject_pixel_to_point` does."""
    model = _distortion(intr)
    if model == "none":
        return x, y
    k1, k2, p1, p2, k3 = intr.coeffs
    xo, yo = x, y
    for _ in range(_UNDISTORT_ITERATIONS):
        r2 = x * x + y * y
        icdist = 1.0 / (1.0 + ((k3 * r2 + k2) * r2 + k1) * r2)
        # The inverse model evaluates its tangential terms at the radially corrected point.
        xq, yq = (x / icdist, y / icdist) if model == "inverse_brown_conrady" else (x, y)
        dx = 2 * p1 * xq * yq + p2 * (r2 + 2 * xq * xq)
        dy = 2 * p2 * xq * yq + p1 * (r2 + 2 * yq * yq)
        x = (xo - dx) * icdist
        y = (yo - dy) * icdist
    return x, y


def deproject_pixels(
    pixels: np.ndarray, depth_mm: np.ndarray, intrinsics: Intrinsics | Mapping[str, Any]
) -> np.ndarray:
    """Points (N, 3) float64 in mm for sub-pixel positions (N, 2) as (column, row) and depths (N,).

    Equal to `rs.rs2_deproject_pixel_to_point` per pixel (docs/methods.md#3d-face). A depth of 0 or
    NaN gives NaN: a hole has no surface point.
    """
    intr = as_intrinsics(intrinsics)
    pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    z = np.asarray(depth_mm, dtype=np.float64).reshape(-1)
    if len(z) != len(pixels):
        raise ValueError(f"{len(pixels)} pixels but {len(z)} depths")
    x, y = _undistort((pixels[:, 0] - intr.cx) / intr.fx, (pixels[:, 1] - intr.cy) / intr.fy, intr)
    z = np.where(z > 0, z, np.nan)
    return np.stack([x * z, y * z, z], axis=1)


def pixel_rays(intrinsics: Intrinsics | Mapping[str, Any]) -> np.ndarray:
    """(H, W, 2) float32 ray slopes (x/z, y/z) of every pixel centre; compute once per clip."""
    intr = as_intrinsics(intrinsics)
    cols, rows = np.meshgrid(
        np.arange(intr.width, dtype=np.float64), np.arange(intr.height, dtype=np.float64)
    )
    x, y = _undistort((cols - intr.cx) / intr.fx, (rows - intr.cy) / intr.fy, intr)
    return np.stack([x, y], axis=-1).astype(np.float32)


def depth_to_mm(depth: np.ndarray, depth_scale: float) -> np.ndarray:
    """uint16 depth units to float32 millimetres (depth_scale is metres per unit); 0 stays 0."""
    return np.asarray(depth, dtype=np.float32) * np.float32(depth_scale * 1000.0)


def deproject_depth(
    depth: np.ndarray,
    rays: np.ndarray,
    box: tuple[int, int, int, int] | None = None,
    mm_per_unit: float = 1.0,
    band: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 3) float32 mm of the non-zero pixels of a depth map, and their flat indices.

    `depth` in mm, or in depth units with `mm_per_unit` (depth_scale * 1000), which saves
    converting whole frames when only a window is used. `box` = (row0, row1, col0, col1),
    half-open, restricts the work to a window (the face); the returned indices are still into
    the full (H, W) image, so colors can be looked up. Holes (depth 0) are left out, never
    turned into points at the camera centre. `band` = (near, far), in `depth`'s own units,
    keeps only pixels with near <= depth <= far (the crop's sphere cannot reach the others).
    """
    h, w = depth.shape
    r0, r1, c0, c1 = (0, h, 0, w) if box is None else box
    window = depth[r0:r1, c0:c1]
    valid = window > 0
    if band is not None:
        valid &= (window >= band[0]) & (window <= band[1])
    flat = np.flatnonzero(valid)
    rr, cc = np.divmod(flat, c1 - c0)
    rr += r0
    cc += c0
    z = depth[rr, cc].astype(np.float32)
    if mm_per_unit != 1.0:
        z *= np.float32(mm_per_unit)
    ray = rays[rr, cc]
    points = np.empty((len(z), 3), dtype=np.float32)
    np.multiply(ray, z[:, None], out=points[:, :2])
    points[:, 2] = z
    return points, rr * w + cc


def project_points(points: np.ndarray, intrinsics: Intrinsics | Mapping[str, Any]) -> np.ndarray:
    """(N, 2) pixel positions (column, row) of camera-space points, pinhole (no distortion).

    Used for sphere bounding boxes and test phantoms, where distortion is zero.
    """
    intr = as_intrinsics(intrinsics)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return np.stack(
        [intr.fx * p[:, 0] / p[:, 2] + intr.cx, intr.fy * p[:, 1] / p[:, 2] + intr.cy], axis=1
    )
