"""Expression spotting in long videos: per-frame features -> contrast -> intervals.

Spotters: MDMD (optical flow; MEGC2020 baseline), LBP feature difference (Moilanen et al.
2014; MEGC2019 baseline family), depth difference and LBP + depth (RGB-D, ours). Evaluation
is in :mod:`microexp.evaluate.spotting`.
"""

from microexp.spotting.signals import (
    contrast,
    intervals_from_peaks,
    intervals_from_runs,
    spot_intervals,
    spotting_threshold,
    type_by_duration,
)
from microexp.spotting.spotters import (
    METHODS,
    MethodParams,
    SpottingResult,
    intervals_at,
    method_params,
    spot_video,
    spotting_features,
)

__all__ = [
    "METHODS",
    "MethodParams",
    "SpottingResult",
    "contrast",
    "intervals_at",
    "intervals_from_peaks",
    "intervals_from_runs",
    "method_params",
    "spot_intervals",
    "spot_video",
    "spotting_features",
    "spotting_threshold",
    "type_by_duration",
]
