"""Synthetic generation's writers and per-job shortcuts: the PLY clouds of a frame folder are
the deprojected depth of the head region with its colours, readable by Open3D; a subject built
from landmarks calibrated earlier (the run's photo_landmarks file) is the subject built with
its own calibration."""

from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest

from microexp.camera import Intrinsics
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.face import make_subject, photo_face
from microexp.synthetic.generate import SyntheticFrame, write_point_cloud
from microexp.synthetic.photo import photo_face_from_landmarks

SEED = 20240611


def test_point_cloud_is_the_deprojected_head_box_with_its_colours(tmp_path):
    intrinsics = Intrinsics(width=64, height=48, fx=50.0, fy=40.0, cx=31.5, cy=23.5)
    depth = np.full((48, 64), 500, np.uint16)  # depth units of 0.001 m: 500 mm
    depth[20, 30] = 0  # no data: no point
    color = np.zeros((48, 64, 3), np.uint8)
    v, u = np.mgrid[0:48, 0:64]
    color[..., 0], color[..., 1], color[..., 2] = u * 3, v * 5, 7
    # landmarks spanning x 20-40, y 10-30; margin 0.2 grows the box by 4 px: x 16-44, y 6-34
    landmarks = np.array([[20.0, 10.0], [40.0, 30.0]])
    frame = SyntheticFrame(
        0, 0.0, color, depth, landmarks, np.zeros((2, 3)), np.eye(4), np.zeros(len(AU_NAMES))
    )
    path = tmp_path / "cloud.ply"
    count = write_point_cloud(path, frame, intrinsics, depth_scale=0.001)
    assert count == 29 * 29 - 1

    header = path.read_bytes().split(b"end_header\n")[0].decode()
    assert "format binary_little_endian 1.0" in header
    assert "element vertex 840" in header
    for line in ("property double x", "property double z", "property uchar red"):
        assert line in header
    cloud = o3d.io.read_point_cloud(str(path))
    points, colors = np.asarray(cloud.points), np.asarray(cloud.colors)
    inside = np.zeros((48, 64), bool)
    inside[6:35, 16:45] = True
    inside[20, 30] = False
    uu, vv = u[inside].astype(np.float64), v[inside].astype(np.float64)
    # z = 500 mm; x = (u - cx) z / fx; y = (v - cy) z / fy, in row-major order
    expected = np.stack([(uu - 31.5) * 500 / 50, (vv - 23.5) * 500 / 40, np.full(840, 500.0)], 1)
    np.testing.assert_allclose(points, expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.round(colors * 255), color[inside])


def test_subject_from_calibrated_landmarks_is_the_subject():
    photo = photo_face()
    again = photo_face_from_landmarks(np.array(photo.landmarks))
    for name in ("image", "landmarks", "head_mask", "skin_weight", "hair_weight", "skin_rgb"):
        np.testing.assert_array_equal(getattr(again, name), getattr(photo, name), err_msg=name)
    built, reused = make_subject(4, SEED), make_subject(4, SEED, photo=again)
    for name in ("texture", "alpha", "depth_mm", "background_color", "neutral_landmarks2d"):
        np.testing.assert_array_equal(getattr(reused, name), getattr(built, name), err_msg=name)
    with pytest.raises(ValueError, match="68 finite"):
        photo_face_from_landmarks(np.zeros((67, 2)))
    with pytest.raises(ValueError, match="68 finite"):
        photo_face_from_landmarks(np.full((68, 2), np.nan))
