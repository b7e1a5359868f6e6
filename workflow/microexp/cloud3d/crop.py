"""Face crop: a sphere around the nose tip (docs/methods.md#3d-face; DSME-3D 4.1.2).

DSME-3D cuts the face out of each frame's cloud as the points within 100 mm of the nose-tip
landmark. Deprojecting a whole 848 x 480 frame to keep a tenth of it is wasteful, so the pixel
window that can contain the sphere is found first (`sphere_pixel_box`) and only it is
deprojected; the sphere test itself is exact, so the result equals cropping the full cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from microexp.cloud3d.deproject import Intrinsics, as_intrinsics, deproject_depth

__all__ = ["crop_face", "in_sphere", "sphere_pixel_box"]


def in_sphere(points: np.ndarray, centre: np.ndarray, radius_mm: float) -> np.ndarray:
    """(N,) bool: points within `radius_mm` of `centre` (boundary included)."""
    d = np.asarray(points, dtype=np.float64) - np.asarray(centre, dtype=np.float64)
    return np.einsum("ij,ij->i", d, d) <= float(radius_mm) ** 2


def sphere_pixel_box(
    centre: np.ndarray,
    radius_mm: float,
    intrinsics: Intrinsics | Mapping[str, Any],
    margin_px: int = 2,
) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1), half-open, of the pixels whose rays can meet the sphere.

    The sphere lies in the box [x +- r] x [y +- r] x [z +- r]; its rays' slopes x/z and y/z are
    bounded by the box corners' extreme slopes. Exact for a pinhole camera; with lens distortion
    (rays bent by up to a few pixels) the whole image is returned rather than risk a cut face.
    """
    intr = as_intrinsics(intrinsics)
    if any(intr.coeffs) and intr.model != "none":
        return 0, intr.height, 0, intr.width
    x, y, z = (float(v) for v in centre)
    r = float(radius_mm)
    near = z - r
    if not near > 0:  # the sphere reaches the camera: every pixel may see it
        return 0, intr.height, 0, intr.width
    far = z + r
    slopes_x = [(x - r) / near, (x - r) / far, (x + r) / near, (x + r) / far]
    slopes_y = [(y - r) / near, (y - r) / far, (y + r) / near, (y + r) / far]
    c0 = int(np.floor(intr.cx + intr.fx * min(slopes_x))) - margin_px
    c1 = int(np.ceil(intr.cx + intr.fx * max(slopes_x))) + margin_px + 1
    r0 = int(np.floor(intr.cy + intr.fy * min(slopes_y))) - margin_px
    r1 = int(np.ceil(intr.cy + intr.fy * max(slopes_y))) + margin_px + 1
    return (
        min(max(r0, 0), intr.height),
        min(max(r1, 0), intr.height),
        min(max(c0, 0), intr.width),
        min(max(c1, 0), intr.width),
    )


def crop_face(
    depth: np.ndarray,
    rays: np.ndarray,
    nose_tip: np.ndarray,
    radius_mm: float,
    intrinsics: Intrinsics | Mapping[str, Any],
    mm_per_unit: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 3) float32 mm within `radius_mm` of the nose tip, and their flat pixel indices.

    `depth` in mm, or in depth units with `mm_per_unit`; `rays` are `pixel_rays(intrinsics)`
    (computed once per clip); holes give no points.
    """
    box = sphere_pixel_box(nose_tip, radius_mm, intrinsics)
    # Only pixels whose depth lies in the sphere's depth band can be inside it: most of the
    # window (background, hair) is not deprojected at all. The band is widened by one depth
    # unit, so float rounding cannot drop a point; the exact sphere test below decides, on
    # points computed exactly as `deproject_depth` computes them (same order, same values).
    z_mm = float(np.asarray(nose_tip, dtype=np.float64)[2])
    near_units = max(int(np.floor((z_mm - radius_mm) / mm_per_unit)) - 1, 0)
    far_units = int(np.ceil((z_mm + radius_mm) / mm_per_unit)) + 1
    points, index = deproject_depth(depth, rays, box, mm_per_unit, (near_units, far_units))
    keep = in_sphere(points, nose_tip, radius_mm)
    return points[keep], index[keep]
