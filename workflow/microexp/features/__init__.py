"""Features (docs/methods.md): LBP-TOP with the reference conventions, block grids and ROIs from one
code pass, TIM; principal curvatures, shape index, HK types, per-landmark histograms.

The entry points are re-exported here (`microexp.features.lbptop(volume, ...)`); the
submodules hold the rest (`microexp.features.blocks`, `.rois`, `.tim`, ...). Note that the
name `lbptop` here is the function; import the module's other names from it directly
(`from microexp.features.lbptop import lbptop_codes`).
"""

from microexp.features.curvature import hk_type, principal_curvatures, shape_index, shape_index_bin
from microexp.features.lbptop import lbptop
from microexp.features.lk3d import depth_flow
from microexp.features.rgbd import depth_range, rgbd_tensor

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
