"""What a data-set entry says about its frames: depth or not, where the frames are.

Kept apart from :mod:`microexp.io.samples` (which reads the annotation sheets) so that the
per-sample stages can ask without importing the sheet readers.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["LAYOUTS_2D", "frame_layout", "has_depth", "spotting_video_sources"]

#: CAS(ME)^2's long-video folders begin with the video id, <subject>_<4 digits>
#: (`15_0101disgustingteeth` -> `15_0101`), which its spotting sheet uses.
_CASME_SQ_VIDEO = re.compile(r"^(?P<video>\d+_\d{4})")

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


def spotting_video_sources(root: str | Path, source: str, layout: str) -> dict[str, str]:
    """Video key -> frame folder or recording of a spotting data set (README, "Spotting in long
    videos"): every path under ``root`` matching ``source`` (a pattern with ``{subject}``,
    ``{video}`` and ``*``), in sorted order. Keys as the truth sheets name the videos: CAS(ME)^2
    (``casme_sq``) the folder's leading ``<subject>_<4 digits>``; CAS(ME)^3 Part A
    (``casme3_a``), whose video folders repeat across subjects (``spNO.1/a``, ``spNO.2/a``),
    ``<subject>_<video>``; any other layout the folder's or file's stem. Two paths giving one
    key are an error naming both (one would otherwise replace the other)."""
    root = Path(root)
    parts = re.compile(
        "^"
        + re.escape(source)
        .replace(r"\{subject\}", "(?P<subject>[^/]+)")
        .replace(r"\{video\}", "(?P<video>[^/]+)")
        .replace(r"\*", "[^/]*")
        + "$"
    )
    sources: dict[str, str] = {}
    for path in sorted(glob.glob(str(root / source.format(subject="*", video="*")))):
        name = Path(path).name
        if layout == "casme3_a":
            found = parts.match(Path(path).relative_to(root).as_posix())
            if found is None:
                raise ValueError(f"{path} does not match the source pattern {source!r}")
            key = f"{found['subject']}_{found['video']}"
        else:
            match = _CASME_SQ_VIDEO.match(name) if layout == "casme_sq" else None
            key = match["video"] if match else Path(path).stem
        if key in sources:
            raise ValueError(f"{sources[key]} and {path} both give video {key}")
        sources[key] = path
    return sources
