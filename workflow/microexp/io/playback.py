"""RealSense playback and frame pairing (docs/methods.md#capture-formats).

Frames are read at sensor level in non-real-time playback (`rs.pipeline` playback drops and
repeats frames), and color and depth are paired by timestamp (or frame number), never by arrival
order. Memory stays bounded whatever the recording's length: the SDK's callbacks hand copies of
the frames to the consumer through a bounded queue; when the consumer falls behind, the callbacks
block, the SDK's per-stream dispatch queues fill up and playback waits (in non-real-time mode the
SDK enqueues frames blocking). Also here: the conversions of the SDK's intrinsics, extrinsics and
depth units into the package's own types.
"""

from __future__ import annotations

import heapq
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from microexp.camera import Intrinsics
from microexp.io.containers import container_of


class RecordingError(ValueError):
    """A recording that cannot be read as asked; the message names the file and the problem."""


def f32_value(v: float) -> float:
    """The shortest decimal that the SDK's float32 value stands for (0.001, not 0.0010000000475).

    The SDK stores intrinsics, extrinsics and depth units as float32; the shortest repr is the
    value the recording's writer meant, and comparing it with config values then works.
    """
    return float(str(np.float32(v)))


def intrinsics_from_rs(intr: Any) -> Intrinsics:
    return Intrinsics(
        width=int(intr.width),
        height=int(intr.height),
        fx=f32_value(intr.fx),
        fy=f32_value(intr.fy),
        cx=f32_value(intr.ppx),
        cy=f32_value(intr.ppy),
        model=str(intr.model).rsplit(".", 1)[-1],
        coeffs=tuple(f32_value(c) for c in intr.coeffs),
    )


def extrinsics_from_rs(ext: Any) -> np.ndarray:
    m = np.eye(4)
    # librealsense rotation is column-major (rotation[3*j + i] = R[i, j]).
    m[:3, :3] = np.array([f32_value(v) for v in ext.rotation]).reshape(3, 3).T
    m[:3, 3] = [f32_value(v) for v in ext.translation]
    return m


@dataclass
class StreamLayout:
    """Sensors and profiles of a loaded recording, by stream name."""

    sensors: dict[str, Any]
    profiles: dict[str, Any]
    depth_scale: float | None


def stream_name(rs: Any, stype: Any) -> str | None:
    if stype == rs.stream.depth:
        return "depth"
    if stype == rs.stream.color:
        return "color"
    return None


def stream_layout(rs: Any, device: Any) -> StreamLayout:
    sensors: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    depth_scale = None
    for sensor in device.query_sensors():
        for prof in sensor.get_stream_profiles():
            name = stream_name(rs, prof.stream_type())
            if name is None or name in profiles or not prof.is_video_stream_profile():
                continue
            sensors[name] = sensor
            profiles[name] = prof.as_video_stream_profile()
            if name == "depth" and sensor.supports(rs.option.depth_units):
                depth_scale = f32_value(sensor.get_option(rs.option.depth_units))
    return StreamLayout(sensors, profiles, depth_scale)


def open_playback(path: Path) -> tuple[Any, Any, Any]:
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


class Playback:
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
        self.ctx, self.device, self.playback = open_playback(path)
        self.layout = stream_layout(rs, self.device)
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
            name = stream_name(self.rs, frame.get_profile().stream_type())
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


@dataclass
class PairItem:
    number: int
    stamp: float
    key: float
    pixels: np.ndarray | None


class FramePairer:
    """Pairs color and depth frames by key (timestamp or frame number) within a tolerance.

    Both streams arrive in file order, each with increasing keys. A color frame is decided once
    a depth frame beyond its window has arrived (or the depth stream has ended, or too many color
    frames wait): it takes the nearest unclaimed depth frame within the tolerance, or is
    reported as missing its depth. Depth frames that fall behind every remaining color frame are
    reported as unpaired. `max_pending` caps how far one stream may run ahead of the other.

    Frames may reach the pairer up to `reorder` frames out of order within their stream: the
    SDK plays a file in the order of its message (capture) times, and its recorder stamps a
    frame pushed just after `resume()` with the pause time not yet subtracted, so a few frames
    after each pause are stored a little ahead of their successors (the RealSense Viewer's
    pause button does the same). Each stream passes through a window of `reorder` frames sorted
    by key; a frame later than that, or a repeated key, is an error.
    """

    def __init__(
        self, pair_by: PairBy, tolerance: float, max_pending: int, reorder: int = 8
    ) -> None:
        self.pair_by = pair_by
        self.tol = tolerance
        self.max_pending = max_pending
        self.reorder = max(0, int(reorder))
        self._window: dict[str, list[tuple[float, int, PairItem]]] = {"color": [], "depth": []}
        self._arrivals = 0
        self.color: deque[PairItem] = deque()
        self.depth: deque[PairItem] = deque()
        self.last_key = {"color": -math.inf, "depth": -math.inf}
        self.missing_depth: list[int] = []
        self.unpaired_depth: list[tuple[int, float]] = []
        self.color_seen: list[int] = []

    def add(self, stream: str, number: int, stamp: float, pixels: np.ndarray | None) -> None:
        """Take one frame in file order (see the class: up to `reorder` frames out of order)."""
        key = float(stamp if self.pair_by == "timestamp" else number)
        window = self._window[stream]
        if key <= self.last_key[stream] or any(k == key for k, _, _ in window):
            latest = max([self.last_key[stream], *(k for k, _, _ in window)])
            raise ValueError(
                f"{stream} {self.pair_by.replace('_', ' ')}s do not increase "
                f"(frame {number} at key {key} after {latest}; frames may arrive at most "
                f"{self.reorder} out of order)"
            )
        self._arrivals += 1
        heapq.heappush(window, (key, self._arrivals, PairItem(number, stamp, key, pixels)))
        while len(window) > self.reorder:
            self._accept(stream, heapq.heappop(window)[2])

    def _flush(self) -> None:
        for stream, window in self._window.items():
            while window:
                self._accept(stream, heapq.heappop(window)[2])

    def _accept(self, stream: str, item: PairItem) -> None:
        self.last_key[stream] = item.key
        if stream == "color":
            self.color_seen.append(item.number)
            self.color.append(item)
        else:
            self.depth.append(item)

    def pairs(self, final: bool = False) -> Iterator[tuple[PairItem, PairItem | None]]:
        """Decided color frames with their depth frame (None when missing)."""
        if final:
            self._flush()
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


PairBy = Literal["timestamp", "frame_number"]
