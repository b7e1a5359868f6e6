"""The 68-point landmark scheme and the 49-point subset DSME-3D works with
(docs/methods.md#2d-face).

DSME-3D 4.1.1 located 49 points with IntraFace (iPar-CLR). Here (docs/methods.md#2d-face): dlib's
68-point predictor (iBUG 300-W numbering, 0-based) and derives the 49 points as the 68 minus the 17
jaw points (0-16) and the two inner-mouth corners (60, 64): IntraFace's 49 points have no jaw line
and only one pair of mouth corners. Files keep all 68.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "INNER_EYE_CORNERS",
    "JAW",
    "LANDMARKS49",
    "NASAL_SPINE",
    "NOSE_TIP",
    "N_LANDMARKS",
    "OUTER_EYE_CORNERS",
    "inner_eye_distance",
    "interocular_distance",
    "landmarks49",
]

N_LANDMARKS = 68
JAW = tuple(range(17))
INNER_MOUTH_CORNERS = (60, 64)
# Inner eye corners: 39 is the subject's right eye (image left in an unmirrored camera image),
# 42 the subject's left eye. The alignment maps these two of the first frame
# (docs/methods.md#2d-face).
INNER_EYE_CORNERS = (39, 42)
OUTER_EYE_CORNERS = (36, 45)
# Index 33 (subnasale, below the nose) is what docs/methods.md#2d-face and DSME-3D call the nasal
# spine.
NASAL_SPINE = 33
NOSE_TIP = 30

LANDMARKS49: tuple[int, ...] = tuple(
    i for i in range(N_LANDMARKS) if i not in JAW and i not in INNER_MOUTH_CORNERS
)


def landmarks49(landmarks68: np.ndarray) -> np.ndarray:
    """The 49-point subset (..., 49, 2) of 68-point landmarks (..., 68, 2), in LANDMARKS49 order."""
    landmarks68 = np.asarray(landmarks68)
    if landmarks68.shape[-2:] != (N_LANDMARKS, 2):
        raise ValueError(f"expected (..., 68, 2) landmarks, got {landmarks68.shape}")
    return landmarks68[..., LANDMARKS49, :]


def inner_eye_distance(landmarks68: np.ndarray) -> np.ndarray:
    """Distance between the inner eye corners (39, 42): DSME-3D's horizontal crop unit."""
    landmarks68 = np.asarray(landmarks68, dtype=np.float64)
    return np.linalg.norm(landmarks68[..., 42, :] - landmarks68[..., 39, :], axis=-1)


def interocular_distance(landmarks68: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners (36, 45), the 300-W normaliser of landmark errors."""
    landmarks68 = np.asarray(landmarks68, dtype=np.float64)
    return np.linalg.norm(landmarks68[..., 45, :] - landmarks68[..., 36, :], axis=-1)
