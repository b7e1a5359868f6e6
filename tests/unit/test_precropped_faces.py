"""Pre-cropped releases (the face fills the frame): the 2D stage finds the face.

CASME II, SAMM and SMIC ship cropped clips where the face fills a 224 x 224 frame; dlib's HOG
detector misses part of them as they are. A synthetic face (the generator's renderer, as in
test_synthetic_detection.py) is cropped to its landmarks' box and resized to 224 x 224, the
way those releases are cut; truth landmarks come from the renderer's geometry.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.stage import Face2DParams, process_clip
from microexp.failures import SampleFailure
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.face import make_subject
from microexp.synthetic.render import render_frame
from microexp.synthetic.sensor import capture_color

SEED = 20240611
SIZE = 224


def cropped_clip(index: int, frames: int = 4, margin: float = 0.0):
    """(clip (T, 224, 224, 3), truth landmarks (T, 68, 2) in clip pixels): the face cut at its
    landmarks' box (brows to chin, jaw to jaw), grown by ``margin`` of its size per side."""
    rng = np.random.default_rng((SEED, index))
    subject = make_subject(index, SEED)
    clip, truth = [], []
    for t in range(frames):
        intensity = np.zeros(len(AU_NAMES))
        intensity[AU_NAMES.index("AU12")] = t / frames
        frame = render_frame(subject, intensity)
        if t == 0:
            lo, hi = frame.landmarks2d.min(axis=0), frame.landmarks2d.max(axis=0)
            lo, hi = lo - margin * (hi - lo), hi + margin * (hi - lo)
            x0, y0 = np.floor(lo).astype(int)
            x1, y1 = np.ceil(hi).astype(int)
        color = capture_color(frame.color, rng)[y0:y1, x0:x1]
        scale = np.array([SIZE / (x1 - x0), SIZE / (y1 - y0)])
        clip.append(cv2.resize(color, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
        truth.append((frame.landmarks2d - [x0, y0] + 0.5) * scale - 0.5)
    return np.stack(clip), np.stack(truth)


@pytest.fixture(scope="module")
def detector() -> LandmarkDetector:
    return LandmarkDetector(upsample=0)


def test_a_face_that_fills_the_frame_fails_without_the_precropped_option(detector) -> None:
    clip, _ = cropped_clip(0)
    with pytest.raises(SampleFailure):  # no face found, or the crop cut by the frame border
        process_clip(clip, 0, 2, {}, detector=detector)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_precropped_faces_are_found_and_fitted(detector, index: int) -> None:
    clip, truth = cropped_clip(index)
    result = process_clip(clip, 0, 2, {"precropped": True}, detector=detector)
    error = np.linalg.norm(result.landmarks68 - truth, axis=2)
    # landmarks in the clip's own pixels (the border is taken off again), within a few pixels
    # on a 224-pixel face (the inner eye corners are ~50 px apart here)
    assert np.median(error) < 4.0, np.median(error)
    assert result.aligned_gray.shape[1:] == (168, 168)
    assert np.isfinite(result.aligned_landmarks).all()


class BlindDetector(LandmarkDetector):
    """dlib's predictor with a detector that finds nothing (a crop HOG cannot see)."""

    def detect_faces_scored(self, image_rgb, scale=1.0):
        return []


def test_the_crop_itself_is_the_face_box_when_no_face_is_detected() -> None:
    clip, truth = cropped_clip(1, frames=3)
    blind = BlindDetector(upsample=0)
    with pytest.raises(SampleFailure, match="no face detected in the first frame"):
        process_clip(clip, 0, 1, {}, detector=blind)
    result = process_clip(clip, 0, 1, Face2DParams(precropped=True), detector=blind)
    assert not result.detected.any() and np.isnan(result.detection_score).all()
    error = np.linalg.norm(result.landmarks68 - truth, axis=2)
    assert np.median(error) < 6.0, np.median(error)
