"""Per-sample features from the face stages' files (the `features` rules call these).

- LBP-TOP (DSME-3D 4.2.1): one code pass over the sample's aligned gray volume
  per setting (radii, neighbours, mapping, interpolation); what is stored is the per-plane
  integral histograms, from which every block grid and overlap (and the CAS(ME)^2 ROIs) is a
  lookup (`microexp.features.blocks`).
- Curvature (DSME-3D 4.2.2-4.2.4): SI and HK histograms in a sphere around each
  of the configured landmarks on the onset and apex face clouds, weighted by the 2D
  mean-difference image around each landmark.

A setting's name is its parameters, so that it can be part of a path and a changed parameter
is a new file, never a stale one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from microexp.failures import SampleFailure
from microexp.features.blocks import IntegralHistograms, integral_histograms
from microexp.features.lbptop import axis_borders, lbptop_codes
from microexp.features.tim import tim

if TYPE_CHECKING:  # types only: importing cloud3d.stage loads open3d (~1 s per lbptop job)
    from microexp.cloud3d.result import Cloud3DResult
    from microexp.face2d.result import Face2DResult


def _number(value: float) -> str:
    """Compact, path-safe number: 6 -> '6', 0.005 -> '0.005', 1e-05 -> '1e-05'."""
    return f"{value:g}"


_LBPTOP_NAME = re.compile(
    r"^r(\d+)-(\d+)-(\d+)_p(\d+)-(\d+)-(\d+)_([A-Za-z0-9]+)_([A-Za-z]+)"
    r"(?:_bxy(\d+))?(?:_bt(\d+))?(?:_tim(\d+))?$"
)
LBPTOP_KEYS = frozenset(
    {"radii", "neighbors", "mapping", "interpolation", "border_xy", "border_t", "tim_frames"}
)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, repr=False)
class LbptopSetting:
    """One LBP-TOP code pass: radii (Rx, Ry, Rt), neighbours (Pxy, Pxt, Pyt), mapping, and
    interpolation (docs/methods.md#lbp-top); `border_xy` / `border_t` are LBPTOP.m's BorderLength /
    TimeLength (None: each axis's radius; `microexp.features.lbptop.axis_borders`);
    `tim_frames` resamples the clip to that many frames with the temporal interpolation model
    first (the CAS(ME)^2 variant: 120)."""

    radii: tuple[int, int, int] = (1, 1, 4)
    neighbors: tuple[int, int, int] = (8, 8, 8)
    mapping: str = "u2"
    interpolation: str = "nearest"
    tim_frames: int | None = None
    border_xy: int | None = None
    border_t: int | None = None

    def __post_init__(self) -> None:
        # A border below a radius is a configuration error: say so now, not once per sample.
        axis_borders(self.radii, self.border_xy, self.border_t)

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> LbptopSetting:
        unknown = set(spec) - LBPTOP_KEYS
        if unknown:
            raise ValueError(f"unknown LBP-TOP setting keys {sorted(unknown)}")
        return cls(
            radii=tuple(int(r) for r in spec.get("radii", cls.radii)),
            neighbors=tuple(int(p) for p in spec.get("neighbors", cls.neighbors)),
            mapping=str(spec.get("mapping", cls.mapping)),
            interpolation=str(spec.get("interpolation", cls.interpolation)),
            tim_frames=_optional_int(spec.get("tim_frames")),
            border_xy=_optional_int(spec.get("border_xy")),
            border_t=_optional_int(spec.get("border_t")),
        )

    @classmethod
    def from_name(cls, name: str) -> LbptopSetting:
        """The setting a folder name (``name``) stands for; a name that does not round-trip
        (e.g. ``r01-1-4...``) is an error."""
        match = _LBPTOP_NAME.match(str(name))
        if match is None:
            raise ValueError(
                f"{name!r} is not an LBP-TOP setting name like r1-1-4_p8-8-8_u2_nearest "
                "(optionally _bxy<B>, _bt<B>, _tim<frames>); give the parameters as a mapping "
                "instead"
            )
        numbers = [int(g) for g in match.groups()[:6]]
        setting = cls(
            radii=tuple(numbers[:3]),
            neighbors=tuple(numbers[3:]),
            mapping=match.group(7),
            interpolation=match.group(8),
            border_xy=_optional_int(match.group(9)),
            border_t=_optional_int(match.group(10)),
            tim_frames=_optional_int(match.group(11)),
        )
        if setting.name != name:
            raise ValueError(f"LBP-TOP setting name {name!r} does not round-trip ({setting.name})")
        return setting

    def to_config(self) -> dict[str, Any]:
        """The parameters as a ``features: lbptop:`` entry (borders only when given)."""
        spec: dict[str, Any] = {
            "radii": list(self.radii),
            "neighbors": list(self.neighbors),
            "mapping": self.mapping,
            "interpolation": self.interpolation,
            "tim_frames": self.tim_frames,
        }
        if self.border_xy is not None:
            spec["border_xy"] = self.border_xy
        if self.border_t is not None:
            spec["border_t"] = self.border_t
        return spec

    def __repr__(self) -> str:
        # Borders appear only when given: a setting without them keeps the repr it had before
        # they existed, which Snakemake stores as a parameter of the batch jobs (a changed repr
        # would rerun them).
        fields = [
            f"{key}={value!r}"
            for key, value in vars(self).items()
            if not (key in ("border_xy", "border_t") and value is None)
        ]
        return f"{type(self).__name__}({', '.join(fields)})"

    @property
    def name(self) -> str:
        """e.g. r1-1-4_p8-8-8_u2_nearest; with borders r2-3-3_p8-8-8_u2_bilinear_bxy3_bt3.

        Settings without explicit borders keep the names they had before borders existed, so
        their files stay valid.
        """
        radii = "-".join(map(str, self.radii))
        neighbors = "-".join(map(str, self.neighbors))
        borders = "" if self.border_xy is None else f"_bxy{self.border_xy}"
        borders += "" if self.border_t is None else f"_bt{self.border_t}"
        tim = "" if self.tim_frames is None else f"_tim{self.tim_frames}"
        return f"r{radii}_p{neighbors}_{self.mapping}_{self.interpolation}{borders}{tim}"


@dataclass(frozen=True)
class CurvatureSetting:
    """Curvature descriptors (docs/methods.md#landmark-histograms): fit radius, landmark sphere
    radius, HK zero bands,
    weight disc radius on the aligned crop, and the fewest vertices a sphere may hold."""

    radius_curv_mm: float = 6.0
    radius_sphere_mm: float = 15.0
    eps_H: float = 0.01
    eps_K: float = 0.0001
    weight_disc_px: float = 5.0
    min_sphere_vertices: int = 20

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> CurvatureSetting:
        unknown = set(spec) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown curvature option(s) {sorted(unknown)}")
        return cls(**spec)

    @property
    def name(self) -> str:
        """e.g. rc6_rs15_eh0.01_ek0.0001_d5_m20"""
        return (
            f"rc{_number(self.radius_curv_mm)}_rs{_number(self.radius_sphere_mm)}"
            f"_eh{_number(self.eps_H)}_ek{_number(self.eps_K)}"
            f"_d{_number(self.weight_disc_px)}_m{self.min_sphere_vertices}"
        )


def lbptop_integral(face2d: Face2DResult, setting: LbptopSetting) -> IntegralHistograms:
    """The sample's LBP-TOP integral histograms for one setting (codes on the whole clip)."""
    volume = face2d.aligned_gray
    try:
        if setting.tim_frames is not None:
            # uint8, as the resampled frames of the original TIM + LBP-TOP code were images
            volume = tim(volume, setting.tim_frames, dtype=np.uint8)
        codes = lbptop_codes(
            volume,
            setting.radii,
            setting.neighbors,
            setting.interpolation,
            border_xy=setting.border_xy,
            border_t=setting.border_t,
        )
        integral = integral_histograms(codes, setting.mapping)
    except ValueError as error:  # too-short or too-small volume, bad parameters
        raise SampleFailure(f"LBP-TOP {setting.name}: {error}") from error
    integral.meta.update({"setting": setting.name})
    return integral


def curvature_features(
    face2d: Face2DResult,
    cloud3d: Cloud3DResult,
    setting: CurvatureSetting,
    landmark_indices: Sequence[int],
) -> dict[str, np.ndarray]:
    """The sample's weighted SI and HK descriptors for one setting
    (docs/methods.md#landmark-histograms)."""
    # here, not at the top: it loads scipy.spatial and the curvature kernels, which LBP-TOP
    # jobs and the learn package (settings only) do not use (~0.7 s per job)
    from microexp.features.landmark_histograms import (
        curvature_descriptors,
        landmark_weights,
        mean_difference_image,
    )

    onset, apex = face2d.onset, face2d.apex
    try:
        weights = landmark_weights(
            mean_difference_image(face2d.aligned_gray, onset_index=onset),
            face2d.aligned_landmarks[onset],
            setting.weight_disc_px,
            landmark_indices=tuple(landmark_indices),
        )
        return curvature_descriptors(
            cloud3d.frame_points(onset),
            cloud3d.frame_points(apex),
            cloud3d.landmarks3d[onset],
            cloud3d.landmarks3d[apex],
            weights,
            setting.radius_curv_mm,
            setting.radius_sphere_mm,
            setting.eps_H,
            setting.eps_K,
            landmark_indices=tuple(landmark_indices),
            min_sphere_vertices=setting.min_sphere_vertices,
        )
    except ValueError as error:  # LandmarkFeatureError names the landmark and frame
        raise SampleFailure(f"curvature {setting.name}: {error}") from error


def save_curvature(path: str | Path, features: Mapping[str, np.ndarray], setting) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, ok=True, setting=json.dumps(asdict(setting)), **{k: np.asarray(v) for k, v in
                                                                features.items()}
    )  # fmt: skip
