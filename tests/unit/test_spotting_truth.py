"""The spotters against truth on a rendered synthetic long video (whole chain: renderer, sensor
models, face tracking, crops, 3D registration, features, intervals, scoring).

The video: 10 s at 30 fps at half the CAS(ME)^2 camera's resolution (320 x 240, so it renders
in seconds), neutral except for one strong macro-expression (AU6 + AU12, a smile, at intensity
1.8 for 1.2 s) and sensor noise; a still head (no head turn, wobble or drift), no blink.
Everything after the macro's reach (its offset plus two macro windows) is a neutral stretch.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from microexp.cloud3d.icp import IcpParams
from microexp.evaluate.spotting import evaluate_spotting
from microexp.face2d.stage import Face2DParams
from microexp.spotting.signals import spotting_threshold
from microexp.spotting.spotters import intervals_at, method_params, spotting_features
from microexp.spotting.video import VideoFrame, crop_video
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.long_video import (
    CASME_SQ_CAMERA,
    LongEvent,
    LongVideoSettings,
    long_subject,
    plan_long_video,
    render_long_video,
)
from microexp.synthetic.render import MAX_AU_INTENSITY
from microexp.synthetic.schedule import SyntheticSettings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FPS = 30.0
N_FRAMES = 310
MACRO = (90, 105, 125)  # onset, apex, offset (frame numbers from 1)


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture(scope="module")
def video(config):
    """(crops, truth) of the test video."""
    settings = SyntheticSettings.from_config(config)
    camera = {key: value * 0.5 for key, value in CASME_SQ_CAMERA.items()}
    camera["cx"], camera["cy"] = (camera["width"] - 1) / 2, (camera["height"] - 1) / 2
    long = LongVideoSettings(
        subjects=1, duration_s=(8.0, 8.0), drift_mm=0.0, blinks_per_minute=0,
        head_turns_per_minute=0, camera=camera,
    )  # fmt: skip
    subject = long_subject(settings, long, 0)
    onset, apex, offset = MACRO
    aus = ("AU6", "AU12")
    # peak 1.8 after the subject's gain (the renderer's bound)
    peak = {au: MAX_AU_INTENSITY / subject.au_gain[AU_NAMES.index(au)] for au in aus}
    macro = LongEvent("macro", onset, apex, offset, aus, peak)
    plan = plan_long_video(settings, long, 0, 0)
    # a still head: the neutral stretch holds sensor noise and tracking jitter only
    still = dataclasses.replace(plan.trajectory, amplitude=0.0)
    plan = dataclasses.replace(plan, events=(macro,), n_frames=N_FRAMES, trajectory=still)

    def frames():
        for f in render_long_video(plan, settings, subject):
            depth = np.where(f.depth > 0, f.depth.astype(np.float32), np.nan)
            yield VideoFrame(f.frame_number, f.color, depth.astype(np.float32), subject.intrinsics)

    spotting = config["spotting"]
    crops = crop_video(
        frames(),
        Face2DParams.from_config(config["face2d"]),
        grid=tuple(spotting["grid"]),
        icp=IcpParams.from_config({**config["cloud3d"]["icp"], **spotting["icp"]}),
        icp_step=spotting["icp_step"],
    )
    truth = pd.DataFrame(
        [("v", onset, offset, "macro")], columns=["video", "onset", "offset", "expression_type"]
    )
    return crops, truth


def _spot(config, crops, method):
    params = method_params(config["spotting"], method)
    gray = crops.frames_for(params.crop)  # MDMD: the fixed box, as the baseline crops
    result = spotting_features(params, FPS, gray=gray, depth=crops.block_depth)
    intervals = intervals_at(result, params, FPS)
    predictions = intervals.assign(
        video="v",
        onset=crops.frame_numbers[intervals["onset"]],
        offset=crops.frame_numbers[intervals["offset"]],
        peak=crops.frame_numbers[intervals["peak"]],
    )
    return params, result, predictions


def _neutral_start(result) -> int:
    """First frame number of the neutral stretch: past the macro's reach in the macro pass
    (frame i's contrast reads F at i -+ k, and F of frame j reads frames j -+ k)."""
    return MACRO[2] + 2 * result.k["macro"]


def test_the_video_is_tracked_and_registered(video):
    crops, _ = video
    assert crops.face_found.all()
    assert crops.depth_registration == "icp"
    assert np.isfinite(crops.icp_fitness).mean() > 0.95


FIND_CASES = [
    # MDMD reads the fixed-box crops, as the MEGC2020 baseline crops every frame with the box of
    # the first: on the per-frame aligned crops the alignment's residual jitter (0.2-0.7 px of
    # flow everywhere between neutral frames, against ~0.03 px through a fixed box) breaks its
    # run over this macro into pieces of at most 10 frames (docs/methods.md#spotting)
    "mdmd",
    "lbp",
    "depth",
    "lbp_depth",
]


@pytest.mark.parametrize("method", FIND_CASES)
def test_spotters_find_the_macro(config, video, method):
    # each at its configured p (MDMD the baseline's 0.01, the others 0.5), IoU >= 0.5
    crops, truth = video
    _, _, predictions = _spot(config, crops, method)
    macro = predictions[predictions.expression_type == "macro"]
    table = evaluate_spotting(macro[["video", "onset", "offset", "expression_type"]], truth)
    assert table.loc["macro", "tp"] == 1


NEUTRAL_CASES = [
    "mdmd",
    "lbp",
    "lbp_depth",
    # registered depth varies by ~0.2 mm a block and frame, as much as this macro's block-level
    # relief: its macro pass spots noise in the neutral stretch (docs/methods.md#spotting)
    pytest.param("depth", marks=pytest.mark.xfail(strict=True, reason="depth noise")),
]


@pytest.mark.parametrize("method", NEUTRAL_CASES)
def test_no_macro_prediction_in_the_neutral_stretch(config, video, method):
    # the micro pass is not asserted: on a video without micro-expressions its threshold is
    # set by the macro's edges and its relative threshold lets sensor noise through
    crops, _ = video
    _, result, predictions = _spot(config, crops, method)
    macro = predictions[predictions.expression_type == "macro"]
    assert not (macro.peak >= _neutral_start(result)).any()


@pytest.mark.parametrize("method", ["lbp", "lbp_depth"])
def test_neutral_contrast_stays_below_the_threshold(config, video, method):
    # MDMD's p = 0.01 puts its threshold at about the contrast's mean: there runs of noise
    # cross it everywhere and only the macro's run is long enough to be a macro
    crops, _ = video
    params, result, _ = _spot(config, crops, method)
    contrast = result.contrast["macro"]
    threshold = spotting_threshold(contrast, params.p)
    neutral = contrast[crops.frame_numbers >= _neutral_start(result)]
    assert np.isfinite(neutral).sum() >= 20
    assert np.nanmax(neutral) < threshold
