"""Alignment and crop geometry of the 2D face stage (docs/methods.md#2d-face; DSME-3D 4.1.1).

The similarity must be non-reflective (rotation, uniform scale, translation; determinant > 0),
recover a known transform, agree with scikit-image's estimate, and put the first frame's inner
eye corners (68-pt 39, 42) exactly on the canonical positions. The crop's default multiples
must hold both brows and the chin (truth landmarks of synthetic faces, with expressions).
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.transform import SimilarityTransform

from microexp.face2d.align import (
    apply_affine,
    compose_affine,
    eye_corner_alignment,
    fit_similarity,
    invert_affine,
    is_non_reflective_similarity,
    similarity_parameters,
)
from microexp.face2d.crop import (
    CropLayout,
    box_to_output,
    crop_outside_fraction,
    face_box,
    layout_lines,
    mean_difference_image,
    warp_clip,
)
from microexp.face2d.landmarks import (
    INNER_EYE_CORNERS,
    LANDMARKS49,
    NASAL_SPINE,
    inner_eye_distance,
    landmarks49,
)
from microexp.face2d.stage import Face2DParams, align_and_crop
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.render import render_frame

from .face2d_clips import subject

CANONICAL = np.array([[63.0, 42.0], [105.0, 42.0]])


def similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * np.cos(np.radians(angle_deg)), scale * np.sin(np.radians(angle_deg))
    return np.array([[c, -s, tx], [s, c, ty]])


# ------------------------------------------------------------------------------ landmarks


def test_49_point_set_is_68_minus_jaw_and_inner_mouth_corners():
    assert len(LANDMARKS49) == 49
    assert not set(LANDMARKS49) & {*range(17), 60, 64}
    assert {*INNER_EYE_CORNERS, NASAL_SPINE} <= set(LANDMARKS49)
    points = np.arange(68 * 2, dtype=float).reshape(68, 2)
    assert np.array_equal(landmarks49(points)[0], points[17])
    assert landmarks49(np.zeros((5, 68, 2))).shape == (5, 49, 2)


# ------------------------------------------------------------------------------ similarity


@pytest.mark.parametrize("n_points", [2, 3, 12])
def test_known_similarity_is_recovered(n_points):
    rng = np.random.default_rng(n_points)
    for _ in range(50):
        truth = similarity(
            rng.uniform(0.3, 3.0), rng.uniform(-180, 180), *rng.uniform(-300, 300, 2)
        )
        source = rng.uniform(0, 800, size=(n_points, 2))
        fitted = fit_similarity(source, apply_affine(truth, source))
        np.testing.assert_allclose(fitted, truth, atol=1e-8)
        assert is_non_reflective_similarity(fitted)


def test_parameters_of_a_similarity():
    scale, angle, tx, ty = similarity_parameters(similarity(1.5, 30.0, 4.0, -2.0))
    assert (scale, angle, tx, ty) == pytest.approx((1.5, 30.0, 4.0, -2.0))


def test_a_reflection_is_never_returned():
    """Mirrored targets: the best fit is still a rotation + scale (det > 0), and it leaves a
    residual, because no similarity can mirror."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        source = rng.uniform(0, 500, size=(rng.integers(2, 20), 2))
        target = source * [-1.0, 1.0] + rng.normal(0, 5, size=source.shape)  # mirrored in x
        fitted = fit_similarity(source, target)
        assert np.linalg.det(fitted[:, :2]) > 0
        assert is_non_reflective_similarity(fitted)
    shape = np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 3.0]])
    transposed = shape[:, ::-1]  # (x, y) -> (y, x): a reflection about the diagonal
    residual = apply_affine(fit_similarity(shape, transposed), shape) - transposed
    assert np.abs(residual).max() > 1.0


def test_agrees_with_scikit_image_on_noisy_points():
    rng = np.random.default_rng(2)
    for _ in range(20):
        source = rng.uniform(0, 500, size=(15, 2))
        target = apply_affine(similarity(1.2, 10.0, 5.0, 7.0), source) + rng.normal(0, 2, (15, 2))
        reference = SimilarityTransform.from_estimate(source, target)
        np.testing.assert_allclose(fit_similarity(source, target), reference.params[:2], atol=1e-8)


def test_degenerate_points_are_rejected():
    with pytest.raises(ValueError, match="coincide"):
        fit_similarity(np.ones((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        fit_similarity(np.zeros((1, 2)), np.zeros((1, 2)))


def test_eye_corner_alignment_puts_39_and_42_on_the_canonical_positions():
    rng = np.random.default_rng(3)
    for _ in range(20):
        landmarks = rng.uniform(100, 400, size=(68, 2))
        matrix = eye_corner_alignment(landmarks, CANONICAL)
        np.testing.assert_allclose(
            apply_affine(matrix, landmarks[list(INNER_EYE_CORNERS)]), CANONICAL, atol=1e-9
        )
        assert np.linalg.det(matrix[:, :2]) > 0


def test_affine_composition_and_inverse():
    a, b = similarity(2.0, 20.0, 3.0, 4.0), np.array([[1.5, 0.2, -3.0], [0.1, 0.7, 9.0]])
    points = np.random.default_rng(4).uniform(-50, 50, size=(10, 2))
    np.testing.assert_allclose(
        apply_affine(compose_affine(a, b), points), apply_affine(a, apply_affine(b, points))
    )
    np.testing.assert_allclose(apply_affine(invert_affine(b), apply_affine(b, points)), points)


# ------------------------------------------------------------------------------ crop


def aligned_face(angle_deg: float = 0.0) -> np.ndarray:
    """A schematic upright face: eye corners 40 apart on y = 0, nasal spine 50 below."""
    landmarks = np.zeros((68, 2))
    landmarks[39], landmarks[42], landmarks[NASAL_SPINE] = (-20, 0), (20, 0), (0, 50)
    return apply_affine(similarity(1.0, angle_deg, 100, 100), landmarks)


def test_face_box_is_laid_out_in_eye_and_nose_units():
    box = face_box(aligned_face(), CropLayout(left=2, right=1.5, up=1, down=3))
    assert (box.unit_x, box.unit_y) == pytest.approx((40.0, 50.0))
    assert box.as_array() == pytest.approx([100 - 80, 100 - 50, 100 + 60, 100 + 150])


def test_mirrored_face_has_no_box():
    """A mirrored image puts 39 right of 42; aligning those onto the canonical positions turns
    the face upside down (a similarity cannot un-mirror it), which the layout rejects."""
    mirrored = aligned_face() * [-1.0, 1.0]
    with pytest.raises(ValueError, match="nasal spine"):
        align_and_crop(mirrored, Face2DParams())
    # Upright in the aligned frame, any in-plane rotation in the image is fine.
    for angle in (0.0, 40.0, 180.0):
        assert face_box(aligned_face(angle), CropLayout()).unit_y == pytest.approx(50.0)


def test_box_edges_go_to_the_outer_pixel_edges():
    box = face_box(aligned_face(), CropLayout(output_size=(100, 80)))
    matrix = box_to_output(box, (100, 80))
    corners = apply_affine(matrix, [[box.x0, box.y0], [box.x1, box.y1]])
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [79.5, 99.5]])
    xs, ys = layout_lines((168, 168))
    assert len(xs) == len(ys) == 5 and xs[2] == pytest.approx(83.5)


def test_crop_outside_fraction():
    inside = np.array([[1.0, 0.0, -100.0], [0.0, 1.0, -100.0]])  # output (0, 0) = image (100, 100)
    assert crop_outside_fraction(inside, (50, 50), (480, 848)) == pytest.approx(0.0)
    half_out = np.array([[1.0, 0.0, 25.0], [0.0, 1.0, -100.0]])  # columns -25 .. 25
    assert crop_outside_fraction(half_out, (50, 50), (480, 848)) == pytest.approx(0.5, abs=0.02)


def test_warp_clip_with_a_translation_is_a_shift():
    rng = np.random.default_rng(5)
    clip = rng.integers(0, 255, size=(3, 60, 80), dtype=np.uint8)
    shift = np.array([[1.0, 0.0, -7.0], [0.0, 1.0, -5.0]])  # output (x, y) = image (x + 7, y + 5)
    volume = warp_clip(clip, shift, (40, 50))
    assert volume.shape == (3, 40, 50) and volume.dtype == np.uint8
    np.testing.assert_array_equal(volume, clip[:, 5:45, 7:57])


def test_mean_difference_image():
    volume = np.zeros((4, 3, 3), np.uint8)
    volume[1:, 1, 1] = [10, 20, 30]
    difference = mean_difference_image(volume, 0)
    assert difference[1, 1] == pytest.approx(15.0) and difference.sum() == pytest.approx(15.0)


def test_default_crop_holds_both_brows_and_the_chin_on_synthetic_faces():
    """Truth landmarks of synthetic subjects, neutral and under every AU at full intensity
    (brows raised, jaw and lips moved), through the default alignment and crop."""
    params = Face2DParams()
    h, w = params.crop.output_size
    margins = []
    for index in range(3):
        subject_ = subject(index)
        neutral = render_frame(subject_, np.zeros(len(AU_NAMES))).landmarks2d
        _, box, image_to_crop = align_and_crop(neutral, params)
        for intensity in (np.zeros(len(AU_NAMES)), np.ones(len(AU_NAMES))):
            points = apply_affine(image_to_crop, render_frame(subject_, intensity).landmarks2d)
            brows, chin = points[17:27], points[8]
            margins.append(
                [brows[:, 0].min(), w - 1 - brows[:, 0].max(), brows[:, 1].min(), h - 1 - chin[1]]
            )
        # Units are what the layout says: u_x is the canonical eye-corner distance.
        assert box.unit_x == pytest.approx(42.0)
        assert inner_eye_distance(apply_affine(align_and_crop(neutral, params)[0], neutral)) == (
            pytest.approx(42.0)
        )
    # At least a few pixels inside the 168 x 168 crop on every side.
    assert np.min(margins) > 5.0, np.round(margins, 1)
