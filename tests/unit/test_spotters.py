"""Spotters on constructed signals and videos with known intervals."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from microexp.evaluate.spotting import evaluate_spotting
from microexp.features.lbptop import uniform_mapping
from microexp.spotting import (
    contrast,
    intervals_from_peaks,
    intervals_from_runs,
    method_params,
    spot_intervals,
    spot_video,
    spotting_threshold,
    type_by_duration,
)
from microexp.spotting.depth_difference import (
    block_mean_depth,
    combine_features,
    depth_difference_feature,
)
from microexp.spotting.lbp_difference import (
    chi_squared_distance,
    lbp_block_histograms,
    lbp_difference_feature,
)
from microexp.spotting.mdmd import dense_flow, mdmd_feature, mdmd_frame_value

FPS = 30.0


# ---------------------------------------------------------------------------- signal back end


def test_contrast_hand_values():
    f = np.array([0, 0, 4, 0, 0, 2, 2], dtype=float)
    c = contrast(f, 1)
    # C_i = F_i - (F_{i-1} + F_{i+1}) / 2
    np.testing.assert_allclose(c, [np.nan, -2, 4, -2, -1, 1, np.nan])
    np.testing.assert_allclose(contrast(f, 1, clip_negative=True), [np.nan, 0, 4, 0, 0, 1, np.nan])
    assert np.isnan(contrast(f, 4)).all()  # shorter than 2 m + 1


def test_threshold_mean_plus_p_range():
    c = np.array([np.nan, 1.0, 2.0, 3.0, 10.0, np.nan])
    assert spotting_threshold(c, 0.0) == pytest.approx(4.0)
    assert spotting_threshold(c, 0.5) == pytest.approx(4.0 + 0.5 * 6.0)
    assert spotting_threshold(c, 1.0) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        spotting_threshold(c, 1.5)


def test_runs_and_peaks():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert intervals_from_runs(mask).tolist() == [[1, 2], [5, 5], [7, 9]]
    s = np.zeros(60)
    s[10], s[13], s[40] = 5.0, 4.0, 3.0  # 13 is within k = 5 of the higher 10
    spans = intervals_from_peaks(s, 1.0, 5)
    assert spans.tolist() == [[5, 15, 10], [35, 45, 40]]
    # clipped at the ends
    s2 = np.zeros(20)
    s2[2] = 1.0
    assert intervals_from_peaks(s2, 0.5, 5).tolist() == [[0, 7, 2]]


def test_typing_by_duration_casme2():
    # 30 fps, <= 0.5 s micro: offset - onset = 15 frames (16 inclusive) is micro, 16 is macro
    assert type_by_duration([0, 0], [15, 16], 30.0, 0.5).tolist() == ["micro", "macro"]


def test_spot_intervals_runs_typing_and_min_duration():
    c = np.zeros(100)
    c[10:14] = 5.0  # 4 frames: shorter than 0.2 s at 30 fps
    c[30:40] = 5.0  # 10 frames: micro
    c[60:90] = 5.0  # 30 frames: macro
    t = spot_intervals(c, 0.5, "runs", 5, FPS, min_duration_s=0.2)
    assert t[["onset", "offset"]].to_numpy().tolist() == [[30, 39], [60, 89]]
    assert t["expression_type"].tolist() == ["micro", "macro"]
    only_micro = spot_intervals(c, 0.5, "runs", 5, FPS, min_duration_s=0.2, keep_type="micro")
    assert only_micro[["onset", "offset"]].to_numpy().tolist() == [[30, 39]]


# ------------------------------------------------------------------------- constructed videos


def texture(shape=(168, 168), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 1.5)
    g = (g - g.min()) / (g.max() - g.min())
    return g


def expression_video(n_frames=150, events=((40, 52, 2.5),), seed=0, drift=0.0):
    """Gray video: a static texture whose mouth region (rows 110-150, cols 44-124) is pushed
    sideways by up to ``amplitude`` px with a raised-cosine profile over [onset, offset]."""
    base = texture(seed=seed)
    h, w = base.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    region = np.zeros((h, w), np.float32)
    region[110:150, 44:124] = 1.0
    region = cv2.GaussianBlur(region, (0, 0), 4)
    frames = np.empty((n_frames, h, w), np.uint8)
    for t in range(n_frames):
        a = 0.0
        for onset, offset, amplitude in events:
            if onset <= t <= offset:
                a += amplitude * 0.5 * (1 - np.cos(2 * np.pi * (t - onset) / (offset - onset)))
        map_x = (xx - a * region).astype(np.float32)
        img = cv2.remap(base, map_x, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames[t] = np.clip(img * 200 + 20 + drift * t, 0, 255).astype(np.uint8)
    return frames


def truth_frame(rows):
    return pd.DataFrame(rows, columns=["video", "onset", "offset", "expression_type"])


def as_predictions(intervals: pd.DataFrame) -> pd.DataFrame:
    out = intervals[["onset", "offset", "expression_type"]].copy()
    out.insert(0, "video", "v")
    return out


def test_chi_squared_hand_values():
    h = np.array([0.5, 0.5, 0.0])
    g = np.array([0.25, 0.25, 0.5])
    # (0.25^2 / 0.75) * 2 + 0.25 / 0.5 = 1/6 + 1/2
    assert chi_squared_distance(h, g) == pytest.approx(1 / 6 + 1 / 2)
    assert chi_squared_distance(h, h) == 0.0


def test_lbp_block_histograms_constant_frame():
    frames = np.full((3, 36, 36), 100, np.uint8)
    h = lbp_block_histograms(frames, (6, 6))
    assert h.shape == (3, 36, 59)
    np.testing.assert_allclose(h.sum(axis=2), 1.0)
    # every neighbour >= centre: code 255, a uniform code
    assert (h[:, :, uniform_mapping(8)[255]] == 1.0).all()


def test_lbp_difference_peaks_at_the_expression():
    frames = expression_video(events=((40, 52, 2.5),))
    h = lbp_block_histograms(frames, (6, 6))
    f = lbp_difference_feature(h, k=6)
    assert np.isnan(f[:6]).all() and np.isnan(f[-6:]).all()
    assert 38 <= int(np.nanargmax(f)) <= 54
    # static texture: no difference outside the expression (+-k)
    assert np.nanmax(f[70:140]) == pytest.approx(0.0, abs=1e-12)


def test_mdmd_frame_value_hand_flows():
    h, w = 12, 12
    current = np.zeros((h, w, 2), np.float32)
    current[..., 0] = 2.0  # every pixel moves right by 2 (quadrant [0, 90))
    tail = np.zeros_like(current)
    assert mdmd_frame_value(current, tail, (2, 2)) == pytest.approx(2.0)
    # a block where 20 pixels move down (quadrant [90, 180) is up-left... use atan2(v, u)):
    # 16 pixels right by 1, 20 pixels down by 3 -> main direction "down", its magnitude 3
    block = np.zeros((6, 6, 2), np.float32)
    block.reshape(-1, 2)[:16] = (1.0, 0.0)
    block.reshape(-1, 2)[16:] = (0.0, 3.0)
    current = np.tile(block, (2, 2, 1))
    value = mdmd_frame_value(current, np.zeros_like(current), (2, 2))
    assert value == pytest.approx(3.0)
    # tail back to the head frame's position cancels nothing; tail equal to current cancels
    assert mdmd_frame_value(current, current, (2, 2)) == pytest.approx(0.0)


def test_dense_flow_recovers_a_shift():
    a = (texture() * 255).astype(np.uint8)
    m = np.float32([[1, 0, 1.0], [0, 1, 0.0]])
    b = cv2.warpAffine(a, m, (168, 168), borderMode=cv2.BORDER_REFLECT)
    flow = dense_flow(a, b)
    assert np.median(flow[40:120, 40:120, 0]) == pytest.approx(1.0, abs=0.25)
    assert np.median(flow[40:120, 40:120, 1]) == pytest.approx(0.0, abs=0.25)


def test_mdmd_feature_peaks_at_the_expression():
    frames = expression_video(events=((40, 52, 2.5),))
    f = mdmd_feature(frames, k=6)
    assert np.isnan(f[:6]).all()
    assert 40 <= int(np.nanargmax(f)) <= 52
    assert np.nanmax(f) > 5 * np.nanmedian(f[70:140])


@pytest.mark.parametrize("method", ["mdmd", "lbp"])
def test_2d_spotters_find_known_micro_and_macro(method):
    # micro: 12 frames (0.4 s at 30 fps); macro: 36 frames (1.2 s)
    frames = expression_video(n_frames=240, events=((40, 52, 2.5), (140, 176, 3.0)))
    config = {
        "windows_s": {"micro": 0.2, "macro": 0.6},
        "p": 0.3,
        "interval": "peaks",
        "micro_max_s": 0.5,
        "min_duration_s": 0.2,
        "methods": {"mdmd": {"interval": "peaks"}},
    }
    result = spot_video(method_params(config, method), FPS, gray=frames)
    truth = truth_frame([("v", 40, 52, "micro"), ("v", 140, 176, "macro")])
    table = evaluate_spotting(as_predictions(result.intervals), truth, counting="one_to_one")
    assert table.loc["micro", "tp"] == 1, result.intervals
    assert table.loc["macro", "tp"] == 1, result.intervals
    # Each pass also fires on the other type's expression (the baseline's two passes are not
    # reconciled): such FPs overlap a true expression; nothing is spotted on the static parts.
    for onset, offset in result.intervals[["onset", "offset"]].to_numpy():
        assert (onset <= 52 and offset >= 40) or (onset <= 176 and offset >= 140), (onset, offset)


def test_block_mean_depth_ignores_holes():
    d = np.full((2, 12, 12), 500.0)
    d[0, :6, :6] = np.nan
    d[0, 0, 6] = np.nan
    d[0, 1, 6] = 510.0
    b = block_mean_depth(d, (2, 2), min_valid_fraction=0.5)
    assert np.isnan(b[0, 0])
    assert b[0, 1] == pytest.approx((34 * 500 + 510) / 35)
    assert b[1].tolist() == [500.0] * 4


def test_depth_spotter_finds_a_bump_despite_a_piston_drift():
    n = 200
    d = np.full((n, 60, 60), 500.0)
    t = np.arange(n)
    d += (0.05 * t)[:, None, None]  # slow residual shift along z: every block alike
    profile = np.zeros(n)
    profile[80:93] = 0.5 * (1 - np.cos(2 * np.pi * np.arange(13) / 12))
    d[:, 40:50, 20:40] -= 3.0 * profile[:, None, None]  # a 3 mm bump of the mouth
    d[5, :, :] = np.nan  # a lost frame
    blocks = block_mean_depth(d, (6, 6))
    f = depth_difference_feature(blocks, k=6)
    assert 80 <= int(np.nanargmax(f)) <= 92
    assert np.nanmax(f[120:190]) == pytest.approx(0.0, abs=1e-9)  # drift removed
    config = {"windows_s": {"micro": 0.2, "macro": 0.6}, "p": 0.3, "interval": "peaks"}
    result = spot_video(method_params(config, "depth"), FPS, depth=d)
    truth = truth_frame([("v", 80, 92, "micro")])
    table = evaluate_spotting(as_predictions(result.intervals), truth)
    micro = result.intervals[result.intervals.expression_type == "micro"]
    assert micro[["onset", "offset"]].to_numpy().tolist() == [[80, 92]]
    assert table.loc["micro", "tp"] == 1 and table.loc["micro", "fp"] == 0


def test_depth_spotter_removes_a_residual_tilt_of_the_registration():
    # A residual rotation about the vertical axis left by the registration tilts the depth
    # change across the face (here +-0.6 mm from the left to the right column, in one 13-frame
    # wobble); the expression is a 1 mm bump on two blocks 40 frames later. With the shift
    # alone removed the tilt is the feature's maximum; with the plane removed it is gone
    # (analytic: a plane fits it exactly) and the bump is the only event.
    n, k = 200, 6
    blocks = np.full((n, 36), 500.0)
    xs = np.tile(np.arange(6) - 2.5, 6)
    wobble = np.zeros(n)
    wobble[40:53] = 0.5 * (1 - np.cos(2 * np.pi * np.arange(13) / 12))
    blocks += np.outer(wobble, 0.24 * xs)
    bump = np.zeros(n)
    bump[100:113] = 0.5 * (1 - np.cos(2 * np.pi * np.arange(13) / 12))
    blocks[:, [26, 27]] -= bump[:, None]  # two mouth blocks (row 4)
    shift_only = depth_difference_feature(blocks, k)
    plane = depth_difference_feature(blocks, k, grid=(6, 6))
    assert 40 <= int(np.nanargmax(shift_only)) <= 52  # the tilt wins without the plane
    assert 100 <= int(np.nanargmax(plane)) <= 112
    assert np.nanmax(plane[30:60]) == pytest.approx(0.0, abs=1e-9)
    # the bump's blocks keep their full change (the refit leaves them out of the plane)
    assert np.nanmax(plane) == pytest.approx(np.nanmax(depth_difference_feature(
        blocks - np.outer(wobble, 0.24 * xs), k)), rel=0.02)  # fmt: skip


def test_combine_features_scale_free():
    # a: median 3, MAD 1; b: median 100, MAD 0 (only centred)
    a = np.array([np.nan, 1.0, 2.0, 3.0, 4.0, 9.0])
    b = np.array([np.nan, 100.0, 100.0, 100.0, 100.0, 100.0])
    np.testing.assert_allclose(combine_features(a, b), [np.nan, -2.0, -1.0, 0.0, 1.0, 6.0])
    np.testing.assert_allclose(combine_features(10 * a, b + 5), combine_features(a, b))


def test_combined_feature_keeps_the_event_of_a_feature_on_a_high_floor():
    # LBP-like: a floor of 0.06 with noise of 0.001 and an event of +0.01 at frames 50-55;
    # depth-like: a floor near 0 with noise of 0.05 and an event of +1 at frames 150-155.
    # Both events must stand out of the sum (dividing by the median lost the first one).
    rng = np.random.default_rng(0)
    lbp = 0.06 + 0.001 * rng.standard_normal(200)
    lbp[50:56] += 0.01
    depth = np.abs(0.05 * rng.standard_normal(200))
    depth[150:156] += 1.0
    combined = combine_features(lbp, depth)
    outside = np.r_[combined[:45], combined[60:145], combined[160:]]
    assert combined[50:56].min() > outside.max()
    assert combined[150:156].min() > outside.max()


def test_method_params_from_config():
    config = {
        "windows_s": {"micro": 0.2, "macro": 0.6},
        "p": 0.5,
        "interval": "peaks",
        "methods": {"mdmd": {"windows_s": {"micro": 0.4, "macro": 1.3}, "interval": "runs"}},
    }
    mdmd = method_params(config, "mdmd")
    assert (mdmd.k("micro", 30), mdmd.k("macro", 30)) == (12, 39)  # the MEGC2020 baseline's
    assert mdmd.interval == "runs" and mdmd.p == 0.5
    assert method_params(config, "lbp").k("micro", 60) == 12
    with pytest.raises(ValueError, match="unknown spotting method"):
        method_params(config, "sift")
    with pytest.raises(ValueError, match="needs registered depth"):
        spot_video(method_params(config, "depth"), 30.0, gray=np.zeros((50, 36, 36), np.uint8))


@pytest.mark.parametrize(("length", "n"), [(168, 6), (167, 6), (36, 6), (100, 7), (12, 2)])
def test_grid_bounds_are_the_feature_blocks(length, n):
    from microexp.features.blocks import block_bounds
    from microexp.spotting.grid import grid_bounds

    assert grid_bounds(length, n).tolist() == block_bounds(length, n, 0).tolist()


def test_whole_video_ingestion_does_not_import_numba_or_scipy():
    import subprocess
    import sys

    code = (
        "import sys, microexp.spotting.video; "
        "print(sorted(m for m in ('numba', 'scipy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_lbp_block_histograms_same_in_any_chunking():
    # a frame's XY codes depend on that frame only: chunks of the video give the whole's
    frames = np.random.default_rng(3).integers(0, 256, size=(23, 40, 36), dtype=np.uint8)
    whole = lbp_block_histograms(frames, (6, 6), chunk_frames=len(frames))
    for chunk in (1, 5, 7, 22):
        np.testing.assert_array_equal(
            lbp_block_histograms(frames, (6, 6), chunk_frames=chunk), whole
        )
    with pytest.raises(ValueError, match="chunk_frames"):
        lbp_block_histograms(frames, (6, 6), chunk_frames=0)
