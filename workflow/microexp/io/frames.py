"""Frame-folder captures: color JPG/PNG + 16-bit depth PNG (+ PLY) per frame
(docs/methods.md#capture-formats).

DSME-3D ships each sample as a folder of color frames and per-frame point clouds; depth
frames are 16-bit PNGs in depth units. Frame numbers are read from the file names (the
last run of digits in the stem, so `img_000123.jpg`, `000123.png` and `123.png` all give
123); color and depth are paired by frame number, never by listing order. A frame number
missing from the sequence, or present in one stream only, is reported, not guessed.

Layout inside a sample folder (names of the sub-folders are configurable):

    <folder>/color/<frame>.jpg|png   RGB, 8-bit
    <folder>/depth/<frame>.png       16-bit, depth units (DSME-3D / synthetic: 1 mm)
    <folder>/cloud/<frame>.ply       optional point clouds (millimetres)

The released layouts, as a data-set entry names them (`frame_layout`):

- DSME-3D, CAS(ME)^3 Part A / C: `<video>/color/<n>.jpg` + `<video>/depth/<n>.png`
  (CAS(ME)^3 Part A: `.../spNO.1/a/color/153.jpg`, `.../spNO.1/a/depth/153.png`).
- CASME II, SAMM, CAS(ME)^2 (2D only): the color frames directly in the video folder,
  `sub01/EP02_01f/img46.jpg`, `006/006_1_2/006_05562.jpg`, `s15/15_0101disgustingteeth/img1.jpg`
  (`color_dir="."`, `depth_dir=None`): the frame number is the last run of digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

COLOR_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DEPTH_SUFFIXES = (".png",)
CLOUD_SUFFIXES = (".ply",)
_DIGITS = re.compile(r"(\d+)(?!.*\d)")


class FrameFolderError(ValueError):
    """A frame folder that cannot be read; the message names the folder or file."""


@dataclass(frozen=True)
class FrameIndex:
    """The frame files of one sample folder, by frame number."""

    folder: Path
    color: dict[int, Path]
    depth: dict[int, Path]
    cloud: dict[int, Path] = field(default_factory=dict)

    has_depth: bool = True

    @property
    def frame_numbers(self) -> np.ndarray:
        """Frame numbers present in both color and depth (color only without depth), ascending."""
        present = set(self.color) & set(self.depth) if self.has_depth else set(self.color)
        return np.array(sorted(present), dtype=np.int64)

    @property
    def unpaired(self) -> dict[str, list[int]]:
        """Frames present in one stream only (nothing to pair without depth)."""
        if not self.has_depth:
            return {"color_only": [], "depth_only": []}
        return {
            "color_only": sorted(set(self.color) - set(self.depth)),
            "depth_only": sorted(set(self.depth) - set(self.color)),
        }

    def missing(self, first: int | None = None, last: int | None = None) -> list[int]:
        """Frame numbers absent (from either stream) between first and last, inclusive."""
        present = self.frame_numbers
        if present.size == 0:
            return []
        lo = int(present[0]) if first is None else first
        hi = int(present[-1]) if last is None else last
        expected = np.arange(lo, hi + 1)
        return expected[~np.isin(expected, present)].tolist()


def frame_number(path: Path) -> int:
    """The frame number in a file name: the last run of digits in its stem."""
    match = _DIGITS.search(path.stem)
    if match is None:
        raise FrameFolderError(f"{path}: no frame number in the file name")
    return int(match.group(1))


def _index_stream(folder: Path, suffixes: tuple[str, ...]) -> dict[int, Path]:
    files: dict[int, Path] = {}
    if not folder.is_dir():
        return files
    for path in folder.iterdir():
        if path.suffix.lower() not in suffixes:
            continue
        number = frame_number(path)
        if number in files:
            raise FrameFolderError(
                f"{folder}: two files for frame {number}: {files[number].name}, {path.name}"
            )
        files[number] = path
    return files


def index_frame_folder(
    folder: Path,
    color_dir: str = "color",
    depth_dir: str | None = "depth",
    cloud_dir: str = "cloud",
) -> FrameIndex:
    """Index a sample folder's frame files by frame number.

    ``color_dir="."``: the color frames are in the folder itself (CASME II, SAMM);
    ``depth_dir=None``: a 2D data set, no depth frames are looked for.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FrameFolderError(f"{folder}: frame folder not found")
    index = FrameIndex(
        folder=folder,
        color=_index_stream(folder / color_dir, COLOR_SUFFIXES),
        depth={} if depth_dir is None else _index_stream(folder / depth_dir, DEPTH_SUFFIXES),
        cloud=_index_stream(folder / cloud_dir, CLOUD_SUFFIXES),
        has_depth=depth_dir is not None,
    )
    if not index.color:
        raise FrameFolderError(f"{folder / color_dir}: no color frames")
    if depth_dir is not None and not index.depth:
        raise FrameFolderError(f"{folder / depth_dir}: no depth frames")
    return index


def read_color(path: Path) -> np.ndarray:
    """An 8-bit RGB frame."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameFolderError(f"{path}: unreadable color image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_depth(path: Path) -> np.ndarray:
    """A 16-bit single-channel depth frame, in depth units."""
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None:
        raise FrameFolderError(f"{path}: unreadable depth image")
    if depth.dtype != np.uint16 or depth.ndim != 2:
        raise FrameFolderError(
            f"{path}: depth must be a 16-bit single-channel PNG, got {depth.dtype} "
            f"with shape {depth.shape}"
        )
    return depth


def read_frames(
    index: FrameIndex, frames: Iterable[int], *, depth: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Color (T,H,W,3) uint8 and depth (T,H,W) uint16 of the given frame numbers; without
    depth (``index.has_depth`` False) the depth array is empty, (T, 0, 0).

    ``depth=False``: the depth files are checked to exist but not decoded (a PNG depth frame
    costs about twice a JPEG color frame to decode) and the depth array is empty: for stages
    that use color only (face2d)."""
    numbers = list(frames)
    absent = [
        n for n in numbers if n not in index.color or (index.has_depth and n not in index.depth)
    ]
    if absent:
        raise FrameFolderError(f"{index.folder}: frames {absent} missing from color or depth")
    color = np.stack([read_color(index.color[n]) for n in numbers])
    if not index.has_depth or not depth:
        return color, np.zeros((len(numbers), 0, 0), dtype=np.uint16)
    depth = np.stack([read_depth(index.depth[n]) for n in numbers])
    if color.shape[1:3] != depth.shape[1:3]:
        raise FrameFolderError(
            f"{index.folder}: color {color.shape[1:3]} and depth {depth.shape[1:3]} sizes "
            "differ (depth must be registered to color)"
        )
    return color, depth
