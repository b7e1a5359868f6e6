"""3D registration of each frame's face surface for the depth spotter (docs/methods.md#spotting).

A 2D similarity on the stable landmarks (``microexp.spotting.video``) removes in-plane head
motion but not a yaw or pitch: a head turn then moves every block's depth by millimetres and
reads as an expression. Where a video has depth, each frame's face cloud is registered to the
reference (first) frame's with the cloud3d stage's rigid ICP (DSME-3D Sec. 4.1.2; point-to-plane
with a robust kernel, started from the Kabsch pose of the stable landmarks,
``microexp.cloud3d.icp``), and the depth feature is read on the registered surface: the moved
points are projected into the reference camera, mapped by the reference frame's crop transform
into the 168 x 168 crop, and compared pixel by pixel with the reference frame's surface there.
A block's value is the reference's mean depth in the block
(:func:`microexp.spotting.grid.block_mean_depth`) plus the mean of that per-pixel change over
the pixels seen in both frames: a turned head shows a slightly different part of the face, and a
plain block mean over a different set of pixels on a sloping surface would move by
millimetres with no surface change; pixels whose depth changed by more than
``MAX_SURFACE_CHANGE_MM`` (the silhouette against the wall) are not the same surface and are
left out. What remains between frames is facial deformation (and sensor noise), not head pose.

Speed: the face is sampled on the crop's pixel grid (every pixel for the block means; every
``step``-th pixel in each direction, then voxel-averaged, for the ICP source), the reference
cloud with its normals is built once per video, and ICP runs on one thread. The spotting
config coarsens the cloud3d stage's voxels (3 mm) and iterations (15) for whole videos
(``spotting.icp``): ~17 ms a frame on one core, within 0.4 mm of the finer setting on the
test surface (benchmarks/bench_spotting.py). A registration that fails the cloud3d stage's
checks (fitness, inlier RMSE) gives NaN blocks for that frame (no feature there), never an
unregistered value.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from microexp.camera import Intrinsics
from microexp.cloud3d.deproject import deproject_pixels, project_points
from microexp.cloud3d.icp import (
    IcpParams,
    apply_transform,
    kabsch_transform,
    open3d_threads,
    reference_cloud,
    register_icp,
    source_cloud,
)
from microexp.spotting.grid import block_mean_depth, grid_bounds

__all__ = ["MAX_SURFACE_CHANGE_MM", "FaceSurfaceRegistration", "RegisteredBlocks"]

# Largest depth change of one registered pixel read as the same surface moving (an expression's
# relief is a few mm; the face's silhouette against the wall is a step of 100 mm or more).
MAX_SURFACE_CHANGE_MM = 15.0


@dataclass(frozen=True)
class RegisteredBlocks:
    """One frame's per-block depth on the registered surface and how the registration went."""

    blocks: np.ndarray  # (rows * cols,) mm, NaN where a block has too few points or ICP failed
    transform: np.ndarray  # (4, 4) frame -> reference (identity for the reference itself)
    fitness: float  # share of ICP source points matched (1 for the reference)
    inlier_rmse: float  # mm
    ok: bool


def _sample_depth(depth_mm: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Depth (mm, NaN = none) at the nearest pixel of each (column, row) position."""
    h, w = depth_mm.shape
    col = np.floor(pixels[:, 0] + 0.5).astype(np.intp)
    row = np.floor(pixels[:, 1] + 0.5).astype(np.intp)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    z = np.full(len(pixels), np.nan)
    z[inside] = depth_mm[row[inside], col[inside]]
    z[~(z > 0)] = np.nan
    return z


class FaceSurfaceRegistration:
    """Registers every frame's face surface onto the first frame's; see the module docstring.

    intrinsics: the color camera's (depth is registered to color); output_size: the crop's
    (h, w); grid: the spotters' block grid; step: ICP source subsampling on the crop grid.
    """

    def __init__(
        self,
        intrinsics: Intrinsics,
        output_size: tuple[int, int],
        grid: tuple[int, int],
        icp: IcpParams,
        step: int = 3,
        min_valid_fraction: float = 0.5,
    ) -> None:
        self.intrinsics = intrinsics
        self.h, self.w = (int(v) for v in output_size)
        self.grid = tuple(grid)
        self.icp = icp
        self.step = max(1, int(step))
        self.min_valid_fraction = float(min_valid_fraction)
        rows, cols = np.mgrid[0 : self.h, 0 : self.w]
        self._crop_pixels = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float64)
        sub = (rows[:: self.step, :: self.step] * self.w + cols[:: self.step, :: self.step]).ravel()
        self._source_index = sub
        self._reference = None  # open3d cloud with normals
        self._reference_matrix: np.ndarray | None = None
        self._reference_landmarks: np.ndarray | None = None
        self._reference_crop = np.full(output_size, np.nan)
        self._reference_blocks = np.full(self.grid[0] * self.grid[1], np.nan)

    @property
    def has_reference(self) -> bool:
        return self._reference is not None

    def _surface(self, depth_mm: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """(h * w, 3) camera-space points (mm) seen at the crop's pixels; NaN rows = no depth."""
        image_pixels = cv2.transform(
            self._crop_pixels[None], cv2.invertAffineTransform(np.asarray(matrix, np.float64))
        )[0]
        z = _sample_depth(depth_mm, image_pixels)
        return deproject_pixels(image_pixels, z, self.intrinsics)

    def _landmarks3d(self, depth_mm: np.ndarray, landmarks: np.ndarray | None) -> np.ndarray:
        if landmarks is None:
            return np.zeros((0, 3))
        pts = np.asarray(landmarks, np.float64).reshape(-1, 2)
        return deproject_pixels(pts, _sample_depth(depth_mm, pts), self.intrinsics)

    def _crop_depth(self, points: np.ndarray) -> np.ndarray:
        """(h, w) depth (mm, NaN = none) of reference-camera points seen through the reference
        crop: the nearest point where several land on one pixel (a z-buffer)."""
        crop = np.full((self.h, self.w), np.nan)
        ok = np.all(np.isfinite(points), axis=1) & (points[:, 2] > 0)
        if ok.any():
            image = project_points(points[ok], self.intrinsics)
            assert self._reference_matrix is not None
            at = cv2.transform(image[None], self._reference_matrix)[0]
            col = np.floor(at[:, 0] + 0.5).astype(np.intp)
            row = np.floor(at[:, 1] + 0.5).astype(np.intp)
            inside = (col >= 0) & (col < self.w) & (row >= 0) & (row < self.h)
            z = points[ok, 2][inside]
            index = row[inside] * self.w + col[inside]
            # nearest surface where two points land on one pixel (a z-buffer)
            nearest = np.full(self.h * self.w, np.inf)
            np.minimum.at(nearest, index, z)
            crop = np.where(np.isfinite(nearest), nearest, np.nan).reshape(self.h, self.w)
        return crop

    def _blocks(self, crop: np.ndarray) -> np.ndarray:
        """Reference block means plus the mean change against the reference over the pixels
        seen in both (NaN where fewer than `min_valid_fraction` of a block's pixels are).

        A pixel whose depth changed by more than ``MAX_SURFACE_CHANGE_MM`` is not the same
        surface in both frames (the face's silhouette against the wall or the hair moved over
        it by a fraction of a pixel: a step of 100 mm or more) and is left out: a few of them
        moved a border block's mean by 1-2 mm, more than an expression's relief."""
        change = crop - self._reference_crop
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(change) & (np.abs(change) <= MAX_SURFACE_CHANGE_MM)
        filled = np.where(valid, change, 0.0)
        rows, cols = self.grid
        out = np.full(rows * cols, np.nan)
        for r, (y0, y1) in enumerate(grid_bounds(self.h, rows)):
            for c, (x0, x1) in enumerate(grid_bounds(self.w, cols)):
                n = int(valid[y0:y1, x0:x1].sum())
                if n >= self.min_valid_fraction * (y1 - y0) * (x1 - x0):
                    out[r * cols + c] = filled[y0:y1, x0:x1].sum() / n
        return self._reference_blocks + out

    def __call__(
        self, depth_mm: np.ndarray, matrix: np.ndarray, landmarks: np.ndarray | None = None
    ) -> RegisteredBlocks:
        """Register one frame (depth in mm on the color grid, NaN = none; `matrix` its 2 x 3
        image -> crop transform; `landmarks` its stable 2D landmarks, for the initial pose).
        The first call sets the reference."""
        points = self._surface(depth_mm, matrix)
        valid = np.all(np.isfinite(points), axis=1)
        if self._reference is None:
            if valid.sum() < 3:
                raise ValueError("the reference frame has no depth on the face")
            with open3d_threads(1):
                self._reference = reference_cloud(points[valid], self.icp)
            self._reference_matrix = np.asarray(matrix, np.float64).copy()
            self._reference_landmarks = self._landmarks3d(depth_mm, landmarks)
            self._reference_crop = self._crop_depth(points)
            self._reference_blocks = block_mean_depth(
                self._reference_crop[None], self.grid, self.min_valid_fraction
            )[0]
            return RegisteredBlocks(self._reference_blocks.copy(), np.eye(4), 1.0, 0.0, True)
        nan_blocks = np.full(self.grid[0] * self.grid[1], np.nan)
        source_points = points[self._source_index]
        source_points = source_points[np.all(np.isfinite(source_points), axis=1)]
        if len(source_points) < 3:
            return RegisteredBlocks(nan_blocks, np.full((4, 4), np.nan), 0.0, np.nan, False)
        init = np.eye(4)
        if self.icp.landmark_init and self._reference_landmarks is not None:
            here = self._landmarks3d(depth_mm, landmarks)
            if here.shape == self._reference_landmarks.shape:
                both = np.all(np.isfinite(here), axis=1) & np.all(
                    np.isfinite(self._reference_landmarks), axis=1
                )
                if both.sum() >= 3:
                    init = kabsch_transform(here[both], self._reference_landmarks[both])
        with open3d_threads(1):  # bit-reproducible (as the cloud3d stage), one core
            source = source_cloud(source_points, self.icp)
            fit = register_icp(source, self._reference, init, self.icp)
        ok = fit.fitness >= self.icp.min_fitness and fit.inlier_rmse <= self.icp.max_inlier_rmse_mm
        if not ok:
            return RegisteredBlocks(nan_blocks, fit.transform, fit.fitness, fit.inlier_rmse, False)
        moved = apply_transform(fit.transform, points)
        blocks = self._blocks(self._crop_depth(moved))
        return RegisteredBlocks(blocks, fit.transform, fit.fitness, fit.inlier_rmse, True)
