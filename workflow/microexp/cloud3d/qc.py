"""The 3D stage's quality-control picture, one PNG per sample (DSME-3D 4.1.2).

What a person needs to trust a sample's 3D data at a glance: the depth around the face before
and after filtering (are holes filled, edges kept?), the cropped, registered face cloud from the
front and from the side (is it a face, is the crop centred on the nose?), and ICP fitness and
inlier RMSE per frame (did any frame register badly?). Matplotlib scatter projections, because
open3d's offscreen renderer needs a GPU/EGL that clusters lack.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes
import matplotlib.pyplot as plt
import numpy as np

from microexp.cloud3d.result import Cloud3DResult
from microexp.figurefile import save_figure_png

__all__ = ["plot_cloud3d_qc"]

# Enough points for a readable scatter, few enough for a small PNG.
_MAX_SCATTER = 12000


def _depth_panel(ax: plt.Axes, depth: np.ndarray, scale: float, title: str) -> None:
    mm = depth.astype(np.float64) * scale * 1000.0
    valid = mm > 0
    shown = np.where(valid, mm, np.nan)
    if valid.any():
        lo, hi = np.percentile(mm[valid], [2, 60])  # face depths, not the background
    else:
        lo, hi = 0.0, 1.0
    image = ax.imshow(shown, cmap="viridis", vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_title(f"{title}\nholes: {np.mean(~valid):.1%}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    plt.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="mm")


def _cloud_panel(
    ax: plt.Axes, points: np.ndarray, landmarks: np.ndarray, side: bool, title: str
) -> None:
    if len(points) > _MAX_SCATTER:
        # Deterministic thinning: every k-th point.
        points = points[:: int(np.ceil(len(points) / _MAX_SCATTER))]
    h, v = (2, 1) if side else (0, 1)
    ax.scatter(points[:, h], points[:, v], c=points[:, 2], s=0.3, cmap="viridis_r", linewidths=0)
    ok = np.all(np.isfinite(landmarks), axis=1)
    ax.scatter(landmarks[ok, h], landmarks[ok, v], s=6, c="red", linewidths=0)
    ax.set_aspect("equal")
    ax.invert_yaxis()  # image rows grow downward; keep the face upright
    ax.set_xlabel("z (mm)" if side else "x (mm)", fontsize=8)
    ax.set_ylabel("y (mm)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)


def plot_cloud3d_qc(path: str | os.PathLike[str], result: Cloud3DResult, title: str = "") -> None:
    """Write the QC PNG for one sample's `Cloud3DResult` to `path`."""
    t = result.qc_frame
    if result.offsets[t + 1] == result.offsets[t]:  # that frame's points were not kept
        sizes = np.diff(result.offsets)
        t = int(np.argmax(sizes > 0)) if (sizes > 0).any() else t
    points = result.frame_points(t)
    landmarks = result.landmarks3d[t]
    fig = plt.figure(figsize=(13, 7.5))
    grid = fig.add_gridspec(2, 4, height_ratios=[1.2, 1])
    _depth_panel(
        fig.add_subplot(grid[0, 0]),
        result.qc_depth_raw,
        result.depth_scale,
        f"depth, frame {result.qc_frame}, raw",
    )
    _depth_panel(
        fig.add_subplot(grid[0, 1]),
        result.qc_depth_filtered,
        result.depth_scale,
        "after spatial, temporal, hole filling",
    )
    _cloud_panel(
        fig.add_subplot(grid[0, 2]),
        points,
        landmarks,
        False,
        f"face cloud, frame {t} ({len(points)} points), front",
    )
    _cloud_panel(fig.add_subplot(grid[0, 3]), points, landmarks, True, "side")
    frames = np.arange(result.n_frames)
    ax = fig.add_subplot(grid[1, :2])
    ax.plot(frames[1:], result.inlier_rmse[1:], "o-", ms=3)
    ax.set_xlabel("frame (clip index)")
    ax.set_ylabel("ICP inlier RMSE (mm)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(grid[1, 2:])
    ax.plot(frames[1:], result.fitness[1:], "o-", ms=3, color="tab:green")
    ax.set_xlabel("frame (clip index)")
    ax.set_ylabel("ICP fitness (share of points matched)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.suptitle(title or "3D face stage QC", fontsize=11)
    # Fixed margins: tight_layout measures every label by drawing the figure once more
    # (40 % of the picture's CPU).
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.07, top=0.9, wspace=0.6, hspace=0.3)
    save_figure_png(fig, path, dpi=90)
    plt.close(fig)
