"""One clip file per sample: which source frames a sample is, not a copy of them
(docs/data-contracts.md).

`extract_clip` takes a row of `samples.tsv` and returns the frames onset - margin ..
offset + margin (docs/methods.md#micro-vs-macro; the margin is the data set's `clip_margin`)
from the sample's source, a RealSense recording (read at sensor level,
`microexp.io.realsense`) or a frame folder (`microexp.io.frames`). Frames the source lacks
inside the clip are left out and counted (`dropped_frames`), as CAS(ME)^3 Part B style drops
are real; a missing onset, apex or offset frame, or a clip outside the video, makes the
sample fail with a message naming the source and the frames.

The clip file (`save_clip`, rule ingest_clip) holds the clip's index, no pixels: a full-frame
copy of every sample's window was a second copy of the database (1.6 GB of the default run's
2.1 GB; hundreds of GB on CAS(ME)^3). Ingestion still reads and checks every frame, so a bad
source fails there; the stages that need pixels (face2d, cloud3d) read them again from the
source at the recorded frame numbers with `load_clip` (exception-listed frames interpolated
again), which gives the very arrays ingestion saw (the readers are deterministic, recordings
are registered the same way) and fails the sample with a clear message when the source no
longer holds them.

Clip file keys: timestamps_ms (T,); frame_numbers (T,) source numbering; intrinsics (JSON of
`microexp.camera.Intrinsics`); depth_scale (metres per unit); onset, apex, offset (clip
indices; apex -1 when the sheet has none); dropped_frames (source frame numbers missing
inside the clip, exception-listed ones included unless interpolated); interpolated_frames
(exception-listed frames filled by interpolation, `microexp.io.exceptions`); has_depth (False
for a 2D data set); color_dir, depth_dir (a frame folder's sub-folders; depth_dir "" without
depth); sample, subject, source (as in samples.tsv: relative sources are relative to the
directory the workflow runs in). In memory (`Clip`): color (T,H,W,3) uint8 RGB and depth
(T,H,W) uint16 depth units registered to color ((T, 0, 0) without depth), besides the index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from microexp.camera import Intrinsics
from microexp.failures import SampleFailure, raise_if_failed
from microexp.io.datasets import frame_layout, has_depth
from microexp.io.exceptions import interpolate_frames
from microexp.io.frames import FrameFolderError, index_frame_folder, read_frames

RECORDING_SUFFIXES = (".bag", ".db3")
# The samples.tsv columns a clip is cut from: the rules pass only these to a clip job, so an
# edit of a sample's labels (AUs, classes, emotion) does not rerun its per-sample stages.
CLIP_COLUMNS = (
    "sample", "subject", "source", "onset", "apex", "offset", "fps", "listed_frames",
)  # fmt: skip


def _missing(value: Any) -> bool:
    """An empty cell of samples.tsv (None, NaN or pandas' NA); pandas is not imported here."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pandas.NA: its comparisons are NA, which has no truth value
        return True


def _read_recording(source: str | Path, frames: list[int], *, register: bool = True):
    """`microexp.io.realsense.read_recording`, imported here: pyrealsense2 is loaded only by
    jobs that read a recording. ``register=False`` skips registering depth to color (for
    callers that drop depth)."""
    from microexp.io.realsense import RecordingError, read_recording

    try:
        return read_recording(source, frames=frames, register=register)
    except RecordingError as error:
        raise SampleFailure(str(error), file=str(source)) from error


@dataclass(frozen=True)
class ClipIndex:
    """Which source frames one sample is, and their camera (what a clip file holds)."""

    sample: str
    subject: str
    source: str
    timestamps_ms: np.ndarray
    frame_numbers: np.ndarray
    intrinsics: Intrinsics
    depth_scale: float
    onset: int
    apex: int
    offset: int
    dropped_frames: np.ndarray
    has_depth: bool = True  # False: a 2D data set, `depth` is empty (T, 0, 0)
    # exception-listed frames filled by interpolation (microexp.io.exceptions)
    interpolated_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    color_dir: str = "color"  # a frame folder's sub-folders (microexp.io.datasets.frame_layout)
    depth_dir: str = "depth"  # "" without depth

    @property
    def fps(self) -> float:
        """Frame rate from the timestamps (median interval; robust to dropped frames)."""
        if len(self.timestamps_ms) < 2:
            raise SampleFailure(f"sample {self.sample}: a clip of one frame has no frame rate")
        return 1000.0 / float(np.median(np.diff(self.timestamps_ms)))


@dataclass(frozen=True, kw_only=True)
class Clip(ClipIndex):
    """The frames of one sample and their camera."""

    color: np.ndarray
    depth: np.ndarray

    @property
    def index(self) -> ClipIndex:
        return ClipIndex(**{f.name: getattr(self, f.name) for f in fields(ClipIndex)})


def frame_intrinsics(
    dataset: Mapping[str, Any], config: Mapping[str, Any], size: tuple[int, int] | None = None
) -> Intrinsics:
    """Intrinsics for frame-folder data, which do not carry them: from the data set's config
    (the synthetic layout's camera is the generator's). A 2D data set (no depth) needs none:
    without `intrinsics:` its clips carry a nominal pinhole of the frame `size` (width,
    height; focal length = the larger side, principal point at the centre), which no 2D
    stage reads."""
    if dataset["layout"] == "synthetic":
        return Intrinsics.from_any(config["synthetic"]["camera"])
    if "intrinsics" not in dataset and size is not None and not has_depth(dataset):
        width, height = size
        focal = float(max(width, height))
        return Intrinsics(width, height, focal, focal, (width - 1) / 2, (height - 1) / 2)
    if "intrinsics" not in dataset:
        raise ValueError(
            f"data set at {dataset['root']}: frame folders carry no intrinsics; give "
            "`intrinsics: {width, height, fx, fy, cx, cy}` in its config entry"
        )
    return Intrinsics.from_any(dataset["intrinsics"])


def frame_depth_scale(dataset: Mapping[str, Any], config: Mapping[str, Any]) -> float:
    if dataset["layout"] == "synthetic":
        return float(config["synthetic"]["depth_scale"])
    return float(dataset.get("depth_scale", 0.001))


def clip_frames(row: Mapping[str, Any], margin: int) -> np.ndarray:
    """Source frame numbers the clip should hold."""
    onset, offset = row["onset"], row["offset"]
    if _missing(onset) or _missing(offset):
        raise SampleFailure(
            f"sample {row['sample']}: onset or offset not annotated; no clip can be cut",
            file=row["source"],
        )
    return np.arange(int(onset) - margin, int(offset) + margin + 1)


def _annotated(row: Mapping[str, Any]) -> dict[str, int]:
    return {k: int(row[k]) for k in ("onset", "apex", "offset") if not _missing(row[k])}


def listed_frames(row: Mapping[str, Any]) -> np.ndarray:
    """The exception-listed frames of a samples.tsv row (`listed_frames`, "498,512")."""
    text = row.get("listed_frames")
    if _missing(text) or not str(text).strip():
        return np.zeros(0, dtype=np.int64)
    return np.array([int(f) for f in str(text).split(",")], dtype=np.int64)


def _check_annotated_present(row, present: np.ndarray, available: str) -> None:
    missing = {k: f for k, f in _annotated(row).items() if f not in set(present.tolist())}
    if missing:
        what = ", ".join(f"{k} frame {f}" for k, f in missing.items())
        raise SampleFailure(
            f"sample {row['sample']}: {what} not in the source ({available})",
            file=row["source"],
            missing=missing,
        )


def _from_recording(row, wanted: np.ndarray) -> tuple:
    recording = _read_recording(row["source"], wanted.tolist())
    numbers = recording.frame_numbers
    available = (
        f"frames {numbers.min()}..{numbers.max()} of the clip range read" if len(numbers)
        else "none of the clip's frames"
    )  # fmt: skip
    _check_annotated_present(row, numbers, available)
    return (
        recording.color, recording.depth, recording.timestamps_ms, numbers,
        recording.intrinsics, recording.depth_scale,
    )  # fmt: skip


def _from_frame_folder(row, wanted: np.ndarray, dataset, config, fps):
    color_dir, depth_dir = frame_layout(dataset)
    try:
        index = index_frame_folder(Path(row["source"]), color_dir, depth_dir)
    except FrameFolderError as error:
        raise SampleFailure(str(error), file=row["source"]) from error
    all_frames = index.frame_numbers
    present = wanted[np.isin(wanted, all_frames)]
    available = f"folder holds frames {all_frames.min()}..{all_frames.max()}"
    _check_annotated_present(row, present, available)
    try:
        color, depth = read_frames(index, present.tolist())
    except FrameFolderError as error:
        raise SampleFailure(str(error), file=row["source"]) from error
    intrinsics = frame_intrinsics(dataset, config, (color.shape[2], color.shape[1]))
    depth_scale = frame_depth_scale(dataset, config)
    if color.shape[1:3] != (intrinsics.height, intrinsics.width):
        raise SampleFailure(
            f"sample {row['sample']}: frames are {color.shape[2]}x{color.shape[1]}, the "
            f"configured intrinsics {intrinsics.width}x{intrinsics.height}",
            file=row["source"],
        )
    timestamps = present.astype(np.float64) * 1000.0 / float(fps)
    return color, depth, timestamps, present, intrinsics, depth_scale


def extract_clip(
    row: Mapping[str, Any], dataset: Mapping[str, Any], config: Mapping[str, Any]
) -> Clip:
    """The clip of one samples.tsv row (see module docstring); raises SampleFailure."""
    margin = int(dataset.get("clip_margin", 0))
    wanted = clip_frames(row, margin)
    # exception-listed frames (microexp.io.exceptions) are never read: dropped, or interpolated
    listed = listed_frames(row)
    interpolate = dataset.get("exception_frames", "exclude") == "interpolate" and listed.size
    to_read = wanted[~np.isin(wanted, listed)]
    lookup = row if not interpolate else {**row, **_unlisted_markers(row, listed)}
    source = Path(row["source"])
    layout = frame_layout(dataset) if source.suffix.lower() not in RECORDING_SUFFIXES else (
        "color", "depth"
    )  # fmt: skip
    if source.suffix.lower() in RECORDING_SUFFIXES:
        if not source.is_file():
            raise SampleFailure(f"recording not found: {source}", file=source)
        color, depth, stamps, numbers, intr, scale = _from_recording(lookup, to_read)
    else:
        if not source.is_dir():
            raise SampleFailure(
                f"sample {row['sample']}: no frame folder {source} (unknown subject/video?)",
                file=source,
            )
        color, depth, stamps, numbers, intr, scale = _from_frame_folder(
            lookup, to_read, dataset, config, row["fps"]
        )
    interpolated = np.zeros(0, dtype=np.int64)
    if interpolate:
        inside = wanted[np.isin(wanted, listed)]  # at the clip's ends: the nearest repeats
        stamps = np.interp(np.union1d(numbers, inside), numbers, stamps)
        color, merged = interpolate_frames(color, numbers, inside)
        if depth.size:
            depth, _ = interpolate_frames(depth, numbers, inside)
        else:
            depth = np.zeros((len(merged), 0, 0), dtype=np.uint16)
        numbers, interpolated = merged, inside
    position = {int(f): i for i, f in enumerate(numbers)}
    annotated = _annotated(row)
    return Clip(
        sample=str(row["sample"]),
        subject=str(row["subject"]),
        source=str(source),
        color=color,
        depth=depth,
        timestamps_ms=np.asarray(stamps, dtype=np.float64),
        frame_numbers=np.asarray(numbers, dtype=np.int64),
        intrinsics=intr,
        depth_scale=float(scale),
        onset=position[annotated["onset"]],
        apex=position[annotated["apex"]] if "apex" in annotated else -1,
        offset=position[annotated["offset"]],
        dropped_frames=wanted[~np.isin(wanted, numbers)].astype(np.int64),
        has_depth=depth.size > 0,
        interpolated_frames=interpolated.astype(np.int64),
        color_dir=layout[0],
        depth_dir=layout[1] or "",
    )


def _unlisted_markers(row: Mapping[str, Any], listed: np.ndarray) -> dict[str, Any]:
    """The row with its listed onset / apex / offset hidden from the presence check: they are
    interpolated, not read (the sample's `problems` record it)."""
    return {k: None for k, f in _annotated(row).items() if f in set(listed.tolist())}


def _source_path(source: str, root: str | Path | None) -> Path:
    path = Path(source)
    return path if path.is_absolute() or root is None else Path(root) / path


def save_clip(path: str | Path, clip: ClipIndex) -> None:
    """Write the clip file: the index of a `Clip` (or `ClipIndex`), without its pixels."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # savez appends ".npz" to a name without it
        np.savez(
            handle,
            ok=True,
            timestamps_ms=clip.timestamps_ms,
            frame_numbers=clip.frame_numbers,
            intrinsics=json.dumps(clip.intrinsics.as_dict()),
            depth_scale=clip.depth_scale,
            onset=clip.onset,
            apex=clip.apex,
            offset=clip.offset,
            dropped_frames=clip.dropped_frames,
            sample=clip.sample,
            subject=clip.subject,
            source=clip.source,
            has_depth=clip.has_depth,
            interpolated_frames=clip.interpolated_frames,
            color_dir=clip.color_dir,
            depth_dir=clip.depth_dir,
        )


def read_clip_index(path: str | Path) -> ClipIndex:
    """The index a clip file holds (no pixels); raises SampleFailure for a failure marker."""
    with np.load(path) as npz:
        raise_if_failed(npz, path)
        return ClipIndex(
            sample=npz["sample"].item(),
            subject=npz["subject"].item(),
            source=npz["source"].item(),
            timestamps_ms=npz["timestamps_ms"],
            frame_numbers=npz["frame_numbers"],
            intrinsics=Intrinsics.from_any(json.loads(npz["intrinsics"].item())),
            depth_scale=float(npz["depth_scale"]),
            onset=int(npz["onset"]),
            apex=int(npz["apex"]),
            offset=int(npz["offset"]),
            dropped_frames=npz["dropped_frames"],
            has_depth=bool(npz["has_depth"]),
            interpolated_frames=npz["interpolated_frames"],
            color_dir=npz["color_dir"].item(),
            depth_dir=npz["depth_dir"].item(),
        )


def read_clip_frames(
    index: ClipIndex, root: str | Path | None = None, *, depth: bool = True
) -> Clip:
    """The clip's color and registered depth, read from its source at the indexed frames
    (exception-listed frames interpolated again, as `extract_clip` did).

    `root` is the directory a relative source is relative to (None: the current directory,
    where the workflow runs). Raises SampleFailure naming the source when it cannot be read
    or no longer holds exactly the indexed frames (changed since ingestion). `depth=False`:
    color only, the same color as with depth; depth is neither decoded (frame folders) nor
    registered (recordings) and the clip's `depth` is empty, (T, 0, 0) (`has_depth` still
    says what the source holds).
    """
    source = _source_path(index.source, root)
    numbers_all = index.frame_numbers.astype(np.int64)
    interpolated = index.interpolated_frames.astype(np.int64)
    wanted = numbers_all[~np.isin(numbers_all, interpolated)]
    if source.suffix.lower() in RECORDING_SUFFIXES:
        recording = _read_recording(source, wanted.tolist(), register=depth)
        color, pixels, numbers = recording.color, recording.depth, recording.frame_numbers
    else:
        try:
            folder = index_frame_folder(source, index.color_dir, index.depth_dir or None)
            numbers = wanted[np.isin(wanted, folder.frame_numbers)]
            color, pixels = read_frames(folder, numbers.tolist(), depth=depth)
        except FrameFolderError as error:
            raise SampleFailure(str(error), file=source) from error
    if not np.array_equal(np.asarray(numbers, dtype=np.int64), wanted):
        absent = wanted[~np.isin(wanted, numbers)].tolist()
        raise SampleFailure(
            f"sample {index.sample}: {source} no longer holds frames {absent} of the clip "
            "(the source changed after ingestion; rerun ingest_clip)",
            file=source,
        )
    if color.shape[1:3] != (index.intrinsics.height, index.intrinsics.width):
        raise SampleFailure(
            f"sample {index.sample}: {source} frames are {color.shape[2]}x{color.shape[1]}, the "
            f"clip's intrinsics {index.intrinsics.width}x{index.intrinsics.height}",
            file=source,
        )
    if not depth:
        pixels = np.zeros((len(color), 0, 0), dtype=np.uint16)
    if interpolated.size:
        color, merged = interpolate_frames(color, numbers, interpolated)
        if pixels.size:
            pixels, _ = interpolate_frames(pixels, numbers, interpolated)
        else:
            pixels = np.zeros((len(merged), 0, 0), dtype=np.uint16)
    values = {f.name: getattr(index, f.name) for f in fields(ClipIndex)}
    return Clip(**values, color=color, depth=pixels)


def read_clip_frames_at(
    index: ClipIndex, positions: Sequence[int], root: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Color and depth of the clip's frames at `positions` (clip indices) only, for a stage
    that needs a few frames (depth flow: onset and apex): equal to `read_clip_frames(index,
    root)` `.color[positions]` and `.depth[positions]`, without decoding the other frames of a
    frame folder. An interpolated frame needs its neighbours: then the whole clip is read."""
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size == 0 or positions.min() < 0 or positions.max() >= len(index.frame_numbers):
        raise ValueError(
            f"sample {index.sample}: clip indices {positions.tolist()} outside its "
            f"{len(index.frame_numbers)} frames"
        )
    numbers = index.frame_numbers.astype(np.int64)
    if np.isin(numbers[positions], index.interpolated_frames).any():
        clip = read_clip_frames(index, root)
        return clip.color[positions], clip.depth[positions]
    chosen = np.unique(positions)
    part = replace(index, frame_numbers=numbers[chosen], timestamps_ms=index.timestamps_ms[chosen])
    clip = read_clip_frames(part, root)
    picked = np.searchsorted(chosen, positions)
    return clip.color[picked], clip.depth[picked]


def load_clip(path: str | Path, root: str | Path | None = None, *, depth: bool = True) -> Clip:
    """A clip file's index and its frames, read from the source (`read_clip_frames`;
    `depth=False` for color only)."""
    return read_clip_frames(read_clip_index(path), root, depth=depth)
