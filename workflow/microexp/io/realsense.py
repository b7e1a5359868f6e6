"""Read RealSense recordings (`.bag` ROS1 and `.db3` ROS2) into paired, registered frames.

SPEC.md 2.1: frames are read at sensor level in non-real-time playback (`rs.pipeline` playback
drops and repeats frames), color and depth are paired by timestamp (or frame number), never by
arrival order, and depth is registered to the color image (SPEC.md 4.2 needs depth aligned to
color). Missing frames are reported, never papered over with a neighbour.

Memory stays bounded whatever the recording's length: the SDK's callbacks hand copies of the
frames to the consumer through a bounded queue; when the consumer falls behind, the callbacks
block, the SDK's per-stream dispatch queues fill up and playback waits (in non-real-time mode the
SDK enqueues frames blocking). Only the frames asked for are kept.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from microexp.camera import Intrinsics
from microexp.synthetic.recording import CaptureFrame, container_of, frame_counts

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

PairBy = Literal["timestamp", "frame_number"]


class RecordingError(ValueError):
    """A recording that cannot be read as asked; the message names the file and the problem."""


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
    """Frames missing inside the range read (SPEC.md 2.1: reported, never silently paired).

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
    image; timestamps_ms / frame_numbers are the color frames' (source numbering, SPEC.md 2.1);
    depth_* are the paired depth frames' own. intrinsics are the color stream's (they are also
    the registered depth's), depth_to_color the 4x4 extrinsics in metres.
    """

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


# --------------------------------------------------------------------------- SDK conversion


def _f32_value(v: float) -> float:
    """The shortest decimal that the SDK's float32 value stands for (0.001, not 0.0010000000475).

    The SDK stores intrinsics, extrinsics and depth units as float32; the shortest repr is the
    value the recording's writer meant, and comparing it with config values then works.
    """
    return float(str(np.float32(v)))


def _intrinsics_from_rs(intr: Any) -> Intrinsics:
    return Intrinsics(
        width=int(intr.width),
        height=int(intr.height),
        fx=_f32_value(intr.fx),
        fy=_f32_value(intr.fy),
        cx=_f32_value(intr.ppx),
        cy=_f32_value(intr.ppy),
        model=str(intr.model).rsplit(".", 1)[-1],
        coeffs=tuple(_f32_value(c) for c in intr.coeffs),
    )


def _extrinsics_from_rs(ext: Any) -> np.ndarray:
    m = np.eye(4)
    # librealsense rotation is column-major (rotation[3*j + i] = R[i, j]).
    m[:3, :3] = np.array([_f32_value(v) for v in ext.rotation]).reshape(3, 3).T
    m[:3, 3] = [_f32_value(v) for v in ext.translation]
    return m


@dataclass
class _Layout:
    """Sensors and profiles of a loaded recording, by stream name."""

    sensors: dict[str, Any]
    profiles: dict[str, Any]
    depth_scale: float | None


def _stream_name(rs: Any, stype: Any) -> str | None:
    if stype == rs.stream.depth:
        return "depth"
    if stype == rs.stream.color:
        return "color"
    return None


def _layout(rs: Any, device: Any) -> _Layout:
    sensors: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    depth_scale = None
    for sensor in device.query_sensors():
        for prof in sensor.get_stream_profiles():
            name = _stream_name(rs, prof.stream_type())
            if name is None or name in profiles or not prof.is_video_stream_profile():
                continue
            sensors[name] = sensor
            profiles[name] = prof.as_video_stream_profile()
            if name == "depth" and sensor.supports(rs.option.depth_units):
                depth_scale = _f32_value(sensor.get_option(rs.option.depth_units))
    return _Layout(sensors, profiles, depth_scale)


def _load(path: Path) -> tuple[Any, Any, Any]:
    """(context, device, playback) for `path`, with SDK failures turned into RecordingError."""
    import pyrealsense2 as rs

    if not path.is_file():
        raise RecordingError(f"{path}: no such recording")
    try:
        kind = container_of(path)
    except ValueError as exc:
        raise RecordingError(f"{path}: not a RealSense recording (.bag or .db3): {exc}") from exc
    ctx = rs.context()
    try:
        device = ctx.load_device(str(path))
    except RuntimeError as exc:
        raise RecordingError(f"{path}: corrupt or truncated .{kind} recording: {exc}") from exc
    return ctx, device, device.as_playback()


def recording_info(path: str | os.PathLike[str]) -> RecordingInfo:
    """Streams, resolution, fps, intrinsics, extrinsics, depth units and frame counts of a file.

    Frame counts come from the container index (no decoding); the rest from the SDK's view of
    the recording. Raises RecordingError for a missing, corrupt or truncated file.
    """
    import pyrealsense2 as rs

    p = Path(path)
    ctx, device, playback = _load(p)
    try:
        layout = _layout(rs, device)
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
                intrinsics=_intrinsics_from_rs(prof.get_intrinsics()),
                frame_count=None if counts is None else counts.get(name, 0),
            )
        extr = None
        if {"depth", "color"} <= set(layout.profiles):
            extr = _extrinsics_from_rs(
                layout.profiles["depth"].get_extrinsics_to(layout.profiles["color"])
            )
        duration = playback.get_duration().total_seconds()
    finally:
        del playback, device, ctx
    return RecordingInfo(p, container_of(p), streams, layout.depth_scale, extr, duration)


# --------------------------------------------------------------------------- registration


def _fov_deg(intr: Intrinsics) -> tuple[float, float]:
    """Field of view as librealsense's `rs2_fov` computes it (used to pick the splat mode)."""
    fx = math.atan2(intr.cx + 0.5, intr.fx) + math.atan2(intr.width - (intr.cx + 0.5), intr.fx)
    fy = math.atan2(intr.cy + 0.5, intr.fy) + math.atan2(intr.height - (intr.cy + 0.5), intr.fy)
    return math.degrees(fx), math.degrees(fy)


def _pixels_per_degree(intr: Intrinsics) -> tuple[np.float32, np.float32]:
    """Pixels per degree in x and y, in float32 as the SDK compares them."""
    fov = _fov_deg(intr)
    f32 = np.float32
    return f32(intr.width) / f32(fov[0]), f32(intr.height) / f32(fov[1])


class DepthRegistration:
    """Depth-to-color registration with the semantics of `rs.align(rs.stream.color)`.

    SPEC.md 4.2 step 2. Each valid depth pixel's corner(s) are deprojected with the depth
    intrinsics at its depth, moved with the depth-to-color extrinsics and projected with the color
    intrinsics; the color pixel(s) hit receive the depth value, the nearest one winning
    (z-buffer). As in the SDK's vectorised aligner (which this reproduces bit for bit, float32
    arithmetic in the same order; tested against `rs.align`):
    - when the depth camera has at least as many pixels per degree as the color camera, only the
      top-left corner (x - 0.5, y - 0.5) is mapped, to pixel trunc(u + 0.5); otherwise the
      rectangle between the mapped top-left and bottom-right corners is filled;
    - brown_conrady depth distortion is not undone and only modified_brown_conrady color
      distortion is applied (D4xx cameras report zero coefficients for both);
    - points at or behind the color camera are dropped (the SDK would project them mirrored).
    The rays are computed once per intrinsics pair; `__call__` registers one frame.
    """

    def __init__(
        self,
        depth_intrinsics: Intrinsics,
        color_intrinsics: Intrinsics,
        depth_to_color: np.ndarray,
        depth_scale: float,
    ) -> None:
        self.depth_intrinsics = depth_intrinsics
        self.color_intrinsics = color_intrinsics
        self.extrinsics = np.asarray(depth_to_color, dtype=np.float64)
        self.depth_scale = float(depth_scale)
        self.identity = depth_intrinsics == color_intrinsics and np.array_equal(
            self.extrinsics, np.eye(4)
        )
        if color_intrinsics.model == "modified_brown_conrady" and any(color_intrinsics.coeffs):
            raise NotImplementedError("color distortion modified_brown_conrady is not supported")
        if depth_intrinsics.model in ("ftheta", "kannala_brandt4"):
            raise NotImplementedError(f"depth distortion {depth_intrinsics.model} not supported")
        ppa_d, ppa_c = _pixels_per_degree(depth_intrinsics), _pixels_per_degree(color_intrinsics)
        self.rectangle = bool(ppa_d[0] < ppa_c[0] or ppa_d[1] < ppa_c[1])
        self._rays = [self._rays_at(-0.5)] + ([self._rays_at(0.5)] if self.rectangle else [])

    def _rays_at(self, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """Normalised image coordinates of every depth pixel's corner at `offset` (float32)."""
        di, f32 = self.depth_intrinsics, np.float32
        x = (np.arange(di.width, dtype=f32) + f32(offset) - f32(di.cx)) / f32(di.fx)
        y = (np.arange(di.height, dtype=f32) + f32(offset) - f32(di.cy)) / f32(di.fy)
        xx, yy = np.meshgrid(x, y)
        if di.model == "inverse_brown_conrady" and any(di.coeffs):
            k1, k2, p1, p2, k3 = (f32(c) for c in di.coeffs)
            r2 = xx * xx + yy * yy
            radial = f32(1) + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
            ux = xx * radial + f32(2) * p1 * xx * yy + p2 * (r2 + f32(2) * xx * xx)
            uy = yy * radial + f32(2) * p2 * xx * yy + p1 * (r2 + f32(2) * yy * yy)
            xx, yy = ux, uy
        return xx, yy

    def _pixels(
        self, z: np.ndarray, rays: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Color pixel (column, row) hit by each depth corner, and which are valid."""
        f32 = np.float32
        r = [f32(v) for v in self.extrinsics[:3, :3].T.reshape(-1)]  # column-major, as the SDK
        t = [f32(v) for v in self.extrinsics[:3, 3]]
        ci = self.color_intrinsics
        px, py = z * rays[0], z * rays[1]
        x = r[0] * px + (r[3] * py + (r[6] * z + t[0]))
        y = r[1] * px + (r[4] * py + (r[7] * z + t[1]))
        w = r[2] * px + (r[5] * py + (r[8] * z + t[2]))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (x / w) * f32(ci.fx) + f32(ci.cx) + f32(0.5)
            v = (y / w) * f32(ci.fy) + f32(ci.cy) + f32(0.5)
        ok = (z > 0) & (w > 0) & np.isfinite(u) & np.isfinite(v)
        ok &= (np.abs(u) < 1e7) & (np.abs(v) < 1e7)  # far outside the image; keep int casts sane
        # trunc(u + 0.5): the SDK casts toward zero, so -0.9 still lands in column 0.
        col = np.trunc(np.where(ok, u, -1)).astype(np.int64)
        row = np.trunc(np.where(ok, v, -1)).astype(np.int64)
        return col, row, ok

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        """Register one (H, W) uint16 depth frame to the color image (new array)."""
        di, ci = self.depth_intrinsics, self.color_intrinsics
        if depth.shape != (di.height, di.width):
            raise ValueError(f"depth frame {depth.shape} does not match intrinsics {di}")
        if self.identity:
            # Exact arithmetic maps every pixel onto itself; the SDK's float32 round trip moves
            # a few percent of pixels by one (tested), which we do not reproduce on purpose.
            return depth.copy()
        z = depth.astype(np.float32) * np.float32(self.depth_scale)
        c0, r0, ok = self._pixels(z, self._rays[0])
        if self.rectangle:
            c1, r1, ok1 = self._pixels(z, self._rays[1])
            ok &= ok1
        else:
            c1, r1 = c0, r0
        values = depth[ok]
        c0, r0, c1, r1 = c0[ok], r0[ok], c1[ok], r1[ok]
        flat = np.full(ci.height * ci.width, np.iinfo(np.uint16).max, dtype=np.uint16)
        if values.size:
            span_c = int(max(0, (c1 - c0).max())) + 1
            span_r = int(max(0, (r1 - r0).max())) + 1
            for dr in range(span_r):
                for dc in range(span_c):
                    cc, rr = c0 + dc, r0 + dr
                    hit = (cc <= c1) & (rr <= r1) & (cc >= 0) & (rr >= 0)
                    hit &= (cc < ci.width) & (rr < ci.height)
                    np.minimum.at(flat, rr[hit] * ci.width + cc[hit], values[hit])
        flat[flat == np.iinfo(np.uint16).max] = 0
        return flat.reshape(ci.height, ci.width)


def register_depth_to_color(
    depth: np.ndarray,
    depth_intrinsics: Intrinsics,
    color_intrinsics: Intrinsics,
    depth_to_color: np.ndarray | None = None,
    depth_scale: float = 0.001,
) -> np.ndarray:
    """Register one depth frame to the color image (see `DepthRegistration`; SPEC.md 4.2)."""
    extr = np.eye(4) if depth_to_color is None else depth_to_color
    return DepthRegistration(depth_intrinsics, color_intrinsics, extr, depth_scale)(depth)


# --------------------------------------------------------------------------- playback


class _Playback:
    """Sensor-level, non-real-time playback of the depth and color streams into a bounded queue.

    Callbacks run on the SDK's dispatch threads: they copy the pixels they are told to keep and
    block on the queue while the consumer is behind, which pauses playback (back pressure).
    """

    def __init__(
        self,
        path: Path,
        keep_color: Any,
        keep_depth: Any,
        queue_size: int,
        stall_timeout_s: float,
    ) -> None:
        import pyrealsense2 as rs

        self.rs = rs
        self.path = path
        self.keep_color = keep_color
        self.keep_depth = keep_depth
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self.cancel = threading.Event()
        self.stopped = threading.Event()
        self.started = threading.Event()
        self.stall_timeout_s = stall_timeout_s
        self.received = {"depth": 0, "color": 0}
        self.last_number: dict[str, int | None] = {"depth": None, "color": None}
        self.ctx, self.device, self.playback = _load(path)
        self.layout = _layout(rs, self.device)
        self._running: list[Any] = []
        self._resumer: threading.Thread | None = None

    def _on_status(self, status: Any) -> None:
        if status == self.rs.playback_status.playing:
            self.started.set()
        elif status == self.rs.playback_status.stopped and self.started.is_set():
            self.stopped.set()

    def _on_frame(self, frame: Any) -> None:
        if self.cancel.is_set():
            return
        try:
            name = _stream_name(self.rs, frame.get_profile().stream_type())
            if name is None:
                return
            number = int(frame.get_frame_number())
            # Recordings keep nanoseconds; .bag playback adds float noise below that.
            stamp = round(float(frame.get_timestamp()), 6)
            keep = self.keep_color if name == "color" else self.keep_depth
            pixels = None
            if keep(number):
                pixels = np.asanyarray(frame.as_video_frame().get_data()).copy()
            item: Any = (name, number, stamp, pixels)
        except Exception as exc:  # reported on the consumer's thread
            item = ("error", repr(exc))
        while not self.cancel.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def start(self, streams: Sequence[str]) -> None:
        self.playback.set_real_time(False)
        self.playback.set_status_changed_callback(self._on_status)
        by_sensor: dict[int, tuple[Any, list[Any]]] = {}
        for name in streams:
            sensor = self.layout.sensors[name]
            entry = by_sensor.setdefault(id(sensor), (sensor, []))
            entry[1].append(self.layout.profiles[name])
        for sensor, profiles in by_sensor.values():
            sensor.open(profiles if len(profiles) > 1 else profiles[0])
            self._running.append(sensor)
        # Playback begins when the first sensor starts, and frames of a sensor not started yet
        # are skipped: start them all while paused, then resume. The SDK's resume() waits for
        # its read thread to go idle, which in non-real-time mode is the end of the file (or a
        # 10 s timeout): call it from a helper thread so this one can drain the queue meanwhile.
        self.playback.pause()
        for sensor in self._running:
            sensor.start(self._on_frame)
        playback = self.playback
        self._resumer = threading.Thread(target=playback.resume, name="rs-resume", daemon=True)
        self._resumer.start()

    def items(self) -> Iterator[Any]:
        """Queue items until playback has stopped and the queue is drained."""
        last_progress = time.monotonic()
        while True:
            try:
                item = self.queue.get(timeout=0.05)
            except queue.Empty:
                if self.stopped.is_set() or (
                    self.started.is_set()
                    and self.playback.current_status() == self.rs.playback_status.stopped
                ):
                    if self.queue.empty():
                        return
                    continue
                if time.monotonic() - last_progress > self.stall_timeout_s:
                    raise RecordingError(
                        f"{self.path}: playback stalled for {self.stall_timeout_s:.0f} s after "
                        f"{self.received['color']} color and {self.received['depth']} depth frames"
                    ) from None
                continue
            last_progress = time.monotonic()
            if item[0] == "error":
                raise RecordingError(f"{self.path}: error while decoding a frame: {item[1]}")
            self.received[item[0]] += 1
            self.last_number[item[0]] = item[1]
            yield item

    def close(self) -> None:
        """Stop playback (also mid-file) without deadlocking on blocked callbacks."""
        self.cancel.set()
        while True:  # free callbacks blocked on a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        for sensor in self._running:
            try:
                sensor.stop()
            except RuntimeError:
                pass  # already stopped at the end of the file
        for sensor in self._running:
            try:
                sensor.close()
            except RuntimeError:
                pass
        self._running.clear()
        if self._resumer is not None:
            self._resumer.join(timeout=15.0)  # returns once playback has stopped
            self._resumer = None
        self.playback = self.device = self.ctx = None


# --------------------------------------------------------------------------- pairing


@dataclass
class _Item:
    number: int
    stamp: float
    key: float
    pixels: np.ndarray | None


class _Pairer:
    """Pairs color and depth frames by key (timestamp or frame number) within a tolerance.

    Both streams arrive in file order, each with increasing keys. A color frame is decided once
    a depth frame beyond its window has arrived (or the depth stream has ended, or too many color
    frames wait): it takes the nearest unclaimed depth frame within the tolerance, or is
    reported as missing its depth. Depth frames that fall behind every remaining color frame are
    reported as unpaired. `max_pending` caps how far one stream may run ahead of the other.
    """

    def __init__(self, pair_by: PairBy, tolerance: float, max_pending: int) -> None:
        self.pair_by = pair_by
        self.tol = tolerance
        self.max_pending = max_pending
        self.color: deque[_Item] = deque()
        self.depth: deque[_Item] = deque()
        self.last_key = {"color": -math.inf, "depth": -math.inf}
        self.missing_depth: list[int] = []
        self.unpaired_depth: list[tuple[int, float]] = []
        self.color_seen: list[int] = []

    def add(self, stream: str, number: int, stamp: float, pixels: np.ndarray | None) -> None:
        key = float(stamp if self.pair_by == "timestamp" else number)
        if key <= self.last_key[stream]:
            raise ValueError(
                f"{stream} {self.pair_by.replace('_', ' ')}s do not increase "
                f"(frame {number} at key {key} after {self.last_key[stream]})"
            )
        self.last_key[stream] = key
        item = _Item(number, stamp, key, pixels)
        if stream == "color":
            self.color_seen.append(number)
            self.color.append(item)
        else:
            self.depth.append(item)

    def pairs(self, final: bool = False) -> Iterator[tuple[_Item, _Item | None]]:
        """Decided color frames with their depth frame (None when missing)."""
        while self.color:
            c = self.color[0]
            while self.depth and self.depth[0].key < c.key - self.tol:
                d = self.depth.popleft()
                self.unpaired_depth.append((d.number, d.stamp))
            depth_done = final or self.last_key["depth"] > c.key + self.tol
            if not depth_done and len(self.color) <= self.max_pending:
                break
            best = None
            for i, d in enumerate(self.depth):
                if d.key > c.key + self.tol:
                    break
                if best is None or abs(d.key - c.key) < abs(self.depth[best].key - c.key):
                    best = i
            self.color.popleft()
            if best is None:
                yield c, None
            else:
                d = self.depth[best]
                del self.depth[best]
                yield c, d
        # Depth running far ahead of a stalled or ended color stream: those frames cannot pair.
        while self.depth and (final or len(self.depth) > self.max_pending):
            if not final and self.last_key["color"] + self.tol >= self.depth[0].key:
                break
            d = self.depth.popleft()
            self.unpaired_depth.append((d.number, d.stamp))


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
        self._pairer = _Pairer(pair_by, tolerance, max_pending=max(8, fps))
        self._pair_by = pair_by
        self._queue_size = queue_size
        # A stalled SDK must not hang a pipeline: the stall timeout grows with the file size.
        size_mb = self.path.stat().st_size / 1e6
        self._stall_timeout_s = max(stall_timeout_s, size_mb / 50.0)
        self._playback: _Playback | None = None
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
        self._playback = _Playback(
            self.path, self._keep_color, self._keep_depth, self._queue_size, self._stall_timeout_s
        )
        try:
            yield from self._run(self._playback)
        finally:
            self.close()

    def _run(self, playback: _Playback) -> Iterator[CaptureFrame]:
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

    def _done_early(self, pairer: _Pairer) -> bool:
        """All wanted frames are behind us: no need to play the rest of the file."""
        if self._last_wanted is None:
            return False
        past = pairer.last_key["color"] > -math.inf and pairer.color_seen[-1] >= self._last_wanted
        return past and not any(self._keep_color(c.number) for c in pairer.color)

    def _emit(self, pairs: Iterable[tuple[_Item, _Item | None]]) -> Iterator[CaptureFrame]:
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

    def _check_complete(self, playback: _Playback) -> None:
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
    """Stream the frame pairs of a recording (SPEC.md 2.1), never holding it in memory.

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
    """Read a recording (or the frames numbered in `frames`) into arrays; SPEC.md 2.1.

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
