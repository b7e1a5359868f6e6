"""RGB-D spotting: the feature-difference idea on registered depth (our method; no published
spotter uses depth).

Input: depth crops (T, H, W) in millimetres, already registered (the head pose removed by ICP
and the surface resampled on the aligned 2D crop; NaN where depth is missing), so a change in
a block's depth is facial surface motion, not head motion. Per frame and block (the same grid
as the 2D spotters) the mean valid depth; for frame i and window k the per-block change

    D_ib = | d_ib - (d_{i-k,b} + d_{i+k,b}) / 2 |   (mm)

after removing the median over blocks of the signed change (a residual rigid shift along the
optical axis that registration left moves every block alike); a block with fewer than
``min_valid_fraction`` valid pixels in any of the three frames gives 0. The frame's feature is
the mean of the largest third of the blocks, as in Moilanen's LBP difference; contrast,
threshold and peaks follow :mod:`microexp.spotting.lbp_difference`.

Combined with the LBP difference (:func:`combine_features`): each feature divided by its own
median over the video (scale-free: chi^2 distances and millimetres become "times the usual
level"), then added; our choice, stated in the report.
"""

from __future__ import annotations

import numpy as np

from microexp.spotting.grid import block_mean_depth
from microexp.spotting.lbp_difference import block_distance_feature

__all__ = ["block_mean_depth", "combine_features", "depth_difference_feature"]


def depth_difference_feature(
    block_depth: np.ndarray, k: int, top_fraction: float = 1 / 3
) -> np.ndarray:
    """Feature F (T,) from block depths (T, n_blocks); NaN for the first and last k frames."""
    b = np.asarray(block_depth, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n_frames = b.shape[0]
    feature = np.full(n_frames, np.nan)
    if n_frames <= 2 * k:
        return feature
    change = b[k:-k] - 0.5 * (b[: -2 * k] + b[2 * k :])
    finite = np.isfinite(change)
    piston = np.zeros((change.shape[0], 1))
    rows = finite.any(axis=1)  # frames with no valid block keep piston 0 (and feature 0)
    if rows.any():
        piston[rows, 0] = np.nanmedian(change[rows], axis=1)
    magnitude = np.where(finite, np.abs(change - piston), 0.0)
    feature[k:-k] = block_distance_feature(magnitude, top_fraction)
    return feature


def combine_features(*features: np.ndarray) -> np.ndarray:
    """Sum of the features, each divided by its median over its finite values (if > 0)."""
    total = None
    for f in features:
        f = np.asarray(f, dtype=np.float64)
        finite = f[np.isfinite(f)]
        scale = float(np.median(finite)) if finite.size else 0.0
        scaled = f / scale if scale > 0 else f
        total = scaled if total is None else total + scaled
    if total is None:
        raise ValueError("combine_features needs at least one feature")
    return total
