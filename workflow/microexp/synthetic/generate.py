"""Render synthetic samples and write them in real capture formats, with ground truth.

One call writes one sample (`write_sample`): its frames as a RealSense recording (.db3,
what the SDK >= 2.58 records) or as a DSME-3D frame folder (color JPG, 16-bit depth PNG in
millimetres, PLY point clouds for chosen frames), and `truth/{sample}.npz`.

Truth file keys (documented in the README): source, frame_numbers, timestamps_ms,
landmarks2d (T,68,2) color px, landmarks3d (T,68,3) camera mm, head_pose (T,4,4) mapping
frame-t points onto frame-0 points, au_names, au_intensity (T, n_AUs), subject, sample,
video, onset, apex, offset (source frame numbers), expression_type, aus, objective_class,
emotion, blink (onset, apex, offset or -1), intrinsics (fx, fy, cx, cy), distance_mm.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from plyfile import PlyData, PlyElement

from microexp.camera import Intrinsics
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.face import SyntheticSubject, make_subject
from microexp.synthetic.motion import head_pose_truth
from microexp.synthetic.photo import PhotoFace
from microexp.synthetic.render import render_frame
from microexp.synthetic.schedule import (
    _STREAM_SENSOR,
    FORMAT_FRAMES,
    FORMAT_REALSENSE,
    ExpressionEvent,
    SamplePlan,
    SyntheticSettings,
    sample_rng,
)
from microexp.synthetic.sensor import capture_color, capture_depth

JPEG_QUALITY = 95
# A point of a frame folder's PLY clouds: position (mm) and colour.
PLY_VERTEX = np.dtype(
    [("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("red", "u1"), ("green", "u1"), ("blue", "u1")]
)


@dataclass(frozen=True)
class SyntheticFrame:
    """One captured frame and its truth."""

    frame_number: int
    timestamp_ms: float
    color: np.ndarray  # (H, W, 3) uint8 RGB, with sensor noise
    depth: np.ndarray  # (H, W) uint16 depth units, with sensor artefacts; 0 = no data
    landmarks2d: np.ndarray  # (68, 2)
    landmarks3d: np.ndarray  # (68, 3)
    motion: np.ndarray  # (4, 4) head motion applied to the neutral head
    au_intensity: np.ndarray  # (n_AUs,)


def intrinsics_from_settings(settings: SyntheticSettings) -> Intrinsics:
    cam = settings.camera
    return Intrinsics(
        width=int(cam["width"]),
        height=int(cam["height"]),
        fx=float(cam["fx"]),
        fy=float(cam["fy"]),
        cx=float(cam["cx"]),
        cy=float(cam["cy"]),
    )


def subject_for(
    settings: SyntheticSettings, subject_index: int, photo: PhotoFace | None = None
) -> SyntheticSubject:
    """Subject ``subject_index`` of the data set; ``photo`` as in `make_subject`."""
    return make_subject(subject_index, settings.seed, intrinsics_from_settings(settings), photo)


def event_profile(event: ExpressionEvent, frame_numbers: np.ndarray) -> np.ndarray:
    """Intensity in [0, 1] over frames: raised-cosine rise to the apex, then fall to offset."""
    f = np.asarray(frame_numbers, dtype=float)
    profile = np.zeros_like(f)
    rise = (f >= event.onset) & (f <= event.apex)
    fall = (f > event.apex) & (f <= event.offset)
    profile[rise] = 0.5 - 0.5 * np.cos(np.pi * (f[rise] - event.onset) / (event.apex - event.onset))
    profile[fall] = 0.5 + 0.5 * np.cos(np.pi * (f[fall] - event.apex) / (event.offset - event.apex))
    return profile


def au_timeline(plan: SamplePlan, frame_numbers: np.ndarray, au_gain: np.ndarray) -> np.ndarray:
    """(T, n_AUs) AU intensities: expression and blink profiles times peaks and the subject's
    gain (subjects differ in amplitude), clipped to [0, 1]."""
    intensity = np.zeros((len(frame_numbers), len(AU_NAMES)))
    events = [plan.expression] + ([plan.blink] if plan.blink is not None else [])
    for event in events:
        profile = event_profile(event, frame_numbers)
        for au, peak in event.peak.items():
            column = AU_NAMES.index(au)
            intensity[:, column] += profile * peak * au_gain[column]
    return np.clip(intensity, 0.0, 1.0)


def head_pivot(subject: SyntheticSubject) -> np.ndarray:
    """The head turns about a point ~90 mm behind the face (roughly the neck's axis)."""
    pivot = subject.neutral_landmarks3d.mean(axis=0).copy()
    pivot[2] += 90.0
    return pivot


def render_sample(
    plan: SamplePlan, settings: SyntheticSettings, subject: SyntheticSubject | None = None
) -> Iterator[SyntheticFrame]:
    """The sample's frames, rendered and passed through the sensor models, in order."""
    subject = subject or subject_for(settings, plan.subject_index)
    frames = plan.frame_numbers
    times_s = frames / settings.fps
    motions = plan.trajectory.motions(times_s - times_s[0], head_pivot(subject))
    intensities = au_timeline(plan, frames, subject.au_gain)
    rng = sample_rng(settings.seed, plan.subject_index, plan.video, _STREAM_SENSOR)
    depth_units_per_mm = 1e-3 / settings.depth_scale
    for frame_number, motion, intensity in zip(frames, motions, intensities, strict=True):
        rendered = render_frame(subject, intensity, motion)
        color = capture_color(rendered.color, rng)
        depth_mm = capture_depth(rendered.depth_mm, rendered.color, rng)
        depth = (
            depth_mm if depth_units_per_mm == 1 else _rescale_depth(depth_mm, depth_units_per_mm)
        )
        yield SyntheticFrame(
            frame_number=int(frame_number),
            timestamp_ms=float(frame_number) * 1000.0 / settings.fps,
            color=color,
            depth=depth,
            landmarks2d=rendered.landmarks2d,
            landmarks3d=rendered.landmarks3d,
            motion=motion,
            au_intensity=intensity,
        )


def _rescale_depth(depth_mm: np.ndarray, units_per_mm: float) -> np.ndarray:
    scaled = np.rint(depth_mm.astype(np.float64) * units_per_mm)
    return np.clip(scaled, 0, np.iinfo(np.uint16).max).astype(np.uint16)


def frame_folder(root: Path, plan: SamplePlan) -> Path:
    """DSME-3D-style folder of one sample: <root>/dsme3d/<subject>/<sample>/."""
    return root / "dsme3d" / plan.subject / plan.sample


def recording_path(root: Path, plan: SamplePlan) -> Path:
    """RealSense recording of one video: <root>/realsense/<subject>/<sample>.db3."""
    return root / "realsense" / plan.subject / f"{plan.sample}.db3"


def source_path(root: Path, plan: SamplePlan) -> Path:
    if plan.format == FORMAT_REALSENSE:
        return recording_path(root, plan)
    if plan.format == FORMAT_FRAMES:
        return frame_folder(root, plan)
    raise ValueError(f"sample {plan.sample}: unknown format {plan.format!r}")


def frame_file_stem(frame_number: int) -> str:
    return f"{frame_number:06d}"


def write_point_cloud(
    path: Path,
    frame: SyntheticFrame,
    intrinsics: Intrinsics,
    depth_scale: float,
    margin: float = 0.2,
) -> int:
    """Write the head region of a frame as a PLY point cloud in millimetres (binary little
    endian; x, y, z as double, red, green, blue as uchar, the layout Open3D writes and reads).
    Returns the number of points."""
    lo = frame.landmarks2d.min(axis=0)
    hi = frame.landmarks2d.max(axis=0)
    pad = (hi - lo) * margin
    x0, y0 = np.floor(np.maximum(lo - pad, 0)).astype(int)
    x1 = int(min(np.ceil(hi[0] + pad[0]), intrinsics.width - 1))
    y1 = int(min(np.ceil(hi[1] + pad[1]), intrinsics.height - 1))
    v, u = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    z_mm = frame.depth[y0 : y1 + 1, x0 : x1 + 1].astype(np.float64) * depth_scale * 1000.0
    valid = z_mm > 0
    uv = np.stack([u[valid], v[valid]], axis=1).astype(np.float64)
    points = intrinsics.deproject(uv, z_mm[valid])
    vertices = np.empty(points.shape[0], dtype=PLY_VERTEX)
    for axis, name in enumerate("xyz"):
        vertices[name] = points[:, axis]
    for channel, name in enumerate(("red", "green", "blue")):
        vertices[name] = frame.color[y0 : y1 + 1, x0 : x1 + 1, channel][valid]
    # plyfile, not open3d: importing open3d costs about 1 CPU-s a job for two files a sample.
    cloud = PlyData([PlyElement.describe(vertices, "vertex")], byte_order="<")
    try:
        cloud.write(str(path))
    except OSError as error:
        raise OSError(f"could not write point cloud {path}: {error}") from error
    return int(points.shape[0])


def write_frame_folder(
    plan: SamplePlan,
    frames: Iterator[SyntheticFrame],
    folder: Path,
    settings: SyntheticSettings,
    intrinsics: Intrinsics,
) -> list[SyntheticFrame]:
    """Write color JPG, depth PNG (uint16, depth units) and the chosen PLYs; return frames'
    truth (pixels dropped)."""
    ply_frames = {getattr(plan.expression, name) for name in settings.ply_frames}
    for sub in ("color", "depth", "cloud"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    kept = []
    for frame in frames:
        stem = frame_file_stem(frame.frame_number)
        bgr = cv2.cvtColor(frame.color, cv2.COLOR_RGB2BGR)
        if not cv2.imwrite(
            str(folder / "color" / f"{stem}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        ):
            raise OSError(f"could not write {folder / 'color' / stem}.jpg")
        if not cv2.imwrite(str(folder / "depth" / f"{stem}.png"), frame.depth):
            raise OSError(f"could not write {folder / 'depth' / stem}.png")
        if frame.frame_number in ply_frames:
            write_point_cloud(
                folder / "cloud" / f"{stem}.ply", frame, intrinsics, settings.depth_scale
            )
        kept.append(_without_pixels(frame))
    return kept


def write_sample_recording(
    plan: SamplePlan,
    frames: Iterator[SyntheticFrame],
    path: Path,
    settings: SyntheticSettings,
    intrinsics: Intrinsics,
) -> list[SyntheticFrame]:
    """Write the sample's video as a RealSense recording; return the frames' truth."""
    from microexp.io.containers import CaptureFrame
    from microexp.synthetic.recording import write_recording

    kept: list[SyntheticFrame] = []

    def capture_frames() -> Iterator[CaptureFrame]:
        for frame in frames:
            kept.append(_without_pixels(frame))
            yield CaptureFrame(
                color=frame.color,
                depth=frame.depth,
                frame_number=frame.frame_number,
                timestamp_ms=frame.timestamp_ms,
            )

    path.parent.mkdir(parents=True, exist_ok=True)
    write_recording(
        path,
        capture_frames(),
        color_intrinsics=intrinsics,
        depth_scale=settings.depth_scale,
        fps=settings.fps,
    )
    return kept


def _without_pixels(frame: SyntheticFrame) -> SyntheticFrame:
    empty = np.zeros((0,), dtype=np.uint8)
    return SyntheticFrame(
        frame.frame_number,
        frame.timestamp_ms,
        empty,
        empty.astype(np.uint16),
        frame.landmarks2d,
        frame.landmarks3d,
        frame.motion,
        frame.au_intensity,
    )


def write_truth(
    path: Path,
    plan: SamplePlan,
    frames: list[SyntheticFrame],
    source: Path,
    root: Path,
    subject: SyntheticSubject,
) -> None:
    """Write truth/{sample}.npz (keys in the module docstring)."""
    motions = np.stack([f.motion for f in frames])
    blink = plan.blink
    intr = subject.intrinsics
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        source=str(source.relative_to(root)),
        frame_numbers=np.array([f.frame_number for f in frames], dtype=np.int64),
        timestamps_ms=np.array([f.timestamp_ms for f in frames], dtype=np.float64),
        landmarks2d=np.stack([f.landmarks2d for f in frames]),
        landmarks3d=np.stack([f.landmarks3d for f in frames]),
        head_pose=head_pose_truth(motions),
        au_names=np.array(AU_NAMES),
        au_intensity=np.stack([f.au_intensity for f in frames]),
        subject=plan.subject,
        sample=plan.sample,
        video=plan.video,
        onset=plan.expression.onset,
        apex=plan.expression.apex,
        offset=plan.expression.offset,
        expression_type=plan.expression_type,
        aus=plan.aus,
        objective_class=plan.objective_class,
        emotion=plan.emotion,
        blink=np.array(
            [blink.onset, blink.apex, blink.offset] if blink else [-1, -1, -1], dtype=np.int64
        ),
        intrinsics=np.array([intr.fx, intr.fy, intr.cx, intr.cy]),
        distance_mm=subject.distance_mm,
    )


def write_sample(
    plan: SamplePlan,
    settings: SyntheticSettings,
    root: Path,
    truth: Path,
    subject: SyntheticSubject | None = None,
    on_frame: Callable[[SyntheticFrame], None] | None = None,
) -> Path:
    """Render one sample, write it in its format under `root`, and its truth; return source.
    Pass the sample's `subject` (`subject_for`) to reuse it: building one costs seconds, so
    a job that writes a subject's samples builds it once. `on_frame`, when given, sees every
    captured frame (with its pixels) before it is written, e.g. to keep one for a figure."""
    if subject is None:
        subject = subject_for(settings, plan.subject_index)
    elif subject.index != plan.subject_index:
        raise ValueError(f"sample {plan.sample}: subject {subject.index} is not its subject")
    intrinsics = subject.intrinsics
    frames = render_sample(plan, settings, subject)
    if on_frame is not None:
        frames = _tapped(frames, on_frame)
    source = source_path(root, plan)
    if plan.format == FORMAT_REALSENSE:
        kept = write_sample_recording(plan, frames, source, settings, intrinsics)
    else:
        kept = write_frame_folder(plan, frames, source, settings, intrinsics)
    write_truth(truth, plan, kept, source, root, subject)
    return source


def _tapped(
    frames: Iterator[SyntheticFrame], on_frame: Callable[[SyntheticFrame], None]
) -> Iterator[SyntheticFrame]:
    for frame in frames:
        on_frame(frame)
        yield frame


def sample_row(plan: SamplePlan, settings: SyntheticSettings, root: Path) -> dict[str, object]:
    """The samples.tsv row of a planned sample, known before anything is generated (the
    workflow plans its jobs from it; ingestion reads the same values back from the sheets)."""
    return {
        "dataset": "synthetic",
        "subject": plan.subject,
        "sample": plan.sample,
        "video": str(plan.video),
        "onset": plan.expression.onset,
        "apex": plan.expression.apex,
        "offset": plan.expression.offset,
        "fps": settings.fps,
        "expression_type": plan.expression_type,
        "aus": plan.aus,
        "objective_class": plan.objective_class,
        "emotion": plan.emotion,
        "source": str(source_path(root, plan)),
    }
