"""The 2D stage's quality-control picture, one PNG per sample (DSME-3D 4.1.1).

What a person needs to trust a sample's 2D data at a glance: the onset and apex frames with
their landmarks (are they on the face? the 49-point set and the 19 extra points apart) and the
crop outline; the aligned crop with the 6 x 6 block layout (DSME-3D Fig. 4) and a 5 x 5
feature grid (the grid of docs/methods.md#lbp-top, by its block formula) drawn over it (are both
brows and the chin inside?); the mean-difference image (mean over frames of |frame - onset| on the
aligned volume: where did the face move?); and the per-frame fit quality with re-detected frames
marked."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes
import matplotlib.pyplot as plt
import numpy as np

from microexp.face2d.align import apply_affine, invert_affine
from microexp.face2d.crop import BLOCK_LAYOUT, layout_lines, mean_difference_image
from microexp.face2d.landmarks import INNER_EYE_CORNERS, LANDMARKS49
from microexp.face2d.result import Face2DResult
from microexp.figurefile import save_figure_png
from microexp.grids import block_bounds

__all__ = ["QC_FEATURE_GRID", "plot_face2d_qc"]

QC_FEATURE_GRID = (5, 5)
_EXTRA = tuple(i for i in range(68) if i not in LANDMARKS49)  # jaw 0-16, inner mouth 60, 64


def _crop_outline(result: Face2DResult) -> np.ndarray:
    """The output crop's border in image pixels (closed polygon, (5, 2))."""
    h, w = result.crop_size
    corners = np.array(
        [[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5], [-0.5, -0.5]]
    )
    return apply_affine(invert_affine(result.crop_transform), corners)


def _frame_panel(ax: plt.Axes, color: np.ndarray, result: Face2DResult, t: int, label: str):
    outline = _crop_outline(result)
    lo = np.floor(outline.min(axis=0) - 20).astype(int)
    hi = np.ceil(outline.max(axis=0) + 20).astype(int)
    rows, cols = color.shape[1:3]
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], cols), min(hi[1], rows)
    ax.imshow(color[t, y0:y1, x0:x1], extent=(x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5))
    lm = result.landmarks68[t]
    ax.plot(*outline.T, color="yellow", lw=0.8)
    ax.scatter(*lm[list(LANDMARKS49)].T, s=4, c="lime", label="49 points")
    ax.scatter(*lm[list(_EXTRA)].T, s=4, c="magenta", label="jaw, inner mouth corners")
    how = "detected" if result.detected[t] else "tracked"
    ax.set_title(f"{label} (frame {t}, {how})", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _grid_panel(ax: plt.Axes, result: Face2DResult, t: int, label: str) -> None:
    h, w = result.crop_size
    ax.imshow(result.aligned_gray[t], cmap="gray", vmin=0, vmax=255)
    xs, ys = layout_lines((h, w), BLOCK_LAYOUT)
    for x in xs:
        ax.axvline(x, color="yellow", lw=0.8)
    for y in ys:
        ax.axhline(y, color="yellow", lw=0.8)
    rows, cols = QC_FEATURE_GRID
    for start, _ in block_bounds(h, rows, 0)[1:]:
        ax.axhline(start - 0.5, color="cyan", lw=0.6, ls="--")
    for start, _ in block_bounds(w, cols, 0)[1:]:
        ax.axvline(start - 0.5, color="cyan", lw=0.6, ls="--")
    lm = result.aligned_landmarks[t]
    ax.scatter(*lm.T, s=3, c="lime")
    ax.scatter(*lm[list(INNER_EYE_CORNERS)].T, s=12, c="red", marker="x")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_title(
        f"{label}, aligned {h} x {w}\n6 x 6 layout (yellow), {rows} x {cols} grid (cyan)",
        fontsize=9,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _difference_panel(ax: plt.Axes, fig: plt.Figure, result: Face2DResult) -> None:
    difference = mean_difference_image(result.aligned_gray, result.onset)
    image = ax.imshow(difference, cmap="magma")
    ax.scatter(*result.aligned_landmarks[result.onset].T, s=2, c="cyan", alpha=0.5)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    ax.set_title("mean |frame - onset| (gray levels)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _quality_panel(ax: plt.Axes, result: Face2DResult) -> None:
    frames = np.arange(result.n_frames)
    ax.plot(frames, result.appearance_ncc, color="tab:blue", label="appearance NCC")
    ax.set_ylim(min(0.0, float(np.min(result.appearance_ncc))), 1.05)
    ax.set_xlabel("clip frame")
    ax.set_ylabel("NCC with frame 0", color="tab:blue", fontsize=8)
    twin = ax.twinx()
    twin.plot(frames, result.landmark_jump, color="tab:orange", label="landmark jump")
    twin.set_ylabel("median jump / eye-corner dist.", color="tab:orange", fontsize=8)
    for t in np.flatnonzero(result.detected):
        ax.axvline(t, color="grey", lw=0.6, ls=":")
    for t, name in ((result.onset, "onset"), (result.apex, "apex")):
        ax.axvline(t, color="green", lw=0.8)
        ax.text(t, 1.0, name, fontsize=7, color="green", rotation=90, va="top")
    ax.set_title(
        f"fit quality; detector ran on frames {np.flatnonzero(result.detected)}", fontsize=9
    )


def plot_face2d_qc(
    color: np.ndarray, result: Face2DResult, path: str | os.PathLike[str], title: str = ""
) -> None:
    """Write the QC PNG of one sample (``color`` is the clip the result was computed from)."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 8.5))
    _frame_panel(axes[0, 0], color, result, result.onset, "onset")
    _frame_panel(axes[0, 1], color, result, result.apex, "apex")
    axes[0, 1].legend(loc="lower right", fontsize=7, markerscale=2)
    _quality_panel(axes[0, 2], result)
    _grid_panel(axes[1, 0], result, result.onset, "onset")
    _grid_panel(axes[1, 1], result, result.apex, "apex")
    _difference_panel(axes[1, 2], fig, result)
    ux, uy = result.crop_units
    fig.suptitle(
        f"{title}  face2d: {result.n_frames} frames, crop units u_x {ux:.1f} / u_y {uy:.1f} "
        "(aligned px)",
        fontsize=10,
    )
    # Fixed margins (tight_layout's for this layout): tight_layout measures every label by
    # drawing the figure once more.
    fig.subplots_adjust(left=0.015, right=0.94, bottom=0.02, top=0.9, wspace=0.18, hspace=0.26)
    save_figure_png(fig, path, dpi=90)
    plt.close(fig)
