"""Per-landmark shape-index and HK-type histograms, weighted by 2D motion
(docs/methods.md#landmark-histograms).

DSME-3D 4.2.4: around each of 23 motion-relevant 3D landmarks, a sphere of radius r; the feature
of a landmark in a frame is the 9-bin histogram of the Dorai-Jain shape-index bins (Eq. 7) and the
9-bin histogram of Besl-Jain HK types (Eq. 8) of the vertices inside the sphere, divided by their
number M. Each landmark's histograms are weighted by the mean intensity of the 2D mean-difference
image in a small disc around the landmark (Eqs. 9-10). Choice (docs/methods.md#landmark-histograms):
the frames are onset and apex, and a sample's descriptor is [weighted onset histograms, weighted
apex histograms] over the 23 landmarks, i.e. 2 x 23 x 9 values for SI and as many for HK.

Vertex bookkeeping (the same for every landmark and frame):
- M counts the sphere's vertices that have a curvature. Vertices whose curvature is undefined
  (NaN: too few neighbours within the curvature radius, e.g. at holes and the crop border) carry
  no shape: they are left out of both histograms and of M, and counted in `undefined_counts`.
- Planar vertices (|H| < eps_H and |K| < eps_K, the HK "flat" type) count in M and in the HK
  "flat" bin but in no SI bin, since the shape index of a plane is undefined; so the HK histogram
  sums to 1 and the SI histogram to 1 - (planar fraction).
- A sphere with fewer than `min_sphere_vertices` vertices with a curvature raises
  LandmarkFeatureError (a ValueError naming the landmark and frame), never a histogram of zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from microexp.features.curvature import (
    DEFAULT_MIN_NEIGHBORS,
    SHAPE_INDEX_BIN_NAMES,
    HKType,
    fit_principal_curvatures,
    hk_type,
    mean_gaussian_curvature,
    shape_index,
    shape_index_bin,
)

__all__ = [
    "DEFAULT_MIN_SPHERE_VERTICES",
    "DSME3D_LANDMARKS_23",
    "LandmarkFeatureError",
    "LandmarkHistograms",
    "PointShapeClasses",
    "curvature_descriptors",
    "landmark_histograms",
    "landmark_weights",
    "mean_difference_image",
    "point_shape_classes",
]

DSME3D_LANDMARKS_23: tuple[int, ...] = (
    *range(17, 27),  # 10 brow points
    36, 39, 42, 45,  # eye corners: right outer, right inner, left inner, left outer
    30, 31, 35,  # nose tip and both alae
    48, 54,  # mouth corners
    51, 57,  # upper and lower lip midpoints
    50, 52,  # upper lip between the midpoint and each corner
)  # fmt: skip
"""The 23 motion-relevant landmarks of DSME-3D Fig. 8 as 68-point (iBUG / dlib) indices.

a choice, docs/methods.md#landmark-histograms; the run's list lives in config, this is its
default."""

DEFAULT_MIN_SPHERE_VERTICES = 20
"""Fewer vertices than this in a landmark sphere make a histogram too coarse to mean anything."""

_N_BINS = len(SHAPE_INDEX_BIN_NAMES)  # == len(HK_TYPE_NAMES) == 9


class LandmarkFeatureError(ValueError):
    """A landmark's feature cannot be computed: NaN landmark, disc off the image, bad weight, or a
    sphere with too few vertices with a curvature.

    Attributes `landmark` (68-point index) and `frame` ("onset", "apex", ...) let the caller write
    a failure record (docs/layout.md#failures).
    """

    def __init__(self, message: str, *, landmark: int, frame: str) -> None:
        super().__init__(message)
        self.landmark = landmark
        self.frame = frame


# --------------------------------------------------------------------------------------------
# 2D motion weights (DSME-3D Eqs. 9-10)
# --------------------------------------------------------------------------------------------


def mean_difference_image(volume: np.ndarray, onset_index: int = 0) -> np.ndarray:
    """Mean over frames of |frame - onset frame| of an aligned gray volume (T, H, W) -> (H, W).

    Choice: the mean runs over the T - 1 frames other than the onset (whose difference is 0 by
    definition), so that the weights do not shrink with clip length by a factor (T - 1) / T.
    """
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise ValueError(f"volume must be (T, H, W), got shape {volume.shape}")
    n_frames = volume.shape[0]
    if n_frames < 2:
        raise ValueError("a mean-difference image needs at least 2 frames")
    if not -n_frames <= onset_index < n_frames:
        raise ValueError(f"onset_index {onset_index} outside a clip of {n_frames} frames")
    # float64 first: |a - b| on uint8 frames would wrap around.
    frames = volume.astype(np.float64, copy=False)
    total = np.abs(frames - frames[onset_index]).sum(axis=0)
    return total / (n_frames - 1)


def landmark_weights(
    mean_difference_image: np.ndarray,
    landmarks2d_aligned: np.ndarray,
    disc_radius: float,
    landmark_indices: Sequence[int] = DSME3D_LANDMARKS_23,
) -> np.ndarray:
    """Weight per landmark: mean intensity of the mean-difference image within a disc.

    `landmarks2d_aligned` are the aligned landmarks of the clip (68, 2) as (x = column, y = row)
    in pixels, in the frame of `mean_difference_image`, pixel (row r, column c) centred at
    (x = c, y = r); the disc holds the pixels whose centres lie within `disc_radius` of the
    landmark (pixels outside the image are ignored). Returns one
    weight per entry of `landmark_indices`. A landmark that is NaN or whose disc misses the image
    raises LandmarkFeatureError naming it. Choice: raw mean intensities, not normalised: the
    classifier's feature scaling (fitted on the training fold) takes care of the scale.
    """
    image = np.asarray(mean_difference_image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"mean_difference_image must be 2D, got shape {image.shape}")
    if not disc_radius >= 0:
        raise ValueError(f"disc_radius must be non-negative, got {disc_radius}")
    landmarks = _select_landmarks(landmarks2d_aligned, landmark_indices, 2, "2D")
    height, width = image.shape
    weights = np.empty(len(landmark_indices))
    for slot, (index, (x, y)) in enumerate(zip(landmark_indices, landmarks, strict=True)):
        row_first = max(int(np.floor(y - disc_radius)), 0)
        row_last = min(int(np.ceil(y + disc_radius)), height - 1)
        col_first = max(int(np.floor(x - disc_radius)), 0)
        col_last = min(int(np.ceil(x + disc_radius)), width - 1)
        rows = np.arange(row_first, row_last + 1)
        cols = np.arange(col_first, col_last + 1)
        inside = (rows[:, None] - y) ** 2 + (cols[None, :] - x) ** 2 <= disc_radius**2
        if rows.size == 0 or cols.size == 0 or not inside.any():
            raise LandmarkFeatureError(
                f"landmark {index} at (x={x:.1f}, y={y:.1f}): its disc of radius {disc_radius} px "
                f"holds no pixel of the {width} x {height} mean-difference image",
                landmark=int(index),
                frame="mean-difference image",
            )
        weights[slot] = image[np.ix_(rows, cols)][inside].mean()
    return weights


def _select_landmarks(
    landmarks: np.ndarray, landmark_indices: Sequence[int], dim: int, what: str
) -> np.ndarray:
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[1] != dim:
        raise ValueError(f"{what} landmarks must have shape (68, {dim}), got {landmarks.shape}")
    indices = np.asarray(landmark_indices, dtype=np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= len(landmarks)):
        raise ValueError(
            f"landmark indices {list(landmark_indices)} do not fit "
            f"{len(landmarks)} {what} landmarks"
        )
    selected = landmarks[indices]
    bad = ~np.isfinite(selected).all(axis=1)
    if bad.any():
        index = int(indices[np.flatnonzero(bad)[0]])
        raise LandmarkFeatureError(
            f"{what} landmark {index} is NaN (no depth / not detected)", landmark=index, frame=what
        )
    return selected


# --------------------------------------------------------------------------------------------
# Per-point shape classes and per-landmark histograms (DSME-3D Eqs. 7-8)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointShapeClasses:
    """Per-point shape classes of one frame's cloud.

    `si_bin`: Dorai-Jain bin 0..8, -1 where planar or undefined; `hk_type`: HKType 0..8, -1 where
    undefined; `undefined`: no curvature (NaN); k1, k2 kept for inspection.
    """

    si_bin: np.ndarray
    hk_type: np.ndarray
    undefined: np.ndarray
    k1: np.ndarray
    k2: np.ndarray

    @property
    def planar(self) -> np.ndarray:
        """Points of HK type flat, which have no shape index."""
        return self.hk_type == HKType.FLAT


def point_shape_classes(
    points: np.ndarray,
    radius_curv: float,
    eps_H: float,
    eps_K: float,
    *,
    min_neighbors: int = DEFAULT_MIN_NEIGHBORS,
    use_normal_constraints: bool = False,
) -> PointShapeClasses:
    """Curvature of a frame's cloud (once) and each point's SI bin and HK type
    (docs/methods.md#landmark-histograms).

    Planar means HK flat (|H| < eps_H and |K| < eps_K): one definition, so that the SI and HK
    descriptors agree on which vertices are planar.
    """
    fit = fit_principal_curvatures(
        points,
        radius_curv,
        min_neighbors=min_neighbors,
        use_normal_constraints=use_normal_constraints,
    )
    mean_h, gauss_k = mean_gaussian_curvature(fit.k1, fit.k2)
    types = hk_type(mean_h, gauss_k, eps_H, eps_K)
    si = shape_index(fit.k1, fit.k2)
    si[types == HKType.FLAT] = np.nan
    return PointShapeClasses(shape_index_bin(si), types, fit.undefined, fit.k1, fit.k2)


@dataclass(frozen=True)
class LandmarkHistograms:
    """Histograms of one frame, one row per landmark (see the module docstring for M).

    si, hk: (L, 9) fractions of M; vertex_counts: M per landmark; undefined_counts: vertices in
    the sphere without a curvature (not in M); planar_counts: vertices in M that are HK flat.
    """

    si: np.ndarray
    hk: np.ndarray
    vertex_counts: np.ndarray
    undefined_counts: np.ndarray
    planar_counts: np.ndarray


def landmark_histograms(
    points: np.ndarray,
    classes: PointShapeClasses,
    landmarks3d: np.ndarray,
    radius_sphere: float,
    *,
    landmark_indices: Sequence[int] = DSME3D_LANDMARKS_23,
    min_sphere_vertices: int = DEFAULT_MIN_SPHERE_VERTICES,
    frame: str = "frame",
) -> LandmarkHistograms:
    """SI and HK histograms / M of the vertices within `radius_sphere` of each landmark.

    DSME-3D Eqs. 7-8. `landmarks3d` is (68, 3) in the cloud's coordinates; `frame` names the
    frame in error messages. Raises LandmarkFeatureError for a NaN landmark or a sphere with fewer
    than `min_sphere_vertices` vertices with a curvature.
    """
    points = np.asarray(points, dtype=np.float64)
    if len(classes.si_bin) != len(points):
        raise ValueError(f"{len(classes.si_bin)} shape classes for {len(points)} points")
    if not radius_sphere > 0:
        raise ValueError(f"radius_sphere must be positive, got {radius_sphere}")
    centres = _select_landmarks(landmarks3d, landmark_indices, 3, f"{frame} 3D")
    n_landmarks = len(landmark_indices)
    si = np.zeros((n_landmarks, _N_BINS))
    hk = np.zeros((n_landmarks, _N_BINS))
    vertex_counts = np.zeros(n_landmarks, dtype=np.int64)
    undefined_counts = np.zeros(n_landmarks, dtype=np.int64)
    planar_counts = np.zeros(n_landmarks, dtype=np.int64)
    spheres = cKDTree(points).query_ball_point(centres, float(radius_sphere))
    for slot, (index, members) in enumerate(zip(landmark_indices, spheres, strict=True)):
        members = np.asarray(members, dtype=np.int64)
        defined = members[~classes.undefined[members]]
        m = len(defined)
        undefined_counts[slot] = len(members) - m
        if m < min_sphere_vertices:
            raise LandmarkFeatureError(
                f"{frame}: the sphere of radius {radius_sphere} around landmark {index} holds "
                f"{m} vertices with a curvature ({undefined_counts[slot]} more without one), "
                f"fewer than min_sphere_vertices={min_sphere_vertices}",
                landmark=int(index),
                frame=frame,
            )
        si_bins = classes.si_bin[defined]
        si[slot] = np.bincount(si_bins[si_bins >= 0], minlength=_N_BINS) / m
        hk[slot] = np.bincount(classes.hk_type[defined], minlength=_N_BINS) / m
        vertex_counts[slot] = m
        planar_counts[slot] = int(np.count_nonzero(classes.hk_type[defined] == HKType.FLAT))
    return LandmarkHistograms(si, hk, vertex_counts, undefined_counts, planar_counts)


def curvature_descriptors(
    onset_points: np.ndarray,
    apex_points: np.ndarray,
    onset_landmarks3d: np.ndarray,
    apex_landmarks3d: np.ndarray,
    weights: np.ndarray,
    radius_curv: float,
    radius_sphere: float,
    eps_H: float,
    eps_K: float,
    *,
    landmark_indices: Sequence[int] = DSME3D_LANDMARKS_23,
    min_sphere_vertices: int = DEFAULT_MIN_SPHERE_VERTICES,
    min_neighbors: int = DEFAULT_MIN_NEIGHBORS,
    use_normal_constraints: bool = False,
) -> dict[str, np.ndarray]:
    """A sample's SI and HK descriptors from its onset and apex clouds
    (docs/methods.md#landmark-histograms).

    Curvature is computed once per frame cloud (radius `radius_curv`), then both histograms per
    landmark sphere (radius `radius_sphere`); `weights` (one per landmark, from
    `landmark_weights`) multiply each landmark's histograms (DSME-3D Eqs. 9-12).

    Returns arrays:
      "si", "hk": the descriptors, length 2 * L * 9, ordered (frame: onset, apex) x (landmark in
        `landmark_indices` order) x (bin: SHAPE_INDEX_BIN_NAMES / HK_TYPE_NAMES);
      "si_onset", "si_apex", "hk_onset", "hk_apex": the unweighted (L, 9) histograms;
      "weights", "landmark_indices" (L,); "vertex_counts", "undefined_counts", "planar_counts"
        (2, L) per frame and landmark; "undefined_points" (2,) points without a curvature per
        whole frame cloud.
    Raises ValueError (LandmarkFeatureError naming landmark and frame where one is at fault) on
    NaN points or landmarks, bad weights, or a sphere with too few vertices.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(landmark_indices),):
        raise ValueError(f"need {len(landmark_indices)} weights, got shape {weights.shape}")
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        index = int(landmark_indices[int(np.flatnonzero(bad)[0])])
        raise LandmarkFeatureError(
            f"weight of landmark {index} is {weights[bad][0]} (must be finite and >= 0)",
            landmark=index,
            frame="weights",
        )
    per_frame: dict[str, LandmarkHistograms] = {}
    undefined_points = []
    for frame, points, landmarks3d in (
        ("onset", onset_points, onset_landmarks3d),
        ("apex", apex_points, apex_landmarks3d),
    ):
        try:
            classes = point_shape_classes(
                points,
                radius_curv,
                eps_H,
                eps_K,
                min_neighbors=min_neighbors,
                use_normal_constraints=use_normal_constraints,
            )
        except ValueError as error:
            raise ValueError(f"{frame} cloud: {error}") from error
        undefined_points.append(int(np.count_nonzero(classes.undefined)))
        per_frame[frame] = landmark_histograms(
            points,
            classes,
            landmarks3d,
            radius_sphere,
            landmark_indices=landmark_indices,
            min_sphere_vertices=min_sphere_vertices,
            frame=frame,
        )
    onset, apex = per_frame["onset"], per_frame["apex"]
    w = weights[:, None]
    return {
        "si": np.stack([w * onset.si, w * apex.si]).ravel(),
        "hk": np.stack([w * onset.hk, w * apex.hk]).ravel(),
        "si_onset": onset.si,
        "si_apex": apex.si,
        "hk_onset": onset.hk,
        "hk_apex": apex.hk,
        "weights": weights,
        "landmark_indices": np.asarray(landmark_indices, dtype=np.int64),
        "vertex_counts": np.stack([onset.vertex_counts, apex.vertex_counts]),
        "undefined_counts": np.stack([onset.undefined_counts, apex.undefined_counts]),
        "planar_counts": np.stack([onset.planar_counts, apex.planar_counts]),
        "undefined_points": np.asarray(undefined_points, dtype=np.int64),
    }
