"""The 3D face stage against exact truth, its file contract and its failures
(docs/methods.md#3d-face).

The phantom (microexp.testing.phantom) is a face-like surface at ~550 mm, ray-cast through the
camera under known rigid head motions (<= 2 deg, <= 3 mm, about a pivot 90 mm behind the face)
with D415-like noise (0.6 mm), 1 mm quantisation, dropout holes and 0.7 px landmark jitter.
Recovered transforms must match the truth to < 0.3 deg and < 0.5 mm (translation measured at the
nose tip, where it matters); the landmark-only pose is ~1-2 deg off on these clips, so a skipped
or broken ICP fails.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from microexp.cloud3d.deproject import Intrinsics
from microexp.cloud3d.filters import DepthFilterParams, HoleFillingParams, TemporalFilterParams
from microexp.cloud3d.icp import IcpParams, apply_transform, rotation_angle_deg
from microexp.cloud3d.qc import plot_cloud3d_qc
from microexp.cloud3d.result import load_cloud3d, save_cloud3d
from microexp.cloud3d.stage import Cloud3DParams, process_clip, write_ply
from microexp.failures import SampleFailure
from microexp.synthetic.motion import HeadTrajectory
from microexp.testing.phantom import FacePhantom, random_motions, render_phantom_clip

CAMERA = Intrinsics(848, 480, 600.0, 600.0, 423.5, 239.5)
PHANTOM = FacePhantom()
FPS = 60.0
NO_TEMPORAL = Cloud3DParams(filters=DepthFilterParams(temporal=TemporalFilterParams(enabled=False)))


def pose_errors(transforms: np.ndarray, truth: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(T, 2) rotation error (deg) and translation error (mm) at the point `at`."""
    out = []
    for est, true in zip(transforms, truth, strict=True):
        delta = est @ np.linalg.inv(true)
        moved = apply_transform(delta, at[None])[0]
        out.append((rotation_angle_deg(delta), float(np.linalg.norm(moved - at))))
    return np.array(out)


def run(clip, params=None, **kwargs):
    return process_clip(
        clip.color, clip.depth, clip.landmarks2d, CAMERA, clip.depth_scale, params, **kwargs
    )


@pytest.fixture(scope="module")
def jump_clip():
    """Independent random poses per frame, up to 2 deg and 3 mm from the first."""
    motions = random_motions(np.random.default_rng(7), 6, 2.0, 3.0, PHANTOM.pivot)
    return render_phantom_clip(motions, CAMERA, seed=17)


@pytest.fixture(scope="module")
def smooth_clip():
    """A smooth 60 fps head trajectory at the synthetic data set's largest amplitude.

    Over these 20 frames the head turns by up to 1.65 deg, at up to 0.11 deg per frame.
    """
    rng = np.random.default_rng(1)
    drawn = HeadTrajectory.draw(rng, 2.0, 3.0)
    trajectory = HeadTrajectory(1.0, drawn.frequencies_hz, drawn.phases, 2.0, 3.0)
    motions = trajectory.motions(np.arange(20) / FPS, PHANTOM.pivot)
    return render_phantom_clip(motions, CAMERA, seed=13)


@pytest.fixture(scope="module")
def smooth_result(smooth_clip):
    return run(smooth_clip, qc_frame=2)


@pytest.fixture(scope="module")
def static_clip():
    return render_phantom_clip(np.tile(np.eye(4), (3, 1, 1)), CAMERA, seed=5)


def test_recovers_known_head_motions(jump_clip):
    # Per-frame jumps of up to 2 deg are far beyond what a temporal filter may average over
    # (it would blend poses), so this test isolates registration with it off.
    result = run(jump_clip, NO_TEMPORAL)
    nose = jump_clip.truth_landmarks3d[0, 30]
    errors = pose_errors(result.transforms, jump_clip.truth_transforms, nose)
    assert errors[:, 0].max() < 0.3 and errors[:, 1].max() < 0.5, errors
    # the motions were real and the landmark pose alone is not good enough
    assert max(rotation_angle_deg(t) for t in jump_clip.truth_transforms) > 1.0
    lm_only = pose_errors(result.landmark_transforms[1:], jump_clip.truth_transforms[1:], nose)
    assert lm_only[:, 0].max() > 2 * errors[:, 0].max()
    # registered landmarks land on frame 0's
    gap = np.linalg.norm(result.landmarks3d - jump_clip.truth_landmarks3d[0][None], axis=2)
    assert np.nanmedian(gap) < 1.5
    assert np.all(result.fitness > 0.9) and np.all(result.inlier_rmse < 1.0)


def test_smooth_motion_with_the_full_default_filter_chain(smooth_clip, smooth_result):
    # Default chain, temporal filter included: its lag over a smooth trajectory costs
    # some accuracy, which must stay within the same bounds.
    nose = smooth_clip.truth_landmarks3d[0, 30]
    assert max(rotation_angle_deg(t) for t in smooth_clip.truth_transforms) > 1.5
    errors = pose_errors(smooth_result.transforms, smooth_clip.truth_transforms, nose)
    assert errors[:, 0].max() < 0.3 and errors[:, 1].max() < 0.5, errors
    gap = np.linalg.norm(smooth_result.landmarks3d - smooth_clip.truth_landmarks3d[0][None], axis=2)
    assert np.nanmedian(gap) < 1.5


def test_identity_motion_gives_identity(static_clip):
    result = run(static_clip)
    nose = static_clip.truth_landmarks3d[0, 30]
    errors = pose_errors(result.transforms, np.tile(np.eye(4), (3, 1, 1)), nose)
    assert errors[:, 0].max() < 0.1 and errors[:, 1].max() < 0.15
    np.testing.assert_array_equal(result.transforms[0], np.eye(4))


def test_result_layout_and_file_round_trip(smooth_result, tmp_path):
    r = smooth_result
    n = r.n_frames
    assert r.offsets.shape == (n + 1,) and r.offsets[0] == 0 and r.offsets[-1] == len(r.points)
    assert r.points.dtype == np.float32 and r.colors.dtype == np.uint8
    assert r.landmarks3d.shape == (n, 68, 3) and r.transforms.shape == (n, 4, 4)
    assert r.fitness.shape == r.inlier_rmse.shape == (n,)
    # every kept point is within the crop sphere of its frame's registered nose tip
    for t in range(n):
        pts = r.frame_points(t)
        assert len(pts) == r.face_point_count[t] > 5000
        nose = r.landmarks3d[t, 30]
        assert np.linalg.norm(pts - nose, axis=1).max() <= 100.0 + 1e-2
    assert r.qc_frame == 2 and r.qc_depth_raw.shape == r.qc_depth_filtered.shape
    assert (r.qc_depth_filtered == 0).mean() < (r.qc_depth_raw == 0).mean()
    assert json.loads(r.params_json)["crop_radius_mm"] == 100.0

    path = tmp_path / "cloud3d" / "1_1.npz"
    save_cloud3d(path, r)
    back = load_cloud3d(path)
    for name in (
        "points",
        "offsets",
        "colors",
        "landmarks3d",
        "transforms",
        "fitness",
        "inlier_rmse",
        "qc_depth_raw",
        "qc_box",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(r, name))
    assert back.params_json == r.params_json and back.qc_frame == 2

    ply = tmp_path / "onset.ply"
    write_ply(ply, r.frame_points(0), r.frame_colors(0))
    assert ply.read_bytes().startswith(b"ply") and ply.stat().st_size > 12 * len(r.frame_points(0))

    png = tmp_path / "qc.png"
    plot_cloud3d_qc(png, r, title="synthetic 1_1")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_keep_points_and_determinism(static_clip):
    a = run(static_clip, keep_points=[0, 2])
    b = run(static_clip, keep_points=[0, 2])
    assert np.diff(a.offsets)[1] == 0 and np.diff(a.offsets)[2] > 0
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.transforms, b.transforms)


def test_params_from_config():
    p = Cloud3DParams.from_config(
        {"crop_radius_mm": 90, "filters": {"temporal": {"enabled": False}}, "icp": {"voxel_mm": 2}}
    )
    assert p.crop_radius_mm == 90 and not p.filters.temporal.enabled and p.icp.voxel_mm == 2
    with pytest.raises(ValueError, match="unknown cloud3d"):
        Cloud3DParams.from_config({"radius": 90})


# ------------------------------------------------------------------------------ bad input


def expect_failure(clip, frame, match, params=None, depth=None, landmarks=None):
    with pytest.raises(SampleFailure, match=match) as info:
        process_clip(
            clip.color,
            clip.depth if depth is None else depth,
            clip.landmarks2d if landmarks is None else landmarks,
            CAMERA,
            clip.depth_scale,
            params,
        )
    assert info.value.details["frame"] == frame
    if frame is not None:
        assert f"frame {frame}" in str(info.value)
    return info.value


def test_missing_depth_fails(static_clip):
    expect_failure(static_clip, None, "no depth frames", depth=np.zeros((0, 480, 848), np.uint16))
    depth = static_clip.depth.copy()
    depth[1] = 0  # a frame without any depth
    expect_failure(static_clip, 1, "depth mostly missing at the face", depth=depth)


def test_face_mostly_holes_fails(static_clip):
    depth = static_clip.depth.copy()
    holes = np.random.default_rng(0).random(depth.shape[1:]) < 0.7
    depth[2][holes] = 0  # hole filling would paper over this: the raw depth is checked
    error = expect_failure(static_clip, 2, "depth mostly missing", depth=depth)
    assert error.details["hole_fraction"] > 0.6


def test_too_few_face_points_fails(static_clip):
    expect_failure(static_clip, 0, "only .* points", Cloud3DParams(min_face_points=10**6))


def test_nose_without_depth_fails(static_clip):
    depth = static_clip.depth.copy()
    u, v = np.round(static_clip.landmarks2d[1, 30]).astype(int)
    depth[1, v - 6 : v + 7, u - 6 : u + 7] = 0
    no_hole_filling = Cloud3DParams(
        filters=DepthFilterParams(hole_filling=HoleFillingParams(enabled=False))
    )
    expect_failure(static_clip, 1, "no depth under the nose tip", no_hole_filling, depth=depth)
    landmarks = static_clip.landmarks2d.copy()
    landmarks[2, 30] = np.nan  # the 2D stage lost the nose tip
    expect_failure(static_clip, 2, "nose tip", landmarks=landmarks)


def test_icp_onto_the_wrong_surface_fails(static_clip):
    depth = static_clip.depth.copy()
    nose_depth = int(np.median(depth[0][depth[0] > 0]))
    depth[2] = np.where(depth[2] > 0, nose_depth, 0)  # a flat wall where the face was
    expect_failure(static_clip, 2, "ICP did not converge", NO_TEMPORAL, depth=depth)


def test_icp_far_from_the_landmark_pose_fails(static_clip):
    landmarks = static_clip.landmarks2d.copy()
    landmarks[1, [36, 39]] += [0.0, 12.0]  # the left eye corners jump 12 px down in frame 1
    error = expect_failure(
        static_clip,
        1,
        "from the landmark pose",
        Cloud3DParams(icp=IcpParams(landmark_init=False)),
        landmarks=landmarks,
    )
    assert error.details["rotation_disagreement_deg"] > 5.0 or (
        error.details["landmark_disagreement_mm"] > 6.0
    )
