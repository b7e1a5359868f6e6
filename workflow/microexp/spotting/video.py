"""Whole-video ingestion for spotting: stream frames, track the face, crop every frame.

Long videos (a RealSense recording, a frame folder: CAS(ME)^2's
``rawpic/s15/15_0101.../img1.jpg``, CAS(ME)^3 Part A's ``spNO.1/a/color/153.jpg`` with
``.../depth/153.png``) are read frame by frame and never held whole: only the 168 x 168 gray
crops (28 KB a frame) and per-block depth means are kept.

Tracking (:class:`VideoFaceTracker`) is the recognition stage's (``microexp.face2d.track``:
dlib HOG detection, 68-point predictor in a box carried by the stable points, re-detection
when the landmark jump or the appearance NCC degrades) made tolerant: where the face is lost
(no face re-detected, a blank frame) the frame is recorded as without face, the tracker
re-detects on every following frame until a face is found again, and the appearance reference
restarts there.

Crop (:func:`frame_crop_transform`): the first frame with a face fixes the face box exactly as
the recognition stage does (similarity on the inner eye corners to their canonical positions,
``face2d.crop.face_box``); every later frame is mapped onto it by the similarity that puts its
stable landmarks (nose bridge, nose, eye corners), averaged over +- ``smoothing_frames``
frames, on the first frame's -- so in-plane head motion and drift are removed frame by frame
(out-of-plane turns are not: a similarity cannot undo a yaw). A frame without a face repeats
the last crop (its scores are flagged through ``face_found``).

Depth (``depth_registration``): with ``"icp"`` (the default where the frames carry camera
intrinsics, i.e. RealSense recordings) each frame's face surface is registered in 3D to the
reference frame's with the cloud3d stage's ICP and read per block on the reference crop
(:mod:`microexp.spotting.registration3d`), so head turns are removed from depth too; with
``"2d"`` the registered depth frame (mm; 0 = no data) is only warped by the frame's 2D
similarity (nearest neighbour) and reduced to per-block mean depths
(:func:`microexp.spotting.grid.block_mean_depth`). Either way the depth spotter also removes
the median block change per frame (a residual shift along the optical axis).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from microexp.camera import Intrinsics
from microexp.face2d.align import apply_affine, eye_corner_alignment, fit_similarity
from microexp.face2d.crop import crop_transform, face_box
from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.landmarks import inner_eye_distance
from microexp.face2d.stage import Face2DParams
from microexp.face2d.track import (
    STABLE_POINTS,
    TrackingParams,
    _face_patch,
    _normalised,
    _reference_patch_frame,
    appearance_ncc,
    box_iou,
    landmark_jump,
    tracked_box,
)
from microexp.io.frames import (
    COLOR_SUFFIXES,
    FrameFolderError,
    frame_number,
    index_frame_folder,
    read_color,
    read_depth,
)
from microexp.spotting.crops import VideoCrops, load_video_crops, save_video_crops
from microexp.spotting.grid import block_mean_depth

__all__ = [
    "VideoCrops",
    "VideoFaceTracker",
    "VideoFrame",
    "crop_video",
    "iter_frame_folder",
    "iter_recording",
    "load_video_crops",
    "save_video_crops",
]


@dataclass(frozen=True)
class VideoFrame:
    frame_number: int
    color: np.ndarray  # (H, W, 3) RGB uint8
    depth_mm: np.ndarray | None  # (H, W) float32 mm registered to color, NaN = no data
    intrinsics: Intrinsics | None = None  # the color camera's (3D registration needs them)


def iter_frame_folder(
    folder: str | os.PathLike[str],
    color_dir: str = ".",
    depth_dir: str | None = None,
    *,
    depth_scale: float = 0.001,
    intrinsics: Intrinsics | None = None,
) -> Iterator[VideoFrame]:
    """Frames of a folder in frame-number order, one at a time.

    ``color_dir="."``, ``depth_dir=None``: the color frames (``img<n>.jpg`` etc.) directly in
    the folder, no depth (CAS(ME)^2's ``rawpic/s15/15_0101.../img1.jpg``). With ``depth_dir``
    (CAS(ME)^3 Part A's ``spNO.1/a/color/153.jpg`` + ``spNO.1/a/depth/153.png``) color and
    16-bit depth are paired by frame number (:func:`microexp.io.frames.index_frame_folder`;
    frames in one stream only are skipped) and depth is given in mm (``depth_scale`` metres a
    unit; 0 = no data -> NaN). ``intrinsics``: the color camera's, where the data set gives
    them (3D registration needs them; without, depth is registered in 2D).
    """
    folder = Path(folder)
    if depth_dir is None and color_dir in (".", ""):
        files = [p for p in folder.iterdir() if p.suffix.lower() in COLOR_SUFFIXES]
        if not files:
            raise FileNotFoundError(f"no image frames in {folder}")
        for number, path in sorted((frame_number(p), p) for p in files):
            yield VideoFrame(number, read_color(path), None, intrinsics)
        return
    index = index_frame_folder(folder, color_dir, depth_dir)
    scale_mm = np.float32(float(depth_scale) * 1000.0)
    for number in index.frame_numbers.tolist():
        depth_mm = None
        if depth_dir is not None:
            units = read_depth(index.depth[number])
            depth_mm = units.astype(np.float32) * scale_mm
            depth_mm[units == 0] = np.nan
        color = read_color(index.color[number])
        if depth_mm is not None and depth_mm.shape != color.shape[:2]:
            raise FrameFolderError(
                f"{index.depth[number]}: depth {depth_mm.shape} and color {color.shape[:2]} "
                "sizes differ (depth must be registered to color)"
            )
        yield VideoFrame(number, color, depth_mm, intrinsics)


def iter_recording(path: str | os.PathLike[str], **options) -> Iterator[VideoFrame]:
    """Frames of a RealSense recording (depth registered to color, in mm), streamed."""
    from microexp.io.realsense import iter_frames

    reader = iter_frames(path, **options)
    with reader:
        scale_mm = None
        for f in reader:
            if scale_mm is None:
                scale_mm = float(reader.depth_scale) * 1000.0
            depth = f.depth.astype(np.float32) * np.float32(scale_mm)
            depth[f.depth == 0] = np.nan
            yield VideoFrame(int(f.frame_number), f.color, depth, reader.color_intrinsics)


class VideoFaceTracker:
    """Streaming landmark tracking over a whole video, tolerant of frames without a face."""

    def __init__(self, detector: LandmarkDetector, params: TrackingParams) -> None:
        self.detector = detector
        self.params = params
        self.anchor = None
        self.anchor_box = None
        self.previous = None
        self.first = None
        self.reference = None
        self.unit = 1.0

    def _detect(self, gray: np.ndarray):
        scale = self.params.detection_scale
        faces = self.detector.detect_faces_scored(gray, scale) if scale < 1.0 else []
        return faces or self.detector.detect_faces_scored(gray, 1.0)

    def _lose(self) -> tuple[None, bool]:
        self.anchor = self.anchor_box = self.previous = None
        return None, False

    def update(self, gray: np.ndarray) -> tuple[np.ndarray | None, bool]:
        """(landmarks (68, 2) or None without a face, whether the detector ran and found it)."""
        if float(gray.std()) < self.params.blank_frame_std:
            return self._lose()
        if self.previous is None:
            faces = self._detect(gray)
            if not faces:
                return None, False
            box = faces[0][0]
            fit = self.detector.landmarks_in_box(gray, box)
            unit = float(inner_eye_distance(fit))
            if unit <= 0:
                return None, False
            self.anchor, self.anchor_box, self.previous = fit, box, fit
            self.first, self.unit = fit, unit
            self.reference = _normalised(_face_patch(gray, _reference_patch_frame(fit)))
            return fit, True
        box = tracked_box(self.anchor, self.anchor_box, self.previous)
        fit = self.detector.landmarks_in_box(gray, box)
        jump = landmark_jump(fit, self.previous, self.unit)
        ncc = appearance_ncc(gray, fit, self.first, self.reference)
        detected = False
        if jump > self.params.max_landmark_jump or ncc < self.params.min_appearance_ncc:
            overlapping = [
                (box_iou(f, box), f) for f, _ in self._detect(gray) if box_iou(f, box) > 0
            ]
            if not overlapping:
                return self._lose()
            box = max(overlapping, key=lambda item: item[0])[1]
            fit = self.detector.landmarks_in_box(gray, box)
            if (
                appearance_ncc(gray, fit, self.first, self.reference)
                < self.params.min_appearance_ncc
            ):
                return self._lose()
            self.anchor, self.anchor_box, detected = fit, box, True
        self.previous = fit
        return fit, detected


class _CropStack:
    """(T, h, w) uint8 crops written frame by frame into fixed-size chunks: the video is never
    copied whole while it grows, and :meth:`finish` frees each chunk as it is copied out, so
    the peak is one video plus one chunk (growing one array by concatenation held up to
    2.5 videos)."""

    def __init__(self, shape: tuple[int, int], chunk_frames: int = 256) -> None:
        self.shape, self.chunk_frames = shape, chunk_frames
        self.chunks: list[np.ndarray | None] = []
        self.n_frames = 0

    def frame(self, index: int) -> np.ndarray:
        """The (h, w) slot of frame ``index`` (frames come in order; a new one extends)."""
        chunk, row = divmod(index, self.chunk_frames)
        while chunk >= len(self.chunks):
            self.chunks.append(np.zeros((self.chunk_frames, *self.shape), np.uint8))
        self.n_frames = max(self.n_frames, index + 1)
        return self.chunks[chunk][row]

    def finish(self) -> np.ndarray:
        out = np.empty((self.n_frames, *self.shape), np.uint8)
        for c in range(len(self.chunks)):
            start = c * self.chunk_frames
            stop = min(start + self.chunk_frames, self.n_frames)
            out[start:stop] = self.chunks[c][: stop - start]
            self.chunks[c] = None
        return out


def frame_crop_transform(
    landmarks: np.ndarray, reference_stable: np.ndarray, box, output_size
) -> np.ndarray:
    """Image -> crop for one frame: its stable points onto the reference frame's, then the box."""
    similarity = fit_similarity(landmarks[list(STABLE_POINTS)], reference_stable)
    return crop_transform(similarity, box, output_size)


def crop_video(
    frames: Iterable[VideoFrame],
    params: Face2DParams,
    grid: tuple[int, int] = (6, 6),
    min_valid_fraction: float = 0.5,
    detector: LandmarkDetector | None = None,
    smoothing_frames: int = 3,
    depth_registration: str = "icp",
    icp=None,
    icp_step: int = 6,
) -> VideoCrops:
    """Track and crop every frame of a streamed video; keep crops and block depths only.

    The stable landmarks that align a frame are averaged over the frames with a face within
    +- ``smoothing_frames`` (a centred moving average, so frames are cropped that many frames
    after they are read): single-frame landmark jitter (about a pixel here) would otherwise
    move the whole crop and read as facial motion to every spotter, while head movement is
    far slower than the 7-frame window at 30 fps.

    Every frame is also cropped through the first face frame's crop transform with no
    per-frame alignment (``gray_fixed``): the MEGC2020 baseline crops every frame with the box
    found on the first one (its ``preprocess.py``), and MDMD reads flow magnitudes, which the
    residual jitter of a per-frame alignment (0.2-0.7 px on a still head at 320 x 240) swamps.

    ``depth_registration`` "icp" registers each frame's face surface in 3D (``icp``: a
    ``microexp.cloud3d.icp.IcpParams``, default its defaults; ``icp_step``: ICP source
    subsampling on the crop grid) where frames carry intrinsics, else "2d" (see the module).
    """
    if depth_registration not in ("icp", "2d"):
        raise ValueError(f"depth_registration must be 'icp' or '2d', not {depth_registration!r}")
    detector = detector or LandmarkDetector(params.tracking.detector_upsample)
    tracker = VideoFaceTracker(detector, params.tracking)
    h, w = params.crop.output_size
    half = max(0, int(smoothing_frames))
    gray_out, fixed_out = _CropStack((h, w)), _CropStack((h, w))
    numbers, found, detected, landmarks, depth_blocks = [], [], [], [], []
    state = {"box": None, "reference": None, "matrix": None, "fixed": None, "registration": None}
    fitness: list[float] = []
    used = {"icp": False}
    canonical = np.asarray(params.canonical_eye_corners)
    stable = list(STABLE_POINTS)
    window: deque = deque()  # (index, gray, depth, stable points or None)

    def emit(index: int, gray: np.ndarray, depth: np.ndarray | None) -> None:
        points = [p for k, _, _, p in window if p is not None and abs(k - index) <= half]
        mean_points = np.mean(points, axis=0) if points else None
        if points and state["box"] is not None:
            similarity = fit_similarity(mean_points, state["reference"])
            state["matrix"] = crop_transform(similarity, state["box"], (h, w))
            if state["fixed"] is None:
                state["fixed"] = state["matrix"]
        matrix = state["matrix"]
        for out, transform in ((gray_out, matrix), (fixed_out, state["fixed"])):
            if transform is not None:
                cv2.warpAffine(gray, transform, (w, h), dst=out.frame(index),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            elif index > 0:
                out.frame(index)[:] = out.frame(index - 1)
            else:
                out.frame(index)  # no face yet: the slot stays black
        if depth is not None:
            fitness.append(np.nan)
            if matrix is None:
                depth_blocks.append(np.full(grid[0] * grid[1], np.nan))
            elif depth_registration == "icp" and intrinsics is not None:
                depth_blocks.append(register_3d(depth, matrix, mean_points))
            else:
                crop = cv2.warpAffine(
                    depth, matrix, (w, h), flags=cv2.INTER_NEAREST,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"),
                )  # fmt: skip
                depth_blocks.append(block_mean_depth(crop[None], grid, min_valid_fraction)[0])

    intrinsics: Intrinsics | None = None

    def register_3d(depth: np.ndarray, matrix: np.ndarray, mean_points) -> np.ndarray:
        if state["registration"] is None:
            from microexp.cloud3d.icp import IcpParams
            from microexp.spotting.registration3d import FaceSurfaceRegistration

            state["registration"] = FaceSurfaceRegistration(
                intrinsics, (h, w), grid, icp or IcpParams(), icp_step, min_valid_fraction
            )
        used["icp"] = True
        # the stable points (smoothed) give ICP its starting pose
        try:
            out = state["registration"](depth, matrix, mean_points)
        except ValueError:  # a reference frame without depth on the face: try the next one
            return np.full(grid[0] * grid[1], np.nan)
        if out.ok:
            fitness[-1] = out.fitness
        return out.blocks

    n_read = next_emit = 0
    for i, frame in enumerate(frames):
        n_read = i + 1
        if intrinsics is None and frame.intrinsics is not None:
            intrinsics = frame.intrinsics
        gray = cv2.cvtColor(frame.color, cv2.COLOR_RGB2GRAY)
        fit, was_detected = tracker.update(gray)
        if fit is not None and state["box"] is None:
            aligned = apply_affine(eye_corner_alignment(fit, canonical), fit)
            state["box"] = face_box(aligned, params.crop)
            state["reference"] = aligned[stable]
        window.append((i, gray, frame.depth_mm, None if fit is None else fit[stable]))
        numbers.append(frame.frame_number)
        found.append(fit is not None)
        detected.append(was_detected)
        landmarks.append(
            np.full((68, 2), np.nan, np.float32) if fit is None else fit.astype(np.float32)
        )
        while next_emit <= i - half:  # frames whose whole window has been read
            _, g, d, _ = window[next_emit - window[0][0]]
            emit(next_emit, g, d)
            next_emit += 1
        while window and window[0][0] < next_emit - half:  # no longer anyone's past
            window.popleft()
    while next_emit < n_read:  # the last frames: their windows end with the video
        _, g, d, _ = window[next_emit - window[0][0]]
        emit(next_emit, g, d)
        next_emit += 1
    if n_read == 0:
        raise ValueError("the video has no frames")
    return VideoCrops(
        frame_numbers=np.asarray(numbers, np.int64),
        gray=gray_out.finish(),
        face_found=np.asarray(found, bool),
        detected=np.asarray(detected, bool),
        landmarks=np.stack(landmarks),
        block_depth=np.stack(depth_blocks) if depth_blocks else None,
        grid=tuple(grid),
        depth_registration=("icp" if used["icp"] else "2d") if depth_blocks else "none",
        icp_fitness=np.asarray(fitness) if used["icp"] else None,
        gray_fixed=fixed_out.finish(),
    )
