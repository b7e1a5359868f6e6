"""A face-like depth phantom with known rigid head motion, for truth tests and benchmarks.

The 3D stage (DSME-3D 4.1.2) must recover small head motions to a fraction of a
degree; that can only be checked against exact truth. The phantom is a height field in the head
frame (an ellipsoid with a nose, eye sockets, brow ridges and lips) that is moved by a rigid
motion and ray-cast through the pinhole camera, pixel by pixel (Newton's method along each
ray), so every depth value is the exact surface depth at the pixel centre before D415-like noise
(Gaussian, ~0.6 mm at 0.55 m), quantisation to depth units and dropout holes are added.
Landmarks are fixed points on the surface (68-point layout), projected exactly.

Head frame = camera frame of the neutral pose, in mm: x right, y down, z away from the camera;
the surface is z = centre_z + height(x, y) with height < 0 toward the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation

from microexp.cloud3d.deproject import Intrinsics, pixel_rays, project_points
from microexp.synthetic.motion import rigid_motion

__all__ = ["FacePhantom", "PhantomClip", "random_motions", "render_phantom_clip"]

# (amplitude mm toward the camera, x0, y0, sigma_x, sigma_y): nose tip and bridge, brow ridges,
# lips; negative amplitudes are recesses (eye sockets).
_BUMPS = (
    (18.0, 0.0, 0.0, 7.0, 8.0),
    (9.0, 0.0, -20.0, 6.0, 14.0),
    (-5.0, -33.0, -33.0, 11.0, 11.0),
    (-5.0, 33.0, -33.0, 11.0, 11.0),
    (3.0, -30.0, -50.0, 15.0, 5.0),
    (3.0, 30.0, -50.0, 15.0, 5.0),
    (3.0, 0.0, 35.0, 18.0, 5.0),
)


def _landmark_layout() -> np.ndarray:
    """(68, 2) head-frame (x, y) mm of the 68 iBUG points on a face ~150 mm tall."""
    t = np.linspace(-1.0, 1.0, 17)
    jaw = np.stack([62.0 * np.sin(t * 1.35), -30.0 + 95.0 * np.cos(t * 1.2) ** 0.8], axis=1)
    brow_l = np.stack([np.linspace(-52, -14, 5), [-48, -53, -55, -54, -51]], axis=1)
    brow_r = brow_l[::-1] * [-1, 1]
    bridge = np.stack([np.zeros(4), [-35, -24, -12, 0]], axis=1)
    nose_base = np.array([[-14, 8], [-7, 10], [0, 11], [7, 10], [14, 8]], float)
    eye_l = np.array(
        [[-45, -35], [-38, -40], [-28, -40], [-20, -35], [-28, -31], [-38, -31]], float
    )
    eye_r = eye_l[[3, 2, 1, 0, 5, 4]] * [-1, 1]
    mouth_outer = np.array(
        [[-25, 35], [-16, 29], [-6, 27], [0, 28], [6, 27], [16, 29], [25, 35],
         [16, 41], [6, 43], [0, 43], [-6, 43], [-16, 41]], float,
    )  # fmt: skip
    mouth_inner = np.array(
        [[-20, 35], [-6, 32], [0, 32], [6, 32], [20, 35], [6, 38], [0, 38], [-6, 38]], float
    )
    pts = np.concatenate(
        [jaw, brow_l, brow_r, bridge, nose_base, eye_l, eye_r, mouth_outer, mouth_inner]
    )
    assert pts.shape == (68, 2)
    return pts


@dataclass(frozen=True)
class FacePhantom:
    """The neutral face surface and its camera placement (mm)."""

    centre_z: float = 635.0  # ellipsoid centre: the face front at ~550 mm, nose tip ~532 mm
    semi_axes: tuple[float, float, float] = (75.0, 100.0, 85.0)
    pivot_behind_mm: float = 90.0  # head rotation centre behind the face front
    max_footprint: float = 0.9  # (x/a)^2 + (y/b)^2 beyond this is not face (background)
    background_mm: float = 1000.0

    @property
    def pivot(self) -> np.ndarray:
        return np.array([0.0, 0.0, self.centre_z - self.semi_axes[2] + self.pivot_behind_mm])

    def height(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Height (z offset from centre_z) and its x and y derivatives; NaN off the face."""
        a, b, c = self.semi_axes
        u = (x / a) ** 2 + (y / b) ** 2
        on_face = u < self.max_footprint
        root = np.sqrt(np.where(on_face, 1.0 - u, 1.0))
        h = -c * root
        hx = c * x / (a * a * root)
        hy = c * y / (b * b * root)
        for amp, x0, y0, sx, sy in _BUMPS:
            dx, dy = x - x0, y - y0
            g = amp * np.exp(-0.5 * ((dx / sx) ** 2 + (dy / sy) ** 2))
            h = h - g
            hx = hx + g * dx / sx**2
            hy = hy + g * dy / sy**2
        nan = np.where(on_face, 0.0, np.nan)
        return h + nan, hx + nan, hy + nan

    def surface_points(self, xy: np.ndarray) -> np.ndarray:
        """Head-frame 3D points (N, 3) of the surface above (x, y) positions (N, 2)."""
        x, y = xy[:, 0], xy[:, 1]
        return np.stack([x, y, self.centre_z + self.height(x, y)[0]], axis=1)

    def landmarks(self) -> np.ndarray:
        """(68, 3) head-frame 3D landmarks on the neutral surface."""
        return self.surface_points(_landmark_layout())

    def render_depth_mm(
        self, motion: np.ndarray, intrinsics: Intrinsics, rays: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact depth (H, W) mm of the moved surface at every pixel centre (float64).

        Ray r(s) = s (rx, ry, 1); in the head frame p(s) = R^T (r(s) - t); solve
        p_z(s) - centre_z - height(p_x, p_y) = 0 for s by Newton's method. Pixels whose ray
        misses the face, or does not converge, see the background plane.
        """
        rays = pixel_rays(intrinsics) if rays is None else rays
        depth = np.full((intrinsics.height, intrinsics.width), self.background_mm)
        box = self._pixel_box(motion, intrinsics)
        r0, r1, c0, c1 = box
        d = np.concatenate(
            [
                rays[r0:r1, c0:c1].reshape(-1, 2).astype(np.float64),
                np.ones(((r1 - r0) * (c1 - c0), 1)),
            ],
            axis=1,
        )
        rot, trans = motion[:3, :3], motion[:3, 3]
        e = d @ rot  # rows of R^T d
        f0 = -(rot.T @ trans)
        s = np.full(len(d), self.centre_z - self.semi_axes[2])
        for _ in range(30):
            px, py, pz = (s[:, None] * e + f0).T
            h, hx, hy = self.height(px, py)
            f = pz - self.centre_z - h
            df = e[:, 2] - hx * e[:, 0] - hy * e[:, 1]
            step = np.clip(np.nan_to_num(f / df), -20.0, 20.0)
            s = s - step
            if np.nanmax(np.abs(step)) < 1e-7:
                break
        px, py, pz = (s[:, None] * e + f0).T
        h = self.height(px, py)[0]
        ok = np.isfinite(h) & (np.abs(pz - self.centre_z - h) < 1e-5)
        window = depth[r0:r1, c0:c1].reshape(-1)
        window[ok] = s[ok]
        depth[r0:r1, c0:c1] = window.reshape(r1 - r0, c1 - c0)
        return depth

    def _pixel_box(self, motion: np.ndarray, intrinsics: Intrinsics) -> tuple[int, int, int, int]:
        a, b, c = self.semi_axes
        corners = np.array(
            [
                [sx * a, sy * b, self.centre_z + sz * c]
                for sx in (-1, 1)
                for sy in (-1, 1)
                for sz in (-1, 0)
            ]
        )
        uv = project_points(corners @ motion[:3, :3].T + motion[:3, 3], intrinsics)
        c0, r0 = np.floor(uv.min(axis=0)).astype(int) - 4
        c1, r1 = np.ceil(uv.max(axis=0)).astype(int) + 5
        return (max(r0, 0), min(r1, intrinsics.height), max(c0, 0), min(c1, intrinsics.width))


@dataclass(frozen=True)
class PhantomClip:
    """A rendered clip and its truth (what ingestion + face2d would hand the 3D stage)."""

    color: np.ndarray  # (T, H, W, 3) uint8
    depth: np.ndarray  # (T, H, W) uint16
    landmarks2d: np.ndarray  # (T, 68, 2) with detector-like noise
    motions: np.ndarray  # (T, 4, 4) head frame -> camera frame at t
    truth_transforms: np.ndarray  # (T, 4, 4) frame-t points -> frame-0 points
    truth_landmarks3d: np.ndarray  # (T, 68, 3) exact camera-frame landmarks at t
    intrinsics: Intrinsics
    depth_scale: float


def random_motions(
    rng: np.random.Generator, frames: int, max_deg: float, max_mm: float, pivot: np.ndarray
) -> np.ndarray:
    """(T, 4, 4) small rigid motions about `pivot`: frame 0 neutral, others random within bounds."""
    out = [np.eye(4)]
    for _ in range(frames - 1):
        axis = rng.normal(size=3)
        angle = rng.uniform(0.3, 1.0) * max_deg
        shift = rng.normal(size=3)
        shift *= rng.uniform(0.3, 1.0) * max_mm / np.linalg.norm(shift)
        out.append(rigid_motion(axis / np.linalg.norm(axis) * angle, shift, pivot))
    return np.stack(out)


def render_phantom_clip(
    motions: np.ndarray,
    intrinsics: Intrinsics,
    *,
    seed: int = 0,
    depth_scale: float = 0.001,
    noise_mm: float = 0.6,
    hole_seed_fraction: float = 0.002,
    landmark_noise_px: float = 0.7,
    phantom: FacePhantom | None = None,
) -> PhantomClip:
    """Render the phantom under each motion with D415-like noise, holes and landmark jitter.

    `motions` (T, 4, 4) map head-frame points to camera points per frame. Rotations in
    `rigid_motion` angles are about the camera axes (x, y, z), applied about `phantom.pivot`.
    Noise: Gaussian depth noise (mm), then quantisation to `depth_scale`; holes: seeds at
    `hole_seed_fraction`, dilated to 3 x 3 blobs; landmarks: Gaussian pixel noise.
    """
    phantom = phantom or FacePhantom()
    rng = np.random.default_rng(seed)
    rays = pixel_rays(intrinsics)
    unit_mm = depth_scale * 1000.0
    head_landmarks = phantom.landmarks()
    depth, color, lm2d, lm3d = [], [], [], []
    for motion in motions:
        exact = phantom.render_depth_mm(motion, intrinsics, rays)
        noisy = exact + rng.normal(0.0, noise_mm, exact.shape)
        units = np.clip(np.round(noisy / unit_mm), 0, 65535).astype(np.uint16)
        holes = binary_dilation(rng.random(exact.shape) < hole_seed_fraction, np.ones((3, 3)))
        units[holes] = 0
        depth.append(units)
        shade = np.clip(255.0 - (exact - 500.0) * 0.5, 0, 255).astype(np.uint8)
        color.append(np.repeat(shade[..., None], 3, axis=2))
        pts = head_landmarks @ motion[:3, :3].T + motion[:3, 3]
        lm3d.append(pts)
        lm2d.append(
            project_points(pts, intrinsics) + rng.normal(0.0, landmark_noise_px, (len(pts), 2))
        )
    motions = np.asarray(motions, dtype=np.float64)
    truth = np.einsum("ij,tjk->tik", motions[0], np.linalg.inv(motions))
    return PhantomClip(
        color=np.stack(color),
        depth=np.stack(depth),
        landmarks2d=np.stack(lm2d),
        motions=motions,
        truth_transforms=truth,
        truth_landmarks3d=np.stack(lm3d),
        intrinsics=intrinsics,
        depth_scale=depth_scale,
    )
