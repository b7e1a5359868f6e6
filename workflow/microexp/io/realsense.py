"""Read RealSense recordings (`.bag` ROS1 and `.db3` ROS2) into paired, registered frames.

docs/methods.md#capture-formats: color and depth are paired by timestamp (or frame number), never by
arrival order, and depth is registered to the color image (docs/methods.md#3d-face needs depth
aligned to color). Missing frames are reported, never papered over with a neighbour. The pieces: the
containers' own index (`microexp.io.containers`), sensor-level playback and pairing
(`microexp.io.playback`) and the registration (`microexp.io.registration`); this module puts them
together and is the one to import.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microexp.camera import Intrinsics
from microexp.io.containers import CaptureFrame, container_of, frame_counts
from microexp.io.playback import (
    FramePairer,
    PairBy,
    PairItem,
    Playback,
    RecordingError,
    extrinsics_from_rs,
    intrinsics_from_rs,
    open_playback,
    stream_layout,
)
from microexp.io.registration import DepthRegistration, register_depth_to_color

__all__ = [
    "CaptureFrame",
    "DepthRegistration",
    "DroppedFrames",
    "FrameReader",
    "Intrinsics",
    "Recording",
    "RecordingError",
    "RecordingInfo",
    "StreamInfo",
    "iter_frames",
    "read_clips",
    "read_recording",
    "recording_info",
    "register_depth_to_color",
]


# --------------------------------------------------------------------------- value types


@dataclass(frozen=True)
class StreamInfo:
    """One video stream of a recording."""

    stream: str  # "depth" or "color"
    format: str  # pyrealsense2 format name, e.g. "z16", "rgb8"
    width: int
    height: int
    fps: int
    intrinsics: Intrinsics
    frame_count: int | None  # from the container index; None if it could not be read


@dataclass(frozen=True)
class RecordingInfo:
    """What `recording_info` tells without decoding frames."""

    path: Path
    container: str  # "bag" or "db3"
    streams: dict[str, StreamInfo]
    depth_scale: float | None  # metres per depth unit, None if the file does not say
    depth_to_color: np.ndarray | None  # 4x4, metres; None without both streams
    duration_s: float


@dataclass(frozen=True)
class DroppedFrames:
    """Frames missing inside the range read (docs/methods.md#capture-formats: reported, never
    silently paired).

    missing_color: color frame numbers that never arrived (asked-for numbers, or gaps in the
        color counter between the first and last frame read).
    missing_depth: color frame numbers whose depth frame is missing (no depth frame within the
        pairing tolerance); these frames are left out of the result.
    unpaired_depth: depth frame numbers (the depth sensor's counter) inside the range read that
        no color frame claimed.
    """

    missing_color: tuple[int, ...] = ()
    missing_depth: tuple[int, ...] = ()
    unpaired_depth: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.missing_color or self.missing_depth or self.unpaired_depth)

    @property
    def count(self) -> int:
        """Number of frame pairs lost (a pair missing both frames counts once)."""
        return len(set(self.missing_color) | set(self.missing_depth))

    def as_dict(self) -> dict[str, list[int]]:
        """Plain lists, for JSON/`.npz` outputs."""
        return {
            "missing_color": list(self.missing_color),
            "missing_depth": list(self.missing_depth),
            "unpaired_depth": list(self.unpaired_depth),
        }


@dataclass
class Recording:
    """Paired frames of one recording (or clip), depth registered to color.

    color (T,H,W,3) uint8 RGB; depth (T,H,W) uint16 in depth units, registered to the color
    image; timestamps_ms / frame_numbers are the color frames' (source numbering,
    docs/methods.md#capture-formats); depth_* are the paired depth frames' own. intrinsics are the
    color stream's (they are also the registered depth's), depth_to_color the 4x4 extrinsics in
    metres."""

    path: Path
    color: np.ndarray
    depth: np.ndarray
    timestamps_ms: np.ndarray
    frame_numbers: np.ndarray
    depth_timestamps_ms: np.ndarray
    depth_frame_numbers: np.ndarray
    intrinsics: Intrinsics
    depth_intrinsics: Intrinsics
    depth_to_color: np.ndarray
    depth_scale: float
    dropped: DroppedFrames = field(default_factory=DroppedFrames)

    def __len__(self) -> int:
        return int(self.frame_numbers.shape[0])


def recording_info(path: str | os.PathLike[str]) -> RecordingInfo:
    """Streams, resolution, fps, intrinsics, extrinsics, depth units and frame counts of a file.

    Frame counts come from the container index (no decoding); the rest from the SDK's view of
    the recording. Raises RecordingError for a missing, corrupt or truncated file.
    """
    import pyrealsense2 as rs

    p = Path(path)
    ctx, device, playback = open_playback(p)
    try:
        layout = stream_layout(rs, device)
        try:
            counts: dict[str, int] | None = frame_counts(p)
        except ValueError:
            counts = None
        streams = {}
        for name, prof in layout.profiles.items():
            streams[name] = StreamInfo(
                stream=name,
                format=str(prof.format()).rsplit(".", 1)[-1],
                width=int(prof.width()),
                height=int(prof.height()),
                fps=int(prof.fps()),
                intrinsics=intrinsics_from_rs(prof.get_intrinsics()),
                frame_count=None if counts is None else counts.get(name, 0),
            )
        extr = None
        if {"depth", "color"} <= set(layout.profiles):
            extr = extrinsics_from_rs(
                layout.profiles["depth"].get_extrinsics_to(layout.profiles["color"])
            )
        duration = playback.get_duration().total_seconds()
    finally:
        del playback, device, ctx
    return RecordingInfo(p, container_of(p), streams, layout.depth_scale, extr, duration)


# --------------------------------------------------------------------------- reader


# Color formats read, with the channel order of their bytes (alpha dropped).
_COLOR_CHANNELS = {"rgb8": (0, 1, 2), "bgr8": (2, 1, 0), "rgba8": (0, 1, 2), "bgra8": (2, 1, 0)}


def _as_rgb(pixels: np.ndarray, fmt: str, intr: Intrinsics) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a color frame's bytes in format `fmt`."""
    channels = 4 if fmt.endswith("a8") else 3
    image = pixels.reshape(intr.height, intr.width, channels)
    if fmt == "rgb8":
        return image
    return np.ascontiguousarray(image[..., list(_COLOR_CHANNELS[fmt])])


def _frame_filter(frames: Iterable[int] | None) -> tuple[frozenset[int] | None, int | None]:
    if frames is None:
        return None, None
    wanted = frozenset(int(f) for f in frames)
    return wanted, (max(wanted) if wanted else None)


def _missing_color(seen: Sequence[int], wanted: frozenset[int] | None) -> tuple[int, ...]:
    if wanted is not None:
        return tuple(sorted(wanted - set(seen)))
    if not seen:
        return ()
    have = set(seen)
    return tuple(n for n in range(min(seen), max(seen) + 1) if n not in have)


class FrameReader:
    """Streaming reader: iterate to get `CaptureFrame`s (depth registered to color).

    Use as a context manager (playback is stopped on exit, also when leaving early); after the
    iteration `dropped` tells which frames were missing. `info` describes the recording.
    See `iter_frames` for the parameters.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        frames: Iterable[int] | None = None,
        *,
        register: bool = True,
        pair_by: PairBy = "timestamp",
        tolerance_ms: float | None = None,
        fallback_depth_scale: float | None = None,
        queue_size: int = 8,
        stall_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.info = recording_info(self.path)
        missing = {"depth", "color"} - set(self.info.streams)
        if missing:
            raise RecordingError(
                f"{self.path}: no {' and no '.join(sorted(missing))} stream in the recording "
                f"(has: {', '.join(sorted(self.info.streams)) or 'none'})"
            )
        scale = self.info.depth_scale if self.info.depth_scale else fallback_depth_scale
        if not scale:
            raise RecordingError(f"{self.path}: the recording has no depth units; pass a scale")
        self.depth_scale = float(scale)
        self._color_format = self.info.streams["color"].format
        if self._color_format not in _COLOR_CHANNELS:
            raise RecordingError(
                f"{self.path}: color format {self._color_format} is not supported "
                f"(supported: {', '.join(_COLOR_CHANNELS)})"
            )
        if self.info.streams["depth"].format != "z16":
            raise RecordingError(
                f"{self.path}: depth format {self.info.streams['depth'].format} is not z16"
            )
        self.color_intrinsics = self.info.streams["color"].intrinsics
        self.depth_intrinsics = self.info.streams["depth"].intrinsics
        self.depth_to_color = self.info.depth_to_color
        self.wanted, self._last_wanted = _frame_filter(frames)
        self._register = (
            DepthRegistration(
                self.depth_intrinsics, self.color_intrinsics, self.depth_to_color, self.depth_scale
            )
            if register
            else None
        )
        fps = max(s.fps for s in self.info.streams.values()) or 30
        if pair_by not in ("timestamp", "frame_number"):
            raise ValueError(f"pair_by must be 'timestamp' or 'frame_number', not {pair_by!r}")
        if tolerance_ms is None:
            tolerance = 0.5 * 1000.0 / fps if pair_by == "timestamp" else 0.0
        else:
            tolerance = float(tolerance_ms) if pair_by == "timestamp" else 0.0
        self._pairer = FramePairer(pair_by, tolerance, max_pending=max(8, fps))
        self._pair_by = pair_by
        self._queue_size = queue_size
        # A stalled SDK must not hang a pipeline: the stall timeout grows with the file size.
        size_mb = self.path.stat().st_size / 1e6
        self._stall_timeout_s = max(stall_timeout_s, size_mb / 50.0)
        self._playback: Playback | None = None
        self._iterated = False
        self._kept_stamps: dict[int, float] = {}
        self.dropped = DroppedFrames()

    # -- filters run on the SDK's threads: cheap, no shared mutable state beyond reads.
    def _keep_color(self, number: int) -> bool:
        return self.wanted is None or number in self.wanted

    def _keep_depth(self, number: int) -> bool:
        if self.wanted is None or self._pair_by == "timestamp":
            return True  # which depth frame pairs with a wanted color frame is not known yet
        return number in self.wanted

    @property
    def registers(self) -> bool:
        """Whether depth frames come out registered to color."""
        return self._register is not None

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop playback and release the file."""
        if self._playback is not None:
            self._playback.close()
            self._playback = None

    def __iter__(self) -> Iterator[CaptureFrame]:
        if self._iterated:
            raise RuntimeError("a FrameReader can be iterated once")
        self._iterated = True
        self._playback = Playback(
            self.path, self._keep_color, self._keep_depth, self._queue_size, self._stall_timeout_s
        )
        try:
            yield from self._run(self._playback)
        finally:
            self.close()

    def _run(self, playback: Playback) -> Iterator[CaptureFrame]:
        pairer = self._pairer
        playback.start(("depth", "color"))
        early_stop = False
        for stream, number, stamp, pixels in playback.items():
            try:
                pairer.add(stream, number, stamp, pixels)
            except ValueError as exc:
                raise RecordingError(f"{self.path}: {exc}") from None
            yield from self._emit(pairer.pairs())
            if self._done_early(pairer):
                early_stop = True
                break
        yield from self._emit(pairer.pairs(final=True))
        if not early_stop:
            self._check_complete(playback)
        self.dropped = self.dropped_within(self.wanted)

    def _done_early(self, pairer: FramePairer) -> bool:
        """All wanted frames are behind us: no need to play the rest of the file."""
        if self._last_wanted is None:
            return False
        past = pairer.last_key["color"] > -math.inf and pairer.color_seen[-1] >= self._last_wanted
        return past and not any(self._keep_color(c.number) for c in pairer.color)

    def _emit(self, pairs: Iterable[tuple[PairItem, PairItem | None]]) -> Iterator[CaptureFrame]:
        for c, d in pairs:
            if c.pixels is None:
                continue  # a color frame not asked for
            self._kept_stamps[c.number] = c.stamp
            if d is None:
                self._pairer.missing_depth.append(c.number)
                continue
            if d.pixels is None:  # only possible with a wrong filter; never pair blindly
                raise RecordingError(f"{self.path}: depth frame {d.number} was not kept")
            depth = d.pixels.reshape(self.depth_intrinsics.height, self.depth_intrinsics.width)
            color = _as_rgb(c.pixels, self._color_format, self.color_intrinsics)
            if self._register is not None and not self._register.identity:
                depth = self._register(depth)  # (identity: the copy made above is already ours)
            yield CaptureFrame(
                color=color,
                depth=depth,
                frame_number=c.number,
                timestamp_ms=c.stamp,
                depth_frame_number=d.number,
                depth_timestamp_ms=d.stamp,
            )

    def _check_complete(self, playback: Playback) -> None:
        """Playback of the whole file must return what the index says it holds."""
        for name in ("depth", "color"):
            expected = self.info.streams[name].frame_count
            got = playback.received[name]
            if expected is not None and got != expected:
                last = playback.last_number
                raise RecordingError(
                    f"{self.path}: playback returned {got} of the {expected} {name} frames the "
                    f"index lists, ending after color frame {last['color']} and depth frame "
                    f"{last['depth']} (corrupt frame data?)"
                )

    def dropped_within(self, numbers: Iterable[int] | None) -> DroppedFrames:
        """Dropped frames restricted to the color frame numbers `numbers` (None: everything read).

        Unpaired depth frames count when their timestamp lies within the time span (plus the
        pairing tolerance) of those color frames.
        """
        pairer = self._pairer
        wanted = None if numbers is None else frozenset(int(n) for n in numbers)
        unpaired = pairer.unpaired_depth
        if wanted is not None:
            stamps = [s for n, s in self._kept_stamps.items() if n in wanted]
            if not stamps:
                unpaired = []
            else:
                lo, hi = min(stamps) - pairer.tol, max(stamps) + pairer.tol
                unpaired = [(n, s) for n, s in unpaired if lo <= s <= hi]
        missing_color = _missing_color(pairer.color_seen, wanted)
        if wanted is None and self.wanted is not None:
            missing_color = _missing_color(pairer.color_seen, self.wanted)
        return DroppedFrames(
            missing_color=missing_color,
            missing_depth=tuple(n for n in pairer.missing_depth if wanted is None or n in wanted),
            unpaired_depth=tuple(n for n, _ in unpaired),
        )


def iter_frames(
    path: str | os.PathLike[str],
    frames: Iterable[int] | None = None,
    *,
    register: bool = True,
    pair_by: PairBy = "timestamp",
    tolerance_ms: float | None = None,
    fallback_depth_scale: float | None = None,
    queue_size: int = 8,
    stall_timeout_s: float = 30.0,
) -> FrameReader:
    """Stream the frame pairs of a recording (docs/methods.md#capture-formats), never holding it in
    memory.

    frames: None for all, else the color frame numbers to return (anything iterable).
    register: register depth to color (`DepthRegistration`); False returns raw depth.
    pair_by: "timestamp" (nearest within `tolerance_ms`, default half a frame period; works with
        the D415's separate depth and color counters) or "frame_number" (equal numbers).
    fallback_depth_scale: metres per unit when the file has no depth units (dataset config).
    queue_size: frames buffered between the SDK and the consumer.
    stall_timeout_s: give up (RecordingError) when playback makes no progress that long
        (raised for large files in proportion to their size).
    Returns a `FrameReader`; iterate it, read `.dropped` afterwards.
    """
    return FrameReader(
        path,
        frames,
        register=register,
        pair_by=pair_by,
        tolerance_ms=tolerance_ms,
        fallback_depth_scale=fallback_depth_scale,
        queue_size=queue_size,
        stall_timeout_s=stall_timeout_s,
    )


class _ClipBuffer:
    """Collects frames of one clip into arrays as they arrive (no second copy at the end).

    With a known maximum length the arrays are allocated up front (`np.empty` pages become
    resident only when written, so an unfilled tail costs nothing); otherwise frames are kept in
    a list and stacked, freeing each frame as it is copied.
    """

    def __init__(self, reader: FrameReader, capacity: int | None) -> None:
        self.reader = reader
        ci, di = reader.color_intrinsics, reader.depth_intrinsics
        self.depth_shape = (ci.height, ci.width) if reader.registers else (di.height, di.width)
        self.color_shape = (ci.height, ci.width, 3)
        self.capacity = capacity
        self.frames: list[CaptureFrame | None] = []
        self.meta: list[tuple[int, float, int, float]] = []
        if capacity is not None:
            self.color = np.empty((capacity, *self.color_shape), dtype=np.uint8)
            self.depth = np.empty((capacity, *self.depth_shape), dtype=np.uint16)

    def add(self, f: CaptureFrame) -> None:
        i = len(self.meta)
        self.meta.append((f.frame_number, f.timestamp_ms, f.depth_number, f.depth_time_ms))
        if self.capacity is None:
            self.frames.append(f)
        else:
            self.color[i], self.depth[i] = f.color, f.depth

    def recording(self, path: Path, dropped: DroppedFrames) -> Recording:
        n = len(self.meta)
        if self.capacity is None:
            self.color = np.empty((n, *self.color_shape), dtype=np.uint8)
            self.depth = np.empty((n, *self.depth_shape), dtype=np.uint16)
            for i, f in enumerate(self.frames):
                assert f is not None
                self.color[i], self.depth[i] = f.color, f.depth
                self.frames[i] = None  # free as we go: peak stays near one copy
        meta = np.array(self.meta, dtype=np.float64).reshape(n, 4)
        r = self.reader
        return Recording(
            path=path,
            color=self.color[:n],
            depth=self.depth[:n],
            timestamps_ms=meta[:, 1].copy(),
            frame_numbers=np.array([m[0] for m in self.meta], dtype=np.int64),
            depth_timestamps_ms=meta[:, 3].copy(),
            depth_frame_numbers=np.array([m[2] for m in self.meta], dtype=np.int64),
            intrinsics=r.color_intrinsics,
            depth_intrinsics=r.depth_intrinsics,
            depth_to_color=np.array(r.depth_to_color),
            depth_scale=r.depth_scale,
            dropped=dropped,
        )


def read_recording(
    path: str | os.PathLike[str], frames: Iterable[int] | None = None, **options: Any
) -> Recording:
    """Read a recording (or the frames numbered in `frames`) into arrays;
    docs/methods.md#capture-formats.

    Holds the result in memory: ask for clips of long recordings, not the whole file. Options
    are those of `iter_frames`. Frames missing in either stream are left out and listed in
    `Recording.dropped`.
    """
    wanted = None if frames is None else frozenset(int(f) for f in frames)
    reader = iter_frames(path, wanted, **options)
    buffer = _ClipBuffer(reader, None if wanted is None else len(wanted))
    with reader:
        for frame in reader:
            buffer.add(frame)
    return buffer.recording(Path(path), reader.dropped)


def read_clips(
    path: str | os.PathLike[str], clips: Sequence[Iterable[int]], **options: Any
) -> list[Recording]:
    """Several clips (each an iterable of color frame numbers) in one pass over the file.

    Ingestion reads every sample of a video this way instead of replaying the file per sample.
    Clips may overlap. Each clip's `dropped` lists only what is missing inside that clip.
    """
    wanted = [frozenset(int(f) for f in clip) for clip in clips]
    union: frozenset[int] = frozenset().union(*wanted) if wanted else frozenset()
    reader = iter_frames(path, union, **options)
    buffers = [_ClipBuffer(reader, len(clip)) for clip in wanted]
    with reader:
        for frame in reader:
            for clip, buffer in zip(wanted, buffers, strict=True):
                if frame.frame_number in clip:
                    buffer.add(frame)
    p = Path(path)
    return [b.recording(p, reader.dropped_within(c)) for c, b in zip(wanted, buffers, strict=True)]
