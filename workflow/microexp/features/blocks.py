"""Block LBP-TOP features from one code pass, through integral (cumulative) histograms.

docs/methods.md#block-grids; DSME-3D 4.2.1 and 4.3.1 (Tables 7-10: 33 grids from 3 x 3 to
8 x 10, overlaps 0..30 px). The face volume (T, H, W) is divided into rows x cols spatial blocks;
the feature is, for every block in row-major order, the concatenation [XY, XT, YT] of its three
plane histograms, each normalised by its own sum.

Block formula (Choice, docs/methods.md#block-grids). Along an axis of length L split into n blocks
that overlap by o pixels, the real block size is b = (L + (n - 1) o) / n and the stride is b - o =
(L - o) / n. Block j covers the half-open pixel range

    start_j = floor(j (L - o) / n + 1/2)        (round half up, in exact integer arithmetic)
    stop_j  = start_{j+1} + o                   (so stop_{n-1} = L)

hence adjacent blocks share exactly o pixels, the first starts at 0, the last ends at L, and a
pixel in an overlap counts in both blocks. It needs L - o >= n (every stride at least 1 pixel).

Centre sets. LBP-TOP has no padding, so only pixels By..H-1-By, Bx..W-1-Bx (and frames
Bt..T-1-Bt) are centres, the borders (Bx, By, Bt) being the radii unless LBPTOP.m's
BorderLength / TimeLength are given (``microexp.features.lbptop.axis_borders``). A block's
histogram counts the codes of the centres inside its pixel range, i.e. its range intersected
with the centre range; this equals running LBP-TOP on the block grown by the borders (clipped
to the crop). A block without centres gets an all-zero
histogram. Time is not split unless ``time_segments`` > 1: then the frames 0..T-1 are split
with the same formula (overlap 0) and each segment keeps the centre frames inside it; features
are ordered segment-major, then row-major blocks.

Integral histograms. From one code pass, per plane and per time segment, a single numba pass
builds the cumulative code histogram ``cumulative[s, y, x, bin]`` (uint32, shape
(S, H'+1, W'+1, n_bins), H' = H - 2 By, W' = W - 2 Bx): the count of each bin over the centres
above and left of (y, x), with a zero first row and column. Any block histogram is then four
look-ups. Files (``save_integral``) store the per-pixel counts instead (their differences, uint8
when they fit, else uint16/uint32), compressed, because cumulative counts compress badly; the
cumulative arrays are rebuilt on load. For a 30 x 160 x 160 crop at radii (1, 1, 4), P = 8, u2:
cumulative 3 x 159 x 159 x 59 x 4 B = 17.9 MB in memory; the npz is about 0.7-0.8 MB at zlib
level 6 (measured by ``benchmarks/bench_lbptop.py`` on noise and on a face-like texture;
per-pixel counts are 3 x 158 x 158 x 59 B = 4.4 MB as uint8 before compression) and about a
quarter larger at the level 1 written here (``INTEGRAL_ZLIB_LEVEL``: ~5x less CPU).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from microexp.features.lbptop import PlaneCodes, lbp_mapping
from microexp.grids import block_bounds
from microexp.stagefile import savez_compressed

# DSME-3D studies "33 kinds of blocks from 3 x 3 to 8 x 10" without listing them. Choice:
# rows 3..8 with rows <= cols <= 10 gives exactly 33 grids and contains every grid the paper
# names (3x3, 3x4, 3x10, 5x5, 5x9, 7x9, 7x10, 8x8, 8x10). Pass another list to change it.
DSME3D_GRIDS: tuple[tuple[int, int], ...] = tuple(
    (rows, cols) for rows in range(3, 9) for cols in range(rows, 11)
)
DSME3D_OVERLAPS: tuple[int, ...] = (0, 5, 10, 15, 20, 25, 30)

INTEGRAL_FORMAT_VERSION = 1
# zlib level of the integral files: compressing the per-pixel counts at level 6 was ~90 % of
# an LBP-TOP job's CPU per setting (~0.3 s of ~0.32 s for a 37 x 168 x 168 clip); level 1
# takes ~0.07 s for files ~25 % larger (the arrays are the same).
INTEGRAL_ZLIB_LEVEL = 1


def block_grid(crop_shape: tuple[int, int], grid: tuple[int, int], overlap: int) -> np.ndarray:
    """(rows * cols, 4) blocks [y0, y1, x0, x1] (half-open) of an H x W crop, row-major."""
    rows, cols = _check_grid(grid)
    y_bounds = block_bounds(crop_shape[0], rows, overlap)
    x_bounds = block_bounds(crop_shape[1], cols, overlap)
    return np.array([[*y, *x] for y in y_bounds for x in x_bounds], dtype=np.intp)


def _check_grid(grid: tuple[int, int]) -> tuple[int, int]:
    grid = tuple(grid)
    if len(grid) != 2 or any(int(g) != g or g < 1 for g in grid):
        raise ValueError(f"grid must be (rows, cols) of positive integers, got {grid!r}")
    return int(grid[0]), int(grid[1])


@njit(cache=True, nogil=True)
def _integral_kernel(codes_yxt, table, segment_of_frame, cumulative):  # pragma: no cover
    # One pass over the codes, pixel by pixel (codes laid out (y, x, t) for locality):
    # running[s, b] is the row prefix of pixel histograms, and
    # cumulative[s, y + 1, x + 1] = cumulative[s, y, x + 1] + running[s].
    n_y, n_x, n_t = codes_yxt.shape
    n_segments, n_plane_bins = cumulative.shape[0], cumulative.shape[3]
    running = np.zeros((n_segments, n_plane_bins), dtype=np.uint32)
    for y in range(n_y):
        running[:, :] = 0
        for x in range(n_x):
            for t in range(n_t):
                segment = segment_of_frame[t]
                if segment >= 0:
                    running[segment, table[codes_yxt[y, x, t]]] += 1
            for s in range(n_segments):
                for b in range(n_plane_bins):
                    cumulative[s, y + 1, x + 1, b] = cumulative[s, y, x + 1, b] + running[s, b]


@njit(cache=True, nogil=True)
def _cumulative_kernel(counts, cumulative):  # pragma: no cover
    n_segments, n_y, n_x, n_plane_bins = counts.shape
    running = np.zeros(n_plane_bins, dtype=np.uint32)
    for s in range(n_segments):
        for y in range(n_y):
            running[:] = 0
            for x in range(n_x):
                for b in range(n_plane_bins):
                    running[b] += counts[s, y, x, b]
                    cumulative[s, y + 1, x + 1, b] = cumulative[s, y, x + 1, b] + running[b]


def _cumulative(counts: np.ndarray) -> np.ndarray:
    """(S, H'+1, W'+1, n_bins) uint32 sums over y' < y, x' < x (zero first row and column)."""
    n_segments, n_y, n_x, n_plane_bins = counts.shape
    cumulative = np.zeros((n_segments, n_y + 1, n_x + 1, n_plane_bins), dtype=np.uint32)
    _cumulative_kernel(np.ascontiguousarray(counts), cumulative)
    return cumulative


@njit(cache=True, nogil=True)
def _window_sums(cumulative, y0, y1, x0, x1, out):  # pragma: no cover
    # out[k, s, b]: counts of bin b in window k of segment s, four look-ups (int64: the
    # uint32 differences would wrap).
    n_segments = cumulative.shape[0]
    n_plane_bins = cumulative.shape[3]
    for k in range(y0.size):
        for s in range(n_segments):
            for b in range(n_plane_bins):
                out[k, s, b] = (
                    np.int64(cumulative[s, y1[k], x1[k], b])
                    - np.int64(cumulative[s, y0[k], x1[k], b])
                    - np.int64(cumulative[s, y1[k], x0[k], b])
                    + np.int64(cumulative[s, y0[k], x0[k], b])
                )


@njit(cache=True, nogil=True)
def _window_histograms(cumulative, y0, y1, x0, x1, out, first_bin):  # pragma: no cover
    # Normalised histograms of the windows written to out[s, k, first_bin:first_bin + n_bins];
    # the same look-ups as _window_sums, fused with the normalisation.
    n_segments = cumulative.shape[0]
    n_plane_bins = cumulative.shape[3]
    counts = np.empty(n_plane_bins, dtype=np.int64)
    for k in range(y0.size):
        for s in range(n_segments):
            total = 0
            for b in range(n_plane_bins):
                counts[b] = (
                    np.int64(cumulative[s, y1[k], x1[k], b])
                    - np.int64(cumulative[s, y0[k], x1[k], b])
                    - np.int64(cumulative[s, y1[k], x0[k], b])
                    + np.int64(cumulative[s, y0[k], x0[k], b])
                )
                total += counts[b]
            for b in range(n_plane_bins):
                out[s, k, first_bin + b] = counts[b] / total if total > 0 else 0.0


@dataclass
class IntegralHistograms:
    """Integral (cumulative) code histograms of one LBP-TOP code pass.

    ``cumulative[plane]`` has shape (S, H'+1, W'+1, n_bins[plane]), uint32: entry [s, y, x, b]
    counts bin b over the centres with row index < y and column index < x (indices of the
    centre range) and frames in time segment s. ``counts`` gives the per-pixel counts back.
    ``time_bounds`` (S, 2) are the segments' frame ranges [start, stop) in volume coordinates.
    ``borders`` (Bx, By, Bt): margins without centres (None: the radii).
    """

    cumulative: tuple[np.ndarray, np.ndarray, np.ndarray]
    volume_shape: tuple[int, int, int]
    radii: tuple[int, int, int]
    neighbors: tuple[int, int, int]
    mapping: str
    interpolation: str
    time_bounds: np.ndarray
    meta: dict = field(default_factory=dict)
    borders: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.borders is None:
            self.borders = tuple(self.radii)

    @property
    def crop_shape(self) -> tuple[int, int]:
        return (self.volume_shape[1], self.volume_shape[2])

    @property
    def n_bins(self) -> tuple[int, ...]:
        return tuple(c.shape[-1] for c in self.cumulative)

    @property
    def n_segments(self) -> int:
        return int(self.time_bounds.shape[0])

    @functools.cached_property
    def counts(self) -> tuple[np.ndarray, ...]:
        """Per plane (S, H', W', n_bins) uint32: each bin's count at each centre pixel."""
        # uint32 arithmetic wraps, but the result is a count in [0, 2^32): exact modulo 2^32.
        return tuple(
            c[:, 1:, 1:] - c[:, :-1, 1:] - c[:, 1:, :-1] + c[:, :-1, :-1] for c in self.cumulative
        )


def time_segment_bounds(
    n_frames: int, t_radius: int, time_segments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Segments' frame ranges (S, 2) and, per centre frame, its segment index (or -1)."""
    bounds = block_bounds(n_frames, time_segments, 0)
    centre_frames = np.arange(t_radius, n_frames - t_radius)
    segment_of_frame = np.full(centre_frames.size, -1, dtype=np.intp)
    for segment, (start, stop) in enumerate(bounds):
        segment_of_frame[(centre_frames >= start) & (centre_frames < stop)] = segment
    return bounds, segment_of_frame


def integral_histograms(
    codes: PlaneCodes, mapping: str = "u2", time_segments: int = 1
) -> IntegralHistograms:
    """Count each plane's mapped codes per centre pixel (per time segment) in one pass.

    The result gives every block grid / overlap (``block_histograms``) and every ROI set
    (``microexp.features.rois.roi_histograms``) without recomputing codes.
    """
    if int(time_segments) != time_segments or time_segments < 1:
        raise ValueError(f"time_segments must be a positive integer, got {time_segments!r}")
    n_frames = codes.volume_shape[0]
    t_radius = codes.borders[2]  # the temporal border (Rt unless TimeLength was given)
    if n_frames - 2 * t_radius < time_segments:
        raise ValueError(
            f"{n_frames - 2 * t_radius} centre frames cannot fill {time_segments} time segments"
        )
    time_bounds, segment_of_frame = time_segment_bounds(n_frames, t_radius, int(time_segments))
    cumulative = []
    for plane_codes, n_neighbors in zip(codes.planes, codes.neighbors, strict=True):
        table, n_plane_bins = lbp_mapping(n_neighbors, mapping)
        n_y, n_x = plane_codes.shape[1:]
        plane_cumulative = np.zeros(
            (int(time_segments), n_y + 1, n_x + 1, n_plane_bins), dtype=np.uint32
        )
        codes_yxt = np.ascontiguousarray(plane_codes.transpose(1, 2, 0))
        _integral_kernel(codes_yxt, table, segment_of_frame, plane_cumulative)
        cumulative.append(plane_cumulative)
    return IntegralHistograms(
        cumulative=(cumulative[0], cumulative[1], cumulative[2]),
        volume_shape=tuple(codes.volume_shape),
        radii=tuple(codes.radii),
        neighbors=tuple(codes.neighbors),
        mapping=mapping,
        interpolation=codes.interpolation,
        time_bounds=time_bounds,
        borders=tuple(codes.borders),
    )


def block_windows(integral: IntegralHistograms, grid: tuple[int, int], overlap: int) -> np.ndarray:
    """(rows * cols, 4) centre-index windows [y0, y1, x0, x1) of the blocks, row-major.

    Each block's pixel range (``block_grid``) intersected with the centre range, expressed in
    indices of the integral's per-pixel arrays.
    """
    rows, cols = _check_grid(grid)
    height, width = integral.crop_shape
    y_windows = _centre_windows(block_bounds(height, rows, overlap), integral.borders[1], height)
    x_windows = _centre_windows(block_bounds(width, cols, overlap), integral.borders[0], width)
    windows = np.empty((rows, cols, 4), dtype=np.intp)
    windows[:, :, :2] = y_windows[:, None, :]
    windows[:, :, 2:] = x_windows[None, :, :]
    return windows.reshape(-1, 4)


def _centre_windows(bounds: np.ndarray, border: int, length: int) -> np.ndarray:
    """Pixel ranges [start, stop) -> ranges of centre indices (centre c is pixel c + B)."""
    return np.clip(bounds - border, 0, length - 2 * border)


def window_counts(integral: IntegralHistograms, windows: np.ndarray) -> list[np.ndarray]:
    """Raw per-plane counts (n_windows, S, n_bins) of centre windows [y0, y1, x0, x1)."""
    windows = np.ascontiguousarray(windows, dtype=np.intp)
    y0, y1, x0, x1 = (np.ascontiguousarray(windows[:, i]) for i in range(4))
    out = []
    for cumulative in integral.cumulative:
        counts = np.empty((windows.shape[0], cumulative.shape[0], cumulative.shape[3]), np.int64)
        _window_sums(cumulative, y0, y1, x0, x1, counts)
        out.append(counts)
    return out


def _histograms_of_windows(integral: IntegralHistograms, windows: np.ndarray) -> np.ndarray:
    """(S, n_windows, sum of n_bins): per-plane normalised, planes concatenated."""
    windows = np.ascontiguousarray(windows, dtype=np.intp)
    y0, y1, x0, x1 = (np.ascontiguousarray(windows[:, i]) for i in range(4))
    out = np.empty((integral.n_segments, windows.shape[0], sum(integral.n_bins)))
    first_bin = 0
    for cumulative in integral.cumulative:
        _window_histograms(cumulative, y0, y1, x0, x1, out, first_bin)
        first_bin += cumulative.shape[3]
    return out


def block_histograms(
    integral: IntegralHistograms, grid: tuple[int, int], overlap: int
) -> np.ndarray:
    """(S * rows * cols, sum of n_bins) block histograms; each row is [XY | XT | YT].

    Blocks are in row-major order within each time segment; every plane part is normalised
    by its own sum (all-zero for a block without centres). DSME-3D 4.2.1.
    """
    histograms = _histograms_of_windows(integral, block_windows(integral, grid, overlap))
    return histograms.reshape(-1, histograms.shape[-1])


def block_features(integral: IntegralHistograms, grid: tuple[int, int], overlap: int) -> np.ndarray:
    """The feature vector of one grid / overlap: block histograms concatenated row-major."""
    return block_histograms(integral, grid, overlap).ravel()


def block_feature_variants(
    integral: IntegralHistograms,
    grids: Iterable[tuple[int, int]] = DSME3D_GRIDS,
    overlaps: Iterable[int] = DSME3D_OVERLAPS,
) -> dict[tuple[tuple[int, int], int], np.ndarray]:
    """``block_features`` for every (grid, overlap) pair (231 for the DSME-3D defaults).

    All windows go through the look-up kernel in one batch; the result equals calling
    ``block_features`` per pair.
    """
    keys, windows = [], []
    for grid in grids:
        for overlap in overlaps:
            keys.append((tuple(grid), int(overlap)))
            windows.append(block_windows(integral, grid, overlap))
    if not keys:
        return {}
    histograms = _histograms_of_windows(integral, np.concatenate(windows))
    splits = np.cumsum([w.shape[0] for w in windows])[:-1]
    parts = np.split(histograms, splits, axis=1)
    return {key: part.ravel() for key, part in zip(keys, parts, strict=True)}


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _smallest_unsigned(array: np.ndarray) -> np.ndarray:
    peak = int(array.max(initial=0))
    for dtype in (np.uint8, np.uint16, np.uint32):
        if peak <= np.iinfo(dtype).max:
            return array.astype(dtype)
    raise ValueError("counts exceed uint32")


def save_integral(path: str | Path, integral: IntegralHistograms) -> None:
    """Write an integral histogram set as a compressed npz (per-pixel counts + metadata)."""
    meta = {
        "format_version": INTEGRAL_FORMAT_VERSION,
        "volume_shape": list(integral.volume_shape),
        "radii": list(integral.radii),
        "borders": list(integral.borders),
        "neighbors": list(integral.neighbors),
        "mapping": integral.mapping,
        "interpolation": integral.interpolation,
        **integral.meta,
    }
    counts = integral.counts  # one differencing pass for the three planes
    savez_compressed(
        path,
        INTEGRAL_ZLIB_LEVEL,
        counts_xy=_smallest_unsigned(counts[0]),
        counts_xt=_smallest_unsigned(counts[1]),
        counts_yt=_smallest_unsigned(counts[2]),
        time_bounds=integral.time_bounds,
        meta=np.array(json.dumps(meta)),
    )


def load_integral(path: str | Path) -> IntegralHistograms:
    """Read a file written by ``save_integral``."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format_version") != INTEGRAL_FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported integral histogram format {meta!r}")
        counts = tuple(data[f"counts_{plane}"].astype(np.uint32) for plane in ("xy", "xt", "yt"))
        time_bounds = data["time_bounds"].astype(np.intp)
    known = {
        "format_version", "volume_shape", "radii", "borders", "neighbors", "mapping",
        "interpolation",
    }  # fmt: skip
    return IntegralHistograms(
        cumulative=tuple(_cumulative(c) for c in counts),
        volume_shape=tuple(meta["volume_shape"]),
        radii=tuple(meta["radii"]),
        neighbors=tuple(meta["neighbors"]),
        mapping=meta["mapping"],
        interpolation=meta["interpolation"],
        time_bounds=time_bounds,
        meta={k: v for k, v in meta.items() if k not in known},
        # files written before borders existed used the radii
        borders=tuple(meta.get("borders", meta["radii"])),
    )
