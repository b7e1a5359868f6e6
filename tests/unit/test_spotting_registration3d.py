"""3D registration for the depth spotter against known head motion and a known surface change
(``microexp.testing.face_surface``: a face-like height field turned about the neck)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("open3d")

from microexp.camera import Intrinsics
from microexp.cloud3d.icp import IcpParams
from microexp.spotting.grid import block_mean_depth
from microexp.spotting.registration3d import FaceSurfaceRegistration
from microexp.testing.face_surface import (
    LANDMARKS_HEAD,
    face_points,
    head_pose,
    project,
    render_depth,
)

CAMERA = Intrinsics(width=320, height=240, fx=400.0, fy=400.0, cx=159.5, cy=119.5)
# image -> 168 x 168 crop of the face region (columns 100..220, rows 60..180)
CROP = np.array([[1.4, 0.0, -100 * 1.4], [0.0, 1.4, -60 * 1.4]])
GRID = (6, 6)


def _frame(yaw: float, bump: float = 0.0, pitch: float = 0.0):
    pose = head_pose(yaw, pitch)
    moved = face_points(bump) @ pose[:3, :3].T + pose[:3, 3]
    marks = LANDMARKS_HEAD @ pose[:3, :3].T + pose[:3, 3]
    return render_depth(moved, CAMERA), project(marks, CAMERA)


def _two_d_blocks(depth: np.ndarray) -> np.ndarray:
    """What the 2D-only path keeps: the depth warped by the crop transform, per block."""
    import cv2

    crop = cv2.warpAffine(depth, CROP, (168, 168), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=np.nan)  # fmt: skip
    return block_mean_depth(crop[None], GRID)[0]


@pytest.fixture(scope="module")
def registered():
    reg = FaceSurfaceRegistration(CAMERA, (168, 168), GRID, IcpParams(), step=3)
    depth0, marks0 = _frame(0.0)
    ref = reg(depth0, CROP, marks0)
    return reg, ref, depth0


def test_reference_frame_is_its_own_registration(registered) -> None:
    _, ref, depth0 = registered
    assert ref.ok and ref.fitness == 1.0
    np.testing.assert_array_equal(ref.transform, np.eye(4))
    finite = np.isfinite(ref.blocks)
    assert finite.sum() >= 30
    # the same surface through the same crop: equal to the 2D path's block means
    np.testing.assert_allclose(ref.blocks[finite], _two_d_blocks(depth0)[finite], atol=0.2)


@pytest.mark.parametrize(("yaw", "pitch"), [(8.0, 0.0), (-6.0, 3.0)])
def test_head_turn_is_removed(registered, yaw: float, pitch: float) -> None:
    reg, ref, _ = registered
    depth, marks = _frame(yaw, pitch=pitch)
    out = reg(depth, CROP, marks)
    assert out.ok
    # the face's points go back where they were (the turn itself is 6-8 degrees, ~15 mm)
    round_trip = out.transform @ head_pose(yaw, pitch)
    back = LANDMARKS_HEAD @ round_trip[:3, :3].T + round_trip[:3, 3]
    assert np.max(np.linalg.norm(back - LANDMARKS_HEAD, axis=1)) < 0.5
    both = np.isfinite(out.blocks) & np.isfinite(ref.blocks)
    assert both.sum() >= 25
    assert np.max(np.abs(out.blocks[both] - ref.blocks[both])) < 0.5
    # without 3D registration the turn moves blocks by millimetres
    two_d = _two_d_blocks(depth)
    both2 = np.isfinite(two_d) & np.isfinite(ref.blocks)
    assert np.max(np.abs(two_d[both2] - ref.blocks[both2])) > 3.0


def test_surface_change_survives_registration(registered) -> None:
    reg, ref, _ = registered
    depth, marks = _frame(8.0, bump=5.0)
    out = reg(depth, CROP, marks)
    assert out.ok
    change = np.abs(out.blocks - ref.blocks)
    # the bump (x = y = 25 mm, ~601 mm away) lands in the crop near column 1.4 * (400 * 25 /
    # 601 + 159.5 - 100) = 107, row 1.4 * (16.6 + 119.5 - 60) = 107: block (3, 3) of 6 x 6
    assert int(np.nanargmax(change)) == 3 * 6 + 3
    assert np.nanmax(change) > 1.0
    others = np.delete(change, [3 * 6 + 3, 3 * 6 + 4, 4 * 6 + 3, 4 * 6 + 4, 2 * 6 + 3, 3 * 6 + 2])
    assert np.nanmax(others) < 0.5


def test_failed_registration_gives_no_blocks(registered) -> None:
    reg, _, _ = registered
    flat = np.full((CAMERA.height, CAMERA.width), 400.0)  # a wall, not the face
    out = reg(flat, CROP, None)
    assert not out.ok and np.isnan(out.blocks).all()


def test_crop_video_registers_depth_in_3d_where_frames_carry_intrinsics() -> None:
    """The face image drifts 0.3 px a frame (the crop follows it) over a head that does not
    move: 3D registration keeps every block's depth where it was, the 2D warp alone reads
    the crop's drift over the sloping surface as depth change."""
    from microexp.face2d.stage import Face2DParams
    from microexp.spotting.video import VideoFrame, crop_video
    from tests.unit.test_video_crops import StubDetector, video

    camera = Intrinsics(width=320, height=320, fx=400.0, fy=400.0, cx=159.5, cy=159.5)
    depth = render_depth(face_points(), camera).astype(np.float32)
    frames, truth = video(n=30, jitter=0.0)
    results = {}
    for mode in ("icp", "2d"):
        with_depth = [VideoFrame(f.frame_number, f.color, depth, camera) for f in frames]
        results[mode] = crop_video(
            iter(with_depth), Face2DParams(), detector=StubDetector(truth),
            smoothing_frames=0, depth_registration=mode,
        )  # fmt: skip
    icp, two_d = results["icp"], results["2d"]
    assert icp.depth_registration == "icp" and two_d.depth_registration == "2d"
    assert icp.icp_fitness is not None and np.all(icp.icp_fitness > 0.9)
    both = np.isfinite(icp.block_depth).all(axis=0) & np.isfinite(two_d.block_depth).all(axis=0)
    assert both.sum() >= 20
    drift_icp = np.abs(icp.block_depth[-1, both] - icp.block_depth[0, both]).max()
    drift_2d = np.abs(two_d.block_depth[-1, both] - two_d.block_depth[0, both]).max()
    # (ICP on a voxel-averaged reference leaves a few hundredths of a degree: ~0.4 mm at the
    # face's edge, below a D415's depth noise at 60 cm)
    assert drift_icp < 0.6
    assert drift_2d > 4.0
