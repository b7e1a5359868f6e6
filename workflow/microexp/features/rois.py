"""36 facial regions of interest (ROIs) from 68 landmarks, the CAS(ME)^2 LBP-TOP variant.

CAS(ME)^2 section 3 (Fig. 2) draws 36 ROIs from the 68 landmarks of each clip's first frame
(following Liu / Wang et al., "Main directional mean optical flow", ROIs chosen by FACS action
units) and concatenates one LBP-TOP histogram per ROI; docs/methods.md#rois-and-tim. The paper gives
the ROIs only as a figure, so the exact polygons are a Choice, written down here:

* 17 regions on each half of the face plus 2 on the midline = 36. Each region is the convex hull
  of a few landmarks (iBUG 68-point indices, 0-based) and of points derived from them with the
  face's own units: d = distance between the inner eye corners (39, 42), ``side`` = unit vector
  from 39 to 42, ``up`` = ``side`` turned to point at the forehead, ``out`` = away from the
  midline on the half being built. The left half is the mirror of the right half: the same
  recipe with mirrored landmark indices (``MIRROR_68``) and ``out`` flipped, so a symmetric
  landmark set gives mirror-image masks.
* Regions by FACS muscle: forehead lateral / medial (AU2 / AU1), brow lateral / medial (AU4,
  brow lowering), upper eyelid (AU5/43), lateral canthus (crow's feet, AU6), lower eyelid
  lateral / medial (AU6/AU7), upper cheek lateral / medial (AU6), nose side (AU9), nasolabial
  fold (AU10/11), lower cheek (AU14/20), upper lip (AU10), mouth corner (AU12/15),
  lower lip (AU15/16), chin lateral (AU17); midline: glabella (AU4, procerus), chin (AU17).
  Nose tip and eyes themselves (rigid or blinking) are left out.
* A pixel (centre at integer coordinates (x, y) of the aligned crop) belongs to an ROI when it
  lies inside or on the hull. ROIs are clipped to the crop; neighbouring ROIs may share a few
  pixels, which then count in both (as block overlaps do). An ROI outside the crop is empty and
  gets an all-zero histogram.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from microexp.features.blocks import IntegralHistograms, integral_histograms
from microexp.features.lbptop import PlaneCodes

# iBUG 68-point left/right mirror permutation (jaw, brows, nose, eyes, outer and inner lips).
MIRROR_68: tuple[int, ...] = tuple(
    [16 - i for i in range(17)]
    + [26, 25, 24, 23, 22, 21, 20, 19, 18, 17]
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)

Point = np.ndarray
HalfFace = Callable[[int], Point]

_HALF_FACE_NAMES: tuple[str, ...] = (
    "forehead_lateral",
    "forehead_medial",
    "brow_lateral",
    "brow_medial",
    "upper_eyelid",
    "lateral_canthus",
    "lower_eyelid_lateral",
    "lower_eyelid_medial",
    "cheek_upper_lateral",
    "cheek_upper_medial",
    "nose_side",
    "nasolabial",
    "cheek_lower",
    "upper_lip",
    "mouth_corner",
    "lower_lip",
    "chin_lateral",
)
_MIDLINE_NAMES: tuple[str, ...] = ("glabella", "chin")

# Subject's right (image left, eye 36-41) first, then subject's left, then the midline.
ROI_NAMES: tuple[str, ...] = (
    tuple(f"right_{name}" for name in _HALF_FACE_NAMES)
    + tuple(f"left_{name}" for name in _HALF_FACE_NAMES)
    + _MIDLINE_NAMES
)
N_ROIS = len(ROI_NAMES)
# (right ROI index, left ROI index) pairs that mirror each other.
ROI_MIRROR_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (k, k + len(_HALF_FACE_NAMES)) for k in range(len(_HALF_FACE_NAMES))
)


def _face_axes(landmarks: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(d, side, up): inner-eye-corner distance and the face's lateral and upward unit vectors."""
    between_eyes = landmarks[42] - landmarks[39]
    d = float(np.hypot(*between_eyes))
    if not d > 0:
        raise ValueError("inner eye corners 39 and 42 coincide; cannot place ROIs")
    side = between_eyes / d
    up = np.array([side[1], -side[0]])  # image y points down, so "up" is side turned by -90 deg
    return d, side, up


def _half_face_regions(lm: HalfFace, u: Point, o: Point) -> list[np.ndarray]:
    """Point sets of the 17 half-face ROIs, written for the subject's right half.

    ``lm(i)`` is landmark i of that half (mirrored indices on the left half); ``u`` and ``o``
    are d * up and d * out.
    """

    def mid(i: int, j: int) -> Point:
        return (lm(i) + lm(j)) / 2

    lid = mid(40, 41)  # middle of the lower eyelid
    beside_nose = lm(31) + 0.3 * o  # lateral to the nose wing
    cheek_edge = (lm(2) + lm(31)) / 2
    regions = [
        [lm(17), lm(19), lm(19) + 0.4 * u, lm(17) + 0.4 * u],  # forehead_lateral
        [lm(19), lm(21), lm(21) + 0.4 * u, lm(19) + 0.4 * u],  # forehead_medial
        [lm(17), lm(18), lm(19), mid(19, 38), mid(18, 37), mid(17, 36)],  # brow_lateral
        [lm(19), lm(20), lm(21), mid(21, 39), mid(20, 38), mid(19, 38)],  # brow_medial
        [mid(17, 36), mid(19, 38), mid(21, 39), lm(39), lm(38), lm(37), lm(36)],  # upper_eyelid
        [lm(17), lm(36), lm(41), lm(1), lm(0)],  # lateral_canthus
        [lm(36), lm(41), lid, lid - 0.3 * u, lm(36) - 0.3 * u],  # lower_eyelid_lateral
        [lid, lm(40), lm(39), lm(39) - 0.3 * u, lid - 0.3 * u],  # lower_eyelid_medial
        [lm(36) - 0.3 * u, lid - 0.3 * u, lm(2), lm(1)],  # cheek_upper_lateral
        [lid - 0.3 * u, lm(39) - 0.3 * u, beside_nose, cheek_edge],  # cheek_upper_medial
        [lm(28), lm(39) - 0.3 * u, beside_nose, lm(31), lm(30)],  # nose_side
        [beside_nose, lm(31), lm(48), lm(48) + 0.3 * o],  # nasolabial
        [lm(2), cheek_edge, beside_nose, lm(48) + 0.3 * o, lm(4), lm(3)],  # cheek_lower
        [lm(31), lm(33), lm(51), lm(49), lm(48)],  # upper_lip
        [
            lm(48) + 0.2 * u,
            lm(48) - 0.2 * u,
            lm(48) + 0.3 * o - 0.2 * u,
            lm(48) + 0.3 * o + 0.2 * u,
        ],  # mouth_corner
        [lm(48), lm(59), lm(58), lm(57), lm(57) - 0.3 * u, lm(48) - 0.3 * u],  # lower_lip
        [lm(48) - 0.3 * u, lm(58) - 0.3 * u, lm(7), lm(6), lm(5)],  # chin_lateral
    ]
    return [np.array(points, dtype=np.float64) for points in regions]


def _midline_regions(landmarks: np.ndarray, u: Point) -> list[np.ndarray]:
    lm = landmarks
    regions = [
        [lm[21], lm[22], lm[22] + 0.4 * u, lm[21] + 0.4 * u, lm[27]],  # glabella
        [lm[58] - 0.3 * u, lm[56] - 0.3 * u, lm[9], lm[8], lm[7]],  # chin
    ]
    return [np.array(points, dtype=np.float64) for points in regions]


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Vertices of the convex hull of 2D points (Andrew's monotone chain), no repeats."""
    unique = np.unique(np.asarray(points, dtype=np.float64), axis=0)  # sorted by x, then y
    if len(unique) < 3:
        return unique

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    def chain(sequence: np.ndarray) -> list[np.ndarray]:
        hull: list[np.ndarray] = []
        for point in sequence:
            while len(hull) >= 2 and cross(hull[-2], hull[-1], point) <= 0:
                hull.pop()
            hull.append(point)
        return hull

    lower, upper = chain(unique), chain(unique[::-1])
    return np.array(lower[:-1] + upper[:-1])


def roi_polygons(landmarks68: np.ndarray) -> list[np.ndarray]:
    """The 36 ROIs as convex polygons (k, 2) in (x, y) crop coordinates, in ``ROI_NAMES`` order.

    ``landmarks68`` are the (68, 2) aligned landmarks (x, y) of the clip's first frame.
    """
    landmarks = np.asarray(landmarks68, dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"need (68, 2) landmarks, got shape {landmarks.shape}")
    if not np.isfinite(landmarks).all():
        raise ValueError("landmarks contain NaN or infinite values")
    d, side, up = _face_axes(landmarks)
    mirror = np.array(MIRROR_68)

    def right(i: int) -> Point:
        return landmarks[i]

    def left(i: int) -> Point:
        return landmarks[mirror[i]]

    regions = _half_face_regions(right, d * up, -d * side)
    regions += _half_face_regions(left, d * up, d * side)
    regions += _midline_regions(landmarks, d * up)
    return [convex_hull(points) for points in regions]


def polygon_mask(polygon: np.ndarray, crop_shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixel centres (integer x, y) inside or on a convex polygon."""
    height, width = crop_shape
    mask = np.zeros((height, width), dtype=bool)
    if len(polygon) < 3:
        return mask
    x_lo = max(int(np.floor(polygon[:, 0].min())), 0)
    x_hi = min(int(np.ceil(polygon[:, 0].max())), width - 1)
    y_lo = max(int(np.floor(polygon[:, 1].min())), 0)
    y_hi = min(int(np.ceil(polygon[:, 1].max())), height - 1)
    if x_lo > x_hi or y_lo > y_hi:
        return mask
    ys, xs = np.mgrid[y_lo : y_hi + 1, x_lo : x_hi + 1].astype(np.float64)
    area2 = np.sum(
        polygon[:, 0] * np.roll(polygon[:, 1], -1) - np.roll(polygon[:, 0], -1) * polygon[:, 1]
    )
    orientation = 1.0 if area2 > 0 else -1.0
    inside = np.ones(xs.shape, dtype=bool)
    for a, b in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        edge_cross = (b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0])
        # The tolerance makes "on the edge" count as inside, the same on mirrored polygons.
        inside &= orientation * edge_cross >= -1e-9 * np.hypot(*(b - a))
    mask[y_lo : y_hi + 1, x_lo : x_hi + 1] = inside
    return mask


def roi_masks(landmarks68: np.ndarray, crop_shape: tuple[int, int]) -> np.ndarray:
    """(36, H, W) bool pixel masks of the ROIs on the aligned crop (``ROI_NAMES`` order)."""
    return np.stack([polygon_mask(p, crop_shape) for p in roi_polygons(landmarks68)])


def roi_boxes(masks: np.ndarray) -> np.ndarray:
    """(n, 4) bounding boxes [y0, y1, x0, x1) (half-open) of masks; all -1 for empty masks."""
    boxes = np.full((masks.shape[0], 4), -1, dtype=np.intp)
    for k, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size:
            boxes[k] = [rows[0], rows[-1] + 1, cols[0], cols[-1] + 1]
    return boxes


def roi_histograms(
    source: PlaneCodes | IntegralHistograms, masks: np.ndarray, mapping: str = "u2"
) -> np.ndarray:
    """(S * n_rois, sum of n_bins) LBP-TOP histograms of the ROIs; each row [XY | XT | YT].

    ``source`` is one code pass (``lbptop_codes``; ``mapping`` then applies) or its integral
    histograms (their own mapping is used). An ROI's centre set is its mask intersected with
    the centre range (no padding); each plane part is normalised by its own sum, all-zero for
    an ROI without centres. CAS(ME)^2 section 3; docs/methods.md#rois-and-tim.
    """
    integral = source if isinstance(source, IntegralHistograms) else None
    if integral is None:
        integral = integral_histograms(source, mapping)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1:] != integral.crop_shape:
        raise ValueError(
            f"masks must be (n, H, W) with H, W = {integral.crop_shape}, got {masks.shape}"
        )
    b_x, b_y = integral.borders[0], integral.borders[1]  # the radii unless BorderLength given
    height, width = integral.crop_shape
    inside = masks[:, b_y : height - b_y, b_x : width - b_x].reshape(masks.shape[0], -1)
    inside = inside.astype(np.float64)
    planes = []
    for counts in integral.counts:
        n_segments, n_plane_bins = counts.shape[0], counts.shape[-1]
        flat = counts.reshape(n_segments, -1, n_plane_bins).astype(np.float64)
        # Exact: counts are integers far below 2^53.
        roi_counts = np.einsum("rp,spb->srb", inside, flat)
        totals = roi_counts.sum(axis=-1, keepdims=True)
        planes.append(
            np.divide(roi_counts, totals, out=np.zeros_like(roi_counts), where=totals > 0)
        )
    histograms = np.concatenate(planes, axis=-1)
    return histograms.reshape(-1, histograms.shape[-1])


def roi_features(
    source: PlaneCodes | IntegralHistograms, masks: np.ndarray, mapping: str = "u2"
) -> np.ndarray:
    """ROI histograms concatenated in ``ROI_NAMES`` order (CAS(ME)^2 section 3)."""
    return roi_histograms(source, masks, mapping).ravel()


def template_landmarks68(crop_shape: tuple[int, int] = (160, 160)) -> np.ndarray:
    """A left/right-symmetric, mean-face-like 68-point layout filling a crop, for QC and tests.

    Coordinates are (x, y) with pixel centres at integers; the face is mirror-symmetric about
    x = (W - 1) / 2, so that mirrored ROI masks are exact column flips.
    """
    # Subject's right half and midline on a unit face (x in [0, 0.5], y in [0, 1]).
    half = {
        0: (0.00, 0.20), 1: (0.005, 0.33), 2: (0.02, 0.46), 3: (0.05, 0.58), 4: (0.10, 0.70),
        5: (0.18, 0.80), 6: (0.27, 0.88), 7: (0.38, 0.94), 8: (0.50, 0.96),
        17: (0.08, 0.10), 18: (0.14, 0.06), 19: (0.22, 0.05), 20: (0.30, 0.06), 21: (0.38, 0.08),
        27: (0.50, 0.18), 28: (0.50, 0.26), 29: (0.50, 0.34), 30: (0.50, 0.42),
        31: (0.40, 0.48), 32: (0.45, 0.50), 33: (0.50, 0.51),
        36: (0.15, 0.21), 37: (0.21, 0.18), 38: (0.28, 0.18), 39: (0.34, 0.22),
        40: (0.28, 0.24), 41: (0.21, 0.24),
        48: (0.33, 0.68), 49: (0.39, 0.64), 50: (0.45, 0.62), 51: (0.50, 0.63),
        57: (0.50, 0.78), 58: (0.44, 0.77), 59: (0.38, 0.74),
        60: (0.35, 0.68), 61: (0.44, 0.66), 62: (0.50, 0.67), 66: (0.50, 0.70), 67: (0.44, 0.70),
    }  # fmt: skip
    height, width = crop_shape
    centre_x = (width - 1) / 2
    scale_x, scale_y = 0.84 * width, 0.80 * height
    top = 0.12 * height
    landmarks = np.zeros((68, 2))
    for index, (x, y) in half.items():
        # Quantised to 1/64 px so that mirroring is exact in binary floating point.
        px = np.round((centre_x + (x - 0.5) * scale_x) * 64) / 64
        py = np.round((top + y * scale_y) * 64) / 64
        landmarks[index] = (px, py)
        landmarks[MIRROR_68[index]] = (2 * centre_x - px, py)
    return landmarks
