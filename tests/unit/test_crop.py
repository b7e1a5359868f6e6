"""Face crop: a sphere around the nose tip (docs/methods.md#3d-face; DSME-3D 4.1.2)."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.cloud3d.crop import crop_face, in_sphere, sphere_pixel_box
from microexp.cloud3d.deproject import (
    Intrinsics,
    deproject_depth,
    pixel_rays,
    project_points,
)

PINHOLE = Intrinsics(848, 480, 600.0, 600.0, 423.5, 239.5)


def test_points_kept_are_exactly_those_within_the_radius():
    rng = np.random.default_rng(0)
    centre = np.array([5.0, -3.0, 550.0])
    # a synthetic sphere of radius 100 plus shells just inside / outside and random points
    directions = rng.normal(size=(3000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = np.concatenate(
        [np.full(1000, 99.999), np.full(1000, 100.001), rng.uniform(0, 200, 1000)]
    )
    points = centre + directions * radii[:, None]
    keep = in_sphere(points, centre, 100.0)
    brute = np.array([np.sqrt(np.sum((p - centre) ** 2)) <= 100.0 for p in points])
    np.testing.assert_array_equal(keep, brute)
    assert keep[:1000].all() and not keep[1000:2000].any()


def sphere_depth(centre: np.ndarray, radius: float, intr: Intrinsics) -> np.ndarray:
    """Depth (mm) of the camera-facing half of a sphere, background at 2 m."""
    rays = pixel_rays(intr).astype(np.float64)
    d = np.concatenate([rays, np.ones((*rays.shape[:2], 1))], axis=2)
    # |s d - c|^2 = r^2  ->  s^2 |d|^2 - 2 s d.c + |c|^2 - r^2 = 0, nearest root
    a = np.sum(d * d, axis=2)
    b = -2 * d @ centre
    c = centre @ centre - radius**2
    disc = b * b - 4 * a * c
    s = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
    return np.where(disc > 0, s, 2000.0).astype(np.float32)


@pytest.mark.parametrize(
    "nose",
    [
        np.array([0.0, 0.0, 530.0]),
        np.array([-150.0, 80.0, 600.0]),
        np.array([330.0, -170.0, 500.0]),  # near the image corner: the box is clipped
    ],
)
def test_crop_of_a_depth_map_equals_cropping_the_full_cloud(nose):
    # a head-sized sphere whose front touches the nose point
    head = nose + np.array([0.0, 0.0, 90.0])
    depth = sphere_depth(head, 90.0, PINHOLE)
    rays = pixel_rays(PINHOLE)
    points, index = crop_face(depth, rays, nose, 100.0, PINHOLE)
    everything, all_index = deproject_depth(depth, rays)
    keep = in_sphere(everything, nose, 100.0)
    np.testing.assert_array_equal(index, all_index[keep])
    np.testing.assert_array_equal(points, everything[keep])
    assert len(points) > 1000
    assert np.all(np.linalg.norm(points - nose, axis=1) <= 100.0 + 1e-3)


def test_sphere_pixel_box_contains_the_projected_sphere():
    rng = np.random.default_rng(1)
    for _ in range(20):
        centre = np.array([rng.uniform(-200, 200), rng.uniform(-150, 150), rng.uniform(300, 900)])
        directions = rng.normal(size=(5000, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        uv = project_points(centre + 100.0 * directions, PINHOLE)
        r0, r1, c0, c1 = sphere_pixel_box(centre, 100.0, PINHOLE, margin_px=0)
        inside = (uv[:, 0] >= 0) & (uv[:, 0] <= 847) & (uv[:, 1] >= 0) & (uv[:, 1] <= 479)
        u, v = np.round(uv[inside]).T
        assert np.all((u >= c0) & (u < c1) & (v >= r0) & (v < r1))


def test_box_falls_back_to_the_full_image_when_unsafe():
    distorted = Intrinsics(
        848, 480, 600, 600, 423.5, 239.5, "inverse_brown_conrady", (0.1, 0, 0, 0, 0)
    )
    assert sphere_pixel_box(np.array([0, 0, 550.0]), 100, distorted) == (0, 480, 0, 848)
    # a sphere reaching the camera plane
    assert sphere_pixel_box(np.array([0, 0, 80.0]), 100, PINHOLE) == (0, 480, 0, 848)
