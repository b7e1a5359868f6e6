"""Per-block mean depth on the spotters' block grid, without the LBP machinery's imports.

Whole-video ingestion (:mod:`microexp.spotting.video`) reduces every registered depth frame to
these means as it streams; keeping this module free of numba and scipy keeps that job's
memory small (they cost ~200 MB resident). The block bounds are those of
:func:`microexp.features.blocks.block_bounds` (same formula, overlap 0; a test checks they
agree): along an axis of L pixels split into n blocks, block j starts at floor(j L / n + 1/2).
"""

from __future__ import annotations

import numpy as np

__all__ = ["block_mean_depth", "grid_bounds"]


def grid_bounds(length: int, n_blocks: int) -> np.ndarray:
    """(n_blocks, 2) half-open [start, stop) of n non-overlapping blocks along one axis."""
    if n_blocks < 1 or length < n_blocks:
        raise ValueError(f"cannot split {length} pixels into {n_blocks} blocks")
    starts = [(2 * j * length + n_blocks) // (2 * n_blocks) for j in range(n_blocks + 1)]
    return np.array([(starts[j], starts[j + 1]) for j in range(n_blocks)], dtype=np.intp)


def block_mean_depth(
    depth: np.ndarray, grid: tuple[int, int] = (6, 6), min_valid_fraction: float = 0.5
) -> np.ndarray:
    """Mean valid depth (T, rows * cols) per block, NaN where too few pixels are valid."""
    d = np.asarray(depth, dtype=np.float64)
    if d.ndim != 3:
        raise ValueError(f"depth must be (T, H, W), got shape {d.shape}")
    rows, cols = grid
    valid = np.isfinite(d) & (d > 0)
    filled = np.where(valid, d, 0.0)
    out = np.full((d.shape[0], rows * cols), np.nan)
    for r, (y0, y1) in enumerate(grid_bounds(d.shape[1], rows)):
        for c, (x0, x1) in enumerate(grid_bounds(d.shape[2], cols)):
            n_valid = valid[:, y0:y1, x0:x1].sum(axis=(1, 2))
            total = filled[:, y0:y1, x0:x1].sum(axis=(1, 2))
            enough = n_valid >= min_valid_fraction * (y1 - y0) * (x1 - x0)
            out[enough, r * cols + c] = total[enough] / n_valid[enough]
    return out
