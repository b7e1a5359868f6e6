"""flow/: TV-L1 flow on a known motion, optical strain of analytic fields, the network input's
normalisation, the stage's failures and file format."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import color, data, transform

from microexp.failures import SampleFailure
from microexp.flow.network_input import megc_input, minmax_255, resample_clip
from microexp.flow.optical import optical_strain, tvl1_flow
from microexp.flow.qc import flow_to_rgb, plot_flow_qc
from microexp.flow.stage import FlowParams, flow_from_frames, load_flow, save_flow


def _face(size: int = 168) -> np.ndarray:
    face = color.rgb2gray(data.astronaut())[30:230, 150:350]
    return transform.resize(face, (size, size), anti_aliasing=True).astype(np.float32)


def _moved(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The image after every point p moved to p + (u, v)(p) (smooth, small motion)."""
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    return cv2.remap(image, xx - u, yy - v, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def _bumps(size: int = 168):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    u = 0.8 * np.exp(-((xx - 84) ** 2 + (yy - 110) ** 2) / (2 * 20**2))
    v = -0.6 * np.exp(-((xx - 60) ** 2 + (yy - 60) ** 2) / (2 * 15**2))
    return u.astype(np.float32), v.astype(np.float32)


def test_tvl1_recovers_a_known_sub_pixel_motion():
    onset = _face()
    u_true, v_true = _bumps()
    apex = _moved(onset, u_true, v_true)
    u, v = tvl1_flow(onset, apex)
    inner = (slice(10, -10), slice(10, -10))
    error = np.hypot(u - u_true, v - v_true)[inner].mean()
    motion = np.hypot(u_true, v_true)[inner].mean()
    assert error < 0.5 * motion
    # Sign conventions: +u to the right, +v down, where the motion is.
    assert u[110, 84] > 0.4 and v[60, 60] < -0.3


def test_tvl1_uniform_shift_and_uint8_input():
    onset = (_face() * 255).astype(np.uint8)
    apex = np.roll(onset, 1, axis=1)  # one pixel to the right
    u, v = tvl1_flow(onset, apex)
    centre = (slice(40, 128), slice(40, 128))
    assert abs(float(np.median(u[centre])) - 1.0) < 0.1
    assert abs(float(np.median(v[centre]))) < 0.1


def test_optical_strain_of_analytic_fields():
    yy, xx = np.mgrid[0:20, 0:20].astype(np.float64)
    # Pure stretch u = a x, v = b y: eps_xx = a, eps_yy = b, no shear.
    np.testing.assert_allclose(optical_strain(0.3 * xx, -0.2 * yy), np.hypot(0.3, 0.2), rtol=1e-6)
    # Simple shear u = c y: eps_xy = eps_yx = c / 2, magnitude c / sqrt(2).
    np.testing.assert_allclose(
        optical_strain(0.4 * yy, np.zeros_like(yy)), 0.4 / np.sqrt(2), rtol=1e-6
    )
    # A rotation (u = -w y, v = w x) and a translation have no strain.
    np.testing.assert_allclose(optical_strain(-0.1 * yy, 0.1 * xx), 0.0, atol=1e-7)
    np.testing.assert_allclose(optical_strain(np.full_like(xx, 2.0), np.ones_like(xx)), 0.0)


def test_network_input_normalisation_by_hand():
    u = np.zeros((56, 56))
    u[:28, :] = 2.0  # top half moves: area means 2.0 and 0.0 at 28 x 28
    v = np.tile(np.arange(56.0), (56, 1))  # columns 0..55: pairs average to 0.5, 2.5, ...
    strain = np.full((56, 56), 3.0)  # constant: becomes 0
    x = megc_input(u, v, strain)
    assert x.shape == (3, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, :14], 255.0)
    np.testing.assert_array_equal(x[0, 14:], 0.0)
    expected_v = 255.0 * (np.arange(28) * 2 + 0.5 - 0.5) / (54.5 - 0.5)
    np.testing.assert_allclose(x[1, 0], expected_v, rtol=1e-5)
    np.testing.assert_array_equal(x[2], 0.0)
    np.testing.assert_array_equal(minmax_255(np.array([1.0, 3.0])), [0.0, 255.0])


def test_resample_clip_interpolates_in_time():
    clip = np.stack([np.full((56, 56), 10.0 * t) for t in range(5)]).astype(np.uint8)
    out = resample_clip(clip, frames=9, size=28)
    assert out.shape == (1, 9, 28, 28)
    np.testing.assert_allclose(out[0, :, 0, 0], 5.0 * np.arange(9), atol=1e-5)


def test_stage_failures_and_file_format(tmp_path):
    onset = (_face() * 255).astype(np.uint8)
    apex = (_moved(_face(), *_bumps()) * 255).round().astype(np.uint8)
    clip = np.stack([onset, onset, apex, apex])
    with pytest.raises(SampleFailure, match="same frame"):
        flow_from_frames(clip, 1, 1)
    with pytest.raises(SampleFailure, match="outside the clip"):
        flow_from_frames(clip, 0, 4)
    blank = clip.copy()
    blank[0] = 7
    with pytest.raises(SampleFailure, match="constant"):
        flow_from_frames(blank, 0, 2)
    result = flow_from_frames(clip, 0, 2, FlowParams.from_config({"clip_frames": 8}))
    assert result.network_input.shape == (3, 28, 28)
    assert result.clip.shape == (1, 8, 28, 28)
    path = tmp_path / "flow" / "s.npz"
    save_flow(path, result)
    back = load_flow(path)
    for name in ("u", "v", "strain", "network_input", "clip"):
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
    assert (back.onset, back.apex) == (0, 2)
    only = load_flow(path, arrays=("network_input",))
    assert only.u.size == 0 and only.network_input.shape == (3, 28, 28)
    with pytest.raises(ValueError, match="unknown flow option"):
        FlowParams.from_config({"pyramid": 3})
    plot_flow_qc(
        onset, apex, result.u, result.v, result.strain, result.network_input,
        tmp_path / "qc.png", "title",
    )  # fmt: skip
    assert (tmp_path / "qc.png").stat().st_size > 0


def test_colour_wheel_directions():
    rgb = flow_to_rgb(np.array([[1.0, -1.0, 0.0]]), np.array([[0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(rgb[0, 0], [1.0, 0.0, 0.0])  # +x: red
    np.testing.assert_allclose(rgb[0, 1], [0.0, 1.0, 1.0])  # -x: cyan
    np.testing.assert_allclose(rgb[0, 2], [1.0, 1.0, 1.0])  # no motion: white
