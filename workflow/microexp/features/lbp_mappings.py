"""LBP code -> histogram bin mappings with the conventions of the original ``LBPTOP.m``
(docs/methods.md#lbp-top; DSME-3D Sec. 4.2.1).

``u2``: the uniform codes (at most two circular 0/1 transitions) go to bins 1..P(P-1)+2 in
ascending code order, every non-uniform code to bin 0 (59 bins for P = 8, 15 for P = 4);
``basic``: bin = code, 2^P bins. Used by LBP-TOP (:mod:`microexp.features.lbptop`), its block
and ROI histograms and the LBP difference spotter.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

Mapping = Literal["u2", "basic"]

MAPPINGS: tuple[str, str] = ("u2", "basic")
# Codes are stored as uint8 (P <= 8) or uint16, so P <= 16; below 3 "uniform" means nothing.
MIN_NEIGHBORS = 3
MAX_NEIGHBORS = 16


def check_neighbors(n_neighbors: int) -> None:
    """Raise ValueError unless P is an integer in MIN_NEIGHBORS..MAX_NEIGHBORS."""
    if not isinstance(n_neighbors, int | np.integer) or isinstance(n_neighbors, bool):
        raise ValueError(f"number of neighbours must be an integer, got {n_neighbors!r}")
    if not MIN_NEIGHBORS <= n_neighbors <= MAX_NEIGHBORS:
        raise ValueError(
            f"unsupported number of neighbours P={n_neighbors}; "
            f"supported: {MIN_NEIGHBORS} <= P <= {MAX_NEIGHBORS}"
        )


def circular_transitions(code: int, n_neighbors: int) -> int:
    """Number of 0/1 changes around the circle of an LBP code with P bits."""
    rotated = ((code >> 1) | ((code & 1) << (n_neighbors - 1))) & ((1 << n_neighbors) - 1)
    return (code ^ rotated).bit_count()


def uniform_mapping(n_neighbors: int) -> np.ndarray:
    """``u2`` table: code -> bin. Uniform codes get bins 1.. ascending, non-uniform bin 0.

    There are P (P - 1) + 2 uniform codes, so the table has P (P - 1) + 3 bins
    (59 for P = 8, 15 for P = 4), as in the reference code (docs/methods.md#lbp-top). Read-only
    (cached)."""
    check_neighbors(n_neighbors)
    return _uniform_mapping(int(n_neighbors))


@functools.cache
def _uniform_mapping(n_neighbors: int) -> np.ndarray:
    table = np.zeros(1 << n_neighbors, dtype=np.uint16)
    next_bin = 1
    for code in range(1 << n_neighbors):
        if circular_transitions(code, n_neighbors) <= 2:
            table[code] = next_bin
            next_bin += 1
    assert next_bin == n_neighbors * (n_neighbors - 1) + 3
    table.flags.writeable = False
    return table


def basic_mapping(n_neighbors: int) -> np.ndarray:
    """``basic`` table: the identity, 2^P bins."""
    check_neighbors(n_neighbors)
    return np.arange(1 << n_neighbors, dtype=np.uint16)


def lbp_mapping(n_neighbors: int, mapping: str) -> tuple[np.ndarray, int]:
    """(code -> bin table, number of bins) for ``mapping`` in {"u2", "basic"}."""
    if mapping == "u2":
        return uniform_mapping(n_neighbors), n_neighbors * (n_neighbors - 1) + 3
    if mapping == "basic":
        return basic_mapping(n_neighbors), 1 << n_neighbors
    raise ValueError(f"unsupported LBP mapping {mapping!r}; use one of {MAPPINGS}")


def n_bins(n_neighbors: int, mapping: str) -> int:
    """Histogram length of one plane for P neighbours and ``mapping``."""
    return lbp_mapping(n_neighbors, mapping)[1]
