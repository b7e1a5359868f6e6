"""From a per-frame feature signal to spotted intervals: contrast, threshold, peaks or runs, typing.

The feature-difference spotters (Moilanen, Mustonen and Pietikainen, ICPR 2014; MDMD, Wang et
al. 2017, as run by the MEGC2020 baseline of He, Wang, Li and Yap, FG 2020) share one back end:

1. a per-frame feature ``F`` (how much frame i differs from the frames k before and after it);
2. the contrast ``C_i = F_i - (F_{i-m} + F_{i+m}) / 2``, which removes slow changes (drift,
   long head movements): Moilanen uses m = k and sets negative contrast to 0; the MDMD
   baseline uses m = k - 1 and keeps the sign;
3. the threshold ``T = mean(C) + p (max(C) - mean(C))``, p in [0, 1], over the frames where C
   is defined;
4. intervals: either every run of consecutive frames with ``C > T`` is one interval (MDMD
   baseline: the marked frames themselves), or the local maxima of C above T at least k
   frames apart (``scipy.signal.find_peaks``) become ``[peak - k, peak + k]`` (Moilanen's peak
   frames, widened by k either side as the MEGC2019 baseline does -- our choice for the
   interval extent, which Moilanen does not define);
5. typing by duration: ``(offset - onset) / fps <= micro_max_s`` is micro (CAS(ME)^2: 0.5 s;
   at 30 fps that is 16 frames inclusive, the MEGC2020 baseline's micro length limit).

Frame indices here are 0-based positions in the signal; callers map them to frame numbers.
Undefined values (borders) are NaN.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

__all__ = [
    "contrast",
    "intervals_from_peaks",
    "intervals_from_runs",
    "spot_intervals",
    "spotting_threshold",
    "type_by_duration",
]

IntervalMode = Literal["runs", "peaks"]


def contrast(feature: np.ndarray, distance: int, clip_negative: bool = False) -> np.ndarray:
    """``C_i = F_i - (F_{i-m} + F_{i+m}) / 2`` with m = ``distance``; NaN where undefined."""
    f = np.asarray(feature, dtype=np.float64)
    if f.ndim != 1:
        raise ValueError(f"feature must be 1-D, got shape {f.shape}")
    if distance < 1:
        raise ValueError(f"contrast distance must be >= 1, got {distance}")
    out = np.full_like(f, np.nan)
    if f.size > 2 * distance:
        out[distance:-distance] = f[distance:-distance] - 0.5 * (
            f[: -2 * distance] + f[2 * distance :]
        )
    if clip_negative:
        out = np.where(out < 0, 0.0, out)  # NaN stays NaN
    return out


def spotting_threshold(signal: np.ndarray, p: float) -> float:
    """``mean + p (max - mean)`` over the defined (finite) values; NaN when there are none."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"threshold fraction p must be in [0, 1], got {p}")
    values = np.asarray(signal, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    mean = float(values.mean())
    return mean + p * (float(values.max()) - mean)


def intervals_from_runs(mask: np.ndarray) -> np.ndarray:
    """(n, 2) inclusive [start, stop] of every run of True in a 1-D boolean mask."""
    m = np.asarray(mask, dtype=bool)
    edges = np.diff(np.concatenate([[0], m.view(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1) - 1
    return np.stack([starts, stops], axis=1).astype(np.int64)


def intervals_from_peaks(signal: np.ndarray, threshold: float, half_width: int) -> np.ndarray:
    """[peak - k, peak + k] (clipped to the signal) for peaks above threshold, >= k apart.

    Returns (n, 3): start, stop, peak. Peaks of equal height closer than k keep the first
    (``find_peaks`` with ``distance=k``).
    """
    s = np.asarray(signal, dtype=np.float64)
    if not np.isfinite(threshold) or s.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    filled = np.where(np.isfinite(s), s, -np.inf)
    # find_peaks needs finite values: -inf at undefined borders would break plateaus.
    floor = np.nanmin(s) - 1.0 if np.isfinite(s).any() else 0.0
    filled = np.where(np.isfinite(filled), filled, floor)
    peaks, _ = find_peaks(
        filled, height=np.nextafter(threshold, np.inf), distance=max(1, half_width)
    )
    start = np.maximum(peaks - half_width, 0)
    stop = np.minimum(peaks + half_width, s.size - 1)
    return np.stack([start, stop, peaks], axis=1).astype(np.int64)


def type_by_duration(onset: np.ndarray, offset: np.ndarray, fps: float, micro_max_s: float):
    """``micro`` where (offset - onset) / fps <= micro_max_s, else ``macro``."""
    duration = (np.asarray(offset) - np.asarray(onset)) / float(fps)
    return np.where(duration <= micro_max_s + 1e-9, "micro", "macro")


def spot_intervals(
    contrast_signal: np.ndarray,
    p: float,
    mode: IntervalMode,
    half_width: int,
    fps: float,
    micro_max_s: float = 0.5,
    min_duration_s: float = 0.0,
    keep_type: str | None = None,
) -> pd.DataFrame:
    """Intervals spotted on one contrast signal at threshold fraction p.

    Returns a DataFrame with columns onset, offset (0-based signal positions, inclusive),
    peak (position of the maximum contrast inside), score (that maximum) and expression_type.
    Intervals shorter than ``min_duration_s`` ((offset - onset) / fps) are dropped; with
    ``keep_type`` only intervals typed so are kept (the MEGC2020 baseline runs one pass per
    type with its own window and keeps the lengths of that type).
    """
    c = np.asarray(contrast_signal, dtype=np.float64)
    threshold = spotting_threshold(c, p)
    if mode == "runs":
        runs = intervals_from_runs(np.isfinite(c) & (c > threshold))
        peaks = np.array(
            [a + int(np.nanargmax(c[a : b + 1])) for a, b in runs], dtype=np.int64
        ).reshape(-1)
        spans = np.column_stack([runs, peaks]) if len(runs) else np.zeros((0, 3), np.int64)
    elif mode == "peaks":
        spans = intervals_from_peaks(c, threshold, half_width)
    else:
        raise ValueError(f"interval mode must be 'runs' or 'peaks', got {mode!r}")
    table = pd.DataFrame(spans, columns=["onset", "offset", "peak"], dtype=np.int64)
    table["score"] = c[table["peak"].to_numpy()] if len(table) else np.zeros(0)
    table["expression_type"] = type_by_duration(table["onset"], table["offset"], fps, micro_max_s)
    long_enough = (table["offset"] - table["onset"]) / float(fps) >= min_duration_s - 1e-9
    table = table[long_enough]
    if keep_type is not None:
        table = table[table["expression_type"] == keep_type]
    return table.reset_index(drop=True)
