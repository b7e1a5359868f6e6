"""Whole-video ingestion for spotting reads ROS1 `.bag` recordings (SDKs before 2.55) the way it
reads `.db3`: every frame once, in order, depth in mm with NaN where the sensor had no data, and
frames without a face recorded (docs/methods.md#spotting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyrealsense2")

from microexp.face2d.stage import Face2DParams
from microexp.spotting.video import crop_video, iter_recording
from microexp.testing.recordings import fixture_frames, fixture_intrinsics

BAG_FIXTURE = Path(__file__).parents[1] / "fixtures" / "realsense" / "d415_like_64x48.bag"
# What tools/make_bag_fixture.py wrote into the fixture (as tests/unit/test_realsense_io.py).
BAG_N, BAG_W, BAG_H = 8, 64, 48


def test_bag_frames_stream_in_order_with_depth_in_mm() -> None:
    frames = list(iter_recording(BAG_FIXTURE))
    expected = fixture_frames(BAG_N, BAG_W, BAG_H)
    assert [f.frame_number for f in frames] == [e.frame_number for e in expected]
    for got, want in zip(frames, expected, strict=True):
        np.testing.assert_array_equal(got.color, want.color)
        assert got.depth_mm.dtype == np.float32
        no_data = want.depth == 0
        assert no_data.any() and (~no_data).any()  # the fixture has both
        np.testing.assert_array_equal(np.isnan(got.depth_mm), no_data)
        # the fixture's depth unit is 1 mm (depth scale 0.001 m)
        np.testing.assert_array_equal(got.depth_mm[~no_data], want.depth[~no_data])
        assert got.intrinsics == fixture_intrinsics(BAG_W, BAG_H)


def test_bag_without_a_face_records_every_frame_as_faceless() -> None:
    crops = crop_video(iter_recording(BAG_FIXTURE), Face2DParams(), depth_registration="2d")
    expected = [f.frame_number for f in fixture_frames(BAG_N, BAG_W, BAG_H)]
    np.testing.assert_array_equal(crops.frame_numbers, expected)
    assert not crops.face_found.any()
    assert np.isnan(crops.landmarks).all()
    assert crops.gray.shape[0] == BAG_N and crops.gray_fixed.shape[0] == BAG_N
