"""Block grids over an image axis: where each of n overlapping blocks starts and stops.

The block formula of `microexp.features.blocks` (DSME-3D 4.2.1 divides the face into rows x cols
blocks that overlap by o pixels; the exact rounding is ours, see docs/methods.md). It is here, below
the stages, because the face2d QC picture draws the same grid the features use.
"""

from __future__ import annotations

import functools

import numpy as np


def block_bounds(length: int, n_blocks: int, overlap: int) -> np.ndarray:
    """(n_blocks, 2) half-open pixel ranges [start, stop) of blocks along one axis.

    start_j = floor(j (L - o) / n + 1/2), stop_j = start_{j+1} + o (module docstring).
    """
    return np.array(_block_bounds(int(length), int(n_blocks), int(overlap)), dtype=np.intp)


@functools.cache
def _block_bounds(length: int, n_blocks: int, overlap: int) -> tuple[tuple[int, int], ...]:
    if n_blocks < 1:
        raise ValueError(f"number of blocks must be >= 1, got {n_blocks}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0 pixels, got {overlap}")
    if length - overlap < n_blocks:
        raise ValueError(
            f"cannot split {length} pixels into {n_blocks} blocks overlapping by {overlap}: "
            f"needs length - overlap >= blocks"
        )
    # Exact integer arithmetic for floor(j (L - o) / n + 1/2).
    starts = [
        (2 * j * (length - overlap) + n_blocks) // (2 * n_blocks) for j in range(n_blocks + 1)
    ]
    return tuple((starts[j], starts[j + 1] + overlap) for j in range(n_blocks))
