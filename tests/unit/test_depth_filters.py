"""Depth post-processing through the RealSense filters (docs/methods.md#3d-face; DSME-3D 4.1.2)."""

from __future__ import annotations

import numpy as np
import pyrealsense2 as rs
import pytest

from microexp.cloud3d.filters import (
    DepthFilterChain,
    DepthFilterParams,
    HoleFillingParams,
    SpatialFilterParams,
    TemporalFilterParams,
    filter_depth_clip,
)

H, W = 120, 160
SCALE = 0.001  # 1 mm per unit, as D415 recordings and DSME-3D PNGs

ONLY_SPATIAL = DepthFilterParams(
    temporal=TemporalFilterParams(enabled=False), hole_filling=HoleFillingParams(enabled=False)
)
ONLY_TEMPORAL = DepthFilterParams(
    spatial=SpatialFilterParams(enabled=False), hole_filling=HoleFillingParams(enabled=False)
)
ONLY_HOLES = DepthFilterParams(
    spatial=SpatialFilterParams(enabled=False), temporal=TemporalFilterParams(enabled=False)
)


def noisy_plane(rng: np.random.Generator, frames: int, sigma: float, z: float = 550.0):
    return np.round(z + rng.normal(0.0, sigma, (frames, H, W))).astype(np.uint16)


def test_chain_order_is_spatial_temporal_holes():
    with DepthFilterChain(W, H, SCALE, DepthFilterParams()) as chain:
        kinds = [type(f) for f in chain.filters]
    assert kinds == [
        rs.disparity_transform,
        rs.spatial_filter,
        rs.temporal_filter,
        rs.disparity_transform,
        rs.hole_filling_filter,
    ]
    with DepthFilterChain(W, H, SCALE, DepthFilterParams(domain="depth")) as chain:
        kinds = [type(f) for f in chain.filters]
    assert kinds == [rs.spatial_filter, rs.temporal_filter, rs.hole_filling_filter]


def test_default_chain_is_unbiased_where_the_depth_domain_is_not():
    # D415-like noise at 1 mm units: the SDK's Z16 filters shift the mean (spatial up, temporal
    # down); the disparity-domain default keeps it.
    rng = np.random.default_rng(0)
    depth = noisy_plane(rng, 8, 0.6)
    raw_mean = depth[-1].astype(float).mean()
    unbiased = filter_depth_clip(depth, SCALE, DepthFilterParams()).astype(float)
    assert abs(unbiased[-1].mean() - raw_mean) < 0.2
    biased = filter_depth_clip(depth, SCALE, DepthFilterParams(domain="depth")).astype(float)
    assert abs(biased[-1].mean() - raw_mean) > 1.0


def test_resolution_is_kept_at_every_magnitude():
    depth = np.full((1, H, W), 600, np.uint16)
    for magnitude in (1, 3, 5):
        params = DepthFilterParams(spatial=SpatialFilterParams(magnitude=magnitude))
        assert filter_depth_clip(depth, SCALE, params).shape == depth.shape


def test_hole_filling_removes_holes():
    rng = np.random.default_rng(1)
    depth = noisy_plane(rng, 1, 1.0)
    depth[rng.random(depth.shape) < 0.05] = 0
    depth[0, 40:50, 60:75] = 0  # and a blob, as IR shadow leaves
    assert (depth == 0).sum() > 1000
    filled = filter_depth_clip(depth, SCALE, ONLY_HOLES)
    # the SDK's neighbourhood modes leave the outermost pixel ring alone
    assert (filled[:, 1:-1, 1:-1] == 0).sum() == 0
    assert (filled == 0).sum() < 0.05 * (depth == 0).sum()
    # filled values come from the neighbourhood, not from nowhere
    assert abs(int(filled[0, 45, 67]) - 550) <= 4
    full = filter_depth_clip(depth, SCALE, DepthFilterParams())
    assert (full[:, 1:-1, 1:-1] == 0).sum() == 0


def test_spatial_filter_reduces_noise_on_a_plane():
    rng = np.random.default_rng(2)
    depth = noisy_plane(rng, 1, 3.0)
    smoothed = filter_depth_clip(depth, SCALE, ONLY_SPATIAL).astype(float)
    inner = (slice(None), slice(5, -5), slice(5, -5))
    before, after = depth[inner].astype(float).std(), smoothed[inner].std()
    assert after < 0.5 * before
    assert abs(smoothed[inner].mean() - depth[inner].mean()) < 0.5


def test_spatial_filter_preserves_a_step_edge():
    rng = np.random.default_rng(3)
    depth = noisy_plane(rng, 1, 2.0)
    depth[:, :, W // 2 :] += 80  # an 80 mm step, like a face edge against the background
    smoothed = filter_depth_clip(depth, SCALE, ONLY_SPATIAL).astype(float)
    left = smoothed[0, 10:-10, W // 2 - 1]
    right = smoothed[0, 10:-10, W // 2]
    # the step stays a step: one pixel apart, still ~80 mm apart, nothing bled across
    assert np.all(right - left > 70)
    assert abs(np.median(smoothed[0, 10:-10, 10 : W // 2 - 1]) - 550) < 1
    assert abs(np.median(smoothed[0, 10:-10, W // 2 : -10]) - 630) < 1


def test_temporal_filter_smooths_frame_to_frame_noise():
    rng = np.random.default_rng(4)
    depth = noisy_plane(rng, 12, 2.0)
    smoothed = filter_depth_clip(depth, SCALE, ONLY_TEMPORAL).astype(float)
    raw_jitter = np.diff(depth[6:].astype(float), axis=0).std()
    filtered_jitter = np.diff(smoothed[6:], axis=0).std()
    assert filtered_jitter < 0.7 * raw_jitter
    # the first frame has no history: it passes unchanged
    np.testing.assert_array_equal(smoothed[0], depth[0])


def test_temporal_state_is_per_clip_and_chain_is_deterministic():
    rng = np.random.default_rng(5)
    depth = noisy_plane(rng, 4, 2.0)
    depth[rng.random(depth.shape) < 0.02] = 0
    a = filter_depth_clip(depth, SCALE, DepthFilterParams())
    b = filter_depth_clip(depth, SCALE, DepthFilterParams())
    np.testing.assert_array_equal(a, b)
    # a second clip does not inherit the first one's history
    c = filter_depth_clip(depth[2:], SCALE, DepthFilterParams())
    np.testing.assert_array_equal(c[0], filter_depth_clip(depth[2:3], SCALE)[0])


def test_config_mapping_and_bad_values():
    params = DepthFilterParams.from_config(
        {"spatial": {"magnitude": 3}, "hole_filling": {"mode": 2}}
    )
    assert params.spatial.magnitude == 3 and params.hole_filling.mode == 2
    assert params.temporal == TemporalFilterParams()
    with pytest.raises(ValueError, match="unknown spatial"):
        DepthFilterParams.from_config({"spatial": {"magnitde": 3}})
    with pytest.raises(ValueError, match="magnitude"):
        DepthFilterChain(W, H, SCALE, DepthFilterParams(spatial=SpatialFilterParams(magnitude=9)))
    with DepthFilterChain(W, H, SCALE) as chain, pytest.raises(ValueError, match="uint16"):
        chain(np.zeros((H, W), np.float32))
