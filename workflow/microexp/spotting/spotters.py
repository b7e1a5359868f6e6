"""The spotters by name: per-frame features and contrast per expression-type pass, then intervals.

Every method runs one pass per expression type with that type's window k (``windows_s`` x fps,
rounded, at least 1), as the MEGC2020 baseline does (CAS(ME)^2 at 30 fps: micro k = 12,
macro k = 39, i.e. 0.4 s and 1.3 s); a pass keeps the intervals whose duration types them as
its own type (:func:`microexp.spotting.signals.spot_intervals`).

Methods (parameters in ``config.yaml``, ``spotting.methods``):

* ``mdmd`` -- :mod:`microexp.spotting.mdmd`, contrast m = k - 1 signed, runs above threshold;
  by default on the fixed-box crops (``crop: fixed``), as the baseline crops its videos;
* ``lbp`` -- :mod:`microexp.spotting.lbp_difference`, contrast m = k clipped at 0, peaks;
* ``depth`` -- :mod:`microexp.spotting.depth_difference`, as ``lbp`` on registered depth;
* ``lbp_depth`` -- the LBP and depth features combined (``combine_features``), as ``lbp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from microexp.spotting.depth_difference import (
    block_mean_depth,
    combine_features,
    depth_difference_feature,
)
from microexp.spotting.lbp_difference import lbp_block_histograms, lbp_difference_feature
from microexp.spotting.mdmd import mdmd_feature
from microexp.spotting.signals import contrast, spot_intervals

__all__ = [
    "DEPTH_METHODS",
    "METHODS",
    "MethodParams",
    "SpottingResult",
    "intervals_at",
    "method_params",
    "spot_video",
    "spotting_features",
]

METHODS = ("mdmd", "lbp", "depth", "lbp_depth")
DEPTH_METHODS = ("depth", "lbp_depth")
TYPES = ("micro", "macro")


@dataclass(frozen=True)
class MethodParams:
    """One spotter's parameters (``spotting.methods.<name>`` merged over ``spotting``)."""

    method: str
    windows_s: Mapping[str, float]
    p: float
    interval: str
    grid: tuple[int, int] = (6, 6)
    top_fraction: float = 1 / 3
    micro_max_s: float = 0.5
    min_duration_s: float = 0.0
    flow_preset: str = "fast"
    min_valid_fraction: float = 0.5
    # which gray crops the method reads (microexp.spotting.crops.VideoCrops.frames_for):
    # "aligned" per frame, or "fixed" through the first face frame's box (MDMD's baseline)
    crop: str = "aligned"

    def k(self, expression_type: str, fps: float) -> int:
        # round half up, as MATLAB's round
        return max(1, int(np.floor(self.windows_s[expression_type] * fps + 0.5)))

    @property
    def contrast_distance_offset(self) -> int:
        # MDMD baseline: m = k - 1; Moilanen: m = k.
        return -1 if self.method == "mdmd" else 0

    @property
    def clip_negative(self) -> bool:
        return self.method != "mdmd"


def method_params(config: Mapping[str, Any], method: str) -> MethodParams:
    """MethodParams from the ``spotting`` config section for ``method``."""
    if method not in METHODS:
        raise ValueError(f"unknown spotting method {method!r}; use one of {METHODS}")
    own = dict(config.get("methods", {}).get(method, {}))
    merged = {key: own.get(key, config.get(key)) for key in ("windows_s", "p", "interval")}
    missing = [key for key, value in merged.items() if value is None]
    if missing:
        raise ValueError(f"spotting method {method}: missing {missing}")
    return MethodParams(
        method=method,
        windows_s=dict(merged["windows_s"]),
        p=float(merged["p"]),
        interval=str(merged["interval"]),
        grid=tuple(own.get("grid", config.get("grid", (6, 6)))),
        top_fraction=float(config.get("top_fraction", 1 / 3)),
        micro_max_s=float(config.get("micro_max_s", 0.5)),
        min_duration_s=float(config.get("min_duration_s", 0.0)),
        flow_preset=str(own.get("flow_preset", "fast")),
        min_valid_fraction=float(own.get("min_valid_fraction", 0.5)),
        crop=str(own.get("crop", "fixed" if method == "mdmd" else "aligned")),
    )


@dataclass
class SpottingResult:
    """Per-pass feature and contrast curves (T,) and the spotted intervals of one video."""

    feature: dict[str, np.ndarray] = field(default_factory=dict)
    contrast: dict[str, np.ndarray] = field(default_factory=dict)
    k: dict[str, int] = field(default_factory=dict)
    intervals: pd.DataFrame | None = None


def spotting_features(
    params: MethodParams,
    fps: float,
    gray: np.ndarray | None = None,
    depth: np.ndarray | None = None,
    lbp_histograms: np.ndarray | None = None,
) -> SpottingResult:
    """Feature and contrast curves of each type pass. ``gray``: (T, H, W) aligned crops;
    ``depth``: (T, H, W) registered depth in mm (NaN holes), or its per-block means
    (T, rows * cols), for the depth methods;
    ``lbp_histograms`` may be passed to share one LBP pass between methods."""
    result = SpottingResult()
    needs_gray = params.method in ("mdmd", "lbp", "lbp_depth")
    if needs_gray and gray is None:
        raise ValueError(f"spotting method {params.method} needs the gray face crops")
    if params.method in DEPTH_METHODS and depth is None:
        raise ValueError(f"spotting method {params.method} needs registered depth crops")
    if params.method in ("lbp", "lbp_depth") and lbp_histograms is None:
        lbp_histograms = lbp_block_histograms(gray, params.grid)
    block_depth = None
    if params.method in DEPTH_METHODS:
        depth = np.asarray(depth)
        if depth.ndim == 2:  # already per-block means (T, rows * cols), as video.crop_video keeps
            block_depth = depth
        else:
            block_depth = block_mean_depth(depth, params.grid, params.min_valid_fraction)
    for etype in TYPES:
        k = params.k(etype, fps)
        if params.method == "mdmd":
            f = mdmd_feature(gray, k, params.grid, params.flow_preset)
        elif params.method == "lbp":
            f = lbp_difference_feature(lbp_histograms, k, params.top_fraction)
        elif params.method == "depth":
            f = depth_difference_feature(block_depth, k, params.top_fraction, params.grid)
        else:
            f = combine_features(
                lbp_difference_feature(lbp_histograms, k, params.top_fraction),
                depth_difference_feature(block_depth, k, params.top_fraction, params.grid),
            )
        distance = max(1, k + params.contrast_distance_offset)
        result.feature[etype] = f
        result.contrast[etype] = contrast(f, distance, params.clip_negative)
        result.k[etype] = k
    return result


def intervals_at(
    result: SpottingResult, params: MethodParams, fps: float, p: float | None = None
) -> pd.DataFrame:
    """Intervals of both passes at threshold fraction p (default ``params.p``)."""
    tables = []
    for etype in TYPES:
        table = spot_intervals(
            result.contrast[etype],
            params.p if p is None else p,
            params.interval,
            result.k[etype],
            fps,
            micro_max_s=params.micro_max_s,
            min_duration_s=params.min_duration_s,
            keep_type=etype,
        )
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def spot_video(
    params: MethodParams,
    fps: float,
    gray: np.ndarray | None = None,
    depth: np.ndarray | None = None,
    lbp_histograms: np.ndarray | None = None,
) -> SpottingResult:
    """Features, contrast and intervals (positions 0..T-1) of one video at ``params.p``."""
    result = spotting_features(params, fps, gray, depth, lbp_histograms)
    result.intervals = intervals_at(result, params, fps)
    return result
