"""Principal curvatures, shape index and HK types on analytic surfaces (docs/methods.md#curvature).

Surfaces are sampled as point clouds in camera coordinates (camera at the origin looking down +z,
the surface about 400 mm in front of it), so "toward the camera" means toward smaller z. Expected
values are the analytic curvatures of the sampled surface under the docs/methods.md#curvature sign
convention: convex toward the camera is positive.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import pytest

from microexp.features.curvature import (
    HK_TYPE_NAMES,
    SHAPE_INDEX_BIN_NAMES,
    SHAPE_INDEX_BINS,
    SHAPE_INDEX_EDGES,
    HKType,
    estimate_normals,
    fit_principal_curvatures,
    hk_type,
    mean_gaussian_curvature,
    principal_curvatures,
    radius_neighbors,
    shape_index,
    shape_index_bin,
)

Z0 = 400.0  # mm from the camera
HALF = 18.0  # half width of the sampled square, mm
RADIUS = 6.0  # neighbourhood radius of the fit, mm
NOISE = 0.05  # mm, depth noise along z
R_SPHERE = 30.0
R_CYLINDER = 20.0
A_SADDLE = 30.0

Height = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _grid_xy(spacing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    axis = np.arange(-HALF, HALF + 1e-9, spacing)
    x, y = np.meshgrid(axis, axis)
    return x.ravel(), y.ravel()


def _random_xy(rng: np.random.Generator, n: int = 1300) -> tuple[np.ndarray, np.ndarray]:
    # About the density of the 1 mm grid, with the centre sample always present.
    xy = rng.uniform(-HALF, HALF, size=(n, 2))
    xy[0] = 0.0
    return xy[:, 0], xy[:, 1]


def _cloud(
    height: Height, sampling: str, noise: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y = _grid_xy() if sampling == "grid" else _random_xy(rng)
    z = Z0 + height(x, y) + rng.normal(0.0, noise, size=x.shape) * (noise > 0)
    return np.column_stack([x, y, z]), x, y


def _cap(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Sphere centred behind the apex: the apex (x = y = 0) is the point nearest the camera.
    return R_SPHERE - np.sqrt(R_SPHERE**2 - x**2 - y**2)


def _cup(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # The inside of a sphere seen from the camera: the rim is nearer the camera than the centre.
    return -_cap(x, y)


def _cylinder(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Ridge along y, curving away from the camera along x.
    return R_CYLINDER - np.sqrt(R_CYLINDER**2 - x**2)


def _saddle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Convex toward the camera along x, concave along y.
    return (x**2 - y**2) / (2.0 * A_SADDLE)


def _plane(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.3 * x - 0.2 * y


def _graph_curvatures(
    gx: np.ndarray, gy: np.ndarray, gxx: np.ndarray, gxy: np.ndarray, gyy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Analytic (k1, k2) of z = Z0 + g(x, y), convex toward the camera (-z) positive."""
    e, f, g = 1 + gx**2, gx * gy, 1 + gy**2
    w = np.sqrt(1 + gx**2 + gy**2)
    ll, mm, nn = gxx / w, gxy / w, gyy / w
    mean = (e * nn - 2 * f * mm + g * ll) / (2 * (e * g - f**2))
    gauss = (ll * nn - mm**2) / (e * g - f**2)
    disc = np.sqrt(np.maximum(mean**2 - gauss, 0.0))
    return mean + disc, mean - disc


def _saddle_truth(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = A_SADDLE
    ones = np.ones_like(x)
    return _graph_curvatures(x / a, -y / a, ones / a, 0 * x, -ones / a)


SURFACES: dict[str, tuple[Height, Callable]] = {
    "cap": (_cap, lambda x, y: (np.full_like(x, 1 / R_SPHERE),) * 2),
    "cup": (_cup, lambda x, y: (np.full_like(x, -1 / R_SPHERE),) * 2),
    "cylinder": (_cylinder, lambda x, y: (np.full_like(x, 1 / R_CYLINDER), 0 * x)),
    "saddle": (_saddle, _saddle_truth),
    "plane": (_plane, lambda x, y: (0 * x, 0 * x)),
}
CURVATURE_SCALE = 1 / R_SPHERE  # errors are stated relative to this (1/mm)


def _interior(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Points whose whole neighbourhood lies inside the sampled square (and well inside it).
    return (np.abs(x) < HALF - RADIUS - 2) & (np.abs(y) < HALF - RADIUS - 2)


def _centre(x: np.ndarray, y: np.ndarray) -> int:
    return int(np.argmin(x**2 + y**2))


# --------------------------------------------------------------------------------------------
# Sign convention, pinned
# --------------------------------------------------------------------------------------------


def test_sphere_cap_facing_camera_has_positive_curvature_one_over_r() -> None:
    points, x, y = _cloud(_cap, "grid", 0.0)
    fit = fit_principal_curvatures(points, RADIUS)
    c = _centre(x, y)
    assert fit.k1[c] == pytest.approx(1 / R_SPHERE, rel=0.02)
    assert fit.k2[c] == pytest.approx(1 / R_SPHERE, rel=0.02)
    # Normals point toward the camera: toward -z here.
    np.testing.assert_allclose(fit.normals[c], [0.0, 0.0, -1.0], atol=1e-6)
    assert np.all(fit.normals[:, 2] < 0)
    inner = _interior(x, y)
    np.testing.assert_allclose(fit.k1[inner], 1 / R_SPHERE, rtol=0.05)
    np.testing.assert_allclose(fit.k2[inner], 1 / R_SPHERE, rtol=0.05)
    si = shape_index(fit.k1, fit.k2)
    assert SHAPE_INDEX_BIN_NAMES[shape_index_bin(si[c])] == "cap"
    assert np.all(shape_index_bin(si[inner]) == 8)


def test_inside_of_sphere_is_a_cup() -> None:
    points, x, y = _cloud(_cup, "grid", 0.0)
    k1, k2 = principal_curvatures(points, RADIUS)
    c = _centre(x, y)
    assert k1[c] == pytest.approx(-1 / R_SPHERE, rel=0.02)
    assert k2[c] == pytest.approx(-1 / R_SPHERE, rel=0.02)
    assert SHAPE_INDEX_BIN_NAMES[shape_index_bin(shape_index(k1[c], k2[c]))] == "cup"
    mean_h, gauss_k = mean_gaussian_curvature(k1[c], k2[c])
    assert HK_TYPE_NAMES[hk_type(mean_h, gauss_k, 1e-3, 1e-5)] == "pit"


def test_cylinder_is_a_ridge_with_shape_index_three_quarters() -> None:
    points, x, y = _cloud(_cylinder, "grid", 0.0)
    fit = fit_principal_curvatures(points, RADIUS)
    c = _centre(x, y)
    assert fit.k1[c] == pytest.approx(1 / R_CYLINDER, rel=0.03)
    assert abs(fit.k2[c]) < 1e-3 / R_CYLINDER
    assert abs(fit.direction1[c][0]) == pytest.approx(1.0, abs=1e-6)  # curving across x
    assert abs(fit.direction2[c][1]) == pytest.approx(1.0, abs=1e-6)  # straight along y
    si = shape_index(fit.k1[c], fit.k2[c])
    assert si == pytest.approx(0.75, abs=1e-3)
    assert SHAPE_INDEX_BIN_NAMES[shape_index_bin(si)] == "ridge"
    mean_h, gauss_k = mean_gaussian_curvature(fit.k1[c], fit.k2[c])
    assert HKType(hk_type(mean_h, gauss_k, 1e-3, 1e-5)) is HKType.RIDGE


def test_saddle_has_zero_mean_and_negative_gaussian_curvature_at_origin() -> None:
    points, x, y = _cloud(_saddle, "grid", 0.0)
    fit = fit_principal_curvatures(points, RADIUS)
    c = _centre(x, y)
    mean_h, gauss_k = mean_gaussian_curvature(fit.k1[c], fit.k2[c])
    assert abs(mean_h) < 1e-3 / A_SADDLE
    assert gauss_k == pytest.approx(-1 / A_SADDLE**2, rel=0.02)
    assert fit.k1[c] == pytest.approx(1 / A_SADDLE, rel=0.01)
    # k1 (convex toward the camera) runs along x, where the surface recedes from the camera.
    assert abs(fit.direction1[c][0]) == pytest.approx(1.0, abs=1e-6)
    assert shape_index(fit.k1[c], fit.k2[c]) == pytest.approx(0.5, abs=1e-3)
    assert HKType(hk_type(mean_h, gauss_k, 1e-3, 1e-4)) is HKType.MINIMAL_SURFACE


def test_tilted_plane_is_flat_and_has_no_shape_index() -> None:
    points, _, _ = _cloud(_plane, "random", 0.0)
    k1, k2 = principal_curvatures(points, RADIUS)
    assert np.nanmax(np.abs(k1)) < 1e-9
    assert np.nanmax(np.abs(k2)) < 1e-9
    mean_h, gauss_k = mean_gaussian_curvature(k1, k2)
    assert np.all(hk_type(mean_h, gauss_k, 1e-3, 1e-5) == HKType.FLAT)
    assert np.all(np.isnan(shape_index(k1, k2, planar_tolerance=1e-6)))


def test_nose_like_bump_toward_camera_is_a_positive_peak_and_cap() -> None:
    amplitude, sigma = 15.0, 15.0  # a nose-sized Gaussian protruding toward the camera

    def bump(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -amplitude * np.exp(-(x**2 + y**2) / (2 * sigma**2))

    points, x, y = _cloud(bump, "grid", NOISE)
    assert points[_centre(x, y), 2] < Z0  # the tip is the point nearest the camera
    fit = fit_principal_curvatures(points, RADIUS)
    c = _centre(x, y)
    mean_h, gauss_k = mean_gaussian_curvature(fit.k1[c], fit.k2[c])
    # The cubic fit over 6 mm misses the bump's quartic term: a few % low at the tip.
    assert mean_h == pytest.approx(amplitude / sigma**2, rel=0.1)
    assert HKType(hk_type(mean_h, gauss_k, 1e-3, 1e-5)) is HKType.PEAK
    assert SHAPE_INDEX_BIN_NAMES[shape_index_bin(shape_index(fit.k1[c], fit.k2[c]))] == "cap"


# --------------------------------------------------------------------------------------------
# Accuracy on analytic surfaces, grids and random samples, with and without noise
# --------------------------------------------------------------------------------------------

# Median over interior points of max(|k1 - k1_true|, |k2 - k2_true|), relative to 1/30 mm^-1.
# Measured (radius 6 mm, 1 mm spacing): <= 2.5 % noise free, <= 6 % with 0.05 mm noise; the
# tolerances leave room for other random draws.
TOLERANCE = {0.0: 0.04, NOISE: 0.09}


@pytest.mark.parametrize("noise", [0.0, NOISE])
@pytest.mark.parametrize("sampling", ["grid", "random"])
@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_median_curvature_error_is_small(surface: str, sampling: str, noise: float) -> None:
    height, truth = SURFACES[surface]
    points, x, y = _cloud(height, sampling, noise, seed=1)
    fit = fit_principal_curvatures(points, RADIUS)
    inner = _interior(x, y)
    true1, true2 = truth(x[inner], y[inner])
    error = np.maximum(np.abs(fit.k1[inner] - true1), np.abs(fit.k2[inner] - true2))
    assert fit.n_undefined == 0
    assert np.median(error) / CURVATURE_SCALE < TOLERANCE[noise]


def test_textbook_goldfeather_interrante_fit_is_accurate_without_noise() -> None:
    points, x, y = _cloud(_cap, "grid", 0.0)
    fit = fit_principal_curvatures(
        points, RADIUS, free_offset_and_tilt=False, use_normal_constraints=False
    )
    inner = _interior(x, y)
    np.testing.assert_allclose(fit.k1[inner], 1 / R_SPHERE, rtol=0.03)
    np.testing.assert_allclose(fit.k2[inner], 1 / R_SPHERE, rtol=0.03)


def test_free_offset_and_tilt_resists_noise_on_the_vertex() -> None:
    # Why the default fits a constant term: the 7-coefficient form forces the surface through
    # the noisy vertex itself, which biases the curvature by ~3 noise / radius^2.
    points, x, y = _cloud(_cap, "grid", 0.2, seed=3)
    inner = _interior(x, y)
    kwargs = {"use_normal_constraints": False}
    free = fit_principal_curvatures(points, RADIUS, **kwargs)
    pinned = fit_principal_curvatures(points, RADIUS, free_offset_and_tilt=False, **kwargs)
    free_error = np.median(np.abs(free.k1[inner] - 1 / R_SPHERE))
    pinned_error = np.median(np.abs(pinned.k1[inner] - 1 / R_SPHERE))
    assert free_error < pinned_error


# --------------------------------------------------------------------------------------------
# Invariances, normals, bad input
# --------------------------------------------------------------------------------------------


def test_curvature_is_invariant_to_a_rigid_tilt_and_scales_with_one_over_length() -> None:
    points, x, y = _cloud(_cap, "grid", 0.0)
    c = _centre(x, y)
    angle = np.deg2rad(25.0)
    rotation = np.array(
        [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    )
    apex = points[c]
    tilted = (points - apex) @ rotation.T + apex
    k1_tilted, k2_tilted = principal_curvatures(tilted, RADIUS)
    k1, k2 = principal_curvatures(points, RADIUS)
    assert k1_tilted[c] == pytest.approx(k1[c], rel=1e-6)
    assert k2_tilted[c] == pytest.approx(k2[c], rel=1e-6)
    k1_big, _ = principal_curvatures(points * 2.0, 2.0 * RADIUS)
    assert k1_big[c] == pytest.approx(k1[c] / 2.0, rel=1e-6)


def test_given_normals_are_reoriented_toward_the_camera() -> None:
    points, x, y = _cloud(_cap, "grid", 0.0)
    c = _centre(x, y)
    exact = points - np.array([0.0, 0.0, Z0 + R_SPHERE])  # outward sphere normals
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    k1_in, k2_in = principal_curvatures(points, RADIUS, normals=-exact)  # pointing away
    k1_out, _ = principal_curvatures(points, RADIUS, normals=exact)
    assert k1_in[c] == pytest.approx(1 / R_SPHERE, rel=0.02)
    assert k2_in[c] == pytest.approx(1 / R_SPHERE, rel=0.02)
    np.testing.assert_array_equal(k1_in, k1_out)


def test_estimated_normals_point_toward_the_camera() -> None:
    points, _, _ = _cloud(_saddle, "random", NOISE)
    normals = estimate_normals(points, RADIUS)
    assert np.all(np.einsum("ij,ij->i", normals, -points) > 0)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)


def test_points_with_too_few_neighbours_get_nan_and_are_counted() -> None:
    points, _, _ = _cloud(_cap, "grid", 0.0)
    lonely = np.array([[200.0, 200.0, 500.0], [-200.0, 0.0, 500.0]])
    fit = fit_principal_curvatures(np.vstack([points, lonely]), RADIUS, min_neighbors=10)
    assert fit.n_undefined == 2
    assert np.all(np.isnan(fit.k1[-2:])) and np.all(np.isnan(fit.k2[-2:]))
    assert np.all(np.isnan(fit.normals[-2:]))
    np.testing.assert_array_equal(fit.neighbor_counts[-2:], [1, 1])
    assert np.all(np.isfinite(fit.k1[:-2]))


def test_collinear_neighbourhood_is_undefined_not_zero() -> None:
    line = np.column_stack([np.linspace(-10, 10, 41), np.zeros(41), np.full(41, Z0)])
    fit = fit_principal_curvatures(line, RADIUS)
    assert fit.n_undefined == len(line)


def test_nan_points_raise_a_clear_error() -> None:
    points, _, _ = _cloud(_cap, "grid", 0.0)
    points[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN/inf coordinates.*index 5"):
        principal_curvatures(points, RADIUS)


def test_result_does_not_depend_on_thread_count() -> None:
    points, _, _ = _cloud(_saddle, "random", NOISE)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = fit_principal_curvatures(points, RADIUS)
    finally:
        numba.set_num_threads(threads)
    parallel = fit_principal_curvatures(points, RADIUS)
    np.testing.assert_array_equal(single.k1, parallel.k1)
    np.testing.assert_array_equal(single.k2, parallel.k2)


def test_radius_neighbors_are_symmetric_and_include_the_point() -> None:
    points, _, _ = _cloud(_cap, "random", 0.0)
    indptr, indices = radius_neighbors(points, 3.0)
    for i in (0, 17, 500):
        found = set(indices[indptr[i] : indptr[i + 1]].tolist())
        expected = set(np.flatnonzero(np.linalg.norm(points - points[i], axis=1) <= 3.0).tolist())
        assert found == expected


# --------------------------------------------------------------------------------------------
# Shape index and its Dorai-Jain bins
# --------------------------------------------------------------------------------------------


def test_shape_index_of_the_named_shapes() -> None:
    k1 = np.array([1.0, 1.0, 1.0, 1.0, 0.0, -0.5, -1.0, 2.0, -2.0, 0.0])
    k2 = np.array([1.0, 0.0, -1.0, 0.5, -1.0, -1.0, -1.0, 2.0, -2.0, 0.0])
    si = shape_index(k1, k2)
    expected = [1.0, 0.75, 0.5, 0.5 + np.arctan(3.0) / np.pi, 0.25, 0.5 - np.arctan(3) / np.pi]
    np.testing.assert_allclose(si[:6], expected)
    assert si[6] == 0.0  # cup
    assert si[7] == 1.0 and si[8] == 0.0  # umbilics by the sign of H
    assert np.isnan(si[9])  # planar
    assert SHAPE_INDEX_BIN_NAMES[shape_index_bin(si[3])] == "dome"
    assert SHAPE_INDEX_BIN_NAMES[shape_index_bin(si[5])] == "trough"


def test_shape_index_planar_tolerance_and_order_check() -> None:
    si = shape_index(np.array([1e-4, 0.1]), np.array([-1e-4, 0.0]), planar_tolerance=1e-3)
    assert np.isnan(si[0]) and si[1] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="k1 >= k2"):
        shape_index(np.array([0.0]), np.array([1.0]))


def test_shape_index_bins_are_the_nine_dorai_jain_bins() -> None:
    assert SHAPE_INDEX_BIN_NAMES == (
        "cup",
        "trough",
        "rut",
        "saddle rut",
        "saddle",
        "saddle ridge",
        "ridge",
        "dome",
        "cap",
    )
    assert SHAPE_INDEX_BINS[0] == ("cup", 0.0, 1 / 16)
    assert SHAPE_INDEX_BINS[-1] == ("cap", 15 / 16, 1.0)
    np.testing.assert_allclose(np.diff(SHAPE_INDEX_EDGES)[1:-1], 1 / 8)
    si = np.array([0.0, 1 / 16 - 1e-12, 1 / 16, 0.25, 0.5, 0.75, 0.875, 15 / 16, 1.0, np.nan])
    np.testing.assert_array_equal(shape_index_bin(si), [0, 0, 1, 2, 4, 6, 7, 8, 8, -1])
    with pytest.raises(ValueError):
        shape_index_bin(np.array([1.5]))


# --------------------------------------------------------------------------------------------
# HK types (Besl & Jain)
# --------------------------------------------------------------------------------------------


def test_hk_types_of_all_nine_sign_combinations() -> None:
    eps_h, eps_k = 0.01, 0.001
    signs = {"+": (0.1, 0.01), "0": (0.0, 0.0005), "-": (-0.1, -0.01)}
    expected = {
        ("+", "+"): "peak",
        ("+", "0"): "ridge",
        ("+", "-"): "saddle ridge",
        ("0", "+"): "impossible",
        ("0", "0"): "flat",
        ("0", "-"): "minimal surface",
        ("-", "+"): "pit",
        ("-", "0"): "valley",
        ("-", "-"): "saddle valley",
    }
    for (h_sign, k_sign), name in expected.items():
        mean_h = signs[h_sign][0]
        gauss_k = signs[k_sign][1]
        assert HK_TYPE_NAMES[hk_type(mean_h, gauss_k, eps_h, eps_k)] == name
    # Zero bands are open: |H| < eps_H is zero, |H| = eps_H is not.
    assert hk_type(0.01, 0.0, eps_h, eps_k) == HKType.RIDGE
    assert hk_type(-0.00999, 0.0, eps_h, eps_k) == HKType.FLAT
    assert hk_type(np.nan, 0.0, eps_h, eps_k) == -1
    assert hk_type(0.0, 0.0, 0.0, 0.0) == HKType.FLAT
    assert len(HK_TYPE_NAMES) == 9
