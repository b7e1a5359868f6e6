"""Facial Action Units as localized deformations of the synthetic face.

Micro-expressions are small, local facial movements coded with FACS Action Units (AUs); DSME-3D
(section 3, Table 3) annotates them per sample and its objective classes are built from them.
This module turns an AU intensity vector into what the renderer needs:

* an image displacement field (pixels) and a depth change (mm) per AU, each a sum of smooth,
  compactly supported *bumps* anchored on the 68 landmarks and sized in inter-ocular distances
  (IOD), so an AU moves its own region and nothing else;
* AU45 (blink) as an eyelid closure: a per-column, monotonic vertical map in the eye's frame that
  slides the upper lid down over the eye opening (a displacement bump cannot cover the eye
  without folding the image).

The same bump machinery drives the subject's face-shape morph in ``face.py``. Intensities are in
[0, 1] and combine additively; the displacement at intensity 1 is 1-4 px for IODs of 60-90 px and
the depth change 0.3-2 mm, the scale of DSME-3D's micro-expressions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

# Left-right correspondence of the 68-point (iBUG 300-W) scheme.
LANDMARK_MIRROR: tuple[int, ...] = (
    *range(16, -1, -1),  # jaw 0-16
    *range(26, 16, -1),  # brows 17-26
    27, 28, 29, 30,  # nose ridge
    35, 34, 33, 32, 31,  # nose base
    45, 44, 43, 42, 47, 46,  # right eye -> left eye
    39, 38, 37, 36, 41, 40,  # left eye -> right eye
    54, 53, 52, 51, 50, 49, 48,  # outer upper lip
    59, 58, 57, 56, 55,  # outer lower lip
    64, 63, 62, 61, 60,  # inner upper lip
    67, 66, 65,  # inner lower lip
)  # fmt: skip

RIGHT_EYE = (36, 37, 38, 39, 40, 41)  # subject's right eye, on the image's left
LEFT_EYE = (42, 43, 44, 45, 46, 47)


@dataclass(frozen=True)
class FaceFrame:
    """Image-plane face frame: origin between the eye centres, x along the eye line (image
    right), y perpendicular towards the chin, unit = inter-ocular distance (eye centres)."""

    origin: np.ndarray
    x_axis: np.ndarray
    y_axis: np.ndarray
    iod_px: float

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """Image points (N, 2) in pixels -> face-frame coordinates (N, 2) in IOD."""
        d = np.asarray(points, dtype=np.float64) - self.origin
        return np.stack([d @ self.x_axis, d @ self.y_axis], axis=-1) / self.iod_px

    def to_image_vector(self, vectors: np.ndarray) -> np.ndarray:
        """Face-frame vectors (..., 2) in IOD -> image vectors (..., 2) in pixels."""
        v = np.asarray(vectors, dtype=np.float64)
        return self.iod_px * (v[..., :1] * self.x_axis + v[..., 1:2] * self.y_axis)


def face_frame(landmarks2d: np.ndarray) -> FaceFrame:
    """The face frame of a 68-point landmark set (eye centres define origin, roll and scale)."""
    right = landmarks2d[list(RIGHT_EYE)].mean(axis=0)
    left = landmarks2d[list(LEFT_EYE)].mean(axis=0)
    axis = left - right
    iod = float(np.hypot(*axis))
    x_axis = axis / iod
    y_axis = np.array([-x_axis[1], x_axis[0]])
    return FaceFrame(origin=(right + left) / 2, x_axis=x_axis, y_axis=y_axis, iod_px=iod)


@dataclass(frozen=True)
class Bump:
    """One smooth, compactly supported deformation anchored on landmarks (face-frame IOD units).

    Support: the ellipse of half-axes ``rx`` and ``ry_up`` / ``ry_down`` (above / below the
    centre) around the anchor centroid + ``offset``; weight w = (1 - r^2)^3, which vanishes with
    its first two derivatives at the border. Inside, a point moves by w * (shift + stretch * d),
    d being its offset from the centre, and its depth changes by w * depth_mm (+ = away from the
    camera).
    """

    anchor: tuple[int, ...]
    radii: tuple[float, float, float]
    offset: tuple[float, float] = (0.0, 0.0)
    shift: tuple[float, float] = (0.0, 0.0)
    stretch: tuple[float, float] = (0.0, 0.0)
    depth_mm: float = 0.0

    def mirrored(self) -> Bump:
        """The same bump on the other half of the face."""
        return replace(
            self,
            anchor=tuple(LANDMARK_MIRROR[i] for i in self.anchor),
            offset=(-self.offset[0], self.offset[1]),
            shift=(-self.shift[0], self.shift[1]),
        )


def bump_centre(bump: Bump, landmarks_face: np.ndarray) -> np.ndarray:
    """Support centre of ``bump`` in face-frame coordinates."""
    return landmarks_face[list(bump.anchor)].mean(axis=0) + np.asarray(bump.offset)


def bump_weight(points_face: np.ndarray, centre: np.ndarray, bump: Bump) -> np.ndarray:
    """Weight (1 - r^2)^3 of face-frame points (N, 2), zero outside the support."""
    rx, ry_up, ry_down = bump.radii
    dx = (points_face[:, 0] - centre[0]) / rx
    dy_raw = points_face[:, 1] - centre[1]
    dy = dy_raw / np.where(dy_raw < 0, ry_up, ry_down)
    one_minus_r2 = np.clip(1.0 - dx * dx - dy * dy, 0.0, None)
    return one_minus_r2 * one_minus_r2 * one_minus_r2


def evaluate_bumps(
    bumps: Iterable[Bump],
    frame: FaceFrame,
    landmarks2d: np.ndarray,
    points: np.ndarray,
    gains: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Displacement (N, 2) in pixels and depth change (N,) in mm of image points (N, 2).

    Used identically for pixel grids and for landmarks, so that both are carried by one field.
    """
    points_face = frame.to_face(points)
    landmarks_face = frame.to_face(landmarks2d)
    moved = np.zeros_like(points_face)
    depth = np.zeros(len(points_face))
    bumps = list(bumps)
    gains = [1.0] * len(bumps) if gains is None else list(gains)
    for bump, gain in zip(bumps, gains, strict=True):
        if gain == 0.0:
            continue
        centre = bump_centre(bump, landmarks_face)
        w = gain * bump_weight(points_face, centre, bump)
        inside = w > 0.0
        if not inside.any():
            continue
        rel = points_face[inside] - centre
        step = np.asarray(bump.shift) + rel * np.asarray(bump.stretch)
        moved[inside] += w[inside, None] * step
        depth[inside] += w[inside] * bump.depth_mm
    return frame.to_image_vector(moved), depth


def bump_support_box(
    bump: Bump, frame: FaceFrame, landmarks2d: np.ndarray
) -> tuple[float, float, float, float]:
    """Image bounding box (x_min, x_max, y_min, y_max) of the bump's support."""
    centre = bump_centre(bump, frame.to_face(landmarks2d))
    rx, ry_up, ry_down = bump.radii
    corners = np.array(
        [[centre[0] + sx * rx, centre[1] + sy] for sx in (-1, 1) for sy in (-ry_up, ry_down)]
    )
    image = frame.origin + frame.to_image_vector(corners)
    return (image[:, 0].min(), image[:, 0].max(), image[:, 1].min(), image[:, 1].max())


# --- Action Units ---------------------------------------------------------------------------
# Each AU is given for the subject's right half (image left) and mirrored when ``symmetric``.
# Shifts in IOD (x towards the subject's left, y towards the chin); depth_mm < 0 is a bulge
# towards the camera. Supports are sized so that landmarks of other regions stay outside.


@dataclass(frozen=True)
class ActionUnit:
    """A FACS Action Unit as bumps on the subject's right half (mirrored when symmetric)."""

    name: str
    description: str
    bumps: tuple[Bump, ...]
    symmetric: bool = True

    def all_bumps(self) -> tuple[Bump, ...]:
        """Bumps on both halves of the face."""
        if not self.symmetric:
            return self.bumps
        return self.bumps + tuple(b.mirrored() for b in self.bumps)


_ACTION_UNITS: tuple[ActionUnit, ...] = (
    ActionUnit(
        "AU1",
        "inner brow raiser (frontalis, pars medialis)",
        (
            Bump(
                (20, 21), (0.27, 0.35, 0.2), offset=(0.0, -0.04), shift=(0.0, -0.045), depth_mm=-0.5
            ),
        ),
    ),
    ActionUnit(
        "AU2",
        "outer brow raiser (frontalis, pars lateralis)",
        (
            Bump(
                (17, 18),
                (0.25, 0.35, 0.2),
                offset=(0.0, -0.02),
                shift=(-0.005, -0.045),
                depth_mm=-0.4,
            ),
        ),
    ),
    ActionUnit(
        "AU4",
        "brow lowerer (corrugator, depressor supercilii, procerus)",
        (
            Bump(
                (19, 20, 21),
                (0.3, 0.3, 0.18),
                offset=(0.0, -0.02),
                shift=(0.02, 0.035),
                depth_mm=-0.5,
            ),
            # Glabella bunching between the brows (vertical furrows bulge the skin).
            Bump((21, 22), (0.15, 0.15, 0.15), offset=(0.0, 0.02), depth_mm=-0.6),
        ),
    ),
    ActionUnit(
        "AU5",
        "upper lid raiser (levator palpebrae superioris)",
        (
            Bump(
                (37, 38), (0.17, 0.17, 0.1), offset=(0.0, -0.01), shift=(0.0, -0.028), depth_mm=-0.4
            ),
        ),
    ),
    ActionUnit(
        "AU6",
        "cheek raiser (orbicularis oculi, pars orbitalis)",
        (
            Bump(
                (40, 41), (0.3, 0.2, 0.3), offset=(-0.04, 0.115), shift=(0.0, -0.045), depth_mm=-1.5
            ),
        ),
    ),
    ActionUnit(
        "AU7",
        "lid tightener (orbicularis oculi, pars palpebralis)",
        (
            Bump(
                (40, 41), (0.18, 0.12, 0.18), offset=(0.0, 0.02), shift=(0.0, -0.03), depth_mm=-0.5
            ),
            Bump((37, 38), (0.15, 0.08, 0.06), shift=(0.0, 0.012)),
        ),
    ),
    ActionUnit(
        "AU9",
        "nose wrinkler (levator labii superioris alaeque nasi)",
        (
            Bump(
                (31, 33, 35),
                (0.36, 0.4, 0.15),
                offset=(0.0, -0.05),
                shift=(0.0, -0.035),
                depth_mm=-0.8,
            ),
            # Transverse wrinkles on the nose bridge.
            Bump((28,), (0.2, 0.14, 0.14), shift=(0.0, 0.008), depth_mm=-1.0),
        ),
        symmetric=False,
    ),
    ActionUnit(
        "AU10",
        "upper lip raiser (levator labii superioris)",
        (
            Bump(
                (49, 50, 51, 52, 53),
                (0.42, 0.18, 0.18),
                offset=(0.0, -0.05),
                shift=(0.0, -0.04),
                depth_mm=-0.8,
            ),
        ),
        symmetric=False,
    ),
    ActionUnit(
        "AU12",
        "lip corner puller (zygomaticus major)",
        (
            Bump(
                (48,), (0.3, 0.3, 0.25), offset=(-0.05, -0.05), shift=(-0.03, -0.035), depth_mm=-0.8
            ),
            # Cheek bulge above and lateral to the corner.
            Bump(
                (48,), (0.25, 0.2, 0.2), offset=(-0.12, -0.25), shift=(-0.01, -0.02), depth_mm=-1.0
            ),
        ),
    ),
    ActionUnit(
        "AU14",
        "dimpler (buccinator)",
        (
            Bump((48,), (0.2, 0.2, 0.2), offset=(-0.06, 0.0), shift=(-0.028, -0.005), depth_mm=0.3),
            # The dimple itself, lateral to the corner: skin pulled inwards (away from camera).
            Bump((48,), (0.1, 0.1, 0.1), offset=(-0.14, 0.02), depth_mm=1.2),
        ),
    ),
    ActionUnit(
        "AU15",
        "lip corner depressor (depressor anguli oris)",
        (Bump((48,), (0.25, 0.2, 0.3), offset=(-0.02, 0.08), shift=(0.0, 0.04), depth_mm=-0.5),),
    ),
    ActionUnit(
        "AU17",
        "chin raiser (mentalis)",
        (Bump((8,), (0.4, 0.5, 0.3), offset=(0.0, -0.12), shift=(0.0, -0.045), depth_mm=-1.5),),
        symmetric=False,
    ),
    ActionUnit(
        "AU20",
        "lip stretcher (risorius, platysma)",
        (
            Bump(
                (48,), (0.28, 0.25, 0.25), offset=(-0.08, 0.03), shift=(-0.045, 0.005), depth_mm=0.5
            ),
        ),
    ),
    ActionUnit(
        "AU23",
        "lip tightener (orbicularis oris)",
        (
            Bump(
                (50, 51, 52),
                (0.45, 0.08, 0.1),
                offset=(0.0, 0.02),
                shift=(0.0, 0.02),
                depth_mm=-0.4,
            ),
            Bump((56, 57, 58), (0.45, 0.1, 0.08), shift=(0.0, -0.02), depth_mm=-0.4),
            Bump((48,), (0.12, 0.12, 0.12), shift=(0.02, 0.0)),
            Bump((54,), (0.12, 0.12, 0.12), shift=(-0.02, 0.0)),
        ),
        symmetric=False,
    ),
    ActionUnit(
        "AU24",
        "lip presser (orbicularis oris)",
        (
            Bump((61, 62, 63), (0.4, 0.12, 0.12), shift=(0.0, 0.022), depth_mm=0.8),
            Bump((65, 66, 67), (0.4, 0.12, 0.12), shift=(0.0, -0.022), depth_mm=0.8),
        ),
        symmetric=False,
    ),
    ActionUnit(
        "AU25",
        "lips part (depressor labii inferioris, relaxed mentalis)",
        (
            Bump((56, 57, 58), (0.45, 0.2, 0.3), shift=(0.0, 0.045), depth_mm=-0.4),
            Bump((61, 62, 63), (0.4, 0.15, 0.1), shift=(0.0, -0.012)),
        ),
        symmetric=False,
    ),
)

BLINK_AU = "AU45"

AU_NAMES: tuple[str, ...] = (*(au.name for au in _ACTION_UNITS), BLINK_AU)
"""Order of the AU intensity vector given to ``render.render_frame``."""

AU_DESCRIPTIONS: dict[str, str] = {au.name: au.description for au in _ACTION_UNITS} | {
    BLINK_AU: "blink (levator palpebrae relaxes, orbicularis oculi closes the lid)"
}

AU_BUMPS: dict[str, tuple[Bump, ...]] = {au.name: au.all_bumps() for au in _ACTION_UNITS}

AU_LANDMARKS: dict[str, tuple[int, ...]] = {
    "AU1": (19, 20, 21, 22, 23, 24),
    "AU2": (17, 18, 19, 24, 25, 26),
    "AU4": (19, 20, 21, 22, 23, 24),
    "AU5": (37, 38, 43, 44),
    "AU6": (36, 40, 41, 45, 46, 47),
    "AU7": (37, 38, 40, 41, 43, 44, 46, 47),
    "AU9": (28, 29, 30, 31, 32, 33, 34, 35),
    "AU10": (31, 32, 33, 34, 35, 49, 50, 51, 52, 53, 61, 62, 63),
    "AU12": (48, 49, 53, 54, 60, 64),
    "AU14": (48, 54, 60, 64),
    "AU15": (48, 49, 53, 54, 55, 59, 60, 64),
    "AU17": (7, 8, 9, 56, 57, 58, 65, 66, 67),
    "AU20": (48, 49, 53, 54, 60, 64),
    "AU23": (48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67),
    "AU24": (49, 50, 51, 52, 53, 55, 56, 57, 58, 59, 61, 62, 63, 65, 66, 67),
    "AU25": (49, 50, 51, 52, 53, 55, 56, 57, 58, 59, 61, 62, 63, 65, 66, 67),
    "AU45": (37, 38, 43, 44),
}
"""Landmarks each AU may move (all others stay exactly in place)."""


def au_displacement_at(
    au_intensity: np.ndarray, frame: FaceFrame, landmarks2d: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Summed displacement (N, 2) px and depth change (N,) mm of every non-blink AU at points."""
    bumps: list[Bump] = []
    gains: list[float] = []
    for name, intensity in zip(AU_NAMES, au_intensity, strict=True):
        if name == BLINK_AU or intensity == 0.0:
            continue
        bumps.extend(AU_BUMPS[name])
        gains.extend([float(intensity)] * len(AU_BUMPS[name]))
    return evaluate_bumps(bumps, frame, landmarks2d, points, gains)


@dataclass(frozen=True)
class AUField:
    """Unit-intensity field of one AU on an image box [y0:y1, x0:x1] (box-local float32 arrays).

    ``shade`` is the relative change of diffuse shading that the AU's depth change causes
    (filled in by ``face.make_subject``, which knows the light).
    """

    name: str
    y0: int
    y1: int
    x0: int
    x1: int
    dx: np.ndarray
    dy: np.ndarray
    dz: np.ndarray
    shade: np.ndarray | None = None


def au_unit_fields(
    frame: FaceFrame, landmarks2d: np.ndarray, image_shape: tuple[int, int], margin: int = 2
) -> dict[str, AUField]:
    """Each non-blink AU's field at intensity 1 on its support box within ``image_shape``."""
    height, width = image_shape
    fields = {}
    for name, bumps in AU_BUMPS.items():
        boxes = np.array([bump_support_box(b, frame, landmarks2d) for b in bumps])
        x0 = max(int(np.floor(boxes[:, 0].min())) - margin, 0)
        x1 = min(int(np.ceil(boxes[:, 1].max())) + margin + 1, width)
        y0 = max(int(np.floor(boxes[:, 2].min())) - margin, 0)
        y1 = min(int(np.ceil(boxes[:, 3].max())) + margin + 1, height)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        moved, depth = evaluate_bumps(bumps, frame, landmarks2d, points)
        shape = (y1 - y0, x1 - x0)
        fields[name] = AUField(
            name,
            y0,
            y1,
            x0,
            x1,
            dx=moved[:, 0].reshape(shape).astype(np.float32),
            dy=moved[:, 1].reshape(shape).astype(np.float32),
            dz=depth.reshape(shape).astype(np.float32),
        )
    return fields


# --- AU45: eyelid closure -------------------------------------------------------------------

BLINK_GAP = 0.06  # fraction of the eye opening left at full closure (keeps the map invertible)


@dataclass(frozen=True)
class EyelidGeometry:
    """An eye in its own frame: xi along outer -> inner corner, eta perpendicular (down).

    Lid margins are the cubics through the corners and the two lid landmarks; ``band_px`` is
    the height of upper-lid skin above the margin that stretches down over the eye.
    """

    origin: np.ndarray
    xi_axis: np.ndarray
    eta_axis: np.ndarray
    length_px: float
    upper: np.ndarray  # cubic coefficients of eta_upper(xi)
    lower: np.ndarray
    band_px: float

    def to_eye(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.asarray(points, dtype=np.float64) - self.origin
        return d @ self.xi_axis, d @ self.eta_axis

    def to_image(self, xi: np.ndarray, eta: np.ndarray) -> np.ndarray:
        return self.origin + xi[:, None] * self.xi_axis + eta[:, None] * self.eta_axis

    def margins(self, xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper and lower lid margins (eta) at ``xi``; equal (zero opening) outside the eye."""
        upper = np.polyval(self.upper, xi)
        lower = np.polyval(self.lower, xi)
        outside = (xi <= 0.0) | (xi >= self.length_px)
        opening = np.where(outside, 0.0, np.clip(lower - upper, 0.0, None))
        return lower - opening, lower

    def box(self) -> tuple[float, float, float, float]:
        """Image bounding box (x_min, x_max, y_min, y_max) of what a blink can change."""
        xi = np.linspace(0.0, self.length_px, 33)
        upper, lower = self.margins(xi)
        pts = np.concatenate(
            [self.to_image(xi, upper - self.band_px), self.to_image(xi, lower)], axis=0
        )
        return (pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max())


def eyelid_geometry(landmarks2d: np.ndarray, eye: Sequence[int], iod_px: float) -> EyelidGeometry:
    """Eye frame and lid margins from one eye's six landmarks (outer, 2 upper, inner, 2 lower
    in the order of ``RIGHT_EYE`` / ``LEFT_EYE``)."""
    e = np.asarray(landmarks2d, dtype=np.float64)[list(eye)]
    # Right eye: 36 outer, 37 38 upper, 39 inner, 40 41 lower; left eye: 42 inner, 45 outer.
    if eye[0] == 36:
        outer, up1, up2, inner, low2, low1 = e
    else:
        inner, up2, up1, outer, low1, low2 = e
    axis = inner - outer
    length = float(np.hypot(*axis))
    xi_axis = axis / length
    eta_axis = np.array([-xi_axis[1], xi_axis[0]])
    if eta_axis @ np.array([0.0, 1.0]) < 0:
        eta_axis = -eta_axis

    def to_eye(p: np.ndarray) -> tuple[float, float]:
        d = p - outer
        return float(d @ xi_axis), float(d @ eta_axis)

    upper = np.polyfit(*zip(*(to_eye(p) for p in (outer, up1, up2, inner)), strict=True), 3)
    lower = np.polyfit(*zip(*(to_eye(p) for p in (outer, low1, low2, inner)), strict=True), 3)
    return EyelidGeometry(
        origin=outer,
        xi_axis=xi_axis,
        eta_axis=eta_axis,
        length_px=length,
        upper=upper,
        lower=lower,
        band_px=0.12 * iod_px,
    )


def _lid_knots(
    geometry: EyelidGeometry, xi: np.ndarray, intensity: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-column knots of the piecewise-linear lid map: band top, margin before / after, lower
    margin. The band [top, margin] stretches to [top, new margin]; the opening below compresses
    into [new margin, lower]."""
    upper, lower = geometry.margins(xi)
    top = upper - geometry.band_px
    closed = upper + intensity * (1.0 - BLINK_GAP) * (lower - upper)
    return top, upper, closed, lower


def _piecewise_linear(
    eta: np.ndarray, top: np.ndarray, a: np.ndarray, b: np.ndarray, bottom: np.ndarray
) -> np.ndarray:
    """Monotonic map sending top -> top, a -> b, bottom -> bottom, linear in between."""
    out = eta.copy()
    upper_band = (eta > top) & (eta <= a) & (a > top)
    out[upper_band] = top[upper_band] + (eta[upper_band] - top[upper_band]) * (
        (b[upper_band] - top[upper_band]) / (a[upper_band] - top[upper_band])
    )
    lower_band = (eta > a) & (eta < bottom) & (bottom > a)
    out[lower_band] = b[lower_band] + (eta[lower_band] - a[lower_band]) * (
        (bottom[lower_band] - b[lower_band]) / (bottom[lower_band] - a[lower_band])
    )
    return out


def _moved_points(
    geometry: EyelidGeometry, points: np.ndarray, xi: np.ndarray, eta: np.ndarray, moved: np.ndarray
) -> np.ndarray:
    """Points with the lid map applied; untouched points are returned bit-identical (the eye
    frame round trip would perturb them by ~1e-13 px)."""
    out = np.array(points, dtype=np.float64, copy=True)
    change = moved != eta
    out[change] = geometry.to_image(xi[change], moved[change])
    return out


def close_eyelid(geometry: EyelidGeometry, points: np.ndarray, intensity: float) -> np.ndarray:
    """Forward blink map: where neutral image points (N, 2) go at blink ``intensity``."""
    xi, eta = geometry.to_eye(points)
    top, upper, closed, lower = _lid_knots(geometry, xi, intensity)
    return _moved_points(
        geometry, points, xi, eta, _piecewise_linear(eta, top, upper, closed, lower)
    )


def open_eyelid(geometry: EyelidGeometry, points: np.ndarray, intensity: float) -> np.ndarray:
    """Inverse blink map: the neutral position seen at blinked image points (N, 2)."""
    xi, eta = geometry.to_eye(points)
    top, upper, closed, lower = _lid_knots(geometry, xi, intensity)
    return _moved_points(
        geometry, points, xi, eta, _piecewise_linear(eta, top, closed, upper, lower)
    )
