"""The flow stage's quality-control picture, one PNG per sample (docs/flow.md).

Beside the onset and apex faces: the flow in the usual colour-wheel coding (hue = direction,
saturation = magnitude relative to the sample's largest; the wheel is drawn as the legend), the
optical strain magnitude and the three 28 x 28 network input channels. A person sees at a glance
whether the motion sits where the expression is (brows, mouth corners) or is spread over the
face (residual head motion, a bad alignment).
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes
import matplotlib.pyplot as plt
import numpy as np

from microexp.figurefile import save_figure_png

__all__ = ["flow_to_rgb", "plot_flow_qc"]


def flow_to_rgb(u: np.ndarray, v: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """(h, w, 3) float RGB in [0, 1]: hue = direction of (u, v) (0 = +x, red, turning through
    +y = down), saturation = magnitude / ``max_magnitude`` (default: the field's largest), value 1
    (no motion is white)."""
    from matplotlib.colors import hsv_to_rgb

    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    magnitude = np.hypot(u, v)
    scale = float(max_magnitude) if max_magnitude else float(magnitude.max())
    saturation = np.clip(magnitude / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(u)
    hue = (np.arctan2(v, u) / (2 * np.pi)) % 1.0
    return hsv_to_rgb(np.stack([hue, saturation, np.ones_like(u)], axis=-1))


def _wheel(size: int = 65) -> np.ndarray:
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    rgb = flow_to_rgb(x, y, 1.0)
    rgb[np.hypot(x, y) > 1] = 1.0
    return rgb


def plot_flow_qc(
    onset: np.ndarray,
    apex: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    strain: np.ndarray,
    network_input: np.ndarray,
    path: str | os.PathLike[str],
    title: str,
) -> None:
    """Write the QC picture (PNG) of one sample's flow."""
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.6))
    magnitude = np.hypot(u, v)
    panels = [
        (onset, "onset (aligned crop)", "gray"),
        (apex, "apex", "gray"),
        (flow_to_rgb(u, v), f"TV-L1 flow, max {magnitude.max():.2f} px", None),
        (strain, f"optical strain, max {strain.max():.3f}", "magma"),
    ]
    for ax, (image, label, cmap) in zip(axes[0], panels, strict=True):
        ax.imshow(image, cmap=cmap)
        ax.set_title(label, fontsize=9)
    inset = axes[0, 2].inset_axes((0.78, 0.78, 0.22, 0.22))
    inset.imshow(_wheel())
    inset.set_axis_off()
    for ax, channel, label in zip(
        axes[1, :3], network_input, ("input u", "input v", "input strain"), strict=True
    ):
        ax.imshow(channel, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{label} (28 x 28, 0-255)", fontsize=9)
    axes[1, 3].hist(magnitude.ravel(), bins=50, color="0.3")
    axes[1, 3].set_title("flow magnitude (px)", fontsize=9)
    axes[1, 3].set_yscale("log")
    for ax in [*axes[0], *axes[1, :3]]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    # Fixed margins (tight_layout's for this layout), not tight_layout: it draws the figure once
    # more to measure the labels.
    fig.subplots_adjust(left=0.015, right=0.985, bottom=0.07, top=0.89, wspace=0.35, hspace=0.16)
    save_figure_png(fig, path, dpi=80)
    plt.close(fig)
