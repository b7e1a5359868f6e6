"""Non-reflective similarity transforms for face alignment (docs/methods.md#2d-face; DSME-3D 4.1.1).

DSME-3D aligns a clip with "a non-reflective similarity transformation" that maps the inner eye
corners of the first frame to calibrated positions, and applies the same transform to every
frame, because head motion inside a micro-expression is slight. A similarity is rotation,
uniform scale and translation. Writing 2D points as complex numbers z = x + iy, every such map
is z -> a z + b with complex a != 0: |a| is the scale, arg a the rotation, and the linear part
[[Re a, -Im a], [Im a, Re a]] has determinant |a|^2 > 0, so a reflection cannot be expressed at
all. The least-squares fit over n >= 2 point pairs has a closed form (below); for two points it
is exact, which is the eye-corner alignment. The same fit gives the frame-to-frame head motion
used by the tracker (``track.py``).

Matrices are OpenCV-style (2, 3) affines acting on column vectors (x, y, 1), x = column,
y = row, pixel centres at integer coordinates (what dlib and ``cv2.warpAffine`` use).
"""

from __future__ import annotations

import numpy as np

from microexp.face2d.landmarks import INNER_EYE_CORNERS

__all__ = [
    "apply_affine",
    "compose_affine",
    "eye_corner_alignment",
    "fit_similarity",
    "invert_affine",
    "is_non_reflective_similarity",
    "similarity_parameters",
]


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must be (n, 2) points, got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} holds non-finite coordinates")
    return points


def fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The non-reflective similarity (2, 3) that maps ``source`` onto ``target`` best.

    Least squares over the n >= 2 pairs: with centred complex points s_i, d_i (means subtracted),
    a = sum(conj(s_i) d_i) / sum(|s_i|^2) and b = mean(d) - a mean(s). Exact for n = 2.
    Raises ValueError when the source points coincide (no scale or rotation is defined).
    """
    src = _as_points(source, "source")
    dst = _as_points(target, "target")
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError(f"need >= 2 matching point pairs, got {src.shape} and {dst.shape}")
    s = src[:, 0] + 1j * src[:, 1]
    d = dst[:, 0] + 1j * dst[:, 1]
    s_mean, d_mean = s.mean(), d.mean()
    s_c, d_c = s - s_mean, d - d_mean
    spread = float(np.sum(np.abs(s_c) ** 2))
    if spread <= 1e-12 * max(1.0, float(np.max(np.abs(s))) ** 2):
        raise ValueError("source points coincide: a similarity is undefined")
    a = np.sum(np.conj(s_c) * d_c) / spread
    if abs(a) == 0.0:
        raise ValueError("target points coincide: the similarity would have zero scale")
    b = d_mean - a * s_mean
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]], dtype=np.float64)


def eye_corner_alignment(landmarks68: np.ndarray, canonical_eye_corners: np.ndarray) -> np.ndarray:
    """Similarity (2, 3) putting the inner eye corners (39, 42) on their canonical positions.

    ``canonical_eye_corners`` is [[x39, y39], [x42, y42]] in the aligned frame (config). The first
    frame's transform is applied to the whole clip (DSME-3D Sec. 4.1.1).
    """
    landmarks68 = np.asarray(landmarks68, dtype=np.float64)
    canonical = _as_points(canonical_eye_corners, "canonical_eye_corners")
    if canonical.shape != (2, 2):
        raise ValueError(f"canonical_eye_corners must be 2 points, got {canonical.shape}")
    return fit_similarity(landmarks68[list(INNER_EYE_CORNERS)], canonical)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., 2) mapped by a (2, 3) affine."""
    matrix = np.asarray(matrix, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The (2, 3) affine of ``outer`` after ``inner``: x -> outer(inner(x))."""
    outer = np.asarray(outer, dtype=np.float64)
    inner = np.asarray(inner, dtype=np.float64)
    linear = outer[:, :2] @ inner[:, :2]
    return np.column_stack([linear, outer[:, :2] @ inner[:, 2] + outer[:, 2]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse (2, 3) affine."""
    matrix = np.asarray(matrix, dtype=np.float64)
    linear = np.linalg.inv(matrix[:, :2])
    return np.column_stack([linear, -linear @ matrix[:, 2]])


def is_non_reflective_similarity(matrix: np.ndarray, rtol: float = 1e-9) -> bool:
    """True for [[c, -s, tx], [s, c, ty]] with c^2 + s^2 > 0 (rotation, uniform scale, shift)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (2, 3) or not np.all(np.isfinite(m)):
        return False
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    return (
        scale > 0.0
        and abs(m[0, 0] - m[1, 1]) <= rtol * scale
        and abs(m[0, 1] + m[1, 0]) <= rtol * scale
        and float(np.linalg.det(m[:, :2])) > 0.0
    )


def similarity_parameters(matrix: np.ndarray) -> tuple[float, float, float, float]:
    """(scale, rotation in degrees, tx, ty) of a similarity (2, 3); rotation counter-clockwise
    in (x, y) coordinates, i.e. clockwise on screen where y points down."""
    m = np.asarray(matrix, dtype=np.float64)
    return (
        float(np.hypot(m[0, 0], m[1, 0])),
        float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))),
        float(m[0, 2]),
        float(m[1, 2]),
    )
