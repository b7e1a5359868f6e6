"""The depth_flow stage's quality-control picture, one PNG per sample (docs/depth_flow.md).

What a person needs to trust a sample's depth flow at a glance: the onset gray crop and its
depth crop with the tensor's near/far limits (is the face inside the range? where are the
holes?), the depth flow at the onset face surface as arrows over the face (in-plane part) and as
a colour map of its depth part, and the 2D optical flow of the same crops for comparison.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes
import matplotlib.pyplot as plt
import numpy as np

from microexp.features.depth_sample import DepthFlowResult
from microexp.figurefile import save_figure_png

__all__ = ["plot_depth_flow_qc"]

_STEP = 8  # pixels between arrows


def _arrows(ax: plt.Axes, rows: np.ndarray, cols: np.ndarray, valid: np.ndarray, color: str):
    h, w = rows.shape
    y, x = np.mgrid[_STEP // 2 : h : _STEP, _STEP // 2 : w : _STEP]
    keep = valid[y, x]
    ax.quiver(
        x[keep], y[keep], cols[y, x][keep], rows[y, x][keep],
        color=color, angles="xy", scale_units="xy", scale=0.25, width=0.004,
    )  # fmt: skip


def plot_depth_flow_qc(
    path: str | Path, gray_onset: np.ndarray, result: DepthFlowResult, title: str
) -> None:
    """Write the QC picture of one sample's depth flow."""
    depth = result.depth_onset.astype(float)
    valid = (depth > result.near) & (depth <= result.far)
    flow = result.surface_flow
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.6))
    # Fixed margins: bbox_inches="tight" measures the figure by drawing it once more.
    fig.subplots_adjust(left=0.01, right=0.96, bottom=0.02, top=0.88, wspace=0.45)
    axes[0].imshow(gray_onset, cmap="gray")
    axes[0].set_title("onset gray crop", fontsize=9)
    shown = np.where(depth > 0, depth, np.nan)
    im = axes[1].imshow(shown, cmap="viridis", vmin=result.near, vmax=result.far)
    fig.colorbar(im, ax=axes[1], fraction=0.046, label="depth units")
    axes[1].set_title(
        f"onset depth crop: near {result.near}, far {result.far} "
        f"({result.far - result.near + 1} bins)",
        fontsize=9,
    )
    axes[2].imshow(gray_onset, cmap="gray", alpha=0.6)
    _arrows(axes[2], flow[..., 1], flow[..., 0], valid, "red")  # (uy rows, ux columns)
    uz = np.where(valid, flow[..., 2], np.nan)
    limit = max(float(np.nanpercentile(np.abs(uz), 98)) if np.any(valid) else 0.0, 1e-3)
    im = axes[2].imshow(uz, cmap="coolwarm", vmin=-limit, vmax=limit, alpha=0.5)
    fig.colorbar(im, ax=axes[2], fraction=0.046, label="depth part (bins, + = away)")
    skipped = result.windows_skipped / max(result.windows, 1)
    axes[2].set_title(f"depth flow at the face surface ({skipped:.0%} windows empty)", fontsize=9)
    axes[3].imshow(gray_onset, cmap="gray")
    _arrows(axes[3], result.flow2d[..., 1], result.flow2d[..., 0], np.ones_like(valid), "lime")
    axes[3].set_title("2D optical flow onset -> apex", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=11)
    save_figure_png(fig, path, dpi=80)
    plt.close(fig)
