"""Onset-to-apex TV-L1 optical flow and optical strain (docs/flow.md).

TV-L1 (Zach, Pock and Bischof 2007; Wedel et al. 2009) is the flow the deep micro-expression
baselines are published on (STSTNet, OFF-ApexNet: Liong et al. 2019, Gan et al. 2019). It comes
from scikit-image's ``optical_flow_tvl1``: the pinned OpenCV (opencv-python-headless 5.0) has no
``optflow`` module (its DualTVL1 lives in opencv-contrib), and scikit-image is already a
dependency. scikit-image's defaults (5 warps x 10 iterations per pyramid level) cost ~250 ms on
a 168 x 168 crop, mostly NumPy call overhead on small arrays (the cost grows with warps x
iterations). 2 warps x 3 iterations recover a known smooth sub-pixel motion on a face crop as
well (endpoint error 0.033 px, against 0.031 px with 2 x 5 and 0.034 px with 5 x 10,
benchmarks/bench_flow.py) within the stage's 50 ms per sample, so they are the defaults here
(config ``flow.tvl1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TVL1Params", "optical_strain", "tvl1_flow"]


@dataclass(frozen=True)
class TVL1Params:
    """scikit-image ``optical_flow_tvl1`` settings (its argument names)."""

    attachment: float = 15.0
    tightness: float = 0.3
    num_warp: int = 2
    num_iter: int = 3
    tol: float = 1e-4


def tvl1_flow(
    onset: np.ndarray, apex: np.ndarray, params: TVL1Params | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Flow (u, v) in pixels from the onset to the apex frame, so that apex(p + f(p)) ~ onset(p).

    ``onset``, ``apex``: 2D gray images of one shape (uint8 0-255 or float 0-1). Returns float32
    u (horizontal, +x to the right) and v (vertical, +y down), each of the image's shape.
    """
    from skimage.registration import optical_flow_tvl1

    params = params or TVL1Params()
    a = _as_unit_float(onset)
    b = _as_unit_float(apex)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"onset and apex must be 2D images of one shape: {a.shape}, {b.shape}")
    v, u = optical_flow_tvl1(
        a,
        b,
        attachment=params.attachment,
        tightness=params.tightness,
        num_warp=params.num_warp,
        num_iter=params.num_iter,
        tol=params.tol,
        dtype=np.float32,
    )
    return u.astype(np.float32), v.astype(np.float32)


def _as_unit_float(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return image.astype(np.float32)


def optical_strain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Optical strain magnitude of a flow field (Shreve et al. 2011; Liong et al. 2019).

    The strain tensor is eps = (grad f + grad f^T) / 2 with f = (u, v); its magnitude is
    sqrt(eps_xx^2 + eps_yy^2 + eps_xy^2 + eps_yx^2) = sqrt(u_x^2 + v_y^2 + (u_y + v_x)^2 / 2),
    derivatives by central differences (one-sided at the borders, ``numpy.gradient``).
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u_y, u_x = np.gradient(u)
    v_y, v_x = np.gradient(v)
    shear = 0.5 * (u_y + v_x)
    return np.sqrt(u_x**2 + v_y**2 + 2.0 * shear**2).astype(np.float32)
