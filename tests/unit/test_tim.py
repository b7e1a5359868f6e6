"""Temporal interpolation model (Zhou et al. 2011; CAS(ME)^2 section 3)."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.features.tim import path_graph_laplacian, tim, tim_curve


@pytest.mark.parametrize("n", [2, 3, 7, 30])
def test_curve_is_the_laplacian_eigenbasis(n):
    laplacian = path_graph_laplacian(n)
    curve = tim_curve(np.arange(1, n + 1), n)  # (n, n - 1)
    eigenvalues = 2 - 2 * np.cos(np.pi * np.arange(1, n) / n)
    np.testing.assert_allclose(laplacian @ curve, curve * eigenvalues, atol=1e-12)
    np.testing.assert_allclose(curve.T @ curve, np.eye(n - 1), atol=1e-12)
    np.testing.assert_allclose(curve.sum(axis=0), 0, atol=1e-12)  # orthogonal to constant
    # numpy's eigen-solver finds the same vectors (up to sign)
    _, vectors = np.linalg.eigh(laplacian)
    np.testing.assert_allclose(np.abs(vectors[:, 1:]), np.abs(curve), atol=1e-9)


def test_path_graph_laplacian_by_hand():
    np.testing.assert_array_equal(path_graph_laplacian(3), [[1, -1, 0], [-1, 2, -1], [0, -1, 1]])


def test_output_shape_and_endpoints():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (17, 6, 5), dtype=np.uint8)
    out = tim(clip, 120)
    assert out.shape == (120, 6, 5) and out.dtype == np.float64
    np.testing.assert_allclose(out[0], clip[0], atol=1e-9)
    np.testing.assert_allclose(out[-1], clip[-1], atol=1e-9)


@pytest.mark.parametrize("n", [2, 5, 16])
def test_original_frames_are_reproduced(n):
    # With 2n - 1 output frames the positions are 1, 1.5, 2, ..., n: every other output frame
    # is an original frame.
    rng = np.random.default_rng(n)
    clip = rng.random((n, 4, 3)) * 255
    out = tim(clip, 2 * n - 1)
    np.testing.assert_allclose(out[::2], clip, atol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 4, 10, 30, 118])
def test_linear_ramp_stays_nearly_linear(n):
    # TIM is the cosine interpolant, not linear interpolation: between frames a ramp deviates
    # by at most 0.08 of one frame step (measured: 0.021 at n=2, 0.079 at n=3, 0.0014 at 118).
    slope = 3.0
    clip = (slope * np.arange(n))[:, None, None] + np.zeros((1, 2, 2))
    out = tim(clip, 120)
    linear = slope * np.linspace(0, n - 1, 120)
    assert np.abs(out[:, 0, 0] - linear).max() <= 0.1 * slope
    assert np.all(np.diff(out[:, 0, 0]) > 0)  # still monotone
    np.testing.assert_allclose(out[[0, -1], 0, 0], [0, slope * (n - 1)], atol=1e-9)


def test_constant_clip_stays_constant_exactly():
    clip = np.full((9, 4, 4), 77, dtype=np.uint8)
    out = tim(clip, 120)
    assert np.all(out == 77.0)


def test_same_length_is_identity():
    rng = np.random.default_rng(3)
    clip = rng.random((12, 3, 3))
    np.testing.assert_allclose(tim(clip, 12), clip, atol=1e-12)


def test_uint8_output_rounds_and_clips():
    # A step 0, 0, 255, 255 overshoots (cosine interpolant: about -40 and 295 between frames);
    # uint8 output rounds half up and clips to 0..255.
    clip = np.array([0, 0, 255, 255], dtype=np.uint8)[:, None, None]
    float_out = tim(clip, 40)
    assert float_out.min() < -30 and float_out.max() > 285
    out = tim(clip, 40, dtype=np.uint8)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.clip(np.floor(float_out + 0.5), 0, 255))
    assert out[0, 0, 0] == 0 and out[-1, 0, 0] == 255


def test_pixels_are_independent():
    rng = np.random.default_rng(4)
    clip = rng.random((8, 3, 5))
    out = tim(clip, 20)
    one_pixel = tim(clip[:, 1:2, 2:3], 20)
    np.testing.assert_allclose(out[:, 1:2, 2:3], one_pixel, atol=1e-12)


@pytest.mark.parametrize(
    "clip, n_frames, message",
    [
        (np.zeros((1, 4, 4)), 120, "at least 2 frames"),
        (np.zeros((0, 4, 4)), 120, "at least 2 frames"),
        (np.zeros(5), 120, "frames"),
        (np.zeros((5, 4, 4)), 1, "n_frames"),
        (np.zeros((5, 4, 4)), 2.5, "n_frames"),
        (np.full((5, 4, 4), np.nan), 120, "NaN"),
        (np.zeros((5, 4, 4), dtype=complex), 120, "dtype"),
    ],
)
def test_bad_input(clip, n_frames, message):
    with pytest.raises(ValueError, match=message):
        tim(clip, n_frames)
