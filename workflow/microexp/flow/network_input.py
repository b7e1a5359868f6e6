"""The networks' inputs: the MEGC-style 28 x 28 x 3 flow image and the resampled clip.

The exact normalisation (docs/flow.md), which users of the published STSTNet code could not
rebuild: for each of u, v and the optical strain magnitude of the onset-apex flow, computed on
the aligned gray crop at its full resolution,

1. resize to 28 x 28 by area averaging (OpenCV ``INTER_AREA``: each output pixel is the mean of
   the crop pixels it covers);
2. min-max normalise per sample and per channel to [0, 255]:
   ``255 * (c - min c) / (max c - min c)``; a constant channel becomes 0;
3. keep float32 (no rounding to 8 bits), channel order (u, v, strain): shape (3, 28, 28).

These 0-255 values are what STSTNet's published code feeds its network (images read as 8-bit);
the networks take them as given (learn/deep/).

The 3D CNN's input is the aligned gray clip resampled to ``frames`` frames by linear
interpolation in time (frame i of the output sits at clip position i (T - 1) / (frames - 1)) and
to ``size`` x ``size`` by area averaging, values 0-255 as float32, shape (1, frames, size, size).
"""

from __future__ import annotations

import numpy as np

__all__ = ["INPUT_SIZE", "megc_input", "minmax_255", "resample_clip"]

INPUT_SIZE = 28


def minmax_255(channel: np.ndarray) -> np.ndarray:
    """255 (c - min) / (max - min) as float32; 0 everywhere for a constant channel."""
    c = np.asarray(channel, dtype=np.float64)
    low, high = float(c.min()), float(c.max())
    if high - low <= 0 or not np.isfinite(high - low):
        return np.zeros(c.shape, dtype=np.float32)
    return (255.0 * (c - low) / (high - low)).astype(np.float32)


def _area_resize(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.resize(
        np.asarray(image, dtype=np.float32), (size, size), interpolation=cv2.INTER_AREA
    )


def megc_input(
    u: np.ndarray, v: np.ndarray, strain: np.ndarray, size: int = INPUT_SIZE
) -> np.ndarray:
    """(3, size, size) float32: area-resized u, v, strain, each min-max normalised to 0-255."""
    return np.stack([minmax_255(_area_resize(c, size)) for c in (u, v, strain)])


def resample_clip(gray: np.ndarray, frames: int = 16, size: int = INPUT_SIZE) -> np.ndarray:
    """(1, frames, size, size) float32 0-255 from a (T, h, w) gray clip (see module docstring)."""
    gray = np.asarray(gray)
    if gray.ndim != 3 or len(gray) == 0:
        raise ValueError(f"clip must be (T, h, w) with T >= 1, got {gray.shape}")
    small = np.stack([_area_resize(frame, size) for frame in gray]).astype(np.float64)
    position = np.linspace(0.0, len(gray) - 1, frames)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(gray) - 1)
    weight = (position - low)[:, None, None]
    clip = (1.0 - weight) * small[low] + weight * small[high]
    return clip[None].astype(np.float32)
