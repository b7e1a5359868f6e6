"""68-point landmarks on every frame: detect once, track, re-detect when the fit degrades.

DSME-3D 4.1.1 ("locate the faces", on every frame; docs/methods.md#2d-face). dlib's HOG detector
costs ~25 ms on an 848 x 480 frame, its 68-point predictor ~1 ms, so the detector runs on the first
frame only (and again when tracking degrades); every other frame's predictor box comes from the
previous frame's landmarks.

Tracking. The predictor was trained on detector boxes, so a tracked box keeps the relation
between box and face that the last detection had: the similarity (fitted on the stable points:
nose bridge, nose and the four eye corners) from the landmarks of the last detected frame (the
anchor) to those of the previous frame moves and scales the anchor's detector box.

Degradation measure (per frame t, both stored as fit quality):
- landmark jump: median over the 68 points of |p_t - p_{t-1}|, divided by the first frame's
  inner-eye-corner distance. The median ignores a blink or an opening mouth (fewer than half of
  the points); at 30-60 fps a real head moves a few per cent of that distance between frames.
- appearance NCC: normalised cross-correlation between a band-passed face patch of frame t and
  the first frame's, the patch mapped through the stable-point similarity between their
  landmarks.
  A fit that left the face samples something else and decorrelates; micro-expressions and
  blinks change the patch little (measured in benchmarks/bench_face2d.py).
A frame whose jump exceeds ``max_landmark_jump`` or whose NCC falls below ``min_appearance_ncc``
is re-detected (the detected face overlapping the tracked box most) and fitted again; if no face
overlaps it or the NCC is still low, the face is lost and the clip fails at that frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from microexp.face2d.align import apply_affine, compose_affine, fit_similarity
from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.landmarks import LANDMARKS49, inner_eye_distance
from microexp.failures import SampleFailure

__all__ = [
    "STABLE_POINTS",
    "LandmarkTrack",
    "TrackingParams",
    "appearance_ncc",
    "box_iou",
    "check_frame_not_blank",
    "landmark_jump",
    "track_landmarks",
    "tracked_box",
]

# Points that expressions move least: nose bridge and nose (27-35), eye corners (36, 39, 42, 45).
STABLE_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
# The appearance patch: the inner face (brows to mouth) of the first frame, sampled on this many
# pixels a side, about its size in the image (no aliasing, and the warp stays ~0.05 ms).
_PATCH_SIZE = 96
_PATCH_MARGIN = 0.1


@dataclass(frozen=True)
class TrackingParams:
    """Detector and re-detection settings (config ``face2d``).

    detector_upsample: dlib's image doublings before detection (0 finds faces >= ~80 px).
    detection_scale: detect on a copy resized by this factor first (faster), falling back to
        full resolution when it finds no face. Default 1.0: at 0.5 detection is ~4x faster
        (6.5 vs 25 ms at 848 x 480) but the first frame's landmarks, which fix the whole
        clip's alignment, were ~0.1 px worse on average (benchmarks/bench_face2d.py), and the
        saving is < 0.5 ms per frame of a clip.
    max_landmark_jump: re-detect when the median landmark jump exceeds this fraction of the
        first frame's inner-eye-corner distance.
    min_appearance_ncc: re-detect when the face patch correlates less than this with the first
        frame's; still below after re-detection -> the face is lost.
    blank_frame_std: a frame whose gray levels vary less than this (std) is blank (e.g. black).
    """

    detector_upsample: int = 0
    detection_scale: float = 1.0
    max_landmark_jump: float = 0.25
    min_appearance_ncc: float = 0.6
    blank_frame_std: float = 2.0

    def __post_init__(self) -> None:
        if self.detector_upsample < 0 or not 0.0 < self.detection_scale <= 1.0:
            raise ValueError(f"invalid detector settings: {self}")
        if self.max_landmark_jump <= 0 or not -1.0 <= self.min_appearance_ncc <= 1.0:
            raise ValueError(f"invalid re-detection thresholds: {self}")


@dataclass
class LandmarkTrack:
    """Per-frame landmarks and fit quality of one clip (T frames).

    landmarks68 (T, 68, 2) image pixels (x = column, y = row); boxes (T, 4) the predictor's box
    (left, top, right, bottom, inclusive); detected (T,) True where the HOG detector gave the
    box (frame 0 and re-detections); detection_score (T,) its score there, NaN elsewhere;
    landmark_jump (T,) and appearance_ncc (T,) the degradation measures of the accepted fit
    (frame 0: 0 and 1).
    """

    landmarks68: np.ndarray
    boxes: np.ndarray
    detected: np.ndarray
    detection_score: np.ndarray
    landmark_jump: np.ndarray
    appearance_ncc: np.ndarray

    @property
    def redetected_frames(self) -> np.ndarray:
        """Frames after the first where the detector had to run again."""
        return np.flatnonzero(self.detected[1:]) + 1


# ------------------------------------------------------------------------------ measures


def check_frame_not_blank(gray: np.ndarray, frame: int, min_std: float) -> None:
    """Raise SampleFailure for a frame with (almost) no contrast: black, white or uniform."""
    sample = gray[::4, ::4]  # a subsample is enough to tell a blank frame, and 16x cheaper
    std = float(sample.std())
    if std < min_std:
        raise SampleFailure(
            f"blank frame {frame} (gray mean {float(sample.mean()):.1f}, std {std:.2f}): "
            "no image content",
            frame=frame,
        )


def landmark_jump(current: np.ndarray, previous: np.ndarray, unit: float) -> float:
    """Median point displacement between two landmark sets, in units of ``unit`` (px)."""
    return float(np.median(np.linalg.norm(current - previous, axis=1)) / unit)


def _normalised(patch: np.ndarray) -> np.ndarray | None:
    values = patch.astype(np.float64).ravel()
    values -= values.mean()
    norm = float(np.linalg.norm(values))
    return None if norm < 1e-6 * values.size else values / norm


def _reference_patch_frame(landmarks0: np.ndarray) -> np.ndarray:
    """Affine (2, 3) from patch pixels to first-frame image pixels over the inner face."""
    inner = landmarks0[list(LANDMARKS49)]
    lo, hi = inner.min(axis=0), inner.max(axis=0)
    pad = _PATCH_MARGIN * (hi - lo)
    lo, hi = lo - pad, hi + pad
    step = (hi - lo) / _PATCH_SIZE
    return np.array([[step[0], 0.0, lo[0] + step[0] / 2], [0.0, step[1], lo[1] + step[1] / 2]])


def _face_patch(gray: np.ndarray, patch_to_image: np.ndarray) -> np.ndarray:
    """The face patch, band-passed: the difference of Gaussians (1 and 8 patch pixels, on a
    patch ~1 px per image pixel) drops sensor noise and the smooth shading that a wall or torso
    shares with a face. Plain NCC scores a face-less background up to ~0.5 against a face;
    band-passed ~0, while a face under full-intensity AUs and a blink keeps >= ~0.85 and a fit
    shifted by a quarter of the eye width drops to <= ~0.4 (synthetic faces)."""
    patch = cv2.warpAffine(
        gray, patch_to_image, (_PATCH_SIZE, _PATCH_SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)  # fmt: skip
    return cv2.GaussianBlur(patch, (0, 0), 1.0) - cv2.GaussianBlur(patch, (0, 0), 8.0)


def appearance_ncc(
    gray: np.ndarray, landmarks: np.ndarray, landmarks0: np.ndarray, reference: np.ndarray | None
) -> float:
    """NCC of frame t's face patch (through the stable-point similarity) with the first frame's.

    ``reference`` is the first frame's normalised patch; a patch without contrast scores 0.
    """
    if reference is None:
        return 0.0
    to_frame = fit_similarity(landmarks0[list(STABLE_POINTS)], landmarks[list(STABLE_POINTS)])
    patch_to_frame = compose_affine(to_frame, _reference_patch_frame(landmarks0))
    patch = _normalised(_face_patch(gray, patch_to_frame))
    return 0.0 if patch is None else float(patch @ reference)


# ------------------------------------------------------------------------------ boxes


def _box_array(box: dlib.rectangle) -> np.ndarray:
    return np.array([box.left(), box.top(), box.right(), box.bottom()], dtype=np.float64)


def tracked_box(
    anchor_landmarks: np.ndarray, anchor_box: dlib.rectangle, previous_landmarks: np.ndarray
) -> dlib.rectangle:
    """The anchor's detector box moved and scaled with the face from the anchor to the
    previous frame (similarity on the stable points; rotation ignored, dlib boxes are upright)."""
    motion = fit_similarity(
        anchor_landmarks[list(STABLE_POINTS)], previous_landmarks[list(STABLE_POINTS)]
    )
    left, top, right, bottom = _box_array(anchor_box)
    centre = apply_affine(motion, np.array([(left + right) / 2, (top + bottom) / 2]))
    scale = float(np.hypot(motion[0, 0], motion[1, 0]))
    half_w, half_h = scale * (right - left) / 2, scale * (bottom - top) / 2
    return dlib.rectangle(
        round(centre[0] - half_w),
        round(centre[1] - half_h),
        round(centre[0] + half_w),
        round(centre[1] + half_h),
    )


def box_iou(a: dlib.rectangle, b: dlib.rectangle) -> float:
    """Intersection over union of two inclusive dlib boxes."""
    inter = a.intersect(b)
    if inter.is_empty():
        return 0.0
    area = inter.area()
    return float(area / (a.area() + b.area() - area))


# ------------------------------------------------------------------------------ tracking


def _detect(
    detector: LandmarkDetector, gray: np.ndarray, scale: float
) -> list[tuple[dlib.rectangle, float]]:
    faces = detector.detect_faces_scored(gray, scale) if scale < 1.0 else []
    return faces or detector.detect_faces_scored(gray, 1.0)


def track_landmarks(
    gray_clip: np.ndarray,
    detector: LandmarkDetector,
    params: TrackingParams,
    *,
    fallback_box: dlib.rectangle | None = None,
) -> LandmarkTrack:
    """Landmarks on every frame of a gray clip (T, H, W) uint8, with fit quality.

    Raises SampleFailure(frame=t) for a blank frame, no face in the first frame, or a face lost
    (no overlapping detection, or still a poor fit after re-detection) at frame t.
    ``fallback_box``: the face box to use where the detector finds no face (a pre-cropped
    release: the crop itself); such frames have ``detected`` False and no score.
    """
    n_frames = len(gray_clip)
    landmarks = np.empty((n_frames, 68, 2))
    boxes = np.empty((n_frames, 4))
    detected = np.zeros(n_frames, dtype=bool)
    scores = np.full(n_frames, np.nan)
    jumps = np.zeros(n_frames)
    nccs = np.ones(n_frames)

    check_frame_not_blank(gray_clip[0], 0, params.blank_frame_std)
    faces = _detect(detector, gray_clip[0], params.detection_scale)
    if not faces and fallback_box is None:
        raise SampleFailure("no face detected in the first frame", frame=0)
    anchor_box, scores[0] = faces[0] if faces else (fallback_box, np.nan)
    anchor = detector.landmarks_in_box(gray_clip[0], anchor_box)
    landmarks[0], boxes[0], detected[0] = anchor, _box_array(anchor_box), bool(faces)
    first = anchor
    unit = float(inner_eye_distance(first))
    if unit <= 0:
        raise SampleFailure("degenerate landmark fit in the first frame", frame=0)
    reference = _normalised(_face_patch(gray_clip[0], _reference_patch_frame(first)))

    for t in range(1, n_frames):
        gray = gray_clip[t]
        check_frame_not_blank(gray, t, params.blank_frame_std)
        box = tracked_box(anchor, anchor_box, landmarks[t - 1])
        fit = detector.landmarks_in_box(gray, box)
        jump = landmark_jump(fit, landmarks[t - 1], unit)
        ncc = appearance_ncc(gray, fit, first, reference)
        if jump > params.max_landmark_jump or ncc < params.min_appearance_ncc:
            # The face that overlaps the tracked box most: never jump to another person.
            candidates = _detect(detector, gray, params.detection_scale)
            overlapping = [(box_iou(f, box), f, s) for f, s in candidates if box_iou(f, box) > 0]
            found = bool(overlapping)
            if not overlapping and fallback_box is not None:
                overlapping = [(1.0, fallback_box, np.nan)]
            if not overlapping:
                raise SampleFailure(
                    f"face lost at frame {t}: the fit degraded (landmark jump {jump:.2f}, "
                    f"appearance NCC {ncc:.2f}) and no face was re-detected near it",
                    frame=t,
                )
            _, box, scores[t] = max(overlapping, key=lambda item: item[0])
            fit = detector.landmarks_in_box(gray, box)
            jump = landmark_jump(fit, landmarks[t - 1], unit)
            ncc = appearance_ncc(gray, fit, first, reference)
            if ncc < params.min_appearance_ncc:
                raise SampleFailure(
                    f"face lost at frame {t}: after re-detection the face patch still "
                    f"disagrees with the first frame (NCC {ncc:.2f} < "
                    f"{params.min_appearance_ncc})",
                    frame=t,
                )
            anchor, anchor_box, detected[t] = fit, box, found
        landmarks[t], boxes[t], jumps[t], nccs[t] = fit, _box_array(box), jump, ncc

    return LandmarkTrack(landmarks, boxes, detected, scores, jumps, nccs)
