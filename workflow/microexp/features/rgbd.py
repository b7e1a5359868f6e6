"""RGB-D tensors: the gray face crop spread over depth bins (CAS(ME)^3 Sec. 5, "depth flow").

CAS(ME)^3's construction (the database's RGB-D tensor script), kept to the letter; see
docs/depth_flow.md:

- per frame, the mean and the population standard deviation of the depth crop, zeros (holes)
  included;
- far limit: the largest depth within [mean - 3 std, mean + 3 std] (inclusive) of either frame;
  near limit: the smallest non-zero depth of either frame;
- no tensor when far >= near + 400 (the reference skips the sample; here a ValueError names the
  numbers);
- D = far - near + 1 bins; a pixel's gray value goes to bin depth - near; zero depth and depths
  beyond far go to bin 0 (as does depth == near); every other voxel is 0; both frames share
  near and D; int16 volumes H x W x D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_DEPTH_BINS", "DepthRange", "DepthRangeError", "depth_range", "rgbd_tensor"]

#: The reference builds no tensor when far >= near + this many depth units.
MAX_DEPTH_BINS = 400


class DepthRangeError(ValueError):
    """No tensor for these depth limits (far >= near + 400, or far < near)."""

    def __init__(self, message: str, near: int, far: int):
        super().__init__(message)
        self.near = near
        self.far = far


@dataclass(frozen=True)
class DepthRange:
    """Near and far depth limits shared by the onset and apex tensors (depth units)."""

    near: int
    far: int

    @property
    def bins(self) -> int:
        return self.far - self.near + 1


def _integer_depth(depth: np.ndarray, name: str) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"rgbd_tensor: {name} must be a 2D depth map, got shape {depth.shape}")
    if depth.dtype.kind == "f":
        if not np.all(np.isfinite(depth)) or np.any(depth != np.round(depth)):
            raise ValueError(f"rgbd_tensor: {name} must hold integer depth units")
    elif depth.dtype.kind not in "iu":
        raise ValueError(f"rgbd_tensor: {name} has non-numeric type {depth.dtype}")
    if np.any(depth < 0):
        raise ValueError(f"rgbd_tensor: {name} has negative depths")
    return depth.astype(np.int64)


def _far_in_band(depth: np.ndarray) -> int:
    mean = float(np.mean(depth))
    std = float(np.std(depth))  # population std (ddof = 0), zeros included
    band = depth[(depth >= mean - 3.0 * std) & (depth <= mean + 3.0 * std)]
    return int(band.max())


def depth_range(depth_onset: np.ndarray, depth_apex: np.ndarray) -> DepthRange:
    """Near and far limits of a pair of depth crops; ValueError when no tensor can be built."""
    onset = _integer_depth(depth_onset, "depth_onset")
    apex = _integer_depth(depth_apex, "depth_apex")
    for name, depth in (("depth_onset", onset), ("depth_apex", apex)):
        if not np.any(depth > 0):
            raise ValueError(f"rgbd_tensor: {name} has no valid (non-zero) depth")
    far = max(_far_in_band(onset), _far_in_band(apex))
    near = int(min(onset[onset > 0].min(), apex[apex > 0].min()))
    if far >= near + MAX_DEPTH_BINS:
        raise DepthRangeError(
            f"rgbd_tensor: depth range too large: far {far} >= near {near} + {MAX_DEPTH_BINS} "
            f"({far - near + 1} bins); the reference builds no tensor",
            near,
            far,
        )
    if far < near:
        # Only when every non-zero depth lies above the band (a crop mostly of holes).
        raise DepthRangeError(
            f"rgbd_tensor: far limit {far} below near limit {near}: no depth within 3 std of "
            f"the mean is non-zero",
            near,
            far,
        )
    return DepthRange(near=near, far=far)


def _tensor(gray: np.ndarray, depth: np.ndarray, limits: DepthRange) -> np.ndarray:
    rows, cols = gray.shape
    bins = depth - limits.near
    bins[(depth <= 0) | (bins >= limits.bins)] = 0
    volume = np.zeros((rows, cols, limits.bins), dtype=np.int16)
    r, c = np.indices((rows, cols))
    volume[r, c, bins] = gray
    return volume


def rgbd_tensor(
    gray_onset: np.ndarray,
    gray_apex: np.ndarray,
    depth_onset: np.ndarray,
    depth_apex: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Onset and apex RGB-D tensors (int16, H x W x D) from gray crops and registered depth.

    ``gray_*``: H x W gray images (uint8 in the reference); ``depth_*``: H x W integer depth
    maps in depth units (0 = no depth) aligned with them. Raises ValueError (with the near and
    far limits) when far >= near + 400, and for maps of the wrong shape or without depth.
    """
    grays = [np.asarray(gray_onset), np.asarray(gray_apex)]
    shape = grays[0].shape
    for name, array in (
        ("gray_onset", grays[0]),
        ("gray_apex", grays[1]),
        ("depth_onset", np.asarray(depth_onset)),
        ("depth_apex", np.asarray(depth_apex)),
    ):
        if array.shape != shape or array.ndim != 2:
            raise ValueError(
                f"rgbd_tensor: {name} has shape {array.shape}, expected one 2D shape for all "
                f"four maps ({shape})"
            )
    for name, gray in (("gray_onset", grays[0]), ("gray_apex", grays[1])):
        if gray.dtype.kind not in "iuf" or (
            gray.size and (gray.min() < -32768 or gray.max() > 32767)
        ):
            raise ValueError(f"rgbd_tensor: {name} does not fit int16 ({gray.dtype})")
    limits = depth_range(depth_onset, depth_apex)
    onset = _tensor(grays[0], _integer_depth(depth_onset, "depth_onset"), limits)
    apex = _tensor(grays[1], _integer_depth(depth_apex, "depth_apex"), limits)
    return onset, apex
