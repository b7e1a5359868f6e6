"""Synthetic RGB-D faces: camera, subjects, Action Units, head motion and D415 artefacts.

Every assertion is against geometric truth the renderer is built from (landmarks carried through
known warps, surface depth, rigid motions), never against the renderer's own output alone.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexp.synthetic.actions import (
    AU_BUMPS,
    AU_LANDMARKS,
    AU_NAMES,
    BLINK_AU,
    bump_centre,
    bump_weight,
    face_frame,
)
from microexp.synthetic.face import (
    D415_COLOR,
    bilinear_sample,
    draw_subject_parameters,
    make_subject,
    photo_face,
    place_face,
)
from microexp.synthetic.render import au_region_mask, render_frame
from microexp.synthetic.sensor import (
    ColorSensorParams,
    DepthSensorParams,
    capture_color,
    capture_depth,
    depth_noise_std_mm,
    standard_normal,
)

SEED = 20240611
NO_AU = np.zeros(len(AU_NAMES))


def rigid(angles_deg: tuple[float, float, float], shift_mm, pivot_mm) -> np.ndarray:
    """Rotation by a rotation vector (degrees) about ``pivot_mm``, then a translation."""
    rotation, _ = cv2.Rodrigues(np.deg2rad(np.asarray(angles_deg, dtype=np.float64)))
    motion = np.eye(4)
    motion[:3, :3] = rotation
    motion[:3, 3] = pivot_mm - rotation @ pivot_mm + np.asarray(shift_mm, dtype=np.float64)
    return motion


def apex(name: str, intensity: float = 1.0) -> np.ndarray:
    a = NO_AU.copy()
    a[AU_NAMES.index(name)] = intensity
    return a


@pytest.fixture(scope="module")
def subject():
    return make_subject(2, SEED)


@pytest.fixture(scope="module")
def neutral(subject):
    return render_frame(subject, NO_AU)


def head_pivot(subject) -> np.ndarray:
    return subject.neutral_landmarks3d[30] + np.array([0.0, 0.0, 90.0])


# --- camera ---------------------------------------------------------------------------------


def test_camera_is_d415_like_and_projection_round_trips():
    k = D415_COLOR
    assert (k.width, k.height) == (848, 480)
    assert abs(k.cx - 424) < 10 and abs(k.cy - 240) < 10 and k.fx == k.fy == 600.0
    rng = np.random.default_rng(0)
    uv = rng.uniform([0, 0], [848, 480], size=(50, 2))
    z = rng.uniform(300, 2000, 50)
    points = k.deproject(uv, z)
    np.testing.assert_allclose(points[:, 2], z)
    np.testing.assert_allclose(k.project(points), uv, atol=1e-9)
    np.testing.assert_allclose(k.project(np.array([[0.0, 0.0, 500.0]])), [[k.cx, k.cy]])


# --- subjects -------------------------------------------------------------------------------


def test_subjects_are_deterministic_and_distinct(subject):
    again = make_subject(2, SEED)
    for name in ("texture", "alpha", "depth_mm", "background_color", "background_depth_mm"):
        np.testing.assert_array_equal(getattr(again, name), getattr(subject, name), err_msg=name)
    np.testing.assert_array_equal(again.neutral_landmarks2d, subject.neutral_landmarks2d)
    np.testing.assert_array_equal(again.au_gain, subject.au_gain)
    motion = rigid((0.5, -1.0, 0.3), (1.0, 0.0, -1.0), head_pivot(subject))
    a = apex("AU12", 0.7) + apex(BLINK_AU, 0.5)
    first, second = render_frame(subject, a, motion), render_frame(again, a, motion)
    np.testing.assert_array_equal(first.color, second.color)
    np.testing.assert_array_equal(first.depth_mm, second.depth_mm)

    other = make_subject(3, SEED)
    assert np.abs(other.neutral_landmarks2d - subject.neutral_landmarks2d).max() > 5.0
    assert other.distance_mm != subject.distance_mm
    assert not np.array_equal(other.au_gain, subject.au_gain)
    assert np.all((subject.au_gain >= 0.6) & (subject.au_gain <= 1.0))
    assert subject.au_gain.shape == (len(AU_NAMES),)
    reseeded = make_subject(2, SEED + 1)
    assert np.abs(reseeded.neutral_landmarks2d - subject.neutral_landmarks2d).max() > 5.0


def test_photo_landmarks_are_the_astronaut_face():
    photo = photo_face()
    lm = photo.landmarks
    # dlib's box on skimage.data.astronaut() is about x 175-265, y 76-166.
    assert 170 < lm[:, 0].min() < 190 and 260 < lm[:, 0].max() < 280
    assert 80 < lm[:, 1].min() < 100 and 165 < lm[:, 1].max() < 190
    assert 22 < np.hypot(*(lm[42] - lm[39])) < 28


@pytest.mark.parametrize("index", [0, 1, 4])
def test_face_distance_size_and_shape_are_plausible(index):
    s = make_subject(index, SEED)
    assert 400.0 <= s.distance_mm <= 700.0
    lm3 = s.neutral_landmarks3d
    # Face width in the image: fx * ~140 mm / z.
    width_mm = s.face_width_px * (s.distance_mm + 30.0) / s.intrinsics.fx
    assert 120.0 < width_mm < 160.0
    assert abs(lm3[30, 2] - s.distance_mm) < 0.5  # the nose tip sits at the subject's distance
    assert np.argmin(lm3[:, 2]) in (30, 29, 33, 31, 35)  # the nose is nearest to the camera
    # Depths behind the nose tip (mm), adult anthropometric ranges.
    behind = lm3[:, 2] - lm3[30, 2]
    assert 25.0 < behind[[39, 42]].mean() < 42.0  # inner eye corners
    assert 40.0 < behind[[36, 45]].mean() < 65.0  # outer eye corners
    assert 8.0 < behind[33] < 25.0  # subnasale
    assert 65.0 < behind[[0, 16]].mean() < 120.0  # the face outline at eye level
    # Eye sockets are deeper than the brows above them.
    assert behind[36:48].mean() > behind[[20, 21, 22, 23]].mean() + 5.0
    assert 110.0 < np.linalg.norm(lm3[16] - lm3[0]) < 180.0


def test_depth_under_landmarks_is_their_z_and_landmarks3d_deproject_them(subject, neutral):
    motion = rigid((1.0, -1.5, 0.5), (2.0, -1.0, 1.5), head_pivot(subject))
    frames = [
        neutral,
        render_frame(subject, apex("AU12") + apex("AU4") + apex(BLINK_AU)),
        render_frame(subject, apex("AU17") + apex("AU6", 0.5), motion),
    ]
    k = subject.intrinsics
    for frame in frames:
        z = frame.landmarks3d[:, 2]
        np.testing.assert_allclose(
            frame.landmarks3d, k.deproject(frame.landmarks2d, z), rtol=0, atol=1e-9
        )
        under = bilinear_sample(frame.depth_mm, frame.landmarks2d)
        assert np.abs(under - z).max() < 0.5, np.abs(under - z).max()


def test_head_silhouette_is_a_depth_discontinuity_to_the_wall(subject, neutral):
    lm = neutral.landmarks2d
    row = neutral.depth_mm[round(lm[36:48, 1].mean())]
    face = round(lm[30, 0])
    assert row[face] < subject.distance_mm + 40
    wall = 1200.0
    assert row[0] > wall and row[-1] > wall
    jumps = np.abs(np.diff(row))
    left, right = jumps[:face], jumps[face:]
    assert left.max() > 400.0 and right.max() > 400.0  # head -> wall at both sides


# --- Action Units ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", AU_NAMES)
def test_au_regions_move_and_nothing_else_does(subject, neutral, name):
    frame = render_frame(subject, apex(name))
    moved = np.linalg.norm(frame.landmarks2d - neutral.landmarks2d, axis=1)
    listed = list(AU_LANDMARKS[name])
    others = [i for i in range(68) if i not in AU_LANDMARKS[name]]
    assert moved[others].max() < 1e-9, [i for i in others if moved[i] > 1e-9]
    np.testing.assert_allclose(
        frame.landmarks3d[others], neutral.landmarks3d[others], rtol=0, atol=1e-9
    )

    region = au_region_mask(subject, name)
    changed = np.any(frame.color != neutral.color, axis=2)
    assert changed.any()
    assert not changed[~region].any(), "pixels changed outside the AU's region"
    depth_change = np.abs(frame.depth_mm - neutral.depth_mm)
    assert depth_change[~region].max() == 0.0

    if name == BLINK_AU:
        # The upper lid comes down onto the lower lid.
        for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
            gap = np.linalg.norm(frame.landmarks2d[upper] - frame.landmarks2d[lower])
            opening = np.linalg.norm(neutral.landmarks2d[upper] - neutral.landmarks2d[lower])
            assert gap < 0.15 * opening and moved[upper] > 3.0
        assert depth_change.max() == 0.0
        return
    assert 0.5 < moved[listed].max() <= 4.0
    field = subject.au_fields[name]
    assert 1.0 <= np.hypot(field.dx, field.dy).max() <= 4.0  # px at intensity 1
    assert 0.3 <= depth_change.max() <= 2.0  # mm at intensity 1


def test_au_supports_avoid_other_landmarks_for_any_subject():
    """The locality above holds for every face shape the subject generator can draw."""
    photo = photo_face()
    k = D415_COLOR
    for i in range(60):
        params = draw_subject_parameters(np.random.default_rng((7, i)), k)
        landmarks = place_face(params, k, photo.landmarks).landmarks2d
        frame = face_frame(landmarks)
        assert 45.0 < frame.iod_px < 95.0
        face = frame.to_face(landmarks)
        for name, bumps in AU_BUMPS.items():
            weight = sum(bump_weight(face, bump_centre(b, face), b) for b in bumps)
            others = [j for j in range(68) if j not in AU_LANDMARKS[name]]
            assert np.all(weight[others] == 0.0), (i, name)


def test_intensities_combine_additively_and_are_validated(subject, neutral):
    def displacement(a):
        return render_frame(subject, a).landmarks2d - neutral.landmarks2d

    both = displacement(apex("AU1") + apex("AU2"))
    np.testing.assert_allclose(both, displacement(apex("AU1")) + displacement(apex("AU2")))
    np.testing.assert_allclose(displacement(apex("AU12", 0.4)), 0.4 * displacement(apex("AU12")))
    with pytest.raises(ValueError):
        render_frame(subject, apex("AU12", 1.5))
    with pytest.raises(ValueError):
        render_frame(subject, NO_AU[:-1])


# --- rigid head motion ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "angles, shift",
    [((0.0, 2.0, 0.0), (0.0, 0.0, 0.0)), ((1.2, -1.2, 1.0), (3.0, -2.0, 3.0))],
)
def test_rendered_depth_follows_the_head_motion(subject, neutral, angles, shift):
    motion = rigid(angles, shift, head_pivot(subject))
    frame = render_frame(subject, NO_AU, motion)
    inverse = np.linalg.inv(motion)
    np.testing.assert_allclose(
        frame.landmarks3d @ inverse[:3, :3].T + inverse[:3, 3], neutral.landmarks3d, atol=1e-9
    )
    # Face pixels of frame t, moved back by the inverse motion, lie on frame 0's surface.
    hull = np.zeros(frame.depth_mm.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(frame.landmarks2d).astype(np.int32)), 1)
    ys, xs = np.nonzero(cv2.erode(hull, np.ones((5, 5), np.uint8)))
    k = subject.intrinsics
    points = k.deproject(np.stack([xs, ys], axis=1), frame.depth_mm[ys, xs])
    back = points @ inverse[:3, :3].T + inverse[:3, 3]
    surface = bilinear_sample(neutral.depth_mm, k.project(back))
    error = np.abs(surface - back[:, 2])
    assert np.median(error) < 0.05 and np.percentile(error, 99) < 0.5, error.max()
    # The head moved in the image while the wall did not.
    assert np.abs(frame.landmarks2d - neutral.landmarks2d).max() > 2.0
    np.testing.assert_array_equal(frame.depth_mm[:, :5], neutral.depth_mm[:, :5])


# --- sensor ---------------------------------------------------------------------------------


def test_standard_normal_deviates_follow_the_normal_distribution():
    n = 2_000_000
    deviates = standard_normal(np.random.default_rng(5), (n,))
    assert deviates.dtype == np.float32 and deviates.shape == (n,)
    x = deviates.astype(np.float64)
    # Probabilities of intervals against the normal CDF (Phi(-3), Phi(-2), ..., Phi(3)), within
    # four binomial standard errors plus the sampler's 2^-16 resolution.
    phi = {-3.0: 0.0013499, -2.0: 0.0227501, -1.0: 0.1586553, 0.0: 0.5, 1.0: 0.8413447,
           2.0: 0.9772499, 3.0: 0.9986501}  # fmt: skip
    for point, expected in phi.items():
        share = np.mean(x <= point)
        assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 2**-16
    assert abs(x.mean()) < 4 / np.sqrt(n)
    assert x.var() == pytest.approx(1.0, abs=4 * np.sqrt(2 / n))
    assert np.mean(x**4) == pytest.approx(3.0, abs=0.02)  # normal kurtosis
    assert np.abs(x).max() < 4.33  # the 2^16 cells' outermost quantile is 4.32
    first = standard_normal(np.random.default_rng(6), (3, 4))
    np.testing.assert_array_equal(first, standard_normal(np.random.default_rng(6), (3, 4)))


def test_depth_noise_grows_with_distance_squared():
    params = DepthSensorParams()
    assert depth_noise_std_mm(np.array(500.0), params) == pytest.approx(0.606, abs=0.01)
    assert depth_noise_std_mm(np.array(700.0), params) == pytest.approx(1.19, abs=0.02)
    rng = np.random.default_rng(1)
    gray = np.full((200, 300, 3), 150, np.uint8)
    stds = {}
    for z in (500.0, 700.0):
        plane = np.full((200, 300), z, np.float32)
        captured = capture_depth(plane, gray, rng, params)
        assert captured.dtype == np.uint16
        valid = captured > 0
        assert valid.mean() > 0.95
        error = captured[valid].astype(np.float64) - z
        assert abs(error.mean()) < 0.05
        stds[z] = error.std()
    # Quantisation to 1 mm adds 1/12 mm^2 of variance to the sub-pixel disparity noise.
    assert stds[500.0] == pytest.approx(np.sqrt(0.606**2 + 1 / 12), rel=0.1)
    assert stds[700.0] == pytest.approx(np.sqrt(1.19**2 + 1 / 12), rel=0.1)
    assert stds[700.0] / stds[500.0] > 1.6


def test_depth_is_quantised_and_has_holes_at_silhouettes_and_dark_regions(subject, neutral):
    rng = np.random.default_rng(2)
    captured = capture_depth(neutral.depth_mm, neutral.color, rng)
    assert captured.dtype == np.uint16
    truth = neutral.depth_mm
    valid = captured > 0
    assert np.abs(captured[valid] - truth[valid]).max() < 30.0  # mm, at <= 1.6 m

    # Silhouette: the pixels right next to a large depth step are mostly lost.
    step = np.zeros(truth.shape, bool)
    jump = np.abs(np.diff(truth, axis=1)) > 100.0
    step[:, 1:] |= jump
    step[:, :-1] |= jump
    assert (~valid[step]).mean() > 0.8
    # The stereo shadow: a band left of the head, as wide as the disparity jump (~30 px).
    row = round(neutral.landmarks2d[36:48, 1].mean())
    head_left = int(np.argmax(truth[row] < subject.distance_mm + 200))
    assert (~valid[row, head_left - 15 : head_left]).all()
    # Inside the face, away from edges and dark features, almost everything is measured.
    hull = np.zeros(truth.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(neutral.landmarks2d).astype(np.int32)), 1)
    face = cv2.erode(hull, np.ones((9, 9), np.uint8)) > 0
    assert valid[face].mean() > 0.9

    dark = np.zeros((100, 200, 3), np.uint8)
    bright = np.full((100, 200, 3), 200, np.uint8)
    plane = np.full((100, 200), 600.0, np.float32)
    no_dropouts = DepthSensorParams(dropout_blobs_per_frame=0.0)
    assert (capture_depth(plane, dark, rng, no_dropouts) == 0).mean() > 0.4
    assert (capture_depth(plane, bright, rng, no_dropouts) == 0).mean() == 0.0


def test_color_noise_is_gaussian_plus_shot_noise_and_reproducible():
    params = ColorSensorParams()
    images = {level: np.full((120, 160, 3), level, np.uint8) for level in (30, 200)}
    stds = {}
    for level, image in images.items():
        captured = capture_color(image, np.random.default_rng(3), params)
        assert captured.dtype == np.uint8
        error = captured.astype(np.float64) - level
        assert abs(error.mean()) < 0.1
        stds[level] = error.std()
        expected = np.sqrt(params.read_noise_dn**2 + params.shot_noise_gain * level)
        assert stds[level] == pytest.approx(np.sqrt(expected**2 + 1 / 12), rel=0.1)
    assert stds[200] > 1.5 * stds[30]
    first = capture_color(images[200], np.random.default_rng(4))
    np.testing.assert_array_equal(first, capture_color(images[200], np.random.default_rng(4)))


def test_subject_does_not_depend_on_opencv_thread_count():
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        single = make_subject(5, SEED)
    finally:
        cv2.setNumThreads(threads)
    parallel = make_subject(5, SEED)
    for name in ("texture", "alpha", "depth_mm", "background_color", "background_depth_mm"):
        np.testing.assert_array_equal(getattr(single, name), getattr(parallel, name), err_msg=name)


def test_the_feature_landmarks_fit_in_the_dsme3d_face_crop():
    """DSME-3D crops the face cloud to 100 mm around the nose tip and computes curvature
    around 23 landmarks (brows, eyes, nose, mouth): they must lie inside that sphere."""
    landmarks23 = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 36, 39, 42, 45, 30, 31, 35, 48, 54,
                   51, 57, 50, 52]  # fmt: skip
    for index in range(16):
        lm3 = make_subject(index, SEED).neutral_landmarks3d
        distance = np.linalg.norm(lm3[landmarks23] - lm3[30], axis=1)
        assert distance.max() < 100.0, (index, distance.max())
