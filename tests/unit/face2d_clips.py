"""Synthetic clips with known landmarks for the 2D face stage tests (cached per test session).

Frames come straight from the synthetic renderer with the colour sensor's noise: a smooth AU
envelope (onset -> apex -> offset) with a blink, and a rigid head motion that ramps to at most
2 degrees and 3 mm about a pivot 90 mm behind the nose tip (the bound docs/methods.md#2d-face relies
on when it applies the first frame's alignment to the whole clip). Truth landmarks come from the
renderer's geometry, never from a detector.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from microexp.face2d.detector import LandmarkDetector
from microexp.synthetic.actions import AU_NAMES, BLINK_AU
from microexp.synthetic.face import SyntheticSubject, make_subject
from microexp.synthetic.motion import rigid_motion
from microexp.synthetic.render import render_frame
from microexp.synthetic.sensor import capture_color

SEED = 20261122
MAX_HEAD_DEG = 2.0
MAX_HEAD_MM = 3.0


@dataclass(frozen=True)
class TruthClip:
    color: np.ndarray  # (T, H, W, 3) uint8, with sensor noise
    landmarks: np.ndarray  # (T, 68, 2) truth
    onset: int
    apex: int


@functools.cache
def subject(index: int) -> SyntheticSubject:
    return make_subject(index, SEED)


@functools.cache
def detector(upsample: int = 0) -> LandmarkDetector:
    return LandmarkDetector(upsample=upsample)


def expression(n_frames: int, aus: tuple[str, ...], peak: float = 1.0) -> np.ndarray:
    """(T, 17) AU intensities: the AUs rise to ``peak`` at the middle frame and fall; a blink."""
    envelope = np.sin(np.linspace(0.0, np.pi, n_frames)) * peak
    intensity = np.zeros((n_frames, len(AU_NAMES)))
    for name in aus:
        intensity[:, AU_NAMES.index(name)] = envelope
    blink = np.clip(np.sin(np.linspace(0.0, 3.0 * np.pi, n_frames)), 0.0, 1.0)
    intensity[:, AU_NAMES.index(BLINK_AU)] = np.maximum(
        intensity[:, AU_NAMES.index(BLINK_AU)], blink
    )
    return intensity


def head_motions(subject_: SyntheticSubject, n_frames: int, seed: int) -> np.ndarray:
    """(T, 4, 4) rigid motions ramping from identity to a random pose within the bounds."""
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    shift = rng.normal(size=3)
    shift /= np.linalg.norm(shift)
    pivot = subject_.neutral_landmarks3d[30] + np.array([0.0, 0.0, 90.0])
    ramp = np.linspace(0.0, 1.0, n_frames)
    # Angles along one axis: their norm is the rotation angle for these small angles.
    return np.stack(
        [rigid_motion(axis * MAX_HEAD_DEG * r, shift * MAX_HEAD_MM * r, pivot) for r in ramp]
    )


@functools.cache
def truth_clip(
    index: int, n_frames: int = 16, aus: tuple[str, ...] = ("AU1", "AU2", "AU12"), moving=True
) -> TruthClip:
    """A rendered clip of subject ``index`` and its truth landmarks."""
    subject_ = subject(index)
    rng = np.random.default_rng(SEED + index)
    intensity = expression(n_frames, aus)
    motions = head_motions(subject_, n_frames, SEED + index) if moving else [None] * n_frames
    color, landmarks = [], []
    for t in range(n_frames):
        frame = render_frame(subject_, intensity[t], motions[t])
        color.append(capture_color(frame.color, rng))
        landmarks.append(frame.landmarks2d)
    return TruthClip(np.stack(color), np.stack(landmarks), onset=0, apex=n_frames // 2)


def background_frame(index: int, seed: int = 0) -> np.ndarray:
    """The subject's scene without the head (wall and torso), with sensor noise."""
    return capture_color(subject(index).background_color, np.random.default_rng(seed))
