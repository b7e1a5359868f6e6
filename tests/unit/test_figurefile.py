"""save_figure_png writes the pixels Figure.savefig draws (published convention: PNG, 8-bit
RGB), checked on a figure with an image, lines, text and a colour bar."""

from __future__ import annotations

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from microexp.figurefile import save_figure_png


def test_same_pixels_as_savefig_and_rgb(tmp_path):
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, 2, figsize=(5, 3))
    image = axes[0].imshow(rng.random((20, 30)), cmap="magma")
    fig.colorbar(image, ax=axes[0])
    axes[1].plot(np.sin(np.linspace(0, 6, 50)), "o-", ms=2)
    axes[1].set_title("flow magnitude (px)")
    fig.suptitle("sample 1_1")
    save_figure_png(fig, tmp_path / "sub" / "ours.png", dpi=70)
    fig.savefig(tmp_path / "reference.png", dpi=70)
    plt.close(fig)
    ours = cv2.imread(str(tmp_path / "sub" / "ours.png"), cv2.IMREAD_UNCHANGED)
    reference = cv2.imread(str(tmp_path / "reference.png"), cv2.IMREAD_UNCHANGED)
    assert ours.shape == (3 * 70, 5 * 70, 3)  # RGB, no alpha plane
    assert reference.shape == (*ours.shape[:2], 4)
    assert (reference[..., 3] == 255).all()  # opaque: the alpha plane carried nothing
    assert np.array_equal(ours, reference[..., :3])
    assert len(np.unique(ours.reshape(-1, 3), axis=0)) > 100  # a real picture, not blank
