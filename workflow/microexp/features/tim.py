"""Temporal interpolation model (TIM): resample a clip to a fixed number of frames.

Zhou, Zhao & Pietikainen (2011), used by Pfister et al. (2011) and by CAS(ME)^2 section 3 (which
normalises every clip to 120 frames before LBP-TOP on 36 ROIs; docs/methods.md#rois-and-tim,
"CAS(ME)^2 variant"). The CAS(ME)^2 text itself says "linear interpolation"; the field's TIM is
chosen instead (docs/methods.md#rois-and-tim), implemented here.

Method (graph embedding of the clip onto a curve):

1. The n frames are the vertices of the path graph P_n (frame i adjacent to i + 1). Its
   Laplacian L = D - W has eigenvalues 2 - 2 cos(pi k / n) and eigenvectors
   y_k(i) = cos(pi k (i - 1/2) / n), i = 1..n, k = 0..n-1 (Zhou et al. write them as
   sin(pi k i / n + pi (n - k) / (2 n)), the same functions). Dropping the constant k = 0 and
   normalising, the n - 1 eigenvectors give each frame a point on the continuous curve
   F(t) = sqrt(2 / n) [cos(pi k (t - 1/2) / n)]_{k=1..n-1}, t in [1, n].
2. A linear projection links the frame space and the curve: with the mean frame removed,
   X_c = F(1..n) M. Zhou et al. learn the projection frame -> curve (after PCA) and invert it;
   with all principal components kept this is the least-squares M = F^+ X_c used here (F has
   orthonormal columns, so M = F^T X_c), and it also exists when X_c is rank deficient.
3. The curve is sampled at n_frames equally spaced t in [1, n] and mapped back:
   x(t) = mean + F(t) M.

What TIM gives, exactly: the original frames at t = 1..n are reproduced (up to rounding), in
particular the first and last frame are the output's first and last frame; between frames the
result is the cosine (DCT-II) interpolant of each pixel's time series, smooth but not linear: a
linear ramp stays within 0.08 of one frame step of linear, while a sharp step rings (0, 0, 255,
255 swings to about -40 and 295 between frames; ``dtype=np.uint8`` clips). Pixels are
interpolated independently. A constant clip stays constant (exactly, for integer values).
At least 2 frames are needed.
"""

from __future__ import annotations

import numpy as np

DEFAULT_FRAMES = 120  # CAS(ME)^2 section 3


def path_graph_laplacian(n: int) -> np.ndarray:
    """(n, n) Laplacian D - W of the path graph P_n."""
    if n < 1:
        raise ValueError(f"path graph needs n >= 1 vertices, got {n}")
    adjacency = np.eye(n, k=1) + np.eye(n, k=-1)
    return np.diag(adjacency.sum(axis=1)) - adjacency


def tim_curve(t: np.ndarray, n: int) -> np.ndarray:
    """(len(t), n - 1) points of the TIM curve at positions t in [1, n] (1-based frames).

    At t = 1..n these are the orthonormal non-constant eigenvectors of the Laplacian of P_n.
    """
    t = np.asarray(t, dtype=np.float64)
    k = np.arange(1, n)
    return np.sqrt(2.0 / n) * np.cos(np.pi * np.outer(t - 0.5, k) / n)


def tim(
    volume: np.ndarray, n_frames: int = DEFAULT_FRAMES, dtype: type | None = None
) -> np.ndarray:
    """Resample a (T, ...) clip to (n_frames, ...) frames with the temporal interpolation model.

    Returns float64 by default; with ``dtype=np.uint8`` (or another integer type) the values
    are rounded half up and clipped to the type's range, as when frames are written as images.
    """
    volume = np.asarray(volume)
    if volume.ndim < 2:
        raise ValueError(f"TIM needs a (T, ...) clip of frames, got shape {volume.shape}")
    n = volume.shape[0]
    if n < 2:
        raise ValueError(f"TIM needs at least 2 frames, got {n}")
    if int(n_frames) != n_frames or n_frames < 2:
        raise ValueError(f"n_frames must be an integer >= 2, got {n_frames!r}")
    if not (np.issubdtype(volume.dtype, np.integer) or np.issubdtype(volume.dtype, np.floating)):
        raise ValueError(f"TIM needs an integer or float clip, got dtype {volume.dtype}")
    frames = volume.reshape(n, -1).astype(np.float64)
    if not np.isfinite(frames).all():
        raise ValueError("clip contains NaN or infinite values")
    mean = frames.mean(axis=0)
    curve_at_frames = tim_curve(np.arange(1, n + 1), n)  # (n, n - 1), orthonormal columns
    projection = curve_at_frames.T @ (frames - mean)  # least squares: curve -> frame space
    positions = np.linspace(1.0, float(n), int(n_frames))
    resampled = tim_curve(positions, n) @ projection + mean
    resampled = resampled.reshape(int(n_frames), *volume.shape[1:])
    if dtype is None:
        return resampled
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.floor(resampled + 0.5), info.min, info.max).astype(dtype)
    return resampled.astype(dtype)
