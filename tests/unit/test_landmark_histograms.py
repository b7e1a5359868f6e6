"""Per-landmark SI / HK histograms and 2D motion weights (DSME-3D 4.2.4)."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.features.curvature import HK_TYPE_NAMES, SHAPE_INDEX_BIN_NAMES, HKType
from microexp.features.landmark_histograms import (
    DSME3D_LANDMARKS_23,
    LandmarkFeatureError,
    PointShapeClasses,
    curvature_descriptors,
    landmark_histograms,
    landmark_weights,
    mean_difference_image,
)

CAP = SHAPE_INDEX_BIN_NAMES.index("cap")
PEAK = HK_TYPE_NAMES.index("peak")
FLAT = HK_TYPE_NAMES.index("flat")


def test_the_23_landmarks_are_the_spec_choice() -> None:
    assert len(DSME3D_LANDMARKS_23) == 23 == len(set(DSME3D_LANDMARKS_23))
    assert set(range(17, 27)) <= set(DSME3D_LANDMARKS_23)  # brows
    assert {36, 39, 42, 45, 30, 31, 35, 48, 54, 51, 57, 50, 52} <= set(DSME3D_LANDMARKS_23)


# --------------------------------------------------------------------------------------------
# Mean-difference image and weights
# --------------------------------------------------------------------------------------------


def test_mean_difference_image_by_hand_without_uint8_wraparound() -> None:
    volume = np.array(
        [
            [[200, 0], [10, 10]],  # onset
            [[10, 5], [10, 20]],
            [[200, 255], [0, 10]],
        ],
        dtype=np.uint8,
    )
    # |f1 - f0| = [[190, 5], [0, 10]], |f2 - f0| = [[0, 255], [10, 0]]; mean of the two.
    np.testing.assert_array_equal(mean_difference_image(volume), [[95, 130], [5, 5]])
    # Onset in the middle: |f0 - f1| = [[190, 5], [0, 10]], |f2 - f1| = [[190, 250], [10, 10]].
    np.testing.assert_array_equal(
        mean_difference_image(volume, onset_index=1), [[190, 127.5], [5, 10]]
    )
    with pytest.raises(ValueError, match="at least 2 frames"):
        mean_difference_image(volume[:1])


def _landmarks2d(positions: dict[int, tuple[float, float]]) -> np.ndarray:
    landmarks = np.full((68, 2), np.nan)  # unselected landmarks may be anything, even NaN
    for index, xy in positions.items():
        landmarks[index] = xy
    return landmarks


def test_landmark_weights_average_a_disc_with_x_as_column() -> None:
    rows, cols = np.mgrid[0:7, 0:9]
    image = 10.0 * rows + cols  # value = 10 * row + column
    positions = {
        30: (4.0, 2.0),  # disc of 5 pixels: 24, 14, 34, 23, 25
        17: (1.0, 5.0),  # 51, 41, 61, 50, 52
        48: (0.0, 0.0),  # corner, 3 pixels inside the image: 0, 10, 1
        54: (4.5, 2.0),  # between two pixel centres: 24, 25
    }
    weights = landmark_weights(
        image, _landmarks2d(positions), 1.0, landmark_indices=(30, 17, 48, 54)
    )
    np.testing.assert_allclose(weights, [24.0, 51.0, 11.0 / 3.0, 24.5])
    single = landmark_weights(image, _landmarks2d(positions), 0.0, landmark_indices=(30,))
    np.testing.assert_allclose(single, [24.0])


def test_landmark_weights_reject_landmarks_off_the_image_or_nan() -> None:
    image = np.ones((5, 5))
    with pytest.raises(LandmarkFeatureError, match="landmark 17") as info:
        landmark_weights(image, _landmarks2d({17: (50.0, 2.0)}), 2.0, landmark_indices=(17,))
    assert info.value.landmark == 17
    with pytest.raises(LandmarkFeatureError, match="landmark 18 is NaN"):
        landmark_weights(image, _landmarks2d({17: (2.0, 2.0)}), 2.0, landmark_indices=(17, 18))


# --------------------------------------------------------------------------------------------
# Histograms from hand-made shape classes
# --------------------------------------------------------------------------------------------


def _hand_made_frame() -> tuple[np.ndarray, PointShapeClasses, np.ndarray]:
    # Sphere around landmark 30 (at the origin): 10 points; around landmark 17 (x = 100): 6
    # points; and 3 points far from both.
    near_30 = np.column_stack([np.linspace(-3, 3, 10), np.zeros(10), np.zeros(10)])
    near_17 = np.column_stack([100 + np.linspace(-2, 2, 6), np.zeros(6), np.zeros(6)])
    far = np.array([[50.0, 0, 0], [0, 50, 0], [-50, 0, 0]])
    points = np.vstack([near_30, near_17, far])
    points[:, 2] += 400.0
    undefined = np.zeros(len(points), dtype=bool)
    undefined[8:10] = True  # the last two near landmark 30 have no curvature
    si_bin = np.array([8, 8, 8, 7, 7, 6, -1, -1, -1, -1, 4, 4, 4, 4, 0, 0, 2, 2, 2])
    hk = np.array([0, 0, 0, 0, 1, 1, 4, 4, -1, -1, 5, 5, 2, 2, 6, 6, 3, 3, 3])
    classes = PointShapeClasses(si_bin, hk, undefined, np.zeros(len(points)), np.zeros(19))
    landmarks3d = np.full((68, 3), np.nan)
    landmarks3d[30] = [0.0, 0.0, 400.0]
    landmarks3d[17] = [100.0, 0.0, 400.0]
    return points, classes, landmarks3d


def test_landmark_histograms_count_by_hand() -> None:
    points, classes, landmarks3d = _hand_made_frame()
    result = landmark_histograms(
        points, classes, landmarks3d, 5.0, landmark_indices=(30, 17), min_sphere_vertices=5
    )
    # Landmark 30: 8 vertices with a curvature (M = 8), 2 undefined left out, 2 planar.
    np.testing.assert_array_equal(result.vertex_counts, [8, 6])
    np.testing.assert_array_equal(result.undefined_counts, [2, 0])
    np.testing.assert_array_equal(result.planar_counts, [2, 0])
    expected_si = np.zeros(9)
    expected_si[[6, 7, 8]] = [1 / 8, 2 / 8, 3 / 8]  # planar points are in M but no SI bin
    np.testing.assert_allclose(result.si[0], expected_si)
    expected_hk = np.zeros(9)
    expected_hk[[HKType.PEAK, HKType.RIDGE, HKType.FLAT]] = [4 / 8, 2 / 8, 2 / 8]
    np.testing.assert_allclose(result.hk[0], expected_hk)
    # Landmark 17: SI saddle 4/6, cup 2/6; HK minimal surface 2/6, saddle ridge 2/6, pit 2/6.
    expected_si = np.zeros(9)
    expected_si[[4, 0]] = [4 / 6, 2 / 6]
    np.testing.assert_allclose(result.si[1], expected_si)
    np.testing.assert_allclose(result.hk[1][[5, 2, 6]], [2 / 6, 2 / 6, 2 / 6])
    np.testing.assert_allclose(result.hk.sum(axis=1), 1.0)


def test_sparse_sphere_raises_naming_landmark_and_frame() -> None:
    points, classes, landmarks3d = _hand_made_frame()
    with pytest.raises(LandmarkFeatureError, match=r"apex.*landmark 17 holds 6") as info:
        landmark_histograms(
            points,
            classes,
            landmarks3d,
            5.0,
            landmark_indices=(30, 17),
            min_sphere_vertices=7,
            frame="apex",
        )
    assert (info.value.landmark, info.value.frame) == (17, "apex")
    with pytest.raises(LandmarkFeatureError, match="landmark 31 is NaN"):
        landmark_histograms(points, classes, landmarks3d, 5.0, landmark_indices=(30, 31))


# --------------------------------------------------------------------------------------------
# End to end: a flat face with a nose, onset and apex
# --------------------------------------------------------------------------------------------

Z0 = 450.0
NOSE_AMPLITUDE, NOSE_SIGMA = 15.0, 12.0  # protrudes toward the camera (smaller z)


def _face_cloud(lip_bump: float) -> tuple[np.ndarray, np.ndarray]:
    """A plane at Z0 with a nose bump at the origin and, optionally, a bulge at landmark 51."""
    axis = np.arange(-60.0, 60.0 + 1e-9, 1.0)
    x, y = (grid.ravel() for grid in np.meshgrid(axis, axis))
    lip = np.array([0.0, 50.0])

    def height(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        nose = NOSE_AMPLITUDE * np.exp(-(px**2 + py**2) / (2 * NOSE_SIGMA**2))
        bulge = lip_bump * np.exp(-((px - lip[0]) ** 2 + (py - lip[1]) ** 2) / (2 * 10.0**2))
        return Z0 - nose - bulge

    points = np.column_stack([x, y, height(x, y)])
    # Landmarks: nose tip at the bump's apex, 51 on the lip bulge, the others on a half-ring of
    # flat face 50 mm below the nose, where neither bump bends the surface measurably.
    landmarks = np.full((68, 3), np.nan)
    others = [i for i in DSME3D_LANDMARKS_23 if i not in (30, 51)]
    angles = np.linspace(0.25 * np.pi, 0.75 * np.pi, len(others)) + np.pi  # lower half-ring
    for index, angle in zip(others, angles, strict=True):
        lx, ly = 50.0 * np.cos(angle), 50.0 * np.sin(angle)
        landmarks[index] = [lx, ly, height(np.array(lx), np.array(ly))]
    landmarks[30] = [0.0, 0.0, height(np.array(0.0), np.array(0.0))]
    landmarks[51] = [lip[0], lip[1], height(np.array(lip[0]), np.array(lip[1]))]
    return points, landmarks


def test_curvature_descriptors_on_a_flat_face_with_a_nose() -> None:
    onset_points, onset_landmarks = _face_cloud(lip_bump=0.0)
    apex_points, apex_landmarks = _face_cloud(lip_bump=8.0)
    weights = np.arange(1.0, 24.0)
    result = curvature_descriptors(
        onset_points,
        apex_points,
        onset_landmarks,
        apex_landmarks,
        weights,
        radius_curv=5.0,
        radius_sphere=5.0,
        eps_H=1e-3,
        eps_K=1e-5,
    )
    nose = DSME3D_LANDMARKS_23.index(30)
    lip = DSME3D_LANDMARKS_23.index(51)
    flat = [DSME3D_LANDMARKS_23.index(i) for i in (17, 36, 48)]
    assert result["si"].shape == result["hk"].shape == (2 * 23 * 9,)
    for frame in ("onset", "apex"):
        # The nose tip is convex toward the camera: all cap and peak.
        assert result[f"si_{frame}"][nose, CAP] == pytest.approx(1.0)
        assert result[f"hk_{frame}"][nose, PEAK] == pytest.approx(1.0)
        # Flat face: HK flat, and no shape index at all.
        np.testing.assert_allclose(result[f"hk_{frame}"][flat, FLAT], 1.0)
        np.testing.assert_allclose(result[f"si_{frame}"][flat].sum(axis=1), 0.0)
    # The lip bulges only at apex.
    assert result["hk_onset"][lip, FLAT] == pytest.approx(1.0)
    assert result["hk_apex"][lip, PEAK] == pytest.approx(1.0)
    assert result["si_apex"][lip, CAP] > 0.9
    # Layout: (onset, apex) x landmark x bin, each landmark scaled by its weight.
    si = result["si"].reshape(2, 23, 9)
    np.testing.assert_allclose(si[0], weights[:, None] * result["si_onset"])
    np.testing.assert_allclose(si[1], weights[:, None] * result["si_apex"])
    hk = result["hk"].reshape(2, 23, 9)
    assert hk[1, lip, PEAK] == pytest.approx(weights[lip])
    np.testing.assert_array_equal(result["landmark_indices"], DSME3D_LANDMARKS_23)
    assert result["vertex_counts"].shape == (2, 23)
    assert np.all(result["vertex_counts"] >= 69)  # ~pi 5^2 vertices per 5 mm sphere


def _descriptors(**changes: object) -> dict[str, np.ndarray]:
    onset_points, landmarks = _face_cloud(lip_bump=0.0)
    arguments: dict[str, object] = {
        "onset_points": onset_points,
        "apex_points": onset_points.copy(),
        "onset_landmarks3d": landmarks,
        "apex_landmarks3d": landmarks.copy(),
        "weights": np.ones(23),
        "radius_curv": 5.0,
        "radius_sphere": 5.0,
        "eps_H": 1e-3,
        "eps_K": 1e-5,
    }
    arguments.update(changes)
    return curvature_descriptors(**arguments)  # type: ignore[arg-type]


def test_curvature_descriptors_reject_bad_input_by_name() -> None:
    onset_points, landmarks = _face_cloud(lip_bump=0.0)
    bad_points = onset_points.copy()
    bad_points[3] = np.nan
    with pytest.raises(ValueError, match=r"apex cloud.*NaN"):
        _descriptors(apex_points=bad_points)
    moved = landmarks.copy()
    moved[57] += [0.0, 0.0, 1000.0]  # a landmark whose depth went wrong: empty sphere
    with pytest.raises(LandmarkFeatureError, match=r"apex.*landmark 57 holds 0") as info:
        _descriptors(apex_landmarks3d=moved)
    assert (info.value.landmark, info.value.frame) == (57, "apex")
    missing = landmarks.copy()
    missing[31] = np.nan
    with pytest.raises(LandmarkFeatureError, match="landmark 31 is NaN"):
        _descriptors(onset_landmarks3d=missing)
    weights = np.ones(23)
    weights[2] = -1.0
    with pytest.raises(LandmarkFeatureError, match=f"landmark {DSME3D_LANDMARKS_23[2]}"):
        _descriptors(weights=weights)
    with pytest.raises(ValueError, match="need 23 weights"):
        _descriptors(weights=np.ones(22))
