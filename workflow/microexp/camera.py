"""Camera intrinsics, in the RealSense convention (docs/methods.md#capture-formats).

One type for every stage: the recordings carry it, the synthetic camera is one, the 3D stage
deprojects with it. Pixel centres sit at integer coordinates; (cx, cy) is pyrealsense2's
(ppx, ppy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Distortion model names as pyrealsense2 spells them (`rs.distortion.<name>`).
DISTORTION_MODELS = (
    "none",
    "brown_conrady",
    "modified_brown_conrady",
    "inverse_brown_conrady",
    "ftheta",
    "kannala_brandt4",
)


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of one stream, in pixels (RealSense convention,
    docs/methods.md#capture-formats).

    `cx`, `cy` are the principal point (`ppx`, `ppy` in pyrealsense2); pixel centres sit at
    integer coordinates. `coeffs` are the five distortion coefficients of `model`.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    model: str = "brown_conrady"
    coeffs: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if self.model not in DISTORTION_MODELS:
            raise ValueError(f"unknown distortion model {self.model!r}; one of {DISTORTION_MODELS}")
        coeffs = tuple(float(c) for c in self.coeffs)
        if len(coeffs) != 5:
            raise ValueError(f"need 5 distortion coefficients, got {len(coeffs)}")
        object.__setattr__(self, "coeffs", coeffs)
        for name in ("width", "height"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("fx", "fy", "cx", "cy"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python form for `.npz`/JSON outputs (coeffs as a list)."""
        d = dataclasses.asdict(self)
        d["coeffs"] = list(self.coeffs)
        return d

    @classmethod
    def from_any(cls, value: Intrinsics | Mapping[str, Any]) -> Intrinsics:
        """Accept an `Intrinsics` or a mapping with the same keys (`ppx`/`ppy` also allowed)."""
        if isinstance(value, Intrinsics):
            return value
        m = dict(value)
        if "ppx" in m:
            m["cx"] = m.pop("ppx")
        if "ppy" in m:
            m["cy"] = m.pop("ppy")
        return cls(**m)

    @property
    def has_distortion(self) -> bool:
        return self.model != "none" and any(c != 0.0 for c in self.coeffs)

    def _require_pinhole(self) -> None:
        if self.has_distortion:
            raise NotImplementedError(
                f"{self.model} distortion {self.coeffs}: use microexp.cloud3d.deproject, "
                "which undistorts; project/deproject here are the pinhole model"
            )

    def project(self, points_mm: np.ndarray) -> np.ndarray:
        """3D points (N, 3) in the camera frame -> pixels (N, 2) (pinhole)."""
        self._require_pinhole()
        p = np.asarray(points_mm, dtype=np.float64).reshape(-1, 3)
        return np.stack(
            [self.fx * p[:, 0] / p[:, 2] + self.cx, self.fy * p[:, 1] / p[:, 2] + self.cy],
            axis=1,
        )

    def deproject(self, uv: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) and depths (N,) -> 3D points (N, 3) in the depths' unit (pinhole)."""
        self._require_pinhole()
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        z = np.asarray(z, dtype=np.float64).reshape(-1)
        return np.stack(
            [(uv[:, 0] - self.cx) / self.fx * z, (uv[:, 1] - self.cy) / self.fy * z, z], axis=1
        )

    def as_matrix(self) -> np.ndarray:
        """The 3 x 3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])
