"""Surface types from principal curvatures: the shape index with its Dorai-Jain bins, and the
Besl-Jain HK types (docs/methods.md#curvature; DSME-3D 4.2.2 - 4.2.3).

Curvatures follow the sign convention of :mod:`microexp.features.curvature`: a surface convex
toward the camera has positive curvature, and k1 >= k2.

Shape index (Koenderink & van Doorn 1992; Dorai & Jain, "COSMOS", IEEE TPAMI 19(10), 1997):
SI = 1/2 + (1/pi) atan((k1 + k2) / (k1 - k2)) in [0, 1]: cap 1, dome 0.875, ridge 0.75, saddle
0.5, rut 0.25, cup 0 (DSME-3D Eq. 6 with our sign convention), quantised into the 9 Dorai-Jain
bins. HK types (Besl & Jain, "Invariant surface characteristics for 3D object recognition in
range images", CVGIP 1986): 9 classes from the signs of H and K with zero bands, named
geometrically so that no sign convention can flip them.
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = [
    "HK_TYPE_NAMES",
    "SHAPE_INDEX_BINS",
    "SHAPE_INDEX_BIN_NAMES",
    "SHAPE_INDEX_EDGES",
    "HKType",
    "hk_type",
    "shape_index",
    "shape_index_bin",
]


# --------------------------------------------------------------------------------------------
# Shape index (Dorai & Jain)
# --------------------------------------------------------------------------------------------

SHAPE_INDEX_BIN_NAMES: tuple[str, ...] = (
    "cup",
    "trough",
    "rut",
    "saddle rut",
    "saddle",
    "saddle ridge",
    "ridge",
    "dome",
    "cap",
)
SHAPE_INDEX_EDGES: np.ndarray = np.array([0.0, *((2 * i + 1) / 16 for i in range(8)), 1.0])
"""Dorai-Jain bin edges: cup [0, 1/16), seven bins of width 1/8, cap [15/16, 1]."""
SHAPE_INDEX_EDGES.setflags(write=False)
SHAPE_INDEX_BINS: tuple[tuple[str, float, float], ...] = tuple(
    (name, float(SHAPE_INDEX_EDGES[i]), float(SHAPE_INDEX_EDGES[i + 1]))
    for i, name in enumerate(SHAPE_INDEX_BIN_NAMES)
)
"""(name, lower, upper) per Dorai-Jain bin; each bin is [lower, upper), the cap bin includes 1."""


def shape_index(k1: np.ndarray, k2: np.ndarray, planar_tolerance: float = 0.0) -> np.ndarray:
    """Shape index SI = 1/2 + (1/pi) atan((k1 + k2) / (k1 - k2)) in [0, 1]
    (docs/methods.md#curvature).

    DSME-3D Eq. 6 written for our sign convention (convex toward the camera is positive):
    cap 1, dome 0.875, ridge 0.75, saddle 0.5, rut 0.25, cup 0. Umbilic points (k1 = k2) take 1
    or 0 by the sign of H. Planar points, |k1| and |k2| both <= `planar_tolerance`, have no
    shape and get NaN, as do NaN curvatures; callers leave NaN out of the SI histogram.
    """
    k1 = np.asarray(k1, dtype=np.float64)
    k2 = np.asarray(k2, dtype=np.float64)
    if np.any(k1 < k2):
        raise ValueError("shape_index expects k1 >= k2 everywhere")
    # arctan2 with a non-negative second argument is atan of the ratio, and at umbilics
    # (k1 - k2 = 0) it returns +-pi/2 by the sign of k1 + k2: exactly the umbilic rule.
    si = np.asarray(0.5 + np.arctan2(k1 + k2, k1 - k2) / np.pi)
    planar = (np.abs(k1) <= planar_tolerance) & (np.abs(k2) <= planar_tolerance)
    si[planar] = np.nan
    return si


def shape_index_bin(si: np.ndarray) -> np.ndarray:
    """Dorai-Jain bin 0..8 of each shape index (names in SHAPE_INDEX_BIN_NAMES); -1 for NaN."""
    si = np.asarray(si, dtype=np.float64)
    finite = np.isfinite(si)
    if np.any((si[finite] < 0.0) | (si[finite] > 1.0)):
        raise ValueError("shape index values must lie in [0, 1]")
    bins = np.asarray(np.searchsorted(SHAPE_INDEX_EDGES[1:-1], si, side="right"), dtype=np.int64)
    bins[~finite] = -1
    return bins


# --------------------------------------------------------------------------------------------
# HK surface types (Besl & Jain)
# --------------------------------------------------------------------------------------------


class HKType(enum.IntEnum):
    """Besl-Jain surface types, index = 3 * (H row: >0, 0, <0) + (K column: >0, 0, <0).

    Named geometrically (docs/methods.md#curvature) for our convention, convex toward the camera = H
    > 0."""

    PEAK = 0  # H > 0, K > 0
    RIDGE = 1  # H > 0, K = 0
    SADDLE_RIDGE = 2  # H > 0, K < 0
    IMPOSSIBLE = 3  # H = 0, K > 0: cannot happen exactly; kept as its own bin like DSME-3D
    FLAT = 4  # H = 0, K = 0
    MINIMAL_SURFACE = 5  # H = 0, K < 0
    PIT = 6  # H < 0, K > 0
    VALLEY = 7  # H < 0, K = 0
    SADDLE_VALLEY = 8  # H < 0, K < 0


HK_TYPE_NAMES: tuple[str, ...] = tuple(t.name.lower().replace("_", " ") for t in HKType)


def hk_type(H: np.ndarray, K: np.ndarray, eps_H: float, eps_K: float) -> np.ndarray:
    """Besl-Jain HK type 0..8 (see HKType / HK_TYPE_NAMES) per point; -1 where H or K is NaN.

    H and K count as zero when |H| < eps_H and |K| < eps_K (DSME-3D 4.2.2).
    """
    H = np.asarray(H, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if eps_H < 0 or eps_K < 0:
        raise ValueError("eps_H and eps_K must be non-negative")
    h_row = np.where(H >= eps_H, 0, np.where(H <= -eps_H, 2, 1))
    k_col = np.where(K >= eps_K, 0, np.where(K <= -eps_K, 2, 1))
    # With eps = 0 a value of exactly 0 must land in the zero band, not in both signs.
    h_row = np.where(H == 0.0, 1, h_row)
    k_col = np.where(K == 0.0, 1, k_col)
    types = np.asarray(3 * h_row + k_col, dtype=np.int64)
    types[~(np.isfinite(H) & np.isfinite(K))] = -1
    return types
