"""Write RealSense recordings (docs/methods.md#capture-formats) the way a D415 capture session does.

A recording holds a "Stereo Module" sensor with a Z16 depth stream and an "RGB Camera" sensor
with an RGB8 color stream, their intrinsics, the depth-to-color extrinsics and the depth units,
exactly what `microexp.io.realsense` reads back from a real capture. The frames go through
pyrealsense2's own `software_device` + `recorder`, so the file is written by the SDK itself:
ROS2 `.db3` with SDK >= 2.58 (the only format those versions record) and ROS1 `.bag` before.

This module needs only numpy, pyrealsense2, `microexp.camera` and `microexp.io.containers`:
`tools/make_bag_fixture.py` runs it under an old SDK in a throwaway environment to produce the
`.bag` fixture, where the rest of the package's dependencies are not installed. The value type
shared with the reader (`CaptureFrame`) and the container index readers (`frame_counts`) are in
`microexp.io.containers`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microexp.camera import Intrinsics
from microexp.io.containers import CaptureFrame, container_of, frame_counts

#: SDK versions from this one on record only ROS2 `.db3`; older ones only ROS1 `.bag`.
FIRST_DB3_SDK = (2, 58)


class RecordingWriteError(RuntimeError):
    """The SDK did not write what it was given (missing frames, wrong container)."""


@dataclass(frozen=True)
class RecordingSummary:
    """What `write_recording` wrote, checked against the file's own index."""

    path: Path
    container: str  # "db3" or "bag"
    color_frames: int
    depth_frames: int
    first_frame_number: int | None
    last_frame_number: int | None
    size_bytes: int
    seconds: float


# --------------------------------------------------------------------------- SDK helpers


def sdk_version() -> tuple[int, ...] | None:
    """Version of the installed pyrealsense2 as a tuple, or None when it cannot be told."""
    try:
        from importlib.metadata import version

        text = version("pyrealsense2")
    except Exception:  # a missing dist-info only means "unknown"
        import pyrealsense2 as rs

        text = getattr(rs, "__version__", "")
    nums = re.findall(r"\d+", text)
    return tuple(int(n) for n in nums[:3]) if nums else None


def _rs_intrinsics(rs: Any, intr: Intrinsics) -> Any:
    out = rs.intrinsics()
    out.width, out.height = intr.width, intr.height
    out.fx, out.fy, out.ppx, out.ppy = intr.fx, intr.fy, intr.cx, intr.cy
    out.model = getattr(rs.distortion, intr.model)
    out.coeffs = list(intr.coeffs)
    return out


def as_extrinsics_matrix(depth_to_color: Any) -> np.ndarray:
    """4x4 float64 rigid transform from None (identity), a 4x4 array or (R 3x3, t 3) in metres."""
    if depth_to_color is None:
        return np.eye(4)
    if isinstance(depth_to_color, tuple | list) and len(depth_to_color) == 2:
        rot = np.asarray(depth_to_color[0], dtype=np.float64).reshape(3, 3)
        tr = np.asarray(depth_to_color[1], dtype=np.float64).reshape(3)
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = rot, tr
        return m
    m = np.asarray(depth_to_color, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"depth_to_color must be 4x4 or (R, t), got shape {m.shape}")
    return m


def _rs_extrinsics(rs: Any, m: np.ndarray) -> Any:
    ext = rs.extrinsics()
    # librealsense stores the rotation column-major: rotation[3*j + i] = R[i, j].
    ext.rotation = [float(v) for v in m[:3, :3].T.reshape(-1)]
    ext.translation = [float(v) for v in m[:3, 3]]
    return ext


def _check_suffix(path: Path) -> str:
    """The container the installed SDK will write, refusing a name that says otherwise."""
    ver = sdk_version()
    if ver is None:
        return path.suffix.lstrip(".")
    want = "db3" if ver[:2] >= FIRST_DB3_SDK else "bag"
    if path.suffix != f".{want}":
        raise ValueError(
            f"{path}: pyrealsense2 {'.'.join(map(str, ver))} records only .{want} files; "
            f"name the output *.{want}"
        )
    return want


# --------------------------------------------------------------------------- write order


def restore_write_order(path: str | os.PathLike[str]) -> int:
    """Make a `.db3` recording's frame messages play in the order they were written.

    The SDK's recorder stamps each message with a capture time (wall clock since the start,
    minus time spent paused). `resume()` only queues the un-pausing on the writer thread, so
    frames pushed before that runs get a capture time too large by the pause; under CPU load
    that can cover many frames, and playback (which follows capture times) then delivers them
    late and out of order. The messages' row ids are the write order: each frame's messages
    (image, metadata, camera info share one capture time) keep their capture time unless it is
    not after the previous frame's, then they move to 1 ns after it. Returns the number of
    frames moved (a color and a depth frame count one each). The frames' own timestamps and
    numbers (in the messages) are untouched.
    """
    con = sqlite3.connect(os.fspath(path))
    try:
        topics = [i for i, name in con.execute("SELECT id, name FROM topics") if "/image/" in name]
        if not topics:
            return 0
        marks = ",".join("?" * len(topics))
        groups = con.execute(
            f"SELECT timestamp FROM messages WHERE topic_id IN ({marks}) "
            "GROUP BY timestamp ORDER BY MIN(id)",
            topics,
        ).fetchall()
        moves, previous = [], None
        for (stamp,) in groups:
            new = stamp if previous is None or stamp > previous else previous + 1
            if new != stamp:
                moves.append((stamp, new))
            previous = new
        # two steps, through negative stamps, so no move lands on a stamp not yet moved
        for k, (stamp, _) in enumerate(moves):
            con.execute(
                f"UPDATE messages SET timestamp = ? WHERE timestamp = ? AND topic_id IN ({marks})",
                (-1 - k, stamp, *topics),
            )
        for k, (_, new) in enumerate(moves):
            con.execute(
                f"UPDATE messages SET timestamp = ? WHERE timestamp = ? AND topic_id IN ({marks})",
                (new, -1 - k, *topics),
            )
        con.commit()
    finally:
        con.close()
    return len(moves)


# --------------------------------------------------------------------------- writer


class _SoftwareCamera:
    """A software_device shaped like a D415: depth on "Stereo Module", color on "RGB Camera"."""

    def __init__(
        self,
        rs: Any,
        streams: Sequence[str],
        color_intr: Intrinsics,
        depth_intr: Intrinsics,
        extrinsics: np.ndarray,
        depth_scale: float,
        fps: int,
        color_format: str = "rgb8",
    ) -> None:
        self.rs = rs
        self.color_format = color_format
        self.device = rs.software_device()
        self.sensors: dict[str, Any] = {}
        self.profiles: dict[str, Any] = {}
        specs = {
            "depth": ("Stereo Module", rs.stream.depth, rs.format.z16, 2, depth_intr, 0),
            "color": (
                "RGB Camera",
                rs.stream.color,
                getattr(rs.format, color_format),
                3,
                color_intr,
                1,
            ),
        }
        for name in ("depth", "color"):
            if name not in streams:
                continue
            sensor_name, stype, fmt, bpp, intr, uid = specs[name]
            sensor = self.device.add_sensor(sensor_name)
            vs = rs.video_stream()
            vs.type, vs.index, vs.uid = stype, 0, uid
            vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = intr.width, intr.height, fps, bpp, fmt
            vs.intrinsics = _rs_intrinsics(rs, intr)
            self.profiles[name] = sensor.add_video_stream(vs)
            self.sensors[name] = sensor
        if "depth" in self.sensors:
            self.sensors["depth"].add_read_only_option(rs.option.depth_units, float(depth_scale))
        if len(self.profiles) == 2:
            self.profiles["depth"].register_extrinsics_to(
                self.profiles["color"], _rs_extrinsics(rs, extrinsics)
            )
        self.bpp = {"depth": 2, "color": 3}
        self.pushed = {name: 0 for name in self.sensors}

    def start(self) -> None:
        for name, sensor in self.sensors.items():
            sensor.open(self.profiles[name])
        for sensor in self.sensors.values():
            sensor.start(lambda frame: None)  # the recorder taps frames before this callback

    def stop(self) -> None:
        for sensor in self.sensors.values():
            sensor.stop()
        for sensor in self.sensors.values():
            sensor.close()

    def push(self, name: str, pixels: np.ndarray, frame_number: int, timestamp_ms: float) -> None:
        rs = self.rs
        if name == "color" and self.color_format == "bgr8":
            pixels = pixels[..., ::-1]
        frame = rs.software_video_frame()
        frame.pixels = np.ascontiguousarray(pixels)  # pyrealsense2 copies the buffer
        frame.bpp = self.bpp[name]
        frame.stride = pixels.shape[1] * self.bpp[name]
        frame.timestamp = float(timestamp_ms)
        frame.domain = rs.timestamp_domain.hardware_clock
        frame.frame_number = int(frame_number)
        frame.profile = self.profiles[name].as_video_stream_profile()
        self.sensors[name].on_video_frame(frame)
        self.pushed[name] += 1


def _check_frame(frame: CaptureFrame, color_intr: Intrinsics, depth_intr: Intrinsics) -> None:
    if frame.color is not None:
        c = frame.color
        want = (color_intr.height, color_intr.width, 3)
        if c.dtype != np.uint8 or c.shape != want:
            raise ValueError(
                f"frame {frame.frame_number}: color must be uint8 {want}, got {c.dtype} {c.shape}"
            )
    if frame.depth is not None:
        d = frame.depth
        want = (depth_intr.height, depth_intr.width)
        if d.dtype != np.uint16 or d.shape != want:
            raise ValueError(
                f"frame {frame.frame_number}: depth must be uint16 {want}, got {d.dtype} {d.shape}"
            )


def write_recording(
    path: str | os.PathLike[str],
    frames: Iterable[CaptureFrame],
    *,
    color_intrinsics: Intrinsics | Mapping[str, Any],
    depth_intrinsics: Intrinsics | Mapping[str, Any] | None = None,
    depth_to_color: Any = None,
    depth_scale: float = 0.001,
    fps: int = 60,
    compress: bool = True,
    streams: Sequence[str] = ("depth", "color"),
    color_format: str = "rgb8",
    flush_every: int = 16,
) -> RecordingSummary:
    """Record `frames` to `path` with the installed SDK's recorder
    (docs/methods.md#capture-formats).

    Streaming: frames are pulled from the iterable one at a time. The SDK's recorder queues
    frames without bound and, when closed, gives its writer thread only 10 s to drain the
    queue before dropping the rest; so every `flush_every` frame pairs the recorder is paused
    (which waits for the queue to be written) and resumed. That bounds memory and loses no
    frame. The file is written under a temporary name and renamed when complete, then its
    index is checked against the number of frames pushed.

    `depth_intrinsics` defaults to the color intrinsics (depth already registered to color);
    `depth_to_color` is None (identity), a 4x4 matrix or (R, t), translation in metres.
    `streams` can drop one stream entirely (to write test files without depth, say);
    `color_format` "bgr8" stores the (RGB) color frames as BGR, as some capture tools do.
    """
    import pyrealsense2 as rs

    out = Path(path)
    container = _check_suffix(out)
    streams = tuple(streams)
    if not set(streams) <= {"depth", "color"} or not streams:
        raise ValueError(f"streams must be a non-empty subset of ('depth', 'color'), got {streams}")
    if color_format not in ("rgb8", "bgr8"):
        raise ValueError(f"color_format must be 'rgb8' or 'bgr8', not {color_format!r}")
    if float(fps) != int(fps) or int(fps) <= 0:
        raise ValueError(f"a RealSense stream has a whole positive frame rate, not {fps}")
    fps = int(fps)
    color_intr = Intrinsics.from_any(color_intrinsics)
    depth_intr = color_intr if depth_intrinsics is None else Intrinsics.from_any(depth_intrinsics)
    extr = as_extrinsics_matrix(depth_to_color)
    tmp = out.with_name(f".{out.stem}.partial-{os.getpid()}{out.suffix}")
    t0 = time.perf_counter()
    first = last = None
    camera = _SoftwareCamera(
        rs, streams, color_intr, depth_intr, extr, depth_scale, fps, color_format
    )
    recorder = rs.recorder(str(tmp), camera.device, bool(compress))
    try:
        camera.start()
        pairs = 0
        for frame in frames:
            _check_frame(frame, color_intr, depth_intr)
            if "depth" in streams and frame.depth is not None:
                camera.push("depth", frame.depth, frame.depth_number, frame.depth_time_ms)
            if "color" in streams and frame.color is not None:
                camera.push("color", frame.color, frame.frame_number, frame.timestamp_ms)
            first = frame.frame_number if first is None else first
            last = frame.frame_number
            pairs += 1
            if pairs % flush_every == 0:
                recorder.pause()  # returns once the writer thread has drained its queue
                recorder.resume()
        recorder.pause()
        camera.stop()
    except BaseException:
        del recorder
        tmp.unlink(missing_ok=True)
        raise
    del recorder  # closing the recorder finalises the file (index, SQLite commit)
    written = frame_counts(tmp)
    pushed = camera.pushed
    if any(written.get(k, 0) != n for k, n in pushed.items()):
        tmp.unlink(missing_ok=True)
        raise RecordingWriteError(f"{out}: the SDK wrote {written} frames but was given {pushed}")
    real = container_of(tmp)
    if real != container:
        tmp.unlink(missing_ok=True)
        raise RecordingWriteError(f"{out}: the SDK wrote a .{real} file, expected .{container}")
    if real == "db3":
        restore_write_order(tmp)
    os.replace(tmp, out)
    return RecordingSummary(
        path=out,
        container=real,
        color_frames=pushed.get("color", 0),
        depth_frames=pushed.get("depth", 0),
        first_frame_number=first,
        last_frame_number=last,
        size_bytes=out.stat().st_size,
        seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- index readers
