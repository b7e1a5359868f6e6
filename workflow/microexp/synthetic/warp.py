"""Image-warp helpers of the synthetic data set: bilinear look-ups, 2 x 3 similarity
transforms and the inversion of a smooth forward warp.

Image points are (x, y) pixels with pixel centres at integer coordinates (OpenCV and dlib).
"""

from __future__ import annotations

import cv2
import numpy as np


def bilinear_sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of a 2D array at (N, 2) (x, y) points (clamped to the border)."""
    h, w = image.shape
    x = np.clip(np.asarray(points[:, 0], dtype=np.float64), 0.0, w - 1.000001)
    y = np.clip(np.asarray(points[:, 1], dtype=np.float64), 0.0, h - 1.000001)
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    fx = x - x0
    fy = y - y0
    img = image.astype(np.float64, copy=False)
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def affine_apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def similarity(scale: float, angle_rad: float, translation: np.ndarray) -> np.ndarray:
    c, s = scale * np.cos(angle_rad), scale * np.sin(angle_rad)
    return np.array([[c, -s, translation[0]], [s, c, translation[1]]])


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def invert_forward_map(
    forward_x: np.ndarray, forward_y: np.ndarray, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Invert a smooth warp given on a pixel grid: ``forward`` holds where each grid pixel p
    goes; returns, for each grid pixel q, the source s with forward(s) = q.

    Fixed point s <- s - (forward(s) - q) with bilinear look-ups (``cv2.remap``); the error
    shrinks each step by the largest gradient of forward - identity (< 0.5 for the morph, AUs
    and small head motions), so a handful of iterations reach 0.01 px.
    """
    h, w = forward_x.shape
    qy, qx = np.mgrid[0:h, 0:w].astype(np.float32)
    # First step from s = q needs no look-up: forward(q) is the grid itself.
    sx = qx - (forward_x - qx)
    sy = qy - (forward_y - qy)
    for _ in range(iterations - 1):
        fx = cv2.remap(forward_x, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fy = cv2.remap(forward_y, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sx -= fx - qx
        sy -= fy - qy
    return sx, sy
