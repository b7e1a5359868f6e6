"""The depth_flow stage of one sample: RGB-D tensors of the aligned face crop, depth flow,
its 2D optical-flow counterpart and their block histograms (docs/depth_flow.md).

Inputs are what face2d and the clip hold: the aligned gray crops of the onset and apex frames
(face2d's `aligned_gray`) and the clip's registered depth, warped into the same crop with
face2d's image -> crop transform (nearest neighbour, so no depth is invented between the face
and the background; outside the image the depth is 0, a hole). CAS(ME)^3 cropped with an
axis-aligned box; here the crop is face2d's aligned one (a similarity), the same for gray and
depth, so the tensor's rows and columns are those of every other feature.

Stored per sample (`results/{dataset}/depth_flow/{sample}.npz`), a documented reduction of the
flow volume (H x W x D x 3 float64, ~80 MB for a 168 x 168 x 120 tensor): the near and far limits,
the tensor shape, each pixel's onset bin, and the flow at each pixel's onset surface voxel
(`surface_flow`, H x W x 3 float32: ux along columns, uy along rows, uz along bins), which is
where the face is; the 2D flow (H x W x 2: along columns, along rows); and the two feature
vectors.

Features (the choice): magnitude-weighted histograms of flow directions per block of a grid on
the crop (HOOF, Chaudhry et al., CVPR 2009), in 3D for the depth flow (8 in-plane directions x 3
elevations: toward the camera, in the image plane, away from it) and in 2D for the optical flow
(8 directions), on the same blocks with the same weighting, so the RGB vs RGB-D comparison differs
only in the flow. Main-direction features (MDMD) summarise a whole clip's flow over time for
spotting; recognition from one onset/apex pair needs where and in which direction the face moved,
which the block histograms keep. Each vector's weight is its magnitude capped at `max_magnitude`
(voxels): the least squares of near-empty windows can give large, meaningless flow, and a cap
keeps one such window from dominating a block. Each histogram vector is L1-normalised over the
whole face (blocks keep their relative motion).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from microexp.failures import SampleFailure
from microexp.features.lk3d import depth_flow
from microexp.features.rgbd import DepthRangeError, depth_range, rgbd_tensor

__all__ = [
    "DepthFlowParams",
    "DepthFlowResult",
    "depth_crop",
    "direction_histograms",
    "load_depth_flow",
    "optical_flow_2d",
    "process_depth_flow",
    "save_depth_flow",
]


@dataclass(frozen=True)
class DepthFlowParams:
    """config.yaml `depth_flow:` (LKPR3D's parameters and the features')."""

    radius: int = 4
    levels: int = 2
    iterations: int = 0
    sigma: float = 1.0
    grid: int = 6
    max_magnitude: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> DepthFlowParams:
        config = dict(config or {})
        known = {k: config[k] for k in asdict(cls()) if k in config}
        return cls(**known)


@dataclass
class DepthFlowResult:
    """One sample's depth flow (see the module docstring for each field)."""

    near: int
    far: int
    tensor_shape: np.ndarray
    onset_bin: np.ndarray
    surface_flow: np.ndarray
    flow2d: np.ndarray
    depth_onset: np.ndarray
    hist3d: np.ndarray
    hist2d: np.ndarray
    windows: int
    windows_skipped: int
    params_json: str = "{}"


def depth_crop(depth: np.ndarray, image_to_crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A registered depth frame (H, W) warped into face2d's crop (h, w): nearest neighbour,
    0 (no depth) outside the image."""
    h, w = size
    return cv2.warpAffine(
        np.ascontiguousarray(depth, dtype=np.uint16),
        np.asarray(image_to_crop, dtype=np.float64),
        (w, h),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def optical_flow_2d(gray_onset: np.ndarray, gray_apex: np.ndarray) -> np.ndarray:
    """Dense 2D flow onset -> apex, (h, w, 2): motion along columns, along rows (pixels).

    OpenCV's DIS optical flow (Kroeger et al., ECCV 2016), preset MEDIUM: TV-L1 needs
    opencv-contrib, which the pipeline does not install.
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(
        np.ascontiguousarray(gray_onset, dtype=np.uint8),
        np.ascontiguousarray(gray_apex, dtype=np.uint8),
        None,
    )


def _block_index(shape: tuple[int, int], grid: int) -> np.ndarray:
    rows = np.minimum(np.arange(shape[0]) * grid // shape[0], grid - 1)
    cols = np.minimum(np.arange(shape[1]) * grid // shape[1], grid - 1)
    return rows[:, None] * grid + cols[None, :]


def direction_histograms(
    rows: np.ndarray,
    cols: np.ndarray,
    depth: np.ndarray | None,
    valid: np.ndarray,
    grid: int,
    max_magnitude: float,
) -> np.ndarray:
    """Magnitude-weighted direction histograms per block (grid x grid), L1-normalised.

    ``rows``, ``cols``, ``depth``: per-pixel motion along rows, columns and depth bins (depth
    None for 2D flow). Directions: 8 sectors of atan2(rows, cols) centred on 0, 45, ... deg; in 3D
    also 3 elevations, atan2(depth, in-plane magnitude) below -30 deg (toward the camera),
    within +-30 deg, above 30 deg (away). Returns grid^2 x 8 (2D) or grid^2 x 24 (3D) values.
    """
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    in_plane = np.hypot(rows, cols)
    sector = np.round(np.arctan2(rows, cols) / (np.pi / 4)).astype(np.int64) % 8
    if depth is None:
        magnitude = in_plane
        bins = sector
        n_bins = 8
    else:
        depth = np.asarray(depth, dtype=np.float64)
        magnitude = np.hypot(in_plane, depth)
        elevation = np.arctan2(depth, in_plane)
        level = np.digitize(elevation, [-np.pi / 6, np.pi / 6])
        bins = sector * 3 + level
        n_bins = 24
    weight = np.minimum(magnitude, max_magnitude)
    ok = np.asarray(valid, dtype=bool) & np.isfinite(weight)
    blocks = _block_index(rows.shape, grid)
    index = blocks[ok] * n_bins + bins[ok]
    hist = np.bincount(index, weights=weight[ok], minlength=grid * grid * n_bins)
    total = hist.sum()
    return hist / total if total > 0 else hist


def process_depth_flow(
    gray_onset: np.ndarray,
    gray_apex: np.ndarray,
    depth_onset: np.ndarray,
    depth_apex: np.ndarray,
    params: DepthFlowParams,
) -> DepthFlowResult:
    """RGB-D tensors, depth flow, 2D flow and features of one onset/apex pair of crops.

    Raises SampleFailure (with near, far) when the depth range makes no tensor (400 units).
    """
    try:
        limits = depth_range(depth_onset, depth_apex)
        onset, apex = rgbd_tensor(gray_onset, gray_apex, depth_onset, depth_apex)
    except DepthRangeError as error:
        raise SampleFailure(f"no RGB-D tensor: {error}", near=error.near, far=error.far) from error
    except ValueError as error:
        raise SampleFailure(f"no RGB-D tensor: {error}") from error
    stats: dict = {}
    ux, uy, uz = depth_flow(
        onset,
        apex,
        radius=params.radius,
        levels=params.levels,
        iterations=params.iterations,
        sigma=params.sigma,
        stats=stats,
    )
    depth_onset = np.asarray(depth_onset).astype(np.int64)
    onset_bin = depth_onset - limits.near
    onset_bin[(depth_onset <= 0) | (onset_bin >= limits.bins)] = 0
    r, c = np.indices(onset_bin.shape)
    surface = np.stack([u[r, c, onset_bin] for u in (ux, uy, uz)], axis=-1).astype(np.float32)
    del ux, uy, uz, onset, apex
    # Pixels whose onset depth lies inside the tensor's range (bin 0 also gathers holes and
    # the background beyond `far`).
    valid = (depth_onset > limits.near) & (depth_onset <= limits.far)
    flow2d = optical_flow_2d(gray_onset, gray_apex)
    # The reference's components: ux along columns, uy along rows, uz along bins.
    hist3d = direction_histograms(
        surface[..., 1], surface[..., 0], surface[..., 2], valid, params.grid, params.max_magnitude
    )
    hist2d = direction_histograms(
        flow2d[..., 1], flow2d[..., 0], None, np.ones(valid.shape, bool), params.grid,
        params.max_magnitude,
    )  # fmt: skip
    return DepthFlowResult(
        near=limits.near,
        far=limits.far,
        tensor_shape=np.array([*onset_bin.shape, limits.bins]),
        onset_bin=onset_bin.astype(np.int16),
        surface_flow=surface,
        flow2d=flow2d.astype(np.float32),
        depth_onset=depth_onset.astype(np.uint16),
        hist3d=hist3d,
        hist2d=hist2d,
        windows=int(stats.get("windows", 0)),
        windows_skipped=int(stats.get("skipped", 0)),
        params_json=json.dumps(asdict(params), sort_keys=True),
    )


_ARRAYS = ("tensor_shape", "onset_bin", "surface_flow", "flow2d", "depth_onset", "hist3d", "hist2d")


def save_depth_flow(path: str | Path, result: DepthFlowResult) -> None:
    """Write `results/{dataset}/depth_flow/{sample}.npz` (compressed, ok = True)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.asarray(getattr(result, name)) for name in _ARRAYS}
    for name in ("near", "far", "windows", "windows_skipped"):
        arrays[name] = np.array(getattr(result, name))
    arrays["params_json"] = np.array(result.params_json)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, ok=True, **arrays)


def load_depth_flow(path: str | Path) -> DepthFlowResult:
    """Read what `save_depth_flow` wrote (a failure marker raises SampleFailure)."""
    from microexp.failures import raise_if_failed

    with np.load(Path(path), allow_pickle=False) as data:
        raise_if_failed(data, path)
        values: dict[str, Any] = {name: data[name] for name in _ARRAYS}
        for name in ("near", "far", "windows", "windows_skipped"):
            values[name] = int(data[name])
        values["params_json"] = str(data["params_json"])
    return DepthFlowResult(**values)
