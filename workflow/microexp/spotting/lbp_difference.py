"""LBP feature-difference spotting (Moilanen, Mustonen and Pietikainen, ICPR 2014).

The method behind the MEGC2019 spotting baseline. On aligned face crops:

* each frame is split into a grid of blocks (6 x 6 in the paper) and every block gets its
  uniform LBP histogram (P = 8, R = 1, u2: 59 bins, normalised);
* for the current frame CF = i, the average feature frame is the mean of the histograms of the
  head frame i - k and the tail frame i + k, k = (N - 1) / 2 for an interval of N frames about
  an expression's length;
* per block, the chi^2 distance ``sum_b (h_b - a_b)^2 / (h_b + a_b)`` between CF's and the
  average histogram (0/0 terms are 0);
* the frame's feature F_i is the mean of the largest third of the block distances (the paper
  sums the M = 12 largest of 36 blocks: the same up to a constant, which the threshold ignores);
* contrast with m = k and negative values set to 0, threshold ``mean + p (max - mean)``, peaks
  at least k apart, intervals [peak - k, peak + k] (:mod:`microexp.spotting.signals`).

The LBP codes come from the project's LBP-TOP kernel (:func:`microexp.features.lbptop.lbptop_codes`,
XY plane, nearest sampling as the reference code) and the block bounds from
:func:`microexp.features.blocks.block_bounds`, so a block here is a block of the recognition
features.
"""

from __future__ import annotations

import numpy as np

from microexp.features.blocks import block_bounds
from microexp.features.lbptop import lbp_mapping, lbptop_codes

__all__ = [
    "block_distance_feature",
    "chi_squared_distance",
    "lbp_block_histograms",
    "lbp_difference_feature",
]


def lbp_block_histograms(
    frames: np.ndarray,
    grid: tuple[int, int] = (6, 6),
    radius: int = 1,
    neighbors: int = 8,
    mapping: str = "u2",
    chunk_frames: int = 128,
) -> np.ndarray:
    """Normalised LBP histograms (T, rows * cols, n_bins) of every frame's blocks (row-major).

    ``frames``: (T, H, W) gray face crops. Codes are computed at centres radius..H-1-radius
    (no padding, as the recognition features); a block counts the centres inside it. A
    frame's XY codes depend on that frame only, so the video is taken ``chunk_frames`` frames
    at a time: the same histograms, with the codes' int64 intermediates bounded (a whole
    1,800-frame video at once needed about 1.5 GB).
    """
    volume = np.asarray(frames)
    if volume.ndim != 3:
        raise ValueError(f"frames must be (T, H, W), got shape {volume.shape}")
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    table, n_bins = lbp_mapping(neighbors, mapping)
    parts = [
        _chunk_histograms(volume[t : t + chunk_frames], grid, radius, neighbors, table, n_bins)
        for t in range(0, len(volume), chunk_frames)
    ]
    if not parts:
        return np.zeros((0, grid[0] * grid[1], n_bins))
    return np.concatenate(parts, axis=0)


def _chunk_histograms(
    volume: np.ndarray,
    grid: tuple[int, int],
    radius: int,
    neighbors: int,
    table: np.ndarray,
    n_bins: int,
) -> np.ndarray:
    n_frames, height, width = volume.shape
    # The kernel computes all three planes and needs one frame either side: pad by edge
    # frames and keep the XY plane (the temporal planes are not used here).
    padded = np.concatenate([volume[:1], volume, volume[-1:]], axis=0)
    codes = lbptop_codes(padded, (radius, radius, 1), (neighbors, neighbors, neighbors)).xy
    bins = table[codes].astype(np.int64)  # (T, H - 2r, W - 2r)
    rows, cols = grid
    ys = block_bounds(height, rows, 0) - radius
    xs = block_bounds(width, cols, 0) - radius
    label = np.zeros(bins.shape[1:], dtype=np.int64)
    ch, cw = bins.shape[1:]
    for r, (y0, y1) in enumerate(np.clip(ys, 0, [ch, ch])):
        for c, (x0, x1) in enumerate(np.clip(xs, 0, [cw, cw])):
            label[y0:y1, x0:x1] = r * cols + c
    n_blocks = rows * cols
    flat = (label[None] * n_bins + bins).reshape(n_frames, -1)
    offsets = (np.arange(n_frames) * n_blocks * n_bins)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=n_frames * n_blocks * n_bins)
    counts = counts.reshape(n_frames, n_blocks, n_bins).astype(np.float64)
    totals = counts.sum(axis=2, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def chi_squared_distance(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """chi^2 distance over the last axis, ``sum (h - g)^2 / (h + g)`` with 0/0 = 0."""
    num = (h - g) ** 2
    den = h + g
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0).sum(axis=-1)


def block_distance_feature(distances: np.ndarray, top_fraction: float = 1 / 3) -> np.ndarray:
    """Mean of the largest ``top_fraction`` of the block distances per frame ((T, n) -> (T,))."""
    d = np.asarray(distances, dtype=np.float64)
    n_top = max(1, int(np.floor(d.shape[1] * top_fraction + 0.5)))
    top = -np.sort(-d, axis=1)[:, :n_top]
    return top.mean(axis=1)


def lbp_difference_feature(
    histograms: np.ndarray, k: int, top_fraction: float = 1 / 3
) -> np.ndarray:
    """Moilanen's F_i from block histograms (T, n_blocks, n_bins); NaN where i -+ k is outside."""
    h = np.asarray(histograms, dtype=np.float64)
    n_frames = h.shape[0]
    feature = np.full(n_frames, np.nan)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n_frames <= 2 * k:
        return feature
    average = 0.5 * (h[: -2 * k] + h[2 * k :])
    distances = chi_squared_distance(h[k:-k], average)
    feature[k:-k] = block_distance_feature(distances, top_fraction)
    return feature
