"""The flow stage for one sample: onset-apex TV-L1 flow, optical strain, network inputs.

Reads the 2D stage's aligned gray crop (face2d/stage.py): the onset and apex frames give the
flow (optical.py), its strain magnitude and the MEGC-style 28 x 28 x 3 input
(network_input.py); the whole aligned clip, resampled, is the 3D CNN's input. ``save_flow`` /
``load_flow`` are the ``results/{dataset}/flow/{sample}.npz`` contract (docs/flow.md).

Bad input raises ``SampleFailure``: onset equal to apex (no motion to measure), frames that are
constant (a blank crop), a flow that is not finite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microexp.failures import SampleFailure
from microexp.flow.network_input import INPUT_SIZE, megc_input, resample_clip
from microexp.flow.optical import TVL1Params, optical_strain, tvl1_flow

__all__ = ["FlowParams", "FlowResult", "flow_from_frames", "load_flow", "save_flow"]


@dataclass(frozen=True)
class FlowParams:
    """Parameters of the stage (config ``flow``): TV-L1 settings, the input size and the number
    of frames of the 3D CNN's clip."""

    tvl1: TVL1Params = field(default_factory=TVL1Params)
    input_size: int = INPUT_SIZE
    clip_frames: int = 16

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> FlowParams:
        config = dict(config or {})
        tvl1 = dict(config.pop("tvl1", {}) or {})
        unknown = set(config) - {"input_size", "clip_frames"}
        if unknown:
            raise ValueError(f"unknown flow option(s) {sorted(unknown)}")
        return cls(tvl1=TVL1Params(**tvl1), **config)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FlowResult:
    """One sample's flow data.

    u, v (h, w) float32: onset -> apex flow in crop pixels; strain (h, w) float32: its optical
    strain magnitude; network_input (3, s, s) float32: u, v, strain as the networks take them
    (docs/flow.md); clip (1, frames, s, s) float32: the resampled aligned clip (0-255); onset,
    apex: clip indices; params_json: the parameters.
    """

    u: np.ndarray
    v: np.ndarray
    strain: np.ndarray
    network_input: np.ndarray
    clip: np.ndarray
    onset: int
    apex: int
    params_json: str = "{}"


_ARRAYS = ("u", "v", "strain", "network_input", "clip")


def flow_from_frames(
    aligned_gray: np.ndarray, onset: int, apex: int, params: FlowParams | None = None
) -> FlowResult:
    """The stage on one aligned gray clip (T, h, w) uint8 with onset / apex clip indices."""
    params = params or FlowParams()
    gray = np.asarray(aligned_gray)
    if gray.ndim != 3 or len(gray) == 0:
        raise SampleFailure(f"aligned gray clip must be (T, h, w), got {gray.shape}")
    for name, index in (("onset", onset), ("apex", apex)):
        if not 0 <= index < len(gray):
            raise SampleFailure(f"{name} index {index} outside the clip of {len(gray)} frames")
    if onset == apex:
        raise SampleFailure(f"onset and apex are the same frame ({onset}): no motion to measure")
    for name, index in (("onset", onset), ("apex", apex)):
        if np.ptp(gray[index]) == 0:
            raise SampleFailure(f"{name} frame {index} of the aligned crop is constant (blank)")
    u, v = tvl1_flow(gray[onset], gray[apex], params.tvl1)
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        raise SampleFailure("TV-L1 flow is not finite")
    strain = optical_strain(u, v)
    return FlowResult(
        u=u,
        v=v,
        strain=strain,
        network_input=megc_input(u, v, strain, params.input_size),
        clip=resample_clip(gray, params.clip_frames, params.input_size),
        onset=int(onset),
        apex=int(apex),
        params_json=json.dumps(params.as_dict(), sort_keys=True),
    )


def save_flow(path: str | os.PathLike[str], result: FlowResult) -> None:
    """Write ``results/{dataset}/flow/{sample}.npz`` (compressed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {name: np.asarray(getattr(result, name)) for name in _ARRAYS}
    arrays["onset"] = np.array(result.onset)
    arrays["apex"] = np.array(result.apex)
    arrays["params_json"] = np.array(result.params_json)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def load_flow(path: str | os.PathLike[str], *, arrays: tuple[str, ...] = _ARRAYS) -> FlowResult:
    """Read what ``save_flow`` wrote (``arrays``: which arrays to read; the others are empty)."""
    from microexp.failures import raise_if_failed

    with np.load(Path(path), allow_pickle=False) as data:
        raise_if_failed(data, path)
        values: dict[str, Any] = {
            name: data[name] if name in arrays else np.empty(0, np.float32) for name in _ARRAYS
        }
        values["onset"] = int(data["onset"])
        values["apex"] = int(data["apex"])
        values["params_json"] = str(data["params_json"])
    return FlowResult(**values)
