"""Write RealSense recordings (SPEC.md 2.1) the way a D415 capture session does.

A recording holds a "Stereo Module" sensor with a Z16 depth stream and an "RGB Camera" sensor
with an RGB8 color stream, their intrinsics, the depth-to-color extrinsics and the depth units,
exactly what `microexp.io.realsense` reads back from a real capture. The frames go through
pyrealsense2's own `software_device` + `recorder`, so the file is written by the SDK itself:
ROS2 `.db3` with SDK >= 2.58 (the only format those versions record) and ROS1 `.bag` before.

This module needs only numpy, pyrealsense2 and `microexp.camera`:
`tools/make_bag_fixture.py` runs it under an old SDK in a throwaway environment to produce the
`.bag` fixture, where the rest of the package's dependencies are not installed. For the same
reason the value type shared with the reader (`CaptureFrame`) and the container index readers
(`frame_counts`) live here and `microexp.io.realsense` imports them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import struct
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microexp.camera import Intrinsics

#: SDK versions from this one on record only ROS2 `.db3`; older ones only ROS1 `.bag`.
FIRST_DB3_SDK = (2, 58)

_BAG_MAGIC = b"#ROSBAG V2.0\n"
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Image topics: /device_0/sensor_<i>/<Stream>_<index>/image/data[/compressed|/compressedDepth]
_IMAGE_TOPIC = re.compile(r"^/device_\d+/sensor_\d+/([A-Za-z]+)_(\d+)/image/data(/\w+)?$")


class RecordingWriteError(RuntimeError):
    """The SDK did not write what it was given (missing frames, wrong container)."""


@dataclass(frozen=True)
class CaptureFrame:
    """One color + depth frame pair of a capture.

    color: (H, W, 3) uint8 RGB; depth: (H, W) uint16 in depth units (or None, and likewise
    color, to leave that stream's frame out, as a camera that dropped it would).
    `frame_number` and `timestamp_ms` are the color frame's (hardware clock, milliseconds);
    the depth frame carries its own when `depth_frame_number` / `depth_timestamp_ms` are given
    (a real D415 counts the two sensors separately), else the color ones.
    """

    color: np.ndarray | None
    depth: np.ndarray | None
    frame_number: int
    timestamp_ms: float
    depth_frame_number: int | None = None
    depth_timestamp_ms: float | None = None

    @property
    def depth_number(self) -> int:
        """Frame number the depth frame carries."""
        if self.depth_frame_number is None:
            return int(self.frame_number)
        return int(self.depth_frame_number)

    @property
    def depth_time_ms(self) -> float:
        """Timestamp (ms) the depth frame carries."""
        if self.depth_timestamp_ms is None:
            return float(self.timestamp_ms)
        return float(self.depth_timestamp_ms)


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


def container_of(path: str | os.PathLike[str]) -> str:
    """'bag' or 'db3' from the file's magic bytes (not its name); ValueError if neither."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(_BAG_MAGIC):
        return "bag"
    if head.startswith(_SQLITE_MAGIC):
        return "db3"
    raise ValueError(f"{os.fspath(path)}: neither a ROS1 bag nor a ROS2 .db3 (SQLite) file")


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
    """Record `frames` to `path` with the installed SDK's recorder (SPEC.md 2.1).

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


def frame_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    """Number of image messages per stream ('depth', 'color', 'infrared', ...) from the index.

    Cheap: reads the ROS1 bag's connection and chunk-info records at its end, or counts rows of
    the `.db3` SQLite `messages` table; frame data are not decoded. Raises ValueError when the
    file is not a complete recording (e.g. a bag whose index was never written).
    """
    kind = container_of(path)
    per_topic = _bag_topic_counts(path) if kind == "bag" else _db3_topic_counts(path)
    counts: dict[str, int] = {}
    for topic, n in per_topic.items():
        m = _IMAGE_TOPIC.match(topic)
        if m:
            stream = m.group(1).lower()
            counts[stream] = counts.get(stream, 0) + n
    return counts


def _db3_topic_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            rows = con.execute(
                "SELECT t.name, COUNT(*) FROM messages m JOIN topics t ON t.id = m.topic_id "
                "GROUP BY t.name"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{os.fspath(path)}: unreadable .db3 ({exc})") from exc
    return {str(name): int(n) for name, n in rows}


def _read_record(fh: Any) -> tuple[dict[str, bytes], bytes]:
    """One ROS1 bag record: (header fields, data)."""
    (hlen,) = struct.unpack("<I", _read_exact(fh, 4))
    header = _read_exact(fh, hlen)
    fields: dict[str, bytes] = {}
    pos = 0
    while pos < hlen:
        (flen,) = struct.unpack_from("<I", header, pos)
        name, _, value = header[pos + 4 : pos + 4 + flen].partition(b"=")
        fields[name.decode("ascii", "replace")] = value
        pos += 4 + flen
    (dlen,) = struct.unpack("<I", _read_exact(fh, 4))
    return fields, _read_exact(fh, dlen)


def _read_exact(fh: Any, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise ValueError(f"bag ends early: wanted {n} bytes at offset {fh.tell()}, got {len(data)}")
    return data


def _bag_topic_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    """Message counts per topic from a ROS1 bag v2.0 index (connection + chunk-info records)."""
    size = os.path.getsize(path)
    where = os.fspath(path)
    with open(path, "rb") as fh:
        fh.seek(len(_BAG_MAGIC))
        try:
            fields, _ = _read_record(fh)
        except (ValueError, struct.error) as exc:
            raise ValueError(f"{where}: bag header unreadable ({exc})") from exc
        if fields.get("op") != b"\x03":
            raise ValueError(f"{where}: first bag record is not the bag header")
        (index_pos,) = struct.unpack("<Q", fields["index_pos"])
        (conn_count,) = struct.unpack("<I", fields["conn_count"])
        (chunk_count,) = struct.unpack("<I", fields["chunk_count"])
        if index_pos == 0 or index_pos >= size:
            raise ValueError(f"{where}: bag has no index (recording not closed, or truncated)")
        fh.seek(index_pos)
        topics: dict[int, str] = {}
        counts: dict[str, int] = {}
        try:
            for _ in range(conn_count):
                fields, _ = _read_record(fh)
                (conn,) = struct.unpack("<I", fields["conn"])
                topics[conn] = fields["topic"].decode("utf-8", "replace")
            for _ in range(chunk_count):
                fields, data = _read_record(fh)
                (n,) = struct.unpack("<I", fields["count"])
                for conn, cnt in struct.iter_unpack("<II", data[: 8 * n]):
                    topic = topics.get(conn, f"<connection {conn}>")
                    counts[topic] = counts.get(topic, 0) + cnt
        except (ValueError, struct.error, KeyError) as exc:
            raise ValueError(f"{where}: bag index unreadable ({exc})") from exc
    return counts


# --------------------------------------------------------------------------- fixture content


def fixture_intrinsics(width: int, height: int) -> Intrinsics:
    """Intrinsics of the small test recordings: D415-like field of view, centred."""
    f = 0.72 * width  # ~70 degrees horizontal field of view, like the D415 color camera
    return Intrinsics(width, height, f, f, (width - 1) / 2, (height - 1) / 2)


def fixture_frames(
    n: int,
    width: int,
    height: int,
    *,
    fps: int = 60,
    first_frame_number: int = 1,
    depth_frame_offset: int = 3,
    depth_time_offset_ms: float = 0.25,
) -> list[CaptureFrame]:
    """Deterministic frame pairs for fixtures and tests (see `iter_fixture_frames`)."""
    return list(
        iter_fixture_frames(
            n,
            width,
            height,
            fps=fps,
            first_frame_number=first_frame_number,
            depth_frame_offset=depth_frame_offset,
            depth_time_offset_ms=depth_time_offset_ms,
        )
    )


def iter_fixture_frames(
    n: int,
    width: int,
    height: int,
    *,
    fps: int = 60,
    first_frame_number: int = 1,
    depth_frame_offset: int = 3,
    depth_time_offset_ms: float = 0.25,
) -> Iterator[CaptureFrame]:
    """Deterministic frame pairs, made one at a time (integer arithmetic only).

    Color: moving RGB gradients, different in every frame. Depth: a face-sized dome 450-600 mm
    with a few holes (0). The depth sensor numbers its frames `depth_frame_offset` ahead of the
    color sensor and stamps them `depth_time_offset_ms` later, as a D415 does (two counters,
    two exposures), so readers must pair by timestamp, not by frame number or arrival order.
    """
    ys, xs = np.mgrid[0:height, 0:width].astype(np.int64)
    cy, cx = height // 2, width // 2
    r2 = (xs - cx) ** 2 + (ys - cy) ** 2
    scale = max(1, (min(width, height) // 2) ** 2)
    dome = 450 + (150 * r2) // scale
    holes = (xs * 7 + ys * 3) % 29
    for k in range(n):
        color = np.stack(
            [(xs * 4 + k * 7) % 256, (ys * 5 + k * 11) % 256, (xs + ys + k * 13) % 256], axis=-1
        ).astype(np.uint8)
        depth = np.where((holes + k) % 29 == 0, 0, dome + (k % 5)).astype(np.uint16)
        fn = first_frame_number + k
        ts = round(k * 1000.0 / fps, 3)  # exact after the SDK's nanosecond rounding
        yield CaptureFrame(
            color=color,
            depth=depth,
            frame_number=fn,
            timestamp_ms=ts,
            depth_frame_number=fn + depth_frame_offset,
            depth_timestamp_ms=ts + depth_time_offset_ms,
        )
