"""Deprojection to millimetre points and the robust 3D landmark look-up
(docs/methods.md#3d-face)."""

from __future__ import annotations

import numpy as np
import pyrealsense2 as rs
import pytest

from microexp.cloud3d.deproject import (
    Intrinsics,
    deproject_depth,
    deproject_pixels,
    depth_to_mm,
    pixel_rays,
    project_points,
)
from microexp.cloud3d.landmarks3d import landmark_depths, landmarks_to_3d

PINHOLE = Intrinsics(848, 480, 600.0, 600.0, 423.5, 239.5)


def rs_intrinsics(intr: Intrinsics):
    out = rs.intrinsics()
    out.width, out.height = intr.width, intr.height
    out.fx, out.fy, out.ppx, out.ppy = intr.fx, intr.fy, intr.cx, intr.cy
    out.model = getattr(rs.distortion, intr.model)
    out.coeffs = list(intr.coeffs)
    return out


def test_hand_computed_points():
    pixels = np.array([[423.5, 239.5], [483.5, 179.5], [0.0, 0.0], [847.0, 479.0]])
    depth = np.array([550.0, 600.0, 1000.0, 300.0])
    expected = np.array(
        [
            [0.0, 0.0, 550.0],
            [60.0, -60.0, 600.0],  # 60 px right, 60 px up at fx = fy = 600 and 600 mm
            [-423.5 / 600 * 1000, -239.5 / 600 * 1000, 1000.0],
            [423.5 / 600 * 300, 239.5 / 600 * 300, 300.0],
        ]
    )
    np.testing.assert_allclose(deproject_pixels(pixels, depth, PINHOLE), expected, atol=1e-9)


@pytest.mark.parametrize(
    ("model", "coeffs"),
    [
        ("none", (0.0, 0.0, 0.0, 0.0, 0.0)),
        ("brown_conrady", (0.0, 0.0, 0.0, 0.0, 0.0)),
        ("inverse_brown_conrady", (0.12, -0.25, 0.002, -0.001, 0.08)),
        ("brown_conrady", (0.12, -0.25, 0.002, -0.001, 0.08)),
    ],
)
def test_equals_the_sdk(model, coeffs):
    intr = Intrinsics(848, 480, 612.3, 611.1, 421.7, 241.2, model, coeffs)
    pixels = np.array([[0, 0], [847, 479], [423.3, 240.7], [100.25, 400.5], [700, 30]])
    depth = np.array([550.0, 1000.0, 333.3, 700.0, 420.0])
    ours = deproject_pixels(pixels, depth, intr)
    sdk = np.array(
        [
            rs.rs2_deproject_pixel_to_point(rs_intrinsics(intr), list(p), float(z))
            for p, z in zip(pixels, depth, strict=True)
        ]
    )
    # the SDK computes in float32
    np.testing.assert_allclose(ours, sdk, atol=2e-4 * depth.max() / 1000 + 1e-4)


def test_forward_distortion_refused():
    intr = Intrinsics(64, 48, 50, 50, 32, 24, "modified_brown_conrady", (0.1, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="modified_brown_conrady"):
        deproject_pixels(np.zeros((1, 2)), np.ones(1), intr)


def test_depth_map_deprojection_skips_holes_and_matches_pixels():
    rng = np.random.default_rng(0)
    depth = rng.integers(400, 900, (PINHOLE.height, PINHOLE.width)).astype(np.uint16)
    depth[rng.random(depth.shape) < 0.1] = 0
    mm = depth_to_mm(depth, 0.001)
    points, index = deproject_depth(mm, pixel_rays(PINHOLE))
    assert len(points) == np.count_nonzero(depth)
    rows, cols = np.divmod(index, PINHOLE.width)
    direct = deproject_pixels(np.stack([cols, rows], 1), mm[rows, cols], PINHOLE)
    np.testing.assert_allclose(points, direct, rtol=1e-6, atol=1e-4)
    assert points.dtype == np.float32 and np.all(points[:, 2] > 0)
    # a window gives the same points as the full frame restricted to it
    box = (100, 200, 300, 500)
    sub, sub_index = deproject_depth(mm, pixel_rays(PINHOLE), box)
    inside = (rows >= 100) & (rows < 200) & (cols >= 300) & (cols < 500)
    np.testing.assert_array_equal(sub_index, index[inside])
    np.testing.assert_array_equal(sub, points[inside])
    # a depth band (depth units here, with mm_per_unit) keeps exactly the pixels in it, with
    # the same points
    banded, band_index = deproject_depth(depth, pixel_rays(PINHOLE), box, 1.0, (500, 700))
    in_band = inside & (depth[rows, cols] >= 500) & (depth[rows, cols] <= 700)
    np.testing.assert_array_equal(band_index, index[in_band])
    np.testing.assert_array_equal(banded, points[in_band])


def test_projection_inverts_deprojection():
    pts = np.array([[10.0, -20.0, 550.0], [-70.0, 40.0, 620.0]])
    uv = project_points(pts, PINHOLE)
    np.testing.assert_allclose(deproject_pixels(uv, pts[:, 2], PINHOLE), pts, atol=1e-9)


def test_landmark_depth_is_the_median_of_valid_window_pixels():
    depth = np.zeros((20, 20), np.float32)
    depth[8:13, 8:13] = np.arange(25, dtype=np.float32).reshape(5, 5) + 500  # 500..524
    depth[10, 10] = 0  # a hole right under the landmark
    depth[8, 8] = 5000  # an outlier the median ignores
    lm = np.array([[10.2, 9.8], [2.0, 2.0], [19.4, 19.4], [np.nan, 3.0]])
    z, count = landmark_depths(depth, lm, window=5)
    values = np.delete(depth[8:13, 8:13].ravel(), 12)  # without the hole
    assert count[0] == 24
    assert z[0] == pytest.approx(np.median(values))
    assert np.isnan(z[1]) and count[1] == 0  # nothing valid around it
    assert np.isnan(z[3]) and count[3] == 0  # no 2D landmark
    # at the image border only the pixels inside count
    depth[17:20, 17:20] = 700
    z, count = landmark_depths(depth, lm, window=5)
    assert count[2] == 9 and z[2] == 700
    with pytest.raises(ValueError, match="odd"):
        landmark_depths(depth, lm, window=4)


def test_landmarks_deprojected_at_their_subpixel_position():
    depth = np.full((PINHOLE.height, PINHOLE.width), 600.0, np.float32)
    lm = np.array([[483.75, 179.25], [423.5, 239.5]])
    points, count = landmarks_to_3d(lm, depth, PINHOLE, window=3)
    np.testing.assert_allclose(points[0], [60.25 * 1.0, -60.25, 600.0], atol=1e-9)
    np.testing.assert_allclose(points[1], [0.0, 0.0, 600.0], atol=1e-9)
    assert list(count) == [9, 9]
