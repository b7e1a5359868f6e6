"""A plain NumPy LBP-TOP: the MATLAB expressions of ``LBPTOP.m`` vectorised over all centres,
with none of the lookup tables and kernels of :mod:`microexp.features.lbptop`.

Ground truth for tests/unit/test_lbptop.py and the baseline of benchmarks/bench_lbptop.py
(docs/methods.md#lbp-top); the library never imports it.
"""

from __future__ import annotations

import math

import numpy as np

from microexp.features.lbptop import (
    PLANES,
    axis_borders,
    centre_ranges,
    validate_parameters,
    validate_volume,
)


def lbptop_codes_reference(
    volume: np.ndarray,
    radii: tuple[int, int, int],
    neighbors: tuple[int, int, int],
    interpolation: str,
    border_xy: int | None = None,
    border_t: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MATLAB expressions vectorised over all centres, with no lookup tables."""
    radii, neighbors = validate_parameters(radii, neighbors, "u2", interpolation)
    r_x, r_y, r_t = radii
    borders = axis_borders(radii, border_xy, border_t)
    volume = validate_volume(volume, borders)
    centre_values = volume.astype(np.float64)
    volume32 = volume.astype(np.float32)
    frames, rows, cols = centre_ranges(volume.shape, borders)
    # 1-based centre coordinates, broadcast as (t, y, x)
    tc = np.arange(frames.start, frames.stop, dtype=np.float64)[:, None, None] + 1
    yc = np.arange(rows.start, rows.stop, dtype=np.float64)[None, :, None] + 1
    xc = np.arange(cols.start, cols.stop, dtype=np.float64)[None, None, :] + 1
    t_idx, y_idx, x_idx = (
        (tc - 1).astype(np.intp),
        (yc - 1).astype(np.intp),
        (xc - 1).astype(np.intp),
    )
    centre = centre_values[t_idx, y_idx, x_idx]

    def plane_coordinates(plane: str, a: float):
        if plane == "xy":
            return xc + r_x * math.cos(a), yc - r_y * math.sin(a)
        if plane == "xt":
            return xc + r_x * math.cos(a), tc + r_t * math.sin(a)
        return yc - r_y * math.sin(a), tc + r_t * math.cos(a)

    def sample(plane: str, c1: np.ndarray, c2: np.ndarray, source: np.ndarray) -> np.ndarray:
        c1, c2 = c1.astype(np.intp) - 1, c2.astype(np.intp) - 1
        if plane == "xy":
            return source[t_idx, c2, c1]
        if plane == "xt":
            return source[c2, y_idx, c1]
        return source[c2, c1, x_idx]

    out = []
    for plane, n_neighbors in zip(PLANES, neighbors, strict=True):
        codes = np.zeros(centre.shape, dtype=np.uint16)
        for p in range(n_neighbors):
            a = (2 * math.pi * p) / n_neighbors
            c1, c2 = plane_coordinates(plane, a)
            if interpolation == "nearest":
                value = sample(plane, np.floor(c1 + 0.5), np.floor(c2 + 0.5), centre_values)
            else:
                c1 = np.broadcast_to(c1, centre.shape).astype(np.float32)
                c2 = np.broadcast_to(c2, centre.shape).astype(np.float32)
                u = c1 - np.floor(c1)
                v = c2 - np.floor(c2)
                v_lt = sample(plane, np.floor(c1), np.floor(c2), volume32)
                v_lb = sample(plane, np.floor(c1), np.ceil(c2), volume32)
                v_rt = sample(plane, np.ceil(c1), np.floor(c2), volume32)
                v_rb = sample(plane, np.ceil(c1), np.ceil(c2), volume32)
                value = np.floor(
                    v_lt * (1 - u) * (1 - v)
                    + v_lb * (1 - u) * v
                    + v_rt * u * (1 - v)
                    + v_rb * u * v
                )
                assert value.dtype == np.float32
            codes |= np.where(value >= centre, np.uint16(1 << p), np.uint16(0))
        out.append(codes)
    return out[0], out[1], out[2]
