"""Features (docs/methods.md): LBP-TOP with the reference conventions, block grids and ROIs from one
code pass, TIM; principal curvatures, shape index, HK types, per-landmark histograms.

The entry points are re-exported here (`microexp.features.lbptop(volume, ...)`); the
submodules hold the rest (`microexp.features.blocks`, `.rois`, `.tim`, ...). Note that the
name `lbptop` here is the function; import the module's other names from it directly
(`from microexp.features.lbptop import lbptop_codes`).
"""

from importlib import import_module
from typing import Any

# `lbptop` is imported here, not lazily: the submodule of the same name would otherwise shadow
# the function once anything imports `microexp.features.lbptop`.
from microexp.features.lbptop import lbptop

# The other entry points load on first use: the curvature kernels and scipy.spatial, or the
# depth-flow code, are not needed by an LBP-TOP job (importing them cost ~0.7 s per job).
_LAZY = {
    "depth_flow": "microexp.features.lk3d",
    "depth_range": "microexp.features.rgbd",
    "hk_type": "microexp.features.curvature",
    "principal_curvatures": "microexp.features.curvature",
    "rgbd_tensor": "microexp.features.rgbd",
    "shape_index": "microexp.features.curvature",
    "shape_index_bin": "microexp.features.curvature",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "depth_flow",
    "depth_range",
    "hk_type",
    "lbptop",
    "principal_curvatures",
    "rgbd_tensor",
    "shape_index",
    "shape_index_bin",
]
