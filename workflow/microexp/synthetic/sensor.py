"""Intel RealSense D415-like capture artefacts for the synthetic data set.

The renderer produces noise-free colour and metric depth; real D415 captures (DSME-3D section
3.1) differ in ways every 3D stage must cope with (docs/methods.md#3d-face: spatial/temporal
filtering and hole filling exist because of them):

* depth noise from sub-pixel disparity error: z = f b / d, so sigma_z = z^2 sigma_d / (f b),
  about 0.6 mm at 0.5 m and 1.2 mm at 0.7 m for sigma_d = 0.08 px, b = 55 mm, f = 600 px;
* 16-bit depth in 1 mm units, 0 meaning "no data";
* no data where the second imager cannot see what the reference (left) imager sees: a band to
  the left of every near object as wide as the disparity jump, plus a narrow band around all
  depth discontinuities where the matching window straddles two surfaces;
* no data on dark surfaces (too little texture and signal), more often the darker they are;
* random small dropout blobs;
* colour: Gaussian read noise plus signal-dependent shot noise, 8-bit RGB.

Every function takes an explicit ``numpy.random.Generator`` so captures are reproducible. The
per-pixel Gaussian deviates (1.6 million a frame) come from `standard_normal`: inverse transform
sampling of 16-bit uniforms, a third of the CPU of numpy's ziggurat; maps are float32 throughout
(depth is rounded to 1 mm units, colour to 8 bits). The colour noise and the stereo shadow run as
numba loops over the pixels, one pass each instead of numpy's six to eight; they do the very
float32 operations numpy did, in the same order (no fast-math), so the captures are bit for bit
those of the numpy code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from numba import njit
from scipy.special import ndtr, ndtri

# Uniform draws per Gaussian deviate: 16 bits (`standard_normal`).
_NORMAL_CELLS = 1 << 16


@dataclass(frozen=True)
class DepthSensorParams:
    """D415 depth stream at 848 x 480 (defaults from Intel's depth-accuracy model)."""

    focal_px: float = 600.0
    baseline_mm: float = 55.0
    subpixel_rms_px: float = 0.08
    depth_unit_mm: float = 1.0
    min_depth_mm: float = 300.0
    max_depth_mm: float = 10000.0
    occlusion_shadow: bool = True  # band left of near objects, as wide as the disparity jump
    edge_jump_mm: float = 20.0  # neighbour depth step that counts as a discontinuity
    edge_band_px: float = 2.5  # largest width of the band lost around discontinuities
    dark_level: float = 45.0  # grey level (0-255) below which holes start
    dark_hole_probability: float = 0.7  # hole probability on black
    dropout_blobs_per_frame: float = 2.0
    dropout_radius_px: tuple[float, float] = (2.0, 6.0)


@dataclass(frozen=True)
class ColorSensorParams:
    """D415 RGB stream noise (digital numbers, 0-255)."""

    read_noise_dn: float = 1.5
    shot_noise_gain: float = 0.06  # variance per DN of signal


@cache
def _normal_cell_quantiles() -> np.ndarray:
    # The standard normal quantile at the middle of each of the 2^16 equally likely cells.
    return ndtri((np.arange(_NORMAL_CELLS) + 0.5) / _NORMAL_CELLS).astype(np.float32)


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal deviates (float32) by inverse transform sampling: a uniform 16-bit
    integer u picks the normal quantile at probability (u + 0.5) / 2^16.

    Every deviate is one of 2^16 equally likely values, the distribution's quantiles, so the
    probability of any interval is the normal's to within 2^-16 (1.5e-5); the variance is
    1 - 2e-5 and |x| <= 4.32 (a normal exceeds 4.32 sigma with probability 1.5e-5). That is
    far below what the sensor model resolves after rounding (colour to 8 bits, depth to 1 mm)
    and costs a third of numpy's ziggurat (one 16-bit draw and a table look-up a deviate).
    """
    cells = rng.integers(0, _NORMAL_CELLS, size=shape, dtype=np.uint16)
    return np.take(_normal_cell_quantiles(), cells)


def depth_noise_std_mm(depth_mm: np.ndarray, params: DepthSensorParams) -> np.ndarray:
    """Standard deviation of depth noise (mm): sigma_z = z^2 sigma_d / (f b)."""
    return depth_mm**2 * params.subpixel_rms_px / (params.focal_px * params.baseline_mm)


def _smooth_normal(rng: np.random.Generator, shape: tuple[int, int], cell_px: int) -> np.ndarray:
    """Spatially correlated random field with standard normal marginals."""
    field, scale = _smooth_normal_unscaled(rng, shape, cell_px)
    return field / scale


def _smooth_normal_unscaled(
    rng: np.random.Generator, shape: tuple[int, int], cell_px: int
) -> tuple[np.ndarray, np.float32]:
    # `_smooth_normal` before its division by `scale`, for callers that need a few pixels of it
    h, w = shape
    coarse = standard_normal(rng, (h // cell_px + 2, w // cell_px + 2))
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    return field, field.std() + 1e-6


def occlusion_shadow(depth_mm: np.ndarray, params: DepthSensorParams) -> np.ndarray:
    """Pixels the right imager cannot see: left of a nearer surface by less than the disparity
    jump. A pixel at column x lands at x - d(x) in the right image; it is hidden when some pixel
    to its right lands further left."""
    z = np.ascontiguousarray(depth_mm, dtype=np.float32)
    return _occlusion_shadow(z, np.float32(params.focal_px * params.baseline_mm))


@njit(cache=True, nogil=True, error_model="numpy")  # x / 0 is inf, as in numpy
def _occlusion_shadow(z: np.ndarray, focal_baseline: np.float32) -> np.ndarray:
    # float32: columns (< 2^13) and disparities (< 2^7 px) keep ~1e-3 px, far below the
    # 0.5 px margin that decides a pixel. No surface (0, inf or NaN depth): disparity 0.
    height, width = z.shape
    hidden = np.zeros((height, width), np.bool_)
    half = np.float32(0.5)
    for row in range(height):
        # the minimum of x - d(x) over the pixels strictly to the right, right to left
        nearest = np.float32(np.inf)
        for col in range(width - 1, -1, -1):
            disparity = focal_baseline / z[row, col]
            if not np.isfinite(disparity):
                disparity = np.float32(0.0)
            right_x = np.float32(col) - disparity
            if col < width - 1:
                hidden[row, col] = nearest < right_x - half
            if right_x < nearest:
                nearest = right_x
    return hidden


def discontinuity_band(
    depth_mm: np.ndarray, rng: np.random.Generator, params: DepthSensorParams
) -> np.ndarray:
    """Pixels within a randomly varying width (<= ``edge_band_px``) of a depth discontinuity."""
    z = np.where(np.isfinite(depth_mm), depth_mm, np.float32(0.0)).astype(np.float32, copy=False)
    jump = _depth_jumps(z, np.float32(params.edge_jump_mm))
    rows = np.flatnonzero(jump.any(axis=1))
    if rows.size == 0:
        return jump
    cols = np.flatnonzero(jump.any(axis=0))
    # Distances only matter up to edge_band_px: they are computed in the box around the
    # jumps grown by more than that (the chamfer distance to the nearest jump pixel is the same
    # there as on the whole image; everything outside is farther than the band).
    pad = int(np.ceil(params.edge_band_px / 0.955)) + 1  # 0.955: the mask's smallest step
    box = (
        slice(max(rows[0] - pad, 0), rows[-1] + pad + 1),
        slice(max(cols[0] - pad, 0), cols[-1] + pad + 1),
    )
    # The 3 x 3 mask runs single-threaded, so results do not depend on OpenCV's thread count.
    distance = cv2.distanceTransform((~jump[box]).astype(np.uint8), cv2.DIST_L2, 3)
    near = distance <= params.edge_band_px  # in the box; nothing outside it is near
    field, scale = _smooth_normal_unscaled(rng, z.shape, 8)
    uniform = ndtr(field[box][near] / scale)
    band = jump.copy()
    band[box][near] |= distance[near] <= params.edge_band_px * (0.3 + 0.7 * uniform)
    return band


@njit(cache=True, nogil=True)
def _depth_jumps(z: np.ndarray, jump_mm: np.float32) -> np.ndarray:
    # Both pixels of every horizontal or vertical neighbour pair more than jump_mm apart.
    height, width = z.shape
    jump = np.zeros((height, width), np.bool_)
    for row in range(height):
        for col in range(width):
            if col + 1 < width and abs(z[row, col + 1] - z[row, col]) > jump_mm:
                jump[row, col] = True
                jump[row, col + 1] = True
            if row + 1 < height and abs(z[row + 1, col] - z[row, col]) > jump_mm:
                jump[row, col] = True
                jump[row + 1, col] = True
    return jump


def dark_holes(gray: np.ndarray, rng: np.random.Generator, params: DepthSensorParams) -> np.ndarray:
    """Holes on dark surfaces, probability rising from 0 at ``dark_level`` to the maximum on
    black, in small correlated patches."""
    dark = gray < params.dark_level  # where the darkness below is > 0
    darkness = np.clip((params.dark_level - gray[dark]) / params.dark_level, 0.0, 1.0)
    field, scale = _smooth_normal_unscaled(rng, gray.shape, 3)
    holes = np.zeros(gray.shape, bool)
    holes[dark] = ndtr(field[dark] / scale) < params.dark_hole_probability * darkness
    return holes


def dropout_blobs(
    shape: tuple[int, int], rng: np.random.Generator, params: DepthSensorParams
) -> np.ndarray:
    """A Poisson number of small elliptic dropouts at random places."""
    mask = np.zeros(shape, np.uint8)
    for _ in range(rng.poisson(params.dropout_blobs_per_frame)):
        centre = (int(rng.integers(shape[1])), int(rng.integers(shape[0])))
        axes = tuple(round(r) for r in rng.uniform(*params.dropout_radius_px, size=2))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask.astype(bool)


def capture_depth(
    depth_mm: np.ndarray,
    color: np.ndarray,
    rng: np.random.Generator,
    params: DepthSensorParams = DepthSensorParams(),
) -> np.ndarray:
    """What a D415 reports for a true depth map (mm; NaN or <= 0 = no surface) seen with the
    registered ``color`` image: uint16 in ``depth_unit_mm`` units, 0 = no data."""
    z = np.asarray(depth_mm, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        valid = z > 0  # False for NaN
    z = np.where(valid, z, np.float32(0.0))
    # the same 16-bit draws as `standard_normal`, scaled by sigma_z and added in one pass
    cells = rng.integers(0, _NORMAL_CELLS, size=z.shape, dtype=np.uint16)
    noisy = _noisy_depth(
        z,
        cells,
        _normal_cell_quantiles(),
        np.float32(params.subpixel_rms_px),
        np.float32(params.focal_px * params.baseline_mm),
    )

    gray = cv2.cvtColor(np.asarray(color, dtype=np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    holes = ~valid
    # z is 0 where there is no surface: no disparity, no jump measured there
    if params.occlusion_shadow:
        holes |= occlusion_shadow(z, params)
    holes |= discontinuity_band(z, rng, params)
    holes |= dark_holes(gray, rng, params)
    holes |= dropout_blobs(z.shape, rng, params)
    return _depth_units(
        noisy,
        holes,
        np.float32(params.min_depth_mm),
        np.float32(params.max_depth_mm),
        np.float32(params.depth_unit_mm),
    )


@njit(cache=True, nogil=True)
def _noisy_depth(
    z: np.ndarray,
    cells: np.ndarray,
    quantiles: np.ndarray,
    subpixel_rms_px: np.float32,
    focal_baseline: np.float32,
) -> np.ndarray:
    # z + N(0, 1) x sigma_z, sigma_z = z^2 sigma_d / (f b) (`depth_noise_std_mm`), in float32
    noisy = np.empty(z.shape, np.float32)
    for row in range(z.shape[0]):
        for col in range(z.shape[1]):
            depth = z[row, col]
            sigma = depth * depth * subpixel_rms_px / focal_baseline
            noisy[row, col] = quantiles[cells[row, col]] * sigma + depth
    return noisy


@njit(cache=True, nogil=True)
def _depth_units(
    noisy: np.ndarray,
    holes: np.ndarray,
    min_depth_mm: np.float32,
    max_depth_mm: np.float32,
    unit_mm: np.float32,
) -> np.ndarray:
    # Out-of-range depths (and NaN, from an infinite z) are holes too; the rest is rounded
    # (half to even) to depth units.
    units = np.zeros(noisy.shape, np.uint16)
    for row in range(noisy.shape[0]):
        for col in range(noisy.shape[1]):
            x = noisy[row, col]
            if holes[row, col] or not min_depth_mm <= x <= max_depth_mm:
                continue
            if unit_mm != 1.0:
                x = x / unit_mm
            x = np.rint(x)
            units[row, col] = 65535 if x > 65535 else (0 if x < 0 else np.uint16(x))
    return units


def capture_color(
    color: np.ndarray,
    rng: np.random.Generator,
    params: ColorSensorParams = ColorSensorParams(),
) -> np.ndarray:
    """A noisy uint8 RGB capture of a noise-free colour image (read + shot noise)."""
    color = np.asarray(color)
    if color.dtype == np.uint8:  # the noise level of each of the 256 values, looked up
        levels = _noise_std(np.arange(256, dtype=np.float32), params)
        # the same 16-bit draws as `standard_normal`, turned into noisy values in one pass
        cells = rng.integers(0, _NORMAL_CELLS, size=color.shape, dtype=np.uint16)
        flat = np.ascontiguousarray(color).reshape(-1)
        noisy = _noisy_uint8(flat, cells.reshape(-1), _normal_cell_quantiles(), levels)
        return noisy.reshape(color.shape)
    std = _noise_std(color.astype(np.float32), params)
    noisy = standard_normal(rng, color.shape)
    noisy *= std
    noisy += color
    np.round(noisy, out=noisy)
    np.clip(noisy, 0, 255, out=noisy)
    return noisy.astype(np.uint8)


@njit(cache=True, nogil=True)
def _noisy_uint8(
    color: np.ndarray, cells: np.ndarray, quantiles: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    # value + N(0, 1) x its noise level, rounded half to even and clipped to 0..255: the
    # float32 operations of the numpy path above, in its order.
    noisy = np.empty(color.shape, np.uint8)
    for i in range(color.size):
        value = color[i]
        x = quantiles[cells[i]] * levels[value] + np.float32(value)
        x = np.rint(x)
        noisy[i] = 0 if x < 0 else (255 if x > 255 else np.uint8(x))
    return noisy


def _noise_std(signal: np.ndarray, params: ColorSensorParams) -> np.ndarray:
    return np.sqrt(params.read_noise_dn**2 + params.shot_noise_gain * signal)
