"""Writing a matplotlib figure as PNG, as every stage's QC picture is written (docs/layout.md).

Why not ``Figure.savefig``: it encodes RGBA at zlib level 6 (or what ``pil_kwargs`` asks
through Pillow), and that encoding was up to 40 % of a QC picture's CPU (~0.18 of ~0.43 s for
the 1170 x 765 face2d picture). The figures are opaque, so the alpha plane carries nothing:
RGB at level 1 through OpenCV's encoder takes a fraction of that for a file of about the same
size, with the same pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

__all__ = ["save_figure_png"]


def save_figure_png(fig, path: str | os.PathLike[str], dpi: float) -> None:
    """Write the matplotlib figure ``fig`` as an 8-bit RGB PNG at ``dpi`` (zlib level 1): the
    pixels ``fig.savefig(path, dpi=dpi)`` draws on an opaque figure. Creates the folder."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    bgr = cv2.cvtColor(np.asarray(fig.canvas.buffer_rgba()), cv2.COLOR_RGBA2BGR)
    ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError(f"PNG encoding failed for {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.tobytes())
