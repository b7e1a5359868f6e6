"""What a data-set entry says about its frames: depth or not, where the frames are.

Kept apart from :mod:`microexp.io.samples` (which reads the annotation sheets) so that the
per-sample stages can ask without importing the sheet readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LAYOUTS_2D", "frame_layout", "has_depth"]

#: Layouts whose databases have no depth (2D only) and keep the color frames directly in the
#: video folder (`sub01/EP02_01f/img46.jpg`, `006/006_1_2/006_05562.jpg`, CAS(ME)^2's
#: `s15/15_0101disgustingteeth/img1.jpg`).
LAYOUTS_2D = ("casme_sq", "casme_ii", "samm")


def has_depth(dataset: Mapping[str, Any]) -> bool:
    """Whether a data set has depth frames: `depth:` in its entry, else by layout (the 2D
    databases in `LAYOUTS_2D` have none). Without depth only the 2D stages run for it."""
    if "depth" in dataset:
        return bool(dataset["depth"])
    if "depth_dir" in dataset:
        return dataset["depth_dir"] is not None
    return dataset["layout"] not in LAYOUTS_2D


def frame_layout(dataset: Mapping[str, Any]) -> tuple[str, str | None]:
    """(color sub-folder, depth sub-folder or None) inside a sample's frame folder: the
    entry's `color_dir` / `depth_dir`, else the layout's ("." = the folder itself)."""
    flat = dataset["layout"] in LAYOUTS_2D
    color = dataset.get("color_dir", "." if flat else "color")
    depth = dataset.get("depth_dir", "depth") if has_depth(dataset) else None
    return str(color), depth
