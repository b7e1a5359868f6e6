"""Rigid registration to the first frame (docs/methods.md#3d-face; DSME-3D 4.1.2)."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.cloud3d.crop import crop_face
from microexp.cloud3d.deproject import Intrinsics, pixel_rays
from microexp.cloud3d.icp import (
    IcpParams,
    apply_transform,
    icp_disagreement,
    kabsch_transform,
    landmark_pose,
    reference_cloud,
    register_icp,
    rotation_angle_deg,
    source_cloud,
)
from microexp.cloud3d.landmarks3d import NOSE_TIP
from microexp.synthetic.motion import rigid_motion
from microexp.testing.phantom import FacePhantom

PINHOLE = Intrinsics(848, 480, 600.0, 600.0, 423.5, 239.5)
PHANTOM = FacePhantom()


def residual(estimate: np.ndarray, truth: np.ndarray, at: np.ndarray) -> tuple[float, float]:
    """Rotation (deg) and translation (mm, evaluated at the face point `at`) of est * truth^-1."""
    delta = estimate @ np.linalg.inv(truth)
    return rotation_angle_deg(delta), float(
        np.linalg.norm(apply_transform(delta, at[None])[0] - at)
    )


@pytest.fixture(scope="module")
def face_clouds():
    """Exact (noise-free) face crops of the phantom at rest and after a known head motion."""
    rays = pixel_rays(PINHOLE)
    motion = rigid_motion([1.2, -1.5, 0.6], [2.0, -1.5, 1.0], PHANTOM.pivot)
    clouds, noses = [], []
    for m in (np.eye(4), motion):
        depth = PHANTOM.render_depth_mm(m, PINHOLE, rays).astype(np.float32)
        nose = apply_transform(m, PHANTOM.landmarks()[NOSE_TIP][None])[0]
        clouds.append(crop_face(depth, rays, nose, 100.0, PINHOLE)[0])
        noses.append(nose)
    truth = np.linalg.inv(motion)  # frame-1 points back onto frame 0
    return clouds, noses, truth, motion


def test_kabsch_recovers_a_rigid_transform_and_never_reflects():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(8, 3)) * 40 + [0, 0, 550]
    truth = rigid_motion([3.0, -2.0, 10.0], [4.0, 5.0, -6.0], np.array([0, 0, 640.0]))
    est = kabsch_transform(src, apply_transform(truth, src))
    np.testing.assert_allclose(est, truth, atol=1e-9)
    # coplanar points (a degenerate covariance) still give a proper rotation
    flat = src.copy()
    flat[:, 2] = 550.0
    est = kabsch_transform(flat, apply_transform(truth, flat))
    assert np.linalg.det(est[:3, :3]) == pytest.approx(1.0)
    np.testing.assert_allclose(est, truth, atol=1e-9)


def test_landmark_pose_uses_only_valid_stable_landmarks():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(68, 3)) * 40 + [0, 0, 550]
    truth = rigid_motion([1.0, 0.5, -0.5], [1.0, 2.0, 0.0], np.array([0, 0, 640.0]))
    moved = apply_transform(np.linalg.inv(truth), ref)
    moved[48:68] += 25.0  # the mouth moves with the expression: it must not matter
    moved[36] = np.nan  # an eye corner without depth is left out
    np.testing.assert_allclose(landmark_pose(moved, ref), truth, atol=1e-9)
    moved[[27, 28, 29, 30, 39, 42]] = np.nan
    assert landmark_pose(moved, ref) is None  # fewer than 3 stable landmarks


def test_reference_normals_face_the_camera(face_clouds):
    clouds, *_ = face_clouds
    for voxel in (0.0, 1.5):
        ref = reference_cloud(clouds[0], IcpParams(reference_voxel_mm=voxel))
        normals, points = np.asarray(ref.normals), np.asarray(ref.points)
        assert len(normals) == len(points) > (len(clouds[0]) if voxel == 0 else 5000) - 1
        assert np.all(np.einsum("ij,ij->i", normals, points) < 0)
        np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-9)


@pytest.mark.parametrize("init", ["identity", "landmarks"])
def test_point_to_plane_icp_recovers_a_known_motion(face_clouds, init):
    clouds, noses, truth, _ = face_clouds
    params = IcpParams()
    start = np.eye(4)
    if init == "landmarks":
        # a coarse start 1 deg / 2 mm off, as noisy landmarks give
        start = rigid_motion([0.6, 0.6, -0.5], [1.5, -1.0, 0.8], noses[0]) @ truth
    result = register_icp(
        source_cloud(clouds[1], params), reference_cloud(clouds[0], params), start, params
    )
    rot, trans = residual(result.transform, truth, noses[0])
    assert rot < 0.05 and trans < 0.05
    assert result.fitness > 0.97 and result.inlier_rmse < 1.0
    # the start really was off, so ICP did the work
    assert residual(start, truth, noses[0])[0] > 0.5


def test_unrelated_surface_gives_low_fitness(face_clouds):
    clouds, noses, *_ = face_clouds
    params = IcpParams()
    xy = np.random.default_rng(2).uniform(-90, 90, (20000, 2))
    wall = np.column_stack([xy, np.full(len(xy), noses[0][2] + 30.0)])
    result = register_icp(
        source_cloud(wall, params), reference_cloud(clouds[0], params), np.eye(4), params
    )
    assert result.fitness < params.min_fitness


def test_disagreement_is_measured_at_the_landmarks():
    pts = np.array([[-45.0, -35, 560], [45, -35, 560], [0, 0, 530]])
    pose = rigid_motion([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], np.zeros(3))
    off = rigid_motion([0.0, 3.0, 0.0], [0.0, 0.0, 0.0], np.array([0, 0, 560.0]))
    angle, gap = icp_disagreement(off, pose, pts)
    assert angle == pytest.approx(3.0)
    expected = np.sqrt(np.mean(np.sum((apply_transform(off, pts) - pts) ** 2, axis=1)))
    assert gap == pytest.approx(expected)
    assert icp_disagreement(pose, pose, pts) == (0.0, 0.0)


def test_params_from_config():
    p = IcpParams.from_config({"voxel_mm": 2.0, "stable_landmarks": [27, 30, 39, 42]})
    assert p.voxel_mm == 2.0 and p.stable_landmarks == (27, 30, 39, 42)
    with pytest.raises(ValueError, match="unknown ICP"):
        IcpParams.from_config({"voxel": 2.0})
    with pytest.raises(ValueError, match="robust_kernel"):
        IcpParams(robust_kernel="cauchy")
