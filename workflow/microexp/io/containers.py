"""RealSense recording containers without the SDK: ROS1 `.bag` and ROS2 `.db3` (SQLite).

Which container a file is (its magic bytes, not its name), how many image messages each stream
holds (read from the container's own index, so the reader can check that playback returned every
frame), and `CaptureFrame`, the frame pair value type shared by the reader and the synthetic
writer. Only the standard library and numpy: `tools/make_bag_fixture.py` imports the writer,
and so this module, in an environment with nothing but numpy and an old pyrealsense2.
"""

from __future__ import annotations

import os
import re
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: SDK versions from this one on record only ROS2 `.db3`; older ones only ROS1 `.bag`.


_BAG_MAGIC = b"#ROSBAG V2.0\n"


_SQLITE_MAGIC = b"SQLite format 3\x00"


# Image topics: /device_0/sensor_<i>/<Stream>_<index>/image/data[/compressed|/compressedDepth]
_IMAGE_TOPIC = re.compile(r"^/device_\d+/sensor_\d+/([A-Za-z]+)_(\d+)/image/data(/\w+)?$")


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


def container_of(path: str | os.PathLike[str]) -> str:
    """'bag' or 'db3' from the file's magic bytes (not its name); ValueError if neither."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(_BAG_MAGIC):
        return "bag"
    if head.startswith(_SQLITE_MAGIC):
        return "db3"
    raise ValueError(f"{os.fspath(path)}: neither a ROS1 bag nor a ROS2 .db3 (SQLite) file")


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
