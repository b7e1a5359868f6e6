"""Small rigid head motion inside a clip and its ground truth.

Spontaneous ME recordings have slight head movement between frames (DSME-3D section 4.1.1
neglects it in 2D, section 4.1.2 removes it with ICP). The synthetic head moves along a
smooth random trajectory bounded by a maximum angle and translation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rotation_matrix(angles_deg: np.ndarray) -> np.ndarray:
    """Rotation R = Rz @ Ry @ Rx for angles (rx, ry, rz) in degrees about camera axes."""
    rx, ry, rz = np.deg2rad(np.asarray(angles_deg, dtype=float))
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return r_z @ r_y @ r_x


def rigid_motion(angles_deg: np.ndarray, translation_mm: np.ndarray, pivot_mm: np.ndarray):
    """4x4 transform rotating about `pivot_mm` (the head's centre), then translating."""
    rotation = rotation_matrix(angles_deg)
    pivot = np.asarray(pivot_mm, dtype=float)
    motion = np.eye(4)
    motion[:3, :3] = rotation
    motion[:3, 3] = pivot - rotation @ pivot + np.asarray(translation_mm, dtype=float)
    return motion


@dataclass(frozen=True)
class HeadTrajectory:
    """A smooth bounded trajectory: two sinusoids per degree of freedom.

    `amplitude` in [0, 1] scales the configured maxima for this clip.
    """

    amplitude: float
    frequencies_hz: np.ndarray  # (6, 2)
    phases: np.ndarray  # (6, 2)
    max_deg: float
    max_mm: float

    @classmethod
    def draw(cls, rng: np.random.Generator, max_deg: float, max_mm: float) -> HeadTrajectory:
        return cls(
            amplitude=float(rng.uniform(0.3, 1.0)),
            frequencies_hz=rng.uniform(0.2, 1.2, size=(6, 2)),
            phases=rng.uniform(0.0, 2.0 * np.pi, size=(6, 2)),
            max_deg=max_deg,
            max_mm=max_mm,
        )

    def offsets(self, times_s: np.ndarray) -> np.ndarray:
        """(T, 6) angles (deg, 3) and translations (mm, 3) at the given times.

        Each degree of freedom is the mean of two unit sinusoids scaled to max / sqrt(3), so
        the norm of the three angles (the rotation angle, for small angles) stays within
        max_deg and the norm of the translation within max_mm.
        """
        t = np.asarray(times_s, dtype=float)[:, None, None]
        waves = np.sin(2.0 * np.pi * self.frequencies_hz[None] * t + self.phases[None]).mean(-1)
        scale = np.array([self.max_deg] * 3 + [self.max_mm] * 3) / np.sqrt(3.0)
        return self.amplitude * waves * scale

    def motions(self, times_s: np.ndarray, pivot_mm: np.ndarray) -> np.ndarray:
        """(T, 4, 4) head motions (applied to the neutral head) at the given times."""
        offsets = self.offsets(times_s)
        return np.stack([rigid_motion(o[:3], o[3:], pivot_mm) for o in offsets])


def head_pose_truth(motions: np.ndarray) -> np.ndarray:
    """Ground-truth poses mapping frame-t points onto frame-0 points: M_0 @ inv(M_t)."""
    return np.einsum("ij,tjk->tik", motions[0], np.linalg.inv(motions))


def rotation_angle_deg(transform: np.ndarray) -> float:
    """Angle of the rotation part of a rigid transform, in degrees."""
    cos = (np.trace(transform[:3, :3]) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
