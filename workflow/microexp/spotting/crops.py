"""What whole-video ingestion keeps of a video (``results/{set}/spotting/crops/{video}.npz``).

Written by :func:`microexp.spotting.video.crop_video` (rule spotting_crops), read by the
spotters (rule spotting_method). Kept apart from the ingestion so that reading it loads
neither the face tracker nor the 3D registration.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["VideoCrops", "load_video_crops", "save_video_crops"]


@dataclass
class VideoCrops:
    """A whole video reduced to what the spotters read (T frames)."""

    frame_numbers: np.ndarray  # (T,) int64
    gray: np.ndarray  # (T, h, w) uint8 aligned face crops
    face_found: np.ndarray  # (T,) bool
    detected: np.ndarray  # (T,) bool: the HOG detector ran and found the face
    landmarks: np.ndarray  # (T, 68, 2) float32 image pixels, NaN without face
    block_depth: np.ndarray | None  # (T, rows * cols) mean depth (mm) per block, or None
    grid: tuple[int, int]
    depth_registration: str = "none"  # "icp", "2d" or "none" (no depth)
    icp_fitness: np.ndarray | None = None  # (T,) ICP fitness, NaN where it failed or no face
    # (T, h, w) uint8: every frame through the first face frame's crop box, no per-frame
    # alignment (the MEGC2020 baseline's preprocessing, for MDMD; docs/methods.md#spotting)
    gray_fixed: np.ndarray | None = None

    def frames_for(self, crop: str) -> np.ndarray:
        """The gray crops a spotter reads: ``aligned`` (per frame) or ``fixed`` (first box)."""
        if crop == "aligned":
            return self.gray
        if crop == "fixed":
            if self.gray_fixed is None:
                raise ValueError("these crops have no fixed-box frames (an older crops file)")
            return self.gray_fixed
        raise ValueError(f"crop must be 'aligned' or 'fixed', not {crop!r}")

    @property
    def frames_without_face(self) -> np.ndarray:
        return self.frame_numbers[~self.face_found]


def save_video_crops(path: str | os.PathLike[str], crops: VideoCrops, **meta) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "frame_numbers": crops.frame_numbers,
        "gray": crops.gray,
        "face_found": crops.face_found,
        "detected": crops.detected,
        "landmarks": crops.landmarks,
        "grid": np.asarray(crops.grid),
        "meta_json": json.dumps(meta),
    }
    if crops.block_depth is not None:
        arrays["block_depth"] = crops.block_depth
    arrays["depth_registration"] = np.asarray(crops.depth_registration)
    if crops.icp_fitness is not None:
        arrays["icp_fitness"] = crops.icp_fitness
    if crops.gray_fixed is not None:
        arrays["gray_fixed"] = crops.gray_fixed
    np.savez_compressed(path, **arrays)


def load_video_crops(path: str | os.PathLike[str]) -> VideoCrops:
    with np.load(path) as z:
        return VideoCrops(
            frame_numbers=z["frame_numbers"],
            gray=z["gray"],
            face_found=z["face_found"],
            detected=z["detected"],
            landmarks=z["landmarks"],
            block_depth=z["block_depth"] if "block_depth" in z else None,
            grid=tuple(int(v) for v in z["grid"]),
            depth_registration=str(z["depth_registration"])
            if "depth_registration" in z
            else ("2d" if "block_depth" in z else "none"),
            icp_fitness=z["icp_fitness"] if "icp_fitness" in z else None,
            gray_fixed=z["gray_fixed"] if "gray_fixed" in z else None,
        )
