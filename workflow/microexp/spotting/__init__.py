"""Expression spotting in long videos: per-frame features -> contrast -> intervals.

Spotters: MDMD (optical flow; MEGC2020 baseline), LBP feature difference (Moilanen et al.
2014; MEGC2019 baseline family), depth difference and LBP + depth (RGB-D, ours). Evaluation
is in :mod:`microexp.evaluate.spotting`.
"""

import importlib

# Lazy exports: importing one submodule (e.g. microexp.spotting.video for whole-video
# ingestion) must not pull in numba, scipy and pandas through the others.
_EXPORTS = {
    "contrast": "signals",
    "intervals_from_peaks": "signals",
    "intervals_from_runs": "signals",
    "spot_intervals": "signals",
    "spotting_threshold": "signals",
    "type_by_duration": "signals",
    "METHODS": "spotters",
    "MethodParams": "spotters",
    "SpottingResult": "spotters",
    "intervals_at": "spotters",
    "method_params": "spotters",
    "spot_video": "spotters",
    "spotting_features": "spotters",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"microexp.spotting.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'microexp.spotting' has no attribute {name!r}")


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
