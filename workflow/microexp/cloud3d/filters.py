"""Depth post-processing: spatial, then temporal, then hole filling (DSME-3D 4.1.2).

DSME-3D smoothed, denoised and hole-filled its D415 depth with the RealSense post-processing
filters, in that order. We use the SDK's own filters (`rs.spatial_filter`, `rs.temporal_filter`,
`rs.hole_filling_filter`) rather than re-implementations, so a recording and a frame folder get
exactly the filters the dataset authors had. The filters only accept `rs.frame` objects that
come from a depth sensor (they read the depth units from it), so raw uint16 frames are pushed
through a pyrealsense2 `software_device` with one Z16 stream of the clip's size and intrinsics
and its `depth_units` option set to the clip's depth scale; the frames it delivers are then
filtered. The function therefore sees only uint16 arrays and treats recordings and frame folders
alike.

The temporal filter keeps state across frames: one `DepthFilterChain` per clip, frames fed in
clip order. Decimation is never used (it would change the resolution and break the registration
of depth to the color image); the spatial filter's magnitude is its number of passes, not a
decimation factor.

Choice (domain): by default the spatial and temporal filters run in the disparity domain
(`rs.disparity_transform` before, its inverse after, hole filling last), the chain Intel
recommends and the RealSense Viewer uses. Run on Z16 depth directly, the SDK 2.59 filters are
biased on noisy depth: the spatial filter adds about +2 mm per pass and the temporal filter about
-1 mm at depth_scale 0.001 and 0.6 mm noise (measured; tests/unit/test_depth_filters.py pins the
unbiased default). `domain: depth` restores the direct chain. The disparity transform needs a
stereo baseline; the software sensor gets `stereo_baseline_mm` (D415: 55 mm), which only sets the
scale of the deltas: in the disparity domain they are in 1/32-pixel disparity steps, so delta 20
is about 5.7 mm at 550 mm with fx = 600 (a face-to-background edge is > 50 mm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import pyrealsense2 as rs

from microexp.camera import Intrinsics

__all__ = [
    "DepthFilterChain",
    "DepthFilterParams",
    "HoleFillingParams",
    "SpatialFilterParams",
    "TemporalFilterParams",
    "filter_depth_clip",
]

# How long to wait for the software sensor to hand a pushed frame back; it is immediate in
# practice, the bound only turns a stuck SDK into an error instead of a hang.
_FRAME_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class SpatialFilterParams:
    """`rs.spatial_filter`: edge-preserving recursive smoothing (domain transform).

    magnitude: passes (1-5); smooth_alpha: weight of the current pixel (0.25-1, lower smooths
    more); smooth_delta: step between neighbours above which they count as an edge and are not
    smoothed across (1-50), in the domain's units (disparity: 1/32 px; depth: depth units);
    holes_fill: the filter's own small-hole filling
    (0 none .. 5 unlimited; 0 because hole filling is its own, last, step).
    """

    enabled: bool = True
    magnitude: int = 2
    smooth_alpha: float = 0.5
    smooth_delta: float = 20.0
    holes_fill: int = 0


@dataclass(frozen=True)
class TemporalFilterParams:
    """`rs.temporal_filter`: exponential moving average per pixel over frames.

    smooth_alpha: weight of the current frame (0-1); smooth_delta: a change larger than this
    (the domain's units, as the spatial delta) resets the average (1-100); persistence:
    when a pixel may be filled from its history (0 off, 3 = valid in 2 of the last 4, 8 always).
    """

    enabled: bool = True
    smooth_alpha: float = 0.4
    smooth_delta: float = 20.0
    persistence: int = 3


@dataclass(frozen=True)
class HoleFillingParams:
    """`rs.hole_filling_filter`: mode 0 fill from left, 1 farthest from around, 2 nearest.

    Mode 1 (the SDK default) fills with the farthest valid neighbour, so a hole at a face edge
    takes the background-side depth rather than inventing face surface in front of it.
    """

    enabled: bool = True
    mode: int = 1


@dataclass(frozen=True)
class DepthFilterParams:
    """The three filters, applied in this order (docs/methods.md#3d-face), and the domain of the
    first two."""

    domain: Literal["disparity", "depth"] = "disparity"
    stereo_baseline_mm: float = 55.0
    spatial: SpatialFilterParams = field(default_factory=SpatialFilterParams)
    temporal: TemporalFilterParams = field(default_factory=TemporalFilterParams)
    hole_filling: HoleFillingParams = field(default_factory=HoleFillingParams)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> DepthFilterParams:
        """From `{spatial: {...}, temporal: {...}, hole_filling: {...}}`; missing keys default.

        Unknown keys are refused so a misspelt option cannot be silently ignored.
        """
        config = dict(config or {})
        parts: dict[str, Any] = {
            key: config.pop(key) for key in ("domain", "stereo_baseline_mm") if key in config
        }
        for name, kind in (
            ("spatial", SpatialFilterParams),
            ("temporal", TemporalFilterParams),
            ("hole_filling", HoleFillingParams),
        ):
            given = dict(config.pop(name, None) or {})
            known = {f.name for f in fields(kind)}
            unknown = set(given) - known
            if unknown:
                raise ValueError(
                    f"unknown {name} filter option(s) {sorted(unknown)}; {sorted(known)}"
                )
            parts[name] = kind(**given)
        if config:
            raise ValueError(f"unknown depth filter(s) {sorted(config)}")
        return cls(**parts)

    def __post_init__(self) -> None:
        if self.domain not in ("disparity", "depth"):
            raise ValueError(f"depth filter domain must be disparity or depth, got {self.domain!r}")
        if not self.stereo_baseline_mm > 0:
            raise ValueError(f"stereo_baseline_mm must be > 0, got {self.stereo_baseline_mm}")


def _set(block: Any, option: Any, value: float, what: str) -> None:
    try:
        block.set_option(option, float(value))
    except RuntimeError as error:  # the SDK's message for out-of-range values is terse
        raise ValueError(f"{what} = {value}: {error}") from error


def _build_filters(params: DepthFilterParams) -> list[Any]:
    """The enabled filters, configured, in the DSME-3D order (with the domain transforms)."""
    chain: list[Any] = []
    sp, tp, hp = params.spatial, params.temporal, params.hole_filling
    in_disparity = params.domain == "disparity" and (sp.enabled or tp.enabled)
    if in_disparity:
        chain.append(rs.disparity_transform(True))
    if sp.enabled:
        spatial = rs.spatial_filter()
        _set(spatial, rs.option.filter_magnitude, sp.magnitude, "spatial.magnitude")
        _set(spatial, rs.option.filter_smooth_alpha, sp.smooth_alpha, "spatial.smooth_alpha")
        _set(spatial, rs.option.filter_smooth_delta, sp.smooth_delta, "spatial.smooth_delta")
        _set(spatial, rs.option.holes_fill, sp.holes_fill, "spatial.holes_fill")
        chain.append(spatial)
    if tp.enabled:
        temporal = rs.temporal_filter()
        _set(temporal, rs.option.filter_smooth_alpha, tp.smooth_alpha, "temporal.smooth_alpha")
        _set(temporal, rs.option.filter_smooth_delta, tp.smooth_delta, "temporal.smooth_delta")
        _set(temporal, rs.option.holes_fill, tp.persistence, "temporal.persistence")
        chain.append(temporal)
    if in_disparity:
        chain.append(rs.disparity_transform(False))
    if hp.enabled:
        holes = rs.hole_filling_filter()
        _set(holes, rs.option.holes_fill, hp.mode, "hole_filling.mode")
        chain.append(holes)
    return chain


def _rs_intrinsics(width: int, height: int, intrinsics: Intrinsics | None) -> Any:
    intr = rs.intrinsics()
    intr.width, intr.height = width, height
    if intrinsics is None:
        # The filters do not use intrinsics; a plausible pinhole keeps the stream well formed.
        intr.fx = intr.fy = float(width)
        intr.ppx, intr.ppy = (width - 1) / 2.0, (height - 1) / 2.0
    else:
        intr.fx, intr.fy, intr.ppx, intr.ppy = (
            intrinsics.fx,
            intrinsics.fy,
            intrinsics.cx,
            intrinsics.cy,
        )
    intr.model = rs.distortion.none
    intr.coeffs = [0.0] * 5
    return intr


class DepthFilterChain:
    """One clip's depth filters behind a software depth sensor; call it on frames in order.

    >>> with DepthFilterChain(848, 480, 0.001, DepthFilterParams()) as chain:
    ...     filtered = [chain(frame) for frame in depth]   # doctest: +SKIP
    """

    def __init__(
        self,
        width: int,
        height: int,
        depth_scale: float,
        params: DepthFilterParams | None = None,
        intrinsics: Intrinsics | None = None,
        fps: float = 60.0,
    ) -> None:
        self.width, self.height = int(width), int(height)
        self.frame_interval_ms = 1000.0 / float(fps)
        self.filters = _build_filters(params or DepthFilterParams())
        self._device = rs.software_device()
        self._sensor = self._device.add_sensor("Stereo Module")
        stream = rs.video_stream()
        stream.type, stream.index, stream.uid = rs.stream.depth, 0, 0
        stream.width, stream.height = self.width, self.height
        stream.fps, stream.bpp, stream.fmt = round(fps), 2, rs.format.z16
        stream.intrinsics = _rs_intrinsics(self.width, self.height, intrinsics)
        self._profile = self._sensor.add_video_stream(stream).as_video_stream_profile()
        # Filters read the depth units (and the disparity transform the baseline, in mm) from
        # the frame's sensor.
        params = params or DepthFilterParams()
        self._sensor.add_read_only_option(rs.option.depth_units, float(depth_scale))
        self._sensor.add_read_only_option(rs.option.stereo_baseline, params.stereo_baseline_mm)
        self._queue = rs.frame_queue(2, keep_frames=True)
        self._sensor.open(self._profile)
        self._sensor.start(self._queue)
        self._count = 0
        self._open = True

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        """The filtered copy of one uint16 (H, W) frame; the next call continues the clip."""
        if not self._open:
            raise RuntimeError("depth filter chain is closed")
        if depth.dtype != np.uint16 or depth.shape != (self.height, self.width):
            raise ValueError(
                f"depth frame must be uint16 {(self.height, self.width)}, "
                f"got {depth.dtype} {depth.shape}"
            )
        pushed = rs.software_video_frame()
        pushed.pixels = np.ascontiguousarray(depth)  # pyrealsense2 copies the buffer
        pushed.bpp = 2
        pushed.stride = self.width * 2
        pushed.timestamp = self._count * self.frame_interval_ms
        pushed.domain = rs.timestamp_domain.hardware_clock
        pushed.frame_number = self._count
        pushed.profile = self._profile
        self._sensor.on_video_frame(pushed)
        frame = self._queue.wait_for_frame(_FRAME_TIMEOUT_MS)
        self._count += 1
        for block in self.filters:
            frame = block.process(frame)
        out = np.asanyarray(frame.get_data())
        if out.shape != depth.shape:
            raise RuntimeError(f"depth filters changed the frame size {depth.shape} -> {out.shape}")
        # The SDK recycles frame buffers: copy before the frame object goes away.
        return np.array(out, dtype=np.uint16, copy=True)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._sensor.stop()
            self._sensor.close()

    def __enter__(self) -> DepthFilterChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def filter_depth_clip(
    depth: np.ndarray,
    depth_scale: float,
    params: DepthFilterParams | None = None,
    intrinsics: Intrinsics | None = None,
    fps: float = 60.0,
) -> np.ndarray:
    """Spatial, temporal and hole-filling filters over a clip (T, H, W) uint16, frames in order.

    A fresh chain per call, so no temporal state leaks between clips and the result depends
    only on the clip and the parameters.
    """
    depth = np.asarray(depth)
    if depth.ndim != 3:
        raise ValueError(f"depth clip must be (T, H, W), got {depth.shape}")
    out = np.empty_like(depth, dtype=np.uint16)
    with DepthFilterChain(
        depth.shape[2], depth.shape[1], depth_scale, params, intrinsics, fps
    ) as chain:
        for t in range(depth.shape[0]):
            out[t] = chain(depth[t])
    return out
