"""Deterministic RealSense frame pairs for tests and benchmarks (and the `.bag` fixture).

Numpy only, like the writer in `microexp.synthetic.recording`, so `tools/make_bag_fixture.py` can
import it in its bare environment.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from microexp.camera import Intrinsics

#: SDK versions from this one on record only ROS2 `.db3`; older ones only ROS1 `.bag`.
from microexp.io.containers import CaptureFrame


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
