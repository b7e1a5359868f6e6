"""The 2D face stage for one clip: landmarks, alignment, crop (DSME-3D 4.1.1).

DSME-3D 4.1.1 in order: locate the landmarks on every frame; align the clip with the
non-reflective similarity that puts the first frame's inner eye corners on calibrated positions,
the same transform for every frame, and relocate the landmarks with it; crop the face by the 6 x
6 block layout built on the first frame's eye corners and nasal spine; keep the unaligned
landmarks for the 3D stage. ``process_clip`` does exactly that; alignment, crop and resize are
composed into one affine, so every frame is resampled once. ``save_face2d`` / ``load_face2d``
are the ``results/{dataset}/face2d/{sample}.npz`` contract (docs/data-contracts.md).

Bad input raises ``SampleFailure(reason, frame=<clip index>)``: a blank frame, no face in the
first frame, a face too small, a face or crop cut by the image border, a face lost mid-clip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import cv2
import dlib
import numpy as np

from microexp.face2d.align import apply_affine, eye_corner_alignment
from microexp.face2d.crop import (
    CropLayout,
    FaceBox,
    crop_outside_fraction,
    crop_transform,
    face_box,
    warp_clip,
)
from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.landmarks import LANDMARKS49, inner_eye_distance
from microexp.face2d.result import Face2DResult, load_face2d, save_face2d
from microexp.face2d.track import LandmarkTrack, TrackingParams, track_landmarks
from microexp.failures import SampleFailure

__all__ = [
    "Face2DParams",
    "Face2DResult",
    "align_and_crop",
    "load_face2d",
    "process_clip",
    "save_face2d",
]


@dataclass(frozen=True)
class Face2DParams:
    """Parameters of the stage (config ``face2d``).

    canonical_eye_corners: [[x, y] of 68-pt 39, [x, y] of 42] in the aligned frame; level (same
        y), 39 left of 42. Their distance is the aligned frame's scale (pixels per eye-corner
        distance); the defaults make the aligned frame roughly the output crop.
    crop: the face box multiples and the output size (``crop.CropLayout``).
    tracking: detector and re-detection settings (``track.TrackingParams``).
    min_eye_distance_px: a first-frame inner-eye-corner distance below this is a face too small
        for the crop (it would be upsampled more than ~2x at the defaults).
    max_crop_outside: the largest share of the crop's area allowed outside the image (the warp
        repeats the border there); more means the face is cut by the image border.
    precropped: the data set ships face crops that fill the frame (CASME II / SAMM / SMIC
        cropped releases; set by the data-set entry's ``precropped: true``). The detector then
        looks at each frame with a replicated border of ``precrop_border`` x the shorter side
        around it (dlib's HOG finds 84 % of real 224 x 224 apex crops as they are, 95 % with a
        60-pixel border), the crop itself is the face box where it still finds none (those
        frames have ``detected`` False), and the face crop may extend past the frame (the
        warp repeats the border there) with no "face cut by the image border" failure.
    """

    canonical_eye_corners: tuple[tuple[float, float], tuple[float, float]] = (
        (63.0, 42.0),
        (105.0, 42.0),
    )
    crop: CropLayout = field(default_factory=CropLayout)
    tracking: TrackingParams = field(default_factory=TrackingParams)
    min_eye_distance_px: float = 20.0
    max_crop_outside: float = 0.02
    precropped: bool = False
    precrop_border: float = 0.25

    def __post_init__(self) -> None:
        corners = np.asarray(self.canonical_eye_corners, dtype=np.float64)
        if not 0.0 <= self.precrop_border <= 2.0:
            raise ValueError(f"precrop_border must be in [0, 2], got {self.precrop_border}")
        if corners.shape != (2, 2) or not np.all(np.isfinite(corners)):
            raise ValueError(f"canonical_eye_corners must be [[x, y], [x, y]], got {corners}")
        if corners[0, 1] != corners[1, 1] or corners[0, 0] >= corners[1, 0]:
            raise ValueError(
                "canonical_eye_corners must be level (same y) with point 39 left of point 42, "
                f"got {corners.tolist()}"
            )
        object.__setattr__(
            self, "canonical_eye_corners", tuple(tuple(float(v) for v in p) for p in corners)
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Face2DParams:
        """From the config mapping, e.g. ``{canonical_eye_corners: [[63, 42], [105, 42]],
        crop: {left: 2, right: 2, up: 1, down: 3, output_size: [168, 168]},
        tracking: {detector_upsample: 0, ...}, min_eye_distance_px: 20}``; missing keys default.
        """
        config = dict(config or {})
        crop = dict(config.pop("crop", None) or {})
        if "output_size" in crop:
            crop["output_size"] = tuple(crop["output_size"])
        tracking = dict(config.pop("tracking", None) or {})
        for name, given, kind in (
            ("crop", crop, CropLayout),
            ("tracking", tracking, TrackingParams),
        ):
            unknown = set(given) - {f.name for f in fields(kind)}
            if unknown:
                raise ValueError(f"unknown face2d.{name} option(s) {sorted(unknown)}")
        known = {f.name for f in fields(cls)} - {"crop", "tracking"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown face2d option(s) {sorted(unknown)}; known: {sorted(known)}")
        if "canonical_eye_corners" in config:
            config["canonical_eye_corners"] = tuple(map(tuple, config["canonical_eye_corners"]))
        return cls(crop=CropLayout(**crop), tracking=TrackingParams(**tracking), **config)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["canonical_eye_corners"] = [list(p) for p in self.canonical_eye_corners]
        d["crop"]["output_size"] = list(self.crop.output_size)
        return d


# ------------------------------------------------------------------------------ checks


def _check_clip(color: np.ndarray, onset: int, apex: int) -> None:
    if color.ndim != 4 or color.shape[-1] != 3 or color.dtype != np.uint8 or len(color) == 0:
        raise SampleFailure(
            f"color must be a non-empty uint8 (T, H, W, 3) clip, got {color.dtype} {color.shape}",
            frame=None,
        )
    for name, index in (("onset", onset), ("apex", apex)):
        if not 0 <= index < len(color):
            raise SampleFailure(
                f"{name} index {index} outside the clip of {len(color)} frames", frame=index
            )


def _check_face_in_image(track: LandmarkTrack, shape: tuple[int, int]) -> None:
    """Landmarks off the image mean the predictor guessed where the face is cut off."""
    rows, cols = shape
    lm = track.landmarks68
    outside = (
        (lm[..., 0] < 0) | (lm[..., 0] > cols - 1) | (lm[..., 1] < 0) | (lm[..., 1] > rows - 1)
    )
    bad = np.flatnonzero(outside.any(axis=1))
    if len(bad):
        t = int(bad[0])
        raise SampleFailure(
            f"face cut by the image border at frame {t}: {int(outside[t].sum())} of 68 "
            "landmarks lie outside the image",
            frame=t,
        )


def _check_face_size(landmarks0: np.ndarray, params: Face2DParams) -> None:
    distance = float(inner_eye_distance(landmarks0))
    if distance < params.min_eye_distance_px:
        raise SampleFailure(
            f"face too small in the first frame: inner eye corners {distance:.1f} px apart "
            f"(< {params.min_eye_distance_px} px)",
            frame=0,
        )


# ------------------------------------------------------------------------------ the stage


def align_and_crop(
    landmarks0: np.ndarray, params: Face2DParams
) -> tuple[np.ndarray, FaceBox, np.ndarray]:
    """(similarity, face box, image -> output affine) from the first frame's landmarks.

    docs/methods.md#2d-face: the similarity puts 39 and 42 on the canonical positions; the box is
    laid out on the aligned eye corners and nasal spine; the output affine composes both with the
    box's resampling to ``params.crop.output_size``.
    """
    similarity = eye_corner_alignment(landmarks0, np.asarray(params.canonical_eye_corners))
    box = face_box(apply_affine(similarity, landmarks0), params.crop)
    return similarity, box, crop_transform(similarity, box, params.crop.output_size)


def _gray_clip(color: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma (cv2; the weights of MATLAB's rgb2gray), frame by frame."""
    gray = np.empty(color.shape[:3], dtype=np.uint8)
    for t, frame in enumerate(color):
        cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY, dst=gray[t])
    return gray


def _track_precropped(
    gray: np.ndarray, detector: LandmarkDetector, params: Face2DParams
) -> LandmarkTrack:
    """Track a pre-cropped clip (``Face2DParams.precropped``): on frames with a replicated
    border, the crop itself as the face box where no face is detected; landmarks and boxes
    come back in the clip's own pixels."""
    height, width = gray.shape[1:]
    pad = round(params.precrop_border * min(height, width))
    padded = np.stack(
        [cv2.copyMakeBorder(g, pad, pad, pad, pad, cv2.BORDER_REPLICATE) for g in gray]
    )
    frame_box = dlib.rectangle(pad, pad, pad + width - 1, pad + height - 1)
    track = track_landmarks(padded, detector, params.tracking, fallback_box=frame_box)
    track.landmarks68 = track.landmarks68 - pad
    track.boxes = track.boxes - pad
    return track


def process_clip(
    color: np.ndarray,
    onset: int,
    apex: int,
    params: Face2DParams | Mapping[str, Any] | None = None,
    *,
    detector: LandmarkDetector | None = None,
) -> Face2DResult:
    """Landmarks, alignment and crop of one clip (color uint8 (T, H, W, 3) RGB).

    ``onset`` and ``apex`` are clip indices (kept for the QC picture and the features).
    ``params`` is a ``Face2DParams`` or the config mapping; pass ``detector`` to reuse a loaded
    model (loading costs ~1 s). Raises SampleFailure(reason, frame=t) on bad input.
    """
    if not isinstance(params, Face2DParams):
        params = Face2DParams.from_config(params)
    color = np.asarray(color)
    _check_clip(color, onset, apex)
    if detector is None:
        detector = LandmarkDetector(upsample=params.tracking.detector_upsample)
    elif detector.upsample != params.tracking.detector_upsample:
        raise ValueError(
            f"detector upsample {detector.upsample} != configured "
            f"{params.tracking.detector_upsample}"
        )

    gray = _gray_clip(color)
    if params.precropped:
        track = _track_precropped(gray, detector, params)
    else:
        track = track_landmarks(gray, detector, params.tracking)
        _check_face_in_image(track, gray.shape[1:])
    _check_face_size(track.landmarks68[0], params)
    try:
        similarity, box, image_to_crop = align_and_crop(track.landmarks68[0], params)
    except ValueError as error:
        raise SampleFailure(f"cannot lay out the face crop: {error}", frame=0) from error
    outside = crop_outside_fraction(image_to_crop, params.crop.output_size, gray.shape[1:])
    if outside > params.max_crop_outside and not params.precropped:
        raise SampleFailure(
            f"face cut by the image border: {outside:.1%} of the face crop lies outside the "
            f"image (> {params.max_crop_outside:.1%})",
            frame=0,
        )

    return Face2DResult(
        landmarks68=track.landmarks68,
        landmarks49_index=np.array(LANDMARKS49, dtype=np.int64),
        detected=track.detected,
        detection_score=track.detection_score,
        landmark_jump=track.landmark_jump,
        appearance_ncc=track.appearance_ncc,
        similarity=similarity,
        crop_box=box.as_array(),
        crop_units=np.array([box.unit_x, box.unit_y]),
        crop_transform=image_to_crop,
        aligned_gray=warp_clip(gray, image_to_crop, params.crop.output_size),
        aligned_landmarks=apply_affine(image_to_crop, track.landmarks68),
        onset=int(onset),
        apex=int(apex),
        params_json=json.dumps(params.as_dict(), sort_keys=True),
    )
