"""Depth-to-color registration in pure NumPy, bit for bit what `rs.align(rs.stream.color)` does.

The face crop needs each color pixel's depth (docs/methods.md#3d-face), so the depth image is
resampled onto the color camera's pixel grid; the reader applies this to every frame pair it
returns."""

from __future__ import annotations

import math

import numpy as np

from microexp.camera import Intrinsics


def fov_deg(intr: Intrinsics) -> tuple[float, float]:
    """Field of view as librealsense's `rs2_fov` computes it (used to pick the splat mode)."""
    fx = math.atan2(intr.cx + 0.5, intr.fx) + math.atan2(intr.width - (intr.cx + 0.5), intr.fx)
    fy = math.atan2(intr.cy + 0.5, intr.fy) + math.atan2(intr.height - (intr.cy + 0.5), intr.fy)
    return math.degrees(fx), math.degrees(fy)


def pixels_per_degree(intr: Intrinsics) -> tuple[np.float32, np.float32]:
    """Pixels per degree in x and y, in float32 as the SDK compares them."""
    fov = fov_deg(intr)
    f32 = np.float32
    return f32(intr.width) / f32(fov[0]), f32(intr.height) / f32(fov[1])


class DepthRegistration:
    """Depth-to-color registration with the semantics of `rs.align(rs.stream.color)`.

    docs/methods.md#3d-face. Each valid depth pixel's corner(s) are deprojected with the depth
    intrinsics at its depth, moved with the depth-to-color extrinsics and projected with the color
    intrinsics; the color pixel(s) hit receive the depth value, the nearest one winning
    (z-buffer). As in the SDK's vectorised aligner (which this reproduces bit for bit, float32
    arithmetic in the same order; tested against `rs.align`):
    - when the depth camera has at least as many pixels per degree as the color camera, only the
      top-left corner (x - 0.5, y - 0.5) is mapped, to pixel trunc(u + 0.5); otherwise the
      rectangle between the mapped top-left and bottom-right corners is filled;
    - brown_conrady depth distortion is not undone and only modified_brown_conrady color
      distortion is applied (D4xx cameras report zero coefficients for both);
    - points at or behind the color camera are dropped (the SDK would project them mirrored).
    The rays are computed once per intrinsics pair; `__call__` registers one frame.
    """

    def __init__(
        self,
        depth_intrinsics: Intrinsics,
        color_intrinsics: Intrinsics,
        depth_to_color: np.ndarray,
        depth_scale: float,
    ) -> None:
        self.depth_intrinsics = depth_intrinsics
        self.color_intrinsics = color_intrinsics
        self.extrinsics = np.asarray(depth_to_color, dtype=np.float64)
        self.depth_scale = float(depth_scale)
        self.identity = depth_intrinsics == color_intrinsics and np.array_equal(
            self.extrinsics, np.eye(4)
        )
        if color_intrinsics.model == "modified_brown_conrady" and any(color_intrinsics.coeffs):
            raise NotImplementedError("color distortion modified_brown_conrady is not supported")
        if depth_intrinsics.model in ("ftheta", "kannala_brandt4"):
            raise NotImplementedError(f"depth distortion {depth_intrinsics.model} not supported")
        ppa_d, ppa_c = pixels_per_degree(depth_intrinsics), pixels_per_degree(color_intrinsics)
        self.rectangle = bool(ppa_d[0] < ppa_c[0] or ppa_d[1] < ppa_c[1])
        self._rays = [self._rays_at(-0.5)] + ([self._rays_at(0.5)] if self.rectangle else [])

    def _rays_at(self, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """Normalised image coordinates of every depth pixel's corner at `offset` (float32)."""
        di, f32 = self.depth_intrinsics, np.float32
        x = (np.arange(di.width, dtype=f32) + f32(offset) - f32(di.cx)) / f32(di.fx)
        y = (np.arange(di.height, dtype=f32) + f32(offset) - f32(di.cy)) / f32(di.fy)
        xx, yy = np.meshgrid(x, y)
        if di.model == "inverse_brown_conrady" and any(di.coeffs):
            k1, k2, p1, p2, k3 = (f32(c) for c in di.coeffs)
            r2 = xx * xx + yy * yy
            radial = f32(1) + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
            ux = xx * radial + f32(2) * p1 * xx * yy + p2 * (r2 + f32(2) * xx * xx)
            uy = yy * radial + f32(2) * p2 * xx * yy + p1 * (r2 + f32(2) * yy * yy)
            xx, yy = ux, uy
        return xx, yy

    def _pixels(
        self, z: np.ndarray, rays: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Color pixel (column, row) hit by each depth corner, and which are valid."""
        f32 = np.float32
        r = [f32(v) for v in self.extrinsics[:3, :3].T.reshape(-1)]  # column-major, as the SDK
        t = [f32(v) for v in self.extrinsics[:3, 3]]
        ci = self.color_intrinsics
        px, py = z * rays[0], z * rays[1]
        x = r[0] * px + (r[3] * py + (r[6] * z + t[0]))
        y = r[1] * px + (r[4] * py + (r[7] * z + t[1]))
        w = r[2] * px + (r[5] * py + (r[8] * z + t[2]))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (x / w) * f32(ci.fx) + f32(ci.cx) + f32(0.5)
            v = (y / w) * f32(ci.fy) + f32(ci.cy) + f32(0.5)
        ok = (z > 0) & (w > 0) & np.isfinite(u) & np.isfinite(v)
        ok &= (np.abs(u) < 1e7) & (np.abs(v) < 1e7)  # far outside the image; keep int casts sane
        # trunc(u + 0.5): the SDK casts toward zero, so -0.9 still lands in column 0.
        col = np.trunc(np.where(ok, u, -1)).astype(np.int64)
        row = np.trunc(np.where(ok, v, -1)).astype(np.int64)
        return col, row, ok

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        """Register one (H, W) uint16 depth frame to the color image (new array)."""
        di, ci = self.depth_intrinsics, self.color_intrinsics
        if depth.shape != (di.height, di.width):
            raise ValueError(f"depth frame {depth.shape} does not match intrinsics {di}")
        if self.identity:
            # Exact arithmetic maps every pixel onto itself; the SDK's float32 round trip moves
            # a few percent of pixels by one (tested), which we do not reproduce on purpose.
            return depth.copy()
        z = depth.astype(np.float32) * np.float32(self.depth_scale)
        c0, r0, ok = self._pixels(z, self._rays[0])
        if self.rectangle:
            c1, r1, ok1 = self._pixels(z, self._rays[1])
            ok &= ok1
        else:
            c1, r1 = c0, r0
        values = depth[ok]
        c0, r0, c1, r1 = c0[ok], r0[ok], c1[ok], r1[ok]
        flat = np.full(ci.height * ci.width, np.iinfo(np.uint16).max, dtype=np.uint16)
        if values.size:
            span_c = int(max(0, (c1 - c0).max())) + 1
            span_r = int(max(0, (r1 - r0).max())) + 1
            for dr in range(span_r):
                for dc in range(span_c):
                    cc, rr = c0 + dc, r0 + dr
                    hit = (cc <= c1) & (rr <= r1) & (cc >= 0) & (rr >= 0)
                    hit &= (cc < ci.width) & (rr < ci.height)
                    np.minimum.at(flat, rr[hit] * ci.width + cc[hit], values[hit])
        flat[flat == np.iinfo(np.uint16).max] = 0
        return flat.reshape(ci.height, ci.width)


def register_depth_to_color(
    depth: np.ndarray,
    depth_intrinsics: Intrinsics,
    color_intrinsics: Intrinsics,
    depth_to_color: np.ndarray | None = None,
    depth_scale: float = 0.001,
) -> np.ndarray:
    """Register one depth frame to the color image (see `DepthRegistration`;
    docs/methods.md#3d-face)."""
    extr = np.eye(4) if depth_to_color is None else depth_to_color
    return DepthRegistration(depth_intrinsics, color_intrinsics, extr, depth_scale)(depth)
