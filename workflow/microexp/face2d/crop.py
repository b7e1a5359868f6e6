"""The face crop in the aligned frame: the 6 x 6 block layout and one warp per clip
(docs/methods.md#2d-face).

DSME-3D 4.1.1 (after its ref. [50]) sizes the face box from the first frame's calibrated inner
eye corners (68-pt 39, 42) and nasal spine (33): "a 6 x 6 block size based on the horizontal
[distance] between the inner eye corners and [the] vertical distance between the nasal spine and
the line connecting the inner eye corners" (Fig. 4). The paper gives no multiples. Choice
(docs/methods.md#2d-face): in the aligned frame, with

    u_x = distance between the aligned inner eye corners (= the canonical distance),
    u_y = distance from the aligned nasal spine to the line through the aligned eye corners,
    m   = midpoint of the aligned inner eye corners,

the box is x in [m_x - left u_x, m_x + right u_x], y in [m_y - up u_y, m_y + down u_y], with
``left, right, up, down`` from config. The 6 x 6 layout is that box cut into 6 equal columns and
6 equal rows (what the QC picture draws); the defaults (2, 2, 1, 3) make each block 2/3 u_x wide
and 2/3 u_y high and keep both brows and the chin inside on the synthetic faces (tested).

The box is resampled to a fixed output size (height, width): its edges go to the outer edges of
the output's border pixels, i.e. x_out = (x - x0) w / (x1 - x0) - 1/2 (the same for y). Because
u_y varies between people while u_x is fixed by the alignment, the vertical scale is per
subject: the output normalises face proportions, as the unit-based layout intends. Image ->
aligned frame -> output is one affine per clip, so each frame is warped once (bilinear).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from microexp.face2d.align import apply_affine, compose_affine, invert_affine
from microexp.face2d.landmarks import INNER_EYE_CORNERS, NASAL_SPINE

__all__ = [
    "BLOCK_LAYOUT",
    "CropLayout",
    "FaceBox",
    "box_to_output",
    "crop_outside_fraction",
    "crop_transform",
    "face_box",
    "layout_lines",
    "mean_difference_image",
    "warp_clip",
]

# DSME-3D Fig. 4: the face box is a 6 x 6 block structure.
BLOCK_LAYOUT = (6, 6)


@dataclass(frozen=True)
class CropLayout:
    """How many units the face box extends from the eye-corner midpoint, and the output size.

    left/right in inner-eye-corner distances, up/down in eye-line-to-nasal-spine distances;
    output_size is (height, width) in pixels.
    """

    left: float = 2.0
    right: float = 2.0
    up: float = 1.0
    down: float = 3.0
    output_size: tuple[int, int] = (168, 168)

    def __post_init__(self) -> None:
        if min(self.left, self.right, self.up, self.down) < 0 or not (
            self.left + self.right > 0 and self.up + self.down > 0
        ):
            raise ValueError(f"crop multiples must be >= 0 with a positive extent: {self}")
        h, w = self.output_size
        if int(h) != h or int(w) != w or h < 8 or w < 8:
            raise ValueError(f"output_size must be (height, width) >= 8 pixels, got {h, w}")
        object.__setattr__(self, "output_size", (int(h), int(w)))


@dataclass(frozen=True)
class FaceBox:
    """The face box in the aligned frame: (x0, y0, x1, y1) and its units (u_x, u_y)."""

    x0: float
    y0: float
    x1: float
    y1: float
    unit_x: float
    unit_y: float

    def as_array(self) -> np.ndarray:
        return np.array([self.x0, self.y0, self.x1, self.y1], dtype=np.float64)


def face_box(aligned_landmarks68: np.ndarray, layout: CropLayout) -> FaceBox:
    """The face box from first-frame landmarks already in the aligned frame.

    Expects level eye corners (the canonical positions share y) with 39 left of 42; raises
    ValueError when the nasal spine is not below the eye line (no upright face).
    """
    lm = np.asarray(aligned_landmarks68, dtype=np.float64)
    right_eye, left_eye = lm[INNER_EYE_CORNERS[0]], lm[INNER_EYE_CORNERS[1]]
    axis = left_eye - right_eye
    unit_x = float(np.hypot(*axis))
    if unit_x <= 0:
        raise ValueError("inner eye corners coincide")
    # Signed distance of the nasal spine below the eye line (positive = below, y down).
    normal = np.array([-axis[1], axis[0]]) / unit_x
    unit_y = float(normal @ (lm[NASAL_SPINE] - right_eye))
    if unit_y <= 0:
        raise ValueError(f"the nasal spine is not below the eye line (distance {unit_y:.2f})")
    mid = (right_eye + left_eye) / 2.0
    return FaceBox(
        x0=float(mid[0] - layout.left * unit_x),
        y0=float(mid[1] - layout.up * unit_y),
        x1=float(mid[0] + layout.right * unit_x),
        y1=float(mid[1] + layout.down * unit_y),
        unit_x=unit_x,
        unit_y=unit_y,
    )


def box_to_output(box: FaceBox, output_size: tuple[int, int]) -> np.ndarray:
    """Affine (2, 3) from the aligned frame to output pixels: box edges -> outer pixel edges."""
    h, w = output_size
    kx = w / (box.x1 - box.x0)
    ky = h / (box.y1 - box.y0)
    return np.array([[kx, 0.0, -box.x0 * kx - 0.5], [0.0, ky, -box.y0 * ky - 0.5]])


def crop_outside_fraction(
    image_to_output: np.ndarray, output_size: tuple[int, int], image_shape: tuple[int, int]
) -> float:
    """Share of the output crop's area that falls outside the image (0 = fully inside)."""
    h, w = output_size
    corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    quad = apply_affine(invert_affine(image_to_output), corners).astype(np.float32)
    rows, cols = image_shape[:2]
    frame = np.array(
        [[-0.5, -0.5], [cols - 0.5, -0.5], [cols - 0.5, rows - 0.5], [-0.5, rows - 0.5]],
        dtype=np.float32,
    )
    area = abs(cv2.contourArea(quad))
    if area <= 0:
        return 1.0
    inside, _ = cv2.intersectConvexConvex(quad, frame)
    return float(np.clip(1.0 - inside / area, 0.0, 1.0))


def crop_transform(alignment: np.ndarray, box: FaceBox, output_size: tuple[int, int]) -> np.ndarray:
    """Image -> output crop: the alignment similarity followed by the box resampling."""
    return compose_affine(box_to_output(box, output_size), alignment)


def warp_clip(
    gray_clip: np.ndarray, image_to_output: np.ndarray, output_size: tuple[int, int]
) -> np.ndarray:
    """Every frame of a gray clip (T, H, W) warped by one affine to a (T, h, w) uint8 volume.

    Bilinear; pixels that map outside the image repeat the border (the stage rejects crops that
    leave the image by more than its tolerance, so this only touches a sliver).
    """
    h, w = output_size
    out = np.empty((len(gray_clip), h, w), dtype=np.uint8)
    matrix = np.asarray(image_to_output, dtype=np.float64)
    for t, frame in enumerate(gray_clip):
        cv2.warpAffine(
            frame, matrix, (w, h), dst=out[t], flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
    return out


def mean_difference_image(volume: np.ndarray, reference: int) -> np.ndarray:
    """Mean over all frames of |frame - frame[reference]| (float32 (h, w)).

    docs/methods.md#landmark-histograms: on the aligned gray volume with the onset as reference, it
    weights the curvature landmarks and shows in the QC picture where the face moved.
    """
    volume = np.asarray(volume)
    if volume.ndim != 3 or not 0 <= reference < len(volume):
        raise ValueError(f"need a (T, h, w) volume and a frame index in it, got {volume.shape}")
    base = volume[reference].astype(np.float32)
    total = np.zeros_like(base)
    for frame in volume:  # frame by frame: a float copy of the whole volume is not needed
        total += np.abs(frame.astype(np.float32) - base)
    return total / np.float32(len(volume))


def layout_lines(
    output_size: tuple[int, int], blocks: tuple[int, int] = BLOCK_LAYOUT
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in output pixel coordinates) of the block layout's inner lines: (xs, ys)."""
    h, w = output_size
    rows, cols = blocks
    xs = np.array([j * w / cols - 0.5 for j in range(1, cols)])
    ys = np.array([i * h / rows - 0.5 for i in range(1, rows)])
    return xs, ys
