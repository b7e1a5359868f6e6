"""LBP and LBP-TOP with the conventions of the original ``LBPTOP.m`` (Zhao & Pietikainen).

docs/methods.md#lbp-top is the reference; DSME-3D section 4.2.1 and CAS(ME)^2 section 3 use the
descriptor. The aim is bit-identity with the MATLAB code for the same volume and parameters, so
every convention below copies that code, including its 1-based indices and its single precision:

* angle a = 2 pi p / P, p = 0..P-1, evaluated as ``(2 * pi * p) / P``;
* XY: x = xc + Rx cos a, y = yc - Ry sin a (p = 0 is the east neighbour, y points down);
  XT: x = xc + Rx cos a, t = tc + Rt sin a; YT: y = yc - Ry sin a, t = tc + Rt cos a;
* nearest: each moving coordinate is ``floor(c + 0.5)``, computed in double from the 1-based
  centre (as MATLAB does);
* bilinear: the moving coordinates c1 (x on XY/XT, y on YT) and c2 (y on XY, t on XT/YT) are
  formed in double from the 1-based centre and cast to single; u, v are their fractional parts;
  corners lt = (floor c1, floor c2), lb = (floor c1, ceil c2), rt = (ceil c1, floor c2),
  rb = (ceil c1, ceil c2); the neighbour value is
  ``floor(((V_lt (1-u)) (1-v) + (V_lb (1-u)) v) + (V_rt u) (1-v) + (V_rb u) v)`` with every
  product and sum in single precision, left to right;
* bit p is 1 when neighbour >= centre, weight 2^p (DSME-3D Eq. 2-3);
* no padding: centres are frames Bt..T-1-Bt, rows By..H-1-By, columns Bx..W-1-Bx (0-based),
  where the borders are by default each axis's own radius (Bx, By, Bt) = (Rx, Ry, Rt). LBPTOP.m
  takes them as arguments instead, one spatial border for x and y (``BorderLength``) and one
  temporal (``TimeLength``), and its documentation advises max(Rx, Ry) and Rt: ``lbptop(...,
  border_xy=B, border_t=Bt)`` gives (Bx, By, Bt) = (B, B, Bt). With Rx = Ry the two agree; with
  anisotropic radii (e.g. Rx = 2, Ry = 3) ``border_xy=max(Rx, Ry)`` drops the columns x = Rx..B-1
  and W-B..W-1-Rx from the centres, as the MATLAB loops do. A border below the radius would
  index outside the volume (MATLAB stops with an error): it is rejected;
* ``u2``: the uniform codes (at most two circular 0/1 transitions) go to bins 1..P(P-1)+2 in
  ascending code order, every non-uniform code to bin 0 (59 bins for P = 8, 15 for P = 4);
  ``basic``: bin = code, 2^P bins;
* each plane's histogram is normalised by its own sum.

Volumes hold numbers with the meaning of MATLAB doubles: integer volumes (uint8 gray frames) are
compared exactly; float volumes are compared in double. In the bilinear products the corner
values enter in single precision (MATLAB's double * single is single); this is exact for
integer-valued volumes below 2^24, which is what bit-identity is promised for.

A constant volume is legal. With nearest sampling every neighbour equals the centre, so with the
>= rule every code is 2^P - 1 (the ``u2`` bin P(P-1)+2, i.e. bin 58 for P = 8). With bilinear
sampling the single-precision sum can land just below the constant (e.g. 12.999999 for 13) and
the floor then clears that bit: this is what the reference code does, and it is kept.

Speed: the MATLAB coordinate expressions are evaluated once per centre coordinate into small
per-axis tables (neighbour indices and single-precision fractions). When the indices are the
centre plus a constant (P in {4, 8, 16}, checked for radii 1..10 on axes up to 2000) a kernel with
constant offsets runs with contiguous, vectorisable inner loops; otherwise (e.g. P = 6, where
cos 60 deg = 0.5000000000000001 makes nearest rounding depend on the centre) a kernel that looks
the indices up per centre. ``lbptop_codes_reference`` is a plain NumPy version of the same
formulas without tables (:mod:`microexp.testing.lbptop_reference`), the tests' ground truth
and the benchmark's baseline. The code -> bin mappings (``u2``, ``basic``) are in
:mod:`microexp.features.lbp_mappings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit

from microexp.features.lbp_mappings import (
    MAPPINGS,
    MAX_NEIGHBORS,
    MIN_NEIGHBORS,
    Mapping,
    basic_mapping,
    check_neighbors,
    circular_transitions,
    lbp_mapping,
    n_bins,
    uniform_mapping,
)

# Re-exported: the code -> bin mappings live in lbp_mappings.
__all__ = [
    "INTERPOLATIONS",
    "MAPPINGS",
    "MAX_NEIGHBORS",
    "MIN_NEIGHBORS",
    "PLANES",
    "PlaneCodes",
    "axis_borders",
    "basic_mapping",
    "centre_ranges",
    "circular_transitions",
    "code_dtype",
    "code_histograms",
    "lbp_mapping",
    "lbptop",
    "lbptop_codes",
    "n_bins",
    "uniform_mapping",
    "validate_parameters",
    "validate_volume",
]

Interpolation = Literal["nearest", "bilinear"]

PLANES: tuple[str, str, str] = ("xy", "xt", "yt")
INTERPOLATIONS: tuple[str, str] = ("nearest", "bilinear")


@dataclass(frozen=True)
class PlaneCodes:
    """LBP codes of the three orthogonal planes from one pass over a (T, H, W) volume.

    ``xy``, ``xt``, ``yt`` are raw (unmapped) codes of shape (T - 2 Bt, H - 2 By, W - 2 Bx),
    uint8 for P <= 8 else uint16; element [i, j, k] belongs to the centre (Bt + i, By + j, Bx + k)
    of the volume. ``borders`` (Bx, By, Bt) are the excluded margins (module docstring); None
    means the radii.
    """

    xy: np.ndarray
    xt: np.ndarray
    yt: np.ndarray
    volume_shape: tuple[int, int, int]
    radii: tuple[int, int, int]
    neighbors: tuple[int, int, int]
    interpolation: str
    borders: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.borders is None:
            object.__setattr__(self, "borders", tuple(self.radii))

    @property
    def planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (self.xy, self.xt, self.yt)

    @property
    def centre_ranges(self) -> tuple[range, range, range]:
        """(frames, rows, columns) of the volume that are centres (0-based, no padding)."""
        return centre_ranges(self.volume_shape, self.borders)


def centre_ranges(
    volume_shape: tuple[int, int, int], borders: tuple[int, int, int]
) -> tuple[range, range, range]:
    """Centre frames, rows and columns: Bt..T-1-Bt, By..H-1-By, Bx..W-1-Bx
    (docs/methods.md#lbp-top).

    ``borders`` (Bx, By, Bt) are the radii (Rx, Ry, Rt) unless LBPTOP.m's BorderLength /
    TimeLength are given (``axis_borders``).
    """
    n_t, n_y, n_x = volume_shape
    b_x, b_y, b_t = borders
    return (range(b_t, n_t - b_t), range(b_y, n_y - b_y), range(b_x, n_x - b_x))


def axis_borders(
    radii: tuple[int, int, int], border_xy: int | None = None, border_t: int | None = None
) -> tuple[int, int, int]:
    """Per-axis margins (Bx, By, Bt) without centres.

    None keeps each axis's radius; an int is LBPTOP.m's ``BorderLength`` (x and y) or
    ``TimeLength`` (t). A border must be at least the radius of every axis it applies to, or
    neighbours would fall outside the volume.
    """
    r_x, r_y, r_t = radii
    b_x = b_y = b_t = None
    for name, value, applies_to in (
        ("border_xy", border_xy, {"Rx": r_x, "Ry": r_y}),
        ("border_t", border_t, {"Rt": r_t}),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"{name} must be an integer or None, got {value!r}")
        value = int(value)
        for radius_name, radius in applies_to.items():
            if value < radius:
                raise ValueError(
                    f"{name}={value} is smaller than {radius_name}={radius}: neighbours of the "
                    f"outermost centres would lie outside the volume"
                )
        if name == "border_xy":
            b_x = b_y = value
        else:
            b_t = value
    return (
        r_x if b_x is None else b_x,
        r_y if b_y is None else b_y,
        r_t if b_t is None else b_t,
    )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _as_triple_of_ints(values: tuple[int, int, int], name: str) -> tuple[int, int, int]:
    values = tuple(values)
    if len(values) != 3:
        raise ValueError(f"{name} must have three values, got {values!r}")
    out = []
    for value in values:
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"{name} must be integers, got {values!r}")
        out.append(int(value))
    return (out[0], out[1], out[2])


def validate_parameters(
    radii: tuple[int, int, int],
    neighbors: tuple[int, int, int],
    mapping: str = "u2",
    interpolation: str = "nearest",
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Check LBP-TOP parameters; return radii (Rx, Ry, Rt) and neighbours as int triples."""
    radii = _as_triple_of_ints(radii, "radii (Rx, Ry, Rt)")
    if min(radii) < 1:
        raise ValueError(f"radii (Rx, Ry, Rt) must be >= 1, got {radii}")
    neighbors = _as_triple_of_ints(neighbors, "neighbors (Pxy, Pxt, Pyt)")
    for n_neighbors in neighbors:
        check_neighbors(n_neighbors)
    if mapping not in MAPPINGS:
        raise ValueError(f"unsupported LBP mapping {mapping!r}; use one of {MAPPINGS}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"unsupported interpolation {interpolation!r}; use one of {INTERPOLATIONS}"
        )
    return radii, neighbors


def validate_volume(volume: np.ndarray, radii: tuple[int, int, int]) -> np.ndarray:
    """Check a (T, H, W) real, finite volume large enough for the radii; return it as array.

    ``radii`` may be the borders (Bx, By, Bt) instead: the volume must have a centre.
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"LBP-TOP needs a 3D (T, H, W) volume, got shape {volume.shape}")
    if volume.dtype == np.bool_ or not (
        np.issubdtype(volume.dtype, np.integer) or np.issubdtype(volume.dtype, np.floating)
    ):
        raise ValueError(f"LBP-TOP needs an integer or float volume, got dtype {volume.dtype}")
    r_x, r_y, r_t = radii
    n_t, n_y, n_x = volume.shape
    if n_t < 2 * r_t + 1:
        raise ValueError(
            f"volume has {n_t} frames; Rt={r_t} needs at least {2 * r_t + 1} (2 Rt + 1)"
        )
    if n_y < 2 * r_y + 1 or n_x < 2 * r_x + 1:
        raise ValueError(
            f"volume frames are {n_y} x {n_x}; Ry={r_y}, Rx={r_x} need at least "
            f"{2 * r_y + 1} x {2 * r_x + 1}"
        )
    if np.issubdtype(volume.dtype, np.floating) and not np.isfinite(volume).all():
        raise ValueError("volume contains NaN or infinite values")
    return volume


# --------------------------------------------------------------------------------------------
# Neighbour tables: the MATLAB coordinate expressions, evaluated once per centre coordinate
# --------------------------------------------------------------------------------------------


def _angles(n_neighbors: int) -> list[float]:
    # MATLAB: (2 * pi * p) / P, left to right.
    return [(2 * math.pi * p) / n_neighbors for p in range(n_neighbors)]


def _moving_coordinates(centres: np.ndarray, offsets: list[float], sign: int) -> np.ndarray:
    """(P, n) 1-based double coordinates ``c + R f(a)`` (sign +1) or ``c - R f(a)`` (-1)."""
    c1 = centres.astype(np.float64) + 1.0  # MATLAB indices are 1-based
    if sign > 0:
        return np.stack([c1 + offset for offset in offsets])
    return np.stack([c1 - offset for offset in offsets])


def _nearest_table(centres: np.ndarray, offsets: list[float], sign: int) -> np.ndarray:
    coords = _moving_coordinates(centres, offsets, sign)
    return (np.floor(coords + 0.5) - 1.0).astype(np.intp)


def _bilinear_table(
    centres: np.ndarray, offsets: list[float], sign: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(floor index, ceil index, fraction) with the coordinate cast to single first."""
    coords = _moving_coordinates(centres, offsets, sign).astype(np.float32)
    lower = np.floor(coords)
    fraction = (coords - lower).astype(np.float32)
    return (
        (lower - 1.0).astype(np.intp),
        (np.ceil(coords) - 1.0).astype(np.intp),
        fraction,
    )


def _plane_geometry(
    plane: str, radii: tuple[int, int, int], n_neighbors: int
) -> dict[str, tuple[list[float], int, str]]:
    """For c1 and c2 of a plane: (R * trig(a) for every p, sign, axis), from
    docs/methods.md#lbp-top."""
    angles = _angles(n_neighbors)
    cos_terms = {
        axis: [r * math.cos(a) for a in angles] for axis, r in zip("xyt", radii, strict=True)
    }
    sin_terms = {
        axis: [r * math.sin(a) for a in angles] for axis, r in zip("xyt", radii, strict=True)
    }
    if plane == "xy":
        # c1 = x = xc + Rx cos a; c2 = y = yc - Ry sin a
        return {"c1": (cos_terms["x"], +1, "x"), "c2": (sin_terms["y"], -1, "y")}
    if plane == "xt":
        # c1 = x = xc + Rx cos a; c2 = t = tc + Rt sin a
        return {"c1": (cos_terms["x"], +1, "x"), "c2": (sin_terms["t"], +1, "t")}
    if plane == "yt":
        # c1 = y = yc - Ry sin a; c2 = t = tc + Rt cos a
        return {"c1": (sin_terms["y"], -1, "y"), "c2": (cos_terms["t"], +1, "t")}
    raise ValueError(f"unknown plane {plane!r}")


def _axis_centres(
    volume_shape: tuple[int, int, int], borders: tuple[int, int, int]
) -> dict[str, np.ndarray]:
    frames, rows, cols = centre_ranges(volume_shape, borders)
    return {
        "t": np.arange(frames.start, frames.stop),
        "y": np.arange(rows.start, rows.stop),
        "x": np.arange(cols.start, cols.stop),
    }


def _constant_offsets(table: np.ndarray, centres: np.ndarray) -> np.ndarray | None:
    """(P,) offsets of an index table (P, n) from its centres, or None if they depend on c.

    floor(c + d + 0.5) - c and floor(single(c + d)) - c change with c only when c + d lies
    within a rounding step of an integer (or, for nearest, of a half-integer): that happens for
    P = 6 or 12 (cos 60 deg = 0.5000000000000001), not for P in {4, 8, 16} (radii 1..10 checked).
    """
    difference = table - centres[None, :]
    if not (difference == difference[:, :1]).all():
        return None
    return np.ascontiguousarray(difference[:, 0])


def _nearest_tables(
    volume_shape: tuple[int, int, int],
    radii: tuple[int, int, int],
    plane: str,
    n_neighbors: int,
    borders: tuple[int, int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Absolute neighbour indices (P, n_axis) along t, y, x; the fixed axis maps c to c."""
    centres = _axis_centres(volume_shape, borders)
    tables = {axis: np.tile(c, (n_neighbors, 1)) for axis, c in centres.items()}
    for terms, sign, axis in _plane_geometry(plane, radii, n_neighbors).values():
        tables[axis] = _nearest_table(centres[axis], terms, sign)
    return tables["t"], tables["y"], tables["x"]


def _bilinear_tables(
    volume_shape: tuple[int, int, int],
    radii: tuple[int, int, int],
    plane: str,
    n_neighbors: int,
    borders: tuple[int, int, int],
) -> tuple[np.ndarray, ...]:
    """Corner indices (4, P, n_axis) along t, y, x in corner order lt, lb, rt, rb; u, v tables.

    u (v) tables have shape (P, n_axis): the single-precision fraction of c1 (c2) for every
    centre coordinate of its axis (it depends on the 1-based centre through the cast to
    single) and exactly 0 on the other axes, so that u = u_t + u_y + u_x in the kernel is the
    fraction bit for bit.
    """
    centres = _axis_centres(volume_shape, borders)
    corners = {a: np.stack([np.tile(c, (n_neighbors, 1))] * 4) for a, c in centres.items()}
    u_tables = {a: np.zeros((n_neighbors, c.size), np.float32) for a, c in centres.items()}
    v_tables = {a: np.zeros((n_neighbors, c.size), np.float32) for a, c in centres.items()}
    geometry = _plane_geometry(plane, radii, n_neighbors)
    terms, sign, axis1 = geometry["c1"]
    lower1, upper1, u_tables[axis1] = _bilinear_table(centres[axis1], terms, sign)
    terms, sign, axis2 = geometry["c2"]
    lower2, upper2, v_tables[axis2] = _bilinear_table(centres[axis2], terms, sign)
    # lt = (floor c1, floor c2), lb = (floor c1, ceil c2), rt = (ceil c1, floor c2), rb = ceil both
    corners[axis1] = np.stack([lower1, lower1, upper1, upper1])
    corners[axis2] = np.stack([lower2, upper2, lower2, upper2])
    return (
        corners["t"], corners["y"], corners["x"],
        u_tables["t"], u_tables["y"], u_tables["x"],
        v_tables["t"], v_tables["y"], v_tables["x"],
    )  # fmt: skip


def _tables_as_offsets(
    tables: tuple[np.ndarray, np.ndarray, np.ndarray], volume_shape, borders
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Index tables (..., P, n) for t, y, x as constant offsets (..., P), or None."""
    centres = _axis_centres(volume_shape, borders)
    offsets = []
    for table, axis in zip(tables, "tyx", strict=True):
        flat = table.reshape(-1, table.shape[-1])
        axis_offsets = _constant_offsets(flat, centres[axis])
        if axis_offsets is None:
            return None
        offsets.append(axis_offsets.reshape(table.shape[:-1]))
    return offsets[0], offsets[1], offsets[2]


# --------------------------------------------------------------------------------------------
# Kernels: loops (t, y, x) with x innermost and contiguous, so that LLVM vectorises them
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _nearest_kernel(volume, off_t, off_y, off_x, origin, codes):  # pragma: no cover
    n_neighbors = off_t.shape[0]
    n_t, n_y, n_x = codes.shape
    t0, y0, x0 = origin[0], origin[1], origin[2]
    for ti in range(n_t):
        for yi in range(n_y):
            centre_row = volume[t0 + ti, y0 + yi, x0 : x0 + n_x]
            code_row = codes[ti, yi]
            for p in range(n_neighbors):
                start = x0 + off_x[p]
                neighbour_row = volume[t0 + ti + off_t[p], y0 + yi + off_y[p], start : start + n_x]
                for xi in range(n_x):
                    code_row[xi] |= (neighbour_row[xi] >= centre_row[xi]) << p


@njit(cache=True, nogil=True)
def _bilinear_kernel(
    volume, volume32, corner_t, corner_y, corner_x,
    u_t, u_y, u_x, v_t, v_y, v_x, origin, codes,
):  # pragma: no cover  # fmt: skip
    n_neighbors = corner_t.shape[1]
    n_t, n_y, n_x = codes.shape
    t0, y0, x0 = origin[0], origin[1], origin[2]
    one = np.float32(1.0)
    for ti in range(n_t):
        for yi in range(n_y):
            t, y = t0 + ti, y0 + yi
            centre_row = volume[t, y, x0 : x0 + n_x]
            code_row = codes[ti, yi]
            for p in range(n_neighbors):
                s = x0 + corner_x[0, p]
                row_lt = volume32[t + corner_t[0, p], y + corner_y[0, p], s : s + n_x]
                s = x0 + corner_x[1, p]
                row_lb = volume32[t + corner_t[1, p], y + corner_y[1, p], s : s + n_x]
                s = x0 + corner_x[2, p]
                row_rt = volume32[t + corner_t[2, p], y + corner_y[2, p], s : s + n_x]
                s = x0 + corner_x[3, p]
                row_rb = volume32[t + corner_t[3, p], y + corner_y[3, p], s : s + n_x]
                # Exactly one of the three terms is non-zero: adding zeros is exact.
                u_row = u_t[p, ti] + u_y[p, yi]
                v_row = v_t[p, ti] + v_y[p, yi]
                u_cols = u_x[p]
                v_cols = v_x[p]
                for xi in range(n_x):
                    u = u_row + u_cols[xi]
                    v = v_row + v_cols[xi]
                    one_u = one - u
                    one_v = one - v
                    value = (
                        row_lt[xi] * one_u * one_v
                        + row_lb[xi] * one_u * v
                        + row_rt[xi] * u * one_v
                        + row_rb[xi] * u * v
                    )
                    code_row[xi] |= (np.floor(value) >= centre_row[xi]) << p


@njit(cache=True, nogil=True)
def _nearest_table_kernel(volume, index_t, index_y, index_x, origin, codes):  # pragma: no cover
    # General path: neighbour indices looked up per centre coordinate (e.g. P = 6).
    n_neighbors = index_t.shape[0]
    n_t, n_y, n_x = codes.shape
    t0, y0, x0 = origin[0], origin[1], origin[2]
    for ti in range(n_t):
        for yi in range(n_y):
            centre_row = volume[t0 + ti, y0 + yi, x0 : x0 + n_x]
            code_row = codes[ti, yi]
            for p in range(n_neighbors):
                neighbour_row = volume[index_t[p, ti], index_y[p, yi]]
                columns = index_x[p]
                for xi in range(n_x):
                    code_row[xi] |= (neighbour_row[columns[xi]] >= centre_row[xi]) << p


@njit(cache=True, nogil=True)
def _bilinear_table_kernel(
    volume, volume32, corner_t, corner_y, corner_x,
    u_t, u_y, u_x, v_t, v_y, v_x, origin, codes,
):  # pragma: no cover  # fmt: skip
    # General path: corner indices looked up per centre coordinate (e.g. P = 6).
    n_neighbors = corner_t.shape[1]
    n_t, n_y, n_x = codes.shape
    t0, y0, x0 = origin[0], origin[1], origin[2]
    one = np.float32(1.0)
    for ti in range(n_t):
        for yi in range(n_y):
            centre_row = volume[t0 + ti, y0 + yi, x0 : x0 + n_x]
            code_row = codes[ti, yi]
            for p in range(n_neighbors):
                row_lt = volume32[corner_t[0, p, ti], corner_y[0, p, yi]]
                row_lb = volume32[corner_t[1, p, ti], corner_y[1, p, yi]]
                row_rt = volume32[corner_t[2, p, ti], corner_y[2, p, yi]]
                row_rb = volume32[corner_t[3, p, ti], corner_y[3, p, yi]]
                cols_lt, cols_lb = corner_x[0, p], corner_x[1, p]
                cols_rt, cols_rb = corner_x[2, p], corner_x[3, p]
                u_row = u_t[p, ti] + u_y[p, yi]
                v_row = v_t[p, ti] + v_y[p, yi]
                u_cols, v_cols = u_x[p], v_x[p]
                for xi in range(n_x):
                    u = u_row + u_cols[xi]
                    v = v_row + v_cols[xi]
                    one_u = one - u
                    one_v = one - v
                    value = (
                        row_lt[cols_lt[xi]] * one_u * one_v
                        + row_lb[cols_lb[xi]] * one_u * v
                        + row_rt[cols_rt[xi]] * u * one_v
                        + row_rb[cols_rb[xi]] * u * v
                    )
                    code_row[xi] |= (np.floor(value) >= centre_row[xi]) << p


def _working_volume(volume: np.ndarray) -> np.ndarray:
    # MATLAB compares doubles. Integer dtypes compare exactly as they are (no copy needed);
    # floats are compared in double.
    if np.issubdtype(volume.dtype, np.integer):
        return np.ascontiguousarray(volume)
    return np.ascontiguousarray(volume, dtype=np.float64)


def code_dtype(n_neighbors: int) -> type[np.unsignedinteger]:
    """uint8 for P <= 8, else uint16."""
    return np.uint8 if n_neighbors <= 8 else np.uint16


def lbptop_codes(
    volume: np.ndarray,
    radii: tuple[int, int, int] = (1, 1, 4),
    neighbors: tuple[int, int, int] = (8, 8, 8),
    interpolation: Interpolation = "nearest",
    border_xy: int | None = None,
    border_t: int | None = None,
) -> PlaneCodes:
    """Raw LBP codes on the XY, XT and YT planes of every centre of a (T, H, W) volume.

    radii = (Rx, Ry, Rt), neighbors = (Pxy, Pxt, Pyt); conventions of docs/methods.md#lbp-top
    (module docstring). ``border_xy`` / ``border_t`` are LBPTOP.m's BorderLength / TimeLength (None:
    each axis's own radius). Codes are uint8 for P <= 8, else uint16. One pass gives all three
    planes; block and ROI histograms are derived from it (``microexp.features.blocks``).
    """
    radii, neighbors = validate_parameters(radii, neighbors, "u2", interpolation)
    borders = axis_borders(radii, border_xy, border_t)
    volume = _working_volume(validate_volume(volume, borders))
    frames, rows, cols = centre_ranges(volume.shape, borders)
    origin = np.array([frames.start, rows.start, cols.start], dtype=np.intp)
    shape = (len(frames), len(rows), len(cols))
    volume32 = volume.astype(np.float32) if interpolation == "bilinear" else None
    planes = []
    for plane, n_neighbors in zip(PLANES, neighbors, strict=True):
        codes = np.zeros(shape, dtype=code_dtype(n_neighbors))
        if interpolation == "nearest":
            tables = _nearest_tables(volume.shape, radii, plane, n_neighbors, borders)
            offsets = _tables_as_offsets(tables, volume.shape, borders)
            if offsets is None:
                _nearest_table_kernel(volume, *tables, origin, codes)
            else:
                _nearest_kernel(volume, *offsets, origin, codes)
        else:
            tables = _bilinear_tables(volume.shape, radii, plane, n_neighbors, borders)
            offsets = _tables_as_offsets(tables[:3], volume.shape, borders)
            if offsets is None:
                _bilinear_table_kernel(volume, volume32, *tables, origin, codes)
            else:
                _bilinear_kernel(volume, volume32, *offsets, *tables[3:], origin, codes)
        planes.append(codes)
    return PlaneCodes(
        planes[0], planes[1], planes[2], tuple(volume.shape), radii, neighbors, interpolation,
        borders,
    )  # fmt: skip


def code_histograms(codes: PlaneCodes, mapping: Mapping = "u2") -> list[np.ndarray]:
    """Per-plane normalised histograms of all centres (a list: P may differ per plane)."""
    histograms = []
    for plane_codes, n_neighbors in zip(codes.planes, codes.neighbors, strict=True):
        table, n_plane_bins = lbp_mapping(n_neighbors, mapping)
        counts = np.bincount(table[plane_codes].ravel(), minlength=n_plane_bins)
        histograms.append(counts / counts.sum())
    return histograms


def lbptop(
    volume: np.ndarray,
    radii: tuple[int, int, int] = (1, 1, 4),
    neighbors: tuple[int, int, int] = (8, 8, 8),
    mapping: Mapping = "u2",
    interpolation: Interpolation = "nearest",
    border_xy: int | None = None,
    border_t: int | None = None,
) -> np.ndarray:
    """LBP-TOP histograms (3, n_bins) of a (T, H, W) volume: rows XY, XT, YT, each summing to 1.

    docs/methods.md#lbp-top (conventions of the original LBPTOP.m); DSME-3D 4.2.1; CAS(ME)^2 section
    3. When the planes have different P, n_bins is the largest and shorter rows are zero-padded.

    ``border_xy`` and ``border_t`` are LBPTOP.m's ``BorderLength`` and ``TimeLength``: the
    centres are the voxels at least that far from the volume's sides in x and y, and in t.
    None keeps each axis's own radius (Rx, Ry, Rt). ``lbptop(V, (Rx, Ry, Rt), P, mapping,
    interp, border_xy=max(Rx, Ry), border_t=Rt)`` is the MATLAB call ``LBPTOP(V, Rx, Ry, Rt,
    P, Rt, max(Rx, Ry), ...)`` (V transposed to MATLAB's (H, W, T) order there).
    """
    validate_parameters(radii, neighbors, mapping, interpolation)
    codes = lbptop_codes(volume, radii, neighbors, interpolation, border_xy, border_t)
    histograms = code_histograms(codes, mapping)
    out = np.zeros((3, max(h.size for h in histograms)))
    for row, histogram in enumerate(histograms):
        out[row, : histogram.size] = histogram
    return out
