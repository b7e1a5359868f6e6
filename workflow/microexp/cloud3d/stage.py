"""The 3D face stage for one clip: filter, deproject, 3D landmarks, crop, ICP
(docs/methods.md#3d-face).

DSME-3D 4.1.2 in order: the depth sequence is smoothed, denoised and hole-filled (spatial,
temporal, hole-filling filters); converted to point clouds aligned with the color frames; the 2D
landmarks give 3D landmarks; each frame's face is cut out as a 100 mm sphere around the nose
tip; every frame's face is aligned to the first frame's with ICP and its landmarks moved by the
same transform. `process_clip` does exactly that for one clip and returns everything the
curvature features and the QC picture need; `save_cloud3d` / `load_cloud3d` are the
`results/{dataset}/cloud3d/{sample}.npz` contract (docs/data-contracts.md).

A clip the stage cannot trust raises `SampleFailure` naming the frame and the problem: no or
mostly missing depth on the face, no depth under the nose tip, too few face points, an ICP that
matched too little or disagrees with the landmark pose.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import open3d as o3d

from microexp.cloud3d.crop import crop_face
from microexp.cloud3d.deproject import Intrinsics, as_intrinsics, pixel_rays
from microexp.cloud3d.filters import DepthFilterParams, filter_depth_clip
from microexp.cloud3d.icp import (
    IcpParams,
    apply_transform,
    icp_disagreement,
    landmark_pose,
    open3d_threads,
    reference_cloud,
    register_icp,
    source_cloud,
)
from microexp.cloud3d.landmarks3d import NOSE_TIP, landmarks_to_3d
from microexp.cloud3d.result import Cloud3DResult, load_cloud3d, save_cloud3d
from microexp.failures import SampleFailure

__all__ = [
    "Cloud3DParams",
    "Cloud3DResult",
    "face_hole_fractions",
    "load_cloud3d",
    "process_clip",
    "save_cloud3d",
    "write_ply",
]

# Pixels around the landmarks' bounding box kept for the QC depth pictures.
_QC_MARGIN_PX = 20
# 68-point indices of brows, nose, eyes and mouth (the jaw line is 0-16).
_INNER_FACE = slice(17, 68)


@dataclass(frozen=True)
class Cloud3DParams:
    """Parameters of the stage (config `cloud3d`).

    landmark_window: side of the median window for landmark depths (odd, px);
    crop_radius_mm: face sphere around the nose tip (DSME-3D: 100 mm);
    min_face_points: fewer points in a frame's face sphere fail the sample;
    max_face_hole_fraction: a larger share of raw (unfiltered) depth holes in the box around
    a frame's inner-face landmarks fails the sample (hole filling would otherwise invent the
    face).
    """

    filters: DepthFilterParams = field(default_factory=DepthFilterParams)
    icp: IcpParams = field(default_factory=IcpParams)
    landmark_window: int = 5
    crop_radius_mm: float = 100.0
    min_face_points: int = 5000
    max_face_hole_fraction: float = 0.5

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Cloud3DParams:
        """From `{filters: {...}, icp: {...}, landmark_window: 5, ...}`; missing keys default."""
        config = dict(config or {})
        filters = DepthFilterParams.from_config(config.pop("filters", None))
        icp = IcpParams.from_config(config.pop("icp", None))
        known = {f.name for f in fields(cls)} - {"filters", "icp"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown cloud3d option(s) {sorted(unknown)}; {sorted(known)}")
        return cls(filters=filters, icp=icp, **config)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["icp"]["stable_landmarks"] = list(self.icp.stable_landmarks)
        return d


# ------------------------------------------------------------------------------ checks


def _check_inputs(
    color: np.ndarray | None, depth: np.ndarray | None, landmarks68: np.ndarray
) -> None:
    if depth is None or np.size(depth) == 0:
        raise SampleFailure("no depth frames in the clip", frame=None)
    if depth.ndim != 3 or depth.dtype != np.uint16:
        raise SampleFailure(
            f"depth must be uint16 (T, H, W), got {depth.dtype} {depth.shape}", frame=None
        )
    t, h, w = depth.shape
    if landmarks68.shape != (t, 68, 2):
        raise SampleFailure(
            f"landmarks must be ({t}, 68, 2) for {t} depth frames, got {landmarks68.shape}",
            frame=None,
        )
    if color is not None and color.shape[:3] != (t, h, w):
        raise SampleFailure(f"color {color.shape} does not match depth {depth.shape}", frame=None)


def _landmark_box(landmarks: np.ndarray, h: int, w: int, margin: int = 0) -> tuple[int, ...] | None:
    ok = np.all(np.isfinite(landmarks), axis=1)
    if not ok.any():
        return None
    lo = np.floor(landmarks[ok].min(axis=0)).astype(int) - margin
    hi = np.ceil(landmarks[ok].max(axis=0)).astype(int) + margin + 1
    return (max(lo[1], 0), min(hi[1], h), max(lo[0], 0), min(hi[0], w))


def face_hole_fractions(depth: np.ndarray, landmarks68: np.ndarray) -> np.ndarray:
    """(T,) share of zero depth in the box around each frame's inner-face landmarks (NaN: none).

    Brows, eyes, nose and mouth (17-67), not the jaw line: the jaw's box corners would be
    background, which a D415 often leaves empty beyond its range.
    """
    t, h, w = depth.shape
    out = np.full(t, np.nan)
    for i in range(t):
        box = _landmark_box(landmarks68[i, _INNER_FACE], h, w)
        if box is not None and box[1] > box[0] and box[3] > box[2]:
            out[i] = float(np.mean(depth[i, box[0] : box[1], box[2] : box[3]] == 0))
    return out


def _check_face_depth(raw_holes: np.ndarray, params: Cloud3DParams) -> None:
    for t, share in enumerate(raw_holes):
        if np.isnan(share):
            raise SampleFailure(f"frame {t}: no 2D landmarks, so no face to look at", frame=t)
        if share > params.max_face_hole_fraction:
            what = "no depth" if share >= 1.0 else f"{share:.0%} of the face box without depth"
            raise SampleFailure(
                f"frame {t}: depth mostly missing at the face ({what}; "
                f"limit {params.max_face_hole_fraction:.0%})",
                frame=t,
                hole_fraction=float(share),
            )


def _check_registration(
    t: int,
    fitness: float,
    rmse: float,
    transform: np.ndarray,
    landmark_transform: np.ndarray | None,
    stable_points: np.ndarray,
    params: IcpParams,
) -> None:
    if fitness < params.min_fitness:
        raise SampleFailure(
            f"frame {t}: ICP did not converge onto frame 0 (fitness {fitness:.2f} < "
            f"{params.min_fitness:.2f} of points matched within "
            f"{params.max_correspondence_mm} mm)",
            frame=t,
            fitness=fitness,
        )
    if rmse > params.max_inlier_rmse_mm:
        raise SampleFailure(
            f"frame {t}: ICP inlier RMSE {rmse:.2f} mm > {params.max_inlier_rmse_mm} mm",
            frame=t,
            inlier_rmse=rmse,
        )
    if landmark_transform is None:
        return
    angle, gap = icp_disagreement(transform, landmark_transform, stable_points)
    if angle > params.max_rotation_disagreement_deg or gap > params.max_landmark_disagreement_mm:
        raise SampleFailure(
            f"frame {t}: ICP pose is {angle:.1f} deg / {gap:.1f} mm from the landmark pose "
            f"(limits {params.max_rotation_disagreement_deg} deg, "
            f"{params.max_landmark_disagreement_mm} mm)",
            frame=t,
            rotation_disagreement_deg=angle,
            landmark_disagreement_mm=gap,
        )


# ------------------------------------------------------------------------------ stage


def process_clip(
    color: np.ndarray | None,
    depth: np.ndarray | None,
    landmarks68: np.ndarray,
    intrinsics: Intrinsics | Mapping[str, Any],
    depth_scale: float,
    params: Cloud3DParams | None = None,
    *,
    qc_frame: int = 0,
    keep_points: Sequence[int] | None = None,
    fps: float = 60.0,
) -> Cloud3DResult:
    """Filtered, cropped, registered face clouds and 3D landmarks of one clip
    (docs/methods.md#3d-face).

    color (T, H, W, 3) uint8 or None; depth (T, H, W) uint16 registered to color; landmarks68
    (T, 68, 2) in the unaligned color image (x = column, y = row); intrinsics of the color
    image; depth_scale in metres per unit. `qc_frame` (e.g. the onset's clip index) chooses
    the frame whose depth is kept for the QC picture; `keep_points` lists the frames whose
    points are stored (None: all; registration runs on every frame either way). open3d runs
    on one thread here, so the result is bit-identical from run to run.

    Raises SampleFailure (with `frame`) when the clip cannot be trusted.
    """
    params = params or Cloud3DParams()
    intr = as_intrinsics(intrinsics)
    landmarks68 = np.asarray(landmarks68, dtype=np.float64)
    _check_inputs(color, depth, landmarks68)
    n, h, w = depth.shape
    if (intr.width, intr.height) != (w, h):
        raise SampleFailure(
            f"intrinsics are {intr.width} x {intr.height} but depth is {w} x {h}", frame=None
        )
    if not 0 <= qc_frame < n:
        raise ValueError(f"qc_frame {qc_frame} outside the clip's {n} frames")
    keep = np.ones(n, bool) if keep_points is None else np.isin(np.arange(n), list(keep_points))

    raw_holes = face_hole_fractions(depth, landmarks68)
    _check_face_depth(raw_holes, params)
    filtered = filter_depth_clip(depth, depth_scale, params.filters, intr, fps)
    filtered_holes = face_hole_fractions(filtered, landmarks68)
    with open3d_threads(1):
        return _register_clip(
            color,
            depth,
            filtered,
            landmarks68,
            intr,
            depth_scale,
            params,
            qc_frame,
            keep,
            raw_holes,
            filtered_holes,
        )


def _register_clip(
    color: np.ndarray | None,
    depth: np.ndarray,
    filtered: np.ndarray,
    landmarks68: np.ndarray,
    intr: Intrinsics,
    depth_scale: float,
    params: Cloud3DParams,
    qc_frame: int,
    keep: np.ndarray,
    raw_holes: np.ndarray,
    filtered_holes: np.ndarray,
) -> Cloud3DResult:
    """process_clip after filtering: 3D landmarks, crop and ICP frame by frame."""
    n, h, w = depth.shape

    rays = pixel_rays(intr)
    icp = params.icp
    lm_cam = np.full((n, 68, 3), np.nan)
    lm_count = np.zeros((n, 68), dtype=np.int16)
    transforms = np.tile(np.eye(4), (n, 1, 1))
    lm_transforms = np.full((n, 4, 4), np.nan)
    lm_transforms[0] = np.eye(4)
    fitness = np.ones(n)
    rmse = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    kept_points: list[np.ndarray] = []
    kept_colors: list[np.ndarray] = []
    reference = None
    previous = np.eye(4)
    stable = np.asarray(icp.stable_landmarks, dtype=np.int64)

    mm_per_unit = float(depth_scale) * 1000.0
    for t in range(n):
        lm_cam[t], lm_count[t] = landmarks_to_3d(
            landmarks68[t], filtered[t], intr, params.landmark_window, mm_per_unit
        )
        nose = lm_cam[t, NOSE_TIP]
        if not np.all(np.isfinite(nose)):
            raise SampleFailure(
                f"frame {t}: no depth under the nose tip (landmark {NOSE_TIP}) "
                f"within {params.landmark_window} x {params.landmark_window} px",
                frame=t,
            )
        points, index = crop_face(filtered[t], rays, nose, params.crop_radius_mm, intr, mm_per_unit)
        counts[t] = len(points)
        if len(points) < params.min_face_points:
            raise SampleFailure(
                f"frame {t}: only {len(points)} points within {params.crop_radius_mm} mm of the "
                f"nose tip (need {params.min_face_points})",
                frame=t,
                points=len(points),
            )
        if t == 0:
            reference = reference_cloud(points, icp)
        else:
            pose = landmark_pose(lm_cam[t], lm_cam[0], stable)
            if pose is not None:
                lm_transforms[t] = pose
            init = pose if (pose is not None and icp.landmark_init) else previous
            result = register_icp(source_cloud(points, icp), reference, init, icp)
            _check_registration(
                t,
                result.fitness,
                result.inlier_rmse,
                result.transform,
                pose,
                lm_cam[t, stable],
                icp,
            )
            transforms[t], fitness[t], rmse[t] = (
                result.transform,
                result.fitness,
                result.inlier_rmse,
            )
            previous = result.transform
            points = apply_transform(result.transform, points).astype(np.float32)
        if keep[t]:
            kept_points.append(points)
            if color is not None:
                kept_colors.append(color[t].reshape(-1, 3)[index])
        else:
            kept_points.append(np.empty((0, 3), np.float32))
            kept_colors.append(np.empty((0, 3), np.uint8))

    landmarks3d = np.stack([apply_transform(transforms[t], lm_cam[t]) for t in range(n)])
    sizes = np.array([len(p) for p in kept_points], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    box = _landmark_box(landmarks68[qc_frame], h, w, _QC_MARGIN_PX)
    assert box is not None  # every frame has landmarks, checked above
    r0, r1, c0, c1 = box
    return Cloud3DResult(
        points=np.concatenate(kept_points).astype(np.float32),
        offsets=offsets,
        colors=None if color is None else np.concatenate(kept_colors).astype(np.uint8),
        landmarks3d=landmarks3d.astype(np.float32),
        landmarks3d_camera=lm_cam.astype(np.float32),
        landmark_depth_count=lm_count,
        transforms=transforms,
        landmark_transforms=lm_transforms,
        fitness=fitness,
        inlier_rmse=rmse,
        face_hole_fraction_raw=raw_holes,
        face_hole_fraction_filtered=filtered_holes,
        face_point_count=counts,
        qc_frame=int(qc_frame),
        qc_box=np.array(box, dtype=np.int64),
        qc_depth_raw=np.array(depth[qc_frame, r0:r1, c0:c1]),
        qc_depth_filtered=np.array(filtered[qc_frame, r0:r1, c0:c1]),
        depth_scale=float(depth_scale),
        params_json=json.dumps(params.as_dict(), sort_keys=True),
    )


def write_ply(
    path: str | os.PathLike[str], points: np.ndarray, colors: np.ndarray | None = None
) -> None:
    """A binary PLY of one cloud (mm) for people to open (e.g. the onset and apex frames)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    if colors is not None:
        cloud.colors = o3d.utility.Vector3dVector(np.asarray(colors, np.float64) / 255.0)
    if not o3d.io.write_point_cloud(str(path), cloud, write_ascii=False):
        raise OSError(f"open3d could not write {path}")
