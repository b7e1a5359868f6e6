"""Main Directional Maximal Difference (MDMD) spotting feature (Wang et al., Neurocomputing 2017;
the MEGC2020 spotting baseline of He, Wang, Li and Yap, FG 2020).

For the current frame i and a window k (about half an expression's length):

* optical flow from the head frame i - k to frame i, and from i - k to the tail frame i + k;
* the crop is split into a grid of equal blocks (6 x 6; block size floor(H / rows), the
  remainder at the right and bottom ignored, as the baseline);
* per block the flow directions of the first flow are quantised into the four quadrants; the
  *main direction* is the quadrant holding most pixels (ties: the first quadrant);
* for those pixels, the difference of magnitudes ``|flow(i-k -> i)| - |flow(i-k -> i+k)|``
  (large when frame i has moved away from the head frame and the tail frame has come back);
  the block value is the mean of the largest third (round(m / 3), at least one);
* the frame's feature is the mean of the largest third of the block values.

Contrast (m = k - 1, sign kept), threshold and runs of frames above it are the baseline's
(:mod:`microexp.spotting.signals`). Where we differ from the baseline's MATLAB: the direction
is ``atan2(v, u)`` over the four quadrants as the 2017 paper describes (the baseline's
``atan(u ./ v)`` only ever reaches two of the four quadrants); and the flow is OpenCV's DIS
(Kroeger et al., ECCV 2016; ``cv2.DISOpticalFlow``, preset ``fast`` by default) instead of
RLOF, which is not in the OpenCV wheels the project pins: DIS is dense, robust to the small
brightness changes of a face and runs at about 1.6 ms per 168 x 168 pair on one core
(Farneback: about 21 ms; measured under load, ``benchmarks/bench_spotting.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["DIS_PRESETS", "dense_flow", "mdmd_feature", "mdmd_frame_value"]

DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _dis(preset: str) -> cv2.DISOpticalFlow:
    if preset not in DIS_PRESETS:
        raise ValueError(f"DIS preset must be one of {sorted(DIS_PRESETS)}, got {preset!r}")
    return cv2.DISOpticalFlow_create(DIS_PRESETS[preset])


def dense_flow(first: np.ndarray, second: np.ndarray, preset: str = "fast") -> np.ndarray:
    """Dense optical flow (H, W, 2) (u = x, v = y, pixels) from ``first`` to ``second`` (uint8)."""
    return _dis(preset).calc(_gray8(first), _gray8(second), None)


def _gray8(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 2:
        raise ValueError(f"optical flow needs gray (H, W) frames, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        frame = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


def _blocks(array: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(rows * cols, pixels) view-copy of equal floor-sized blocks of an (H, W) array."""
    rows, cols = grid
    bh, bw = array.shape[0] // rows, array.shape[1] // cols
    if bh < 1 or bw < 1:
        raise ValueError(f"a {array.shape} crop cannot hold a {rows} x {cols} grid")
    a = array[: rows * bh, : cols * bw]
    return a.reshape(rows, bh, cols, bw).transpose(0, 2, 1, 3).reshape(rows * cols, bh * bw)


def mdmd_frame_value(
    flow_current: np.ndarray, flow_tail: np.ndarray, grid: tuple[int, int] = (6, 6)
) -> float:
    """MDMD value of one frame from flow(head -> current) and flow(head -> tail), (H, W, 2)."""
    u, v = flow_current[..., 0], flow_current[..., 1]
    quadrant = (np.floor(np.degrees(np.arctan2(v, u)) / 90.0).astype(np.int64)) % 4
    difference = np.hypot(u, v) - np.hypot(flow_tail[..., 0], flow_tail[..., 1])
    q = _blocks(quadrant, grid)
    d = _blocks(difference, grid)
    n_blocks = q.shape[0]
    block_index = np.arange(n_blocks)[:, None] * 4
    counts = np.bincount((block_index + q).ravel(), minlength=4 * n_blocks).reshape(n_blocks, 4)
    main = counts.argmax(axis=1)
    m = counts[np.arange(n_blocks), main]
    in_main = q == main[:, None]
    ranked = -np.sort(-np.where(in_main, d, -np.inf), axis=1)
    n_top = np.maximum(np.rint(m / 3.0).astype(np.int64), 1)
    keep = np.arange(ranked.shape[1])[None, :] < n_top[:, None]
    block_values = np.where(keep, ranked, 0.0).sum(axis=1) / n_top
    n_top_blocks = max(1, int(np.floor(n_blocks / 3.0 + 0.5)))
    return float(-np.sort(-block_values)[:n_top_blocks].mean())


def mdmd_feature(
    frames: np.ndarray, k: int, grid: tuple[int, int] = (6, 6), preset: str = "fast"
) -> np.ndarray:
    """MDMD feature F (T,) of gray crops (T, H, W); NaN for the first and last k frames."""
    volume = np.asarray(frames)
    if volume.ndim != 3:
        raise ValueError(f"frames must be (T, H, W), got shape {volume.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n_frames = volume.shape[0]
    feature = np.full(n_frames, np.nan)
    dis = _dis(preset)
    gray = [None] * n_frames

    def frame(i: int) -> np.ndarray:
        if gray[i] is None:
            gray[i] = _gray8(volume[i])
        return gray[i]

    for i in range(k, n_frames - k):
        head = frame(i - k)
        flow_current = dis.calc(head, frame(i), None)
        flow_tail = dis.calc(head, frame(i + k), None)
        feature[i] = mdmd_frame_value(flow_current, flow_tail, grid)
        gray[i - k] = None  # keep at most 2 k + 1 converted frames
    return feature
