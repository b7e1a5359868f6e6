"""Feature settings: names that are paths, TIM before LBP-TOP, failures named."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.face2d.result import Face2DResult
from microexp.failures import SampleFailure
from microexp.features.blocks import block_features
from microexp.features.lbptop import lbptop
from microexp.features.sample import CurvatureSetting, LbptopSetting, lbptop_integral
from microexp.features.tim import tim


def face2d_with(volume: np.ndarray) -> Face2DResult:
    t = volume.shape[0]
    zeros = np.zeros((t, 68, 2))
    return Face2DResult(
        landmarks68=zeros, landmarks49_index=np.arange(49), detected=np.zeros(t, bool),
        detection_score=np.zeros(t), landmark_jump=np.zeros(t), appearance_ncc=np.ones(t),
        similarity=np.eye(2, 3), crop_box=np.zeros(4), crop_units=np.ones(2),
        crop_transform=np.eye(2, 3), aligned_gray=volume, aligned_landmarks=zeros,
        onset=0, apex=t // 2,
    )  # fmt: skip


def test_setting_names_carry_every_parameter():
    a = LbptopSetting.from_config({"radii": [1, 1, 4]})
    b = LbptopSetting.from_config({"radii": [2, 2, 4], "mapping": "basic", "tim_frames": 120})
    assert a.name == "r1-1-4_p8-8-8_u2_nearest"
    assert b.name == "r2-2-4_p8-8-8_basic_nearest_tim120"
    c = CurvatureSetting.from_config({"radius_curv_mm": 6, "eps_K": 1e-4})
    assert c.name == "rc6_rs15_eh0.01_ek0.0001_d5_m20"
    with pytest.raises(ValueError, match="unknown curvature option"):
        CurvatureSetting.from_config({"radius": 3})


def test_one_block_equals_lbptop_on_the_whole_volume_and_tim_is_applied():
    rng = np.random.default_rng(0)
    volume = rng.integers(0, 256, size=(12, 24, 24), dtype=np.uint8)
    whole = block_features(lbptop_integral(face2d_with(volume), LbptopSetting()), (1, 1), 0)
    assert np.allclose(whole.reshape(3, -1), lbptop(volume, (1, 1, 4)))
    setting = LbptopSetting(tim_frames=30)
    resampled = block_features(lbptop_integral(face2d_with(volume), setting), (1, 1), 0)
    expected = lbptop(tim(volume, 30, dtype=np.uint8), (1, 1, 4))
    assert np.allclose(resampled.reshape(3, -1), expected)
    assert not np.allclose(resampled, whole)


def test_a_clip_too_short_for_rt_is_a_named_sample_failure():
    volume = np.zeros((5, 24, 24), dtype=np.uint8)  # Rt = 4 needs 9 frames
    with pytest.raises(SampleFailure, match="r1-1-4"):
        lbptop_integral(face2d_with(volume), LbptopSetting())
