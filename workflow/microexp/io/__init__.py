"""Reading what a data set ships: annotation sheets, RealSense recordings, frame folders, clips.

The two public entry points are importable from here::

    from microexp.io import read_annotations, read_recording

They are resolved lazily (PEP 562 module ``__getattr__``): ``read_annotations`` needs pandas
and the spreadsheet reader (about a second to import), ``read_recording`` pyrealsense2 and
numpy; a job that only needs ``microexp.io.clips`` should not pay for either. The defining
modules are :mod:`microexp.io.annotations` and :mod:`microexp.io.realsense`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs only; at run time the names load on first use
    from microexp.io.annotations import read_annotations
    from microexp.io.realsense import read_recording

# public name -> the module that defines it
_EXPORTS = {
    "read_annotations": "microexp.io.annotations",
    "read_recording": "microexp.io.realsense",
}

__all__ = ["read_annotations", "read_recording"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
