"""What is random about a synthetic subject: size, distance, pose, face-shape morph, relief,
skin, hair, light, skin texture, backdrop and expressiveness.

Ranges are chosen for D415 captures of a seated person (DSME-3D Sec. 3.1: 0.4-0.7 m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microexp.camera import Intrinsics
from microexp.synthetic.actions import AU_NAMES, Bump

# Reference skin colours from light to dark (sRGB, cheek under even light) and hair colours.
SKIN_TONES = np.array(
    [[244, 208, 188], [228, 184, 152], [206, 156, 118], [172, 120, 86], [138, 92, 64]],
    dtype=np.float64,
)
HAIR_COLOURS = np.array(
    [[38, 30, 26], [72, 50, 36], [118, 84, 54], [178, 146, 98], [132, 68, 40], [150, 146, 142]],
    dtype=np.float64,
)
WALL_COLOURS = np.array(
    [[196, 192, 182], [170, 178, 186], [186, 176, 160], [160, 170, 150], [210, 206, 200]],
    dtype=np.float64,
)


@dataclass(frozen=True)
class SubjectParameters:
    """Everything random about a subject, drawn from ``numpy.random.default_rng((seed, index))``."""

    distance_mm: float  # nose tip to camera
    face_width_mm: float  # jaw landmarks 0-16
    roll_deg: float
    centre_px: tuple[float, float]  # where the eye midpoint lands in the image
    morph: dict[str, float]
    relief: dict[str, float]
    skin_rgb: tuple[float, float, float]
    hair_rgb: tuple[float, float, float]
    light_azimuth_deg: float
    light_elevation_deg: float
    ambient: float
    freckles: int
    blotch: float
    pores: float
    wall_mm: float
    wall_tilt: tuple[float, float]
    wall_rgb: tuple[float, float, float]
    shirt_rgb: tuple[float, float, float]
    au_gain: tuple[float, ...]


def draw_subject_parameters(rng: np.random.Generator, intrinsics: Intrinsics) -> SubjectParameters:
    """Draw a subject's parameters (ranges chosen for D415 captures of a seated person)."""
    u = rng.uniform
    skin_t = u(0.0, 1.0) * (len(SKIN_TONES) - 1)
    lo = int(np.floor(skin_t))
    hi = min(lo + 1, len(SKIN_TONES) - 1)
    skin = SKIN_TONES[lo] + (skin_t - lo) * (SKIN_TONES[hi] - SKIN_TONES[lo])
    skin = skin * u(0.95, 1.05, 3)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * u(0.9, 1.1, 3)
    wall = WALL_COLOURS[rng.integers(len(WALL_COLOURS))] * u(0.85, 1.05, 3)
    tint = rng.standard_normal(3)
    shirt = u(40.0, 190.0) * (1.0 + 0.3 * tint / np.linalg.norm(tint))
    morph = {
        "face_width": u(-0.06, 0.06),
        "eye_spacing": u(-0.035, 0.035),
        "brow_height": u(-0.03, 0.03),
        "nose_length": u(-0.035, 0.035),
        "mouth_width": u(-0.08, 0.08),
        "mouth_height": u(-0.02, 0.02),
        "chin_length": u(-0.06, 0.06),
        "jaw_width": u(-0.05, 0.05),
    }
    relief = {
        "nose": u(0.85, 1.15),
        "eyes": u(0.85, 1.15),
        "brows": u(0.8, 1.2),
        "cheeks": u(0.7, 1.3),
        "lips": u(0.8, 1.2),
        "chin": u(0.8, 1.2),
    }
    return SubjectParameters(
        distance_mm=u(450.0, 650.0),
        # Adult face widths at the jaw landmarks: with these, the outer brow ends sit 83-98 mm
        # from the nose tip, inside DSME-3D's 100 mm face crop as on real faces
        # (docs/methods.md#3d-face).
        face_width_mm=u(114.0, 128.0),
        roll_deg=u(-4.0, 4.0),
        centre_px=(
            intrinsics.width / 2 + u(-50.0, 50.0),
            intrinsics.height * u(0.37, 0.42),
        ),
        morph=morph,
        relief=relief,
        skin_rgb=tuple(skin),
        hair_rgb=tuple(hair),
        light_azimuth_deg=u(-30.0, 30.0),
        light_elevation_deg=u(5.0, 35.0),
        ambient=u(0.35, 0.55),
        freckles=int(rng.integers(0, 160)) if u() < 0.6 else 0,
        blotch=u(0.0, 0.06),
        pores=u(0.005, 0.02),
        wall_mm=u(1200.0, 1600.0),
        wall_tilt=(u(-0.15, 0.15), u(-0.1, 0.1)),
        wall_rgb=tuple(wall),
        shirt_rgb=tuple(shirt),
        au_gain=tuple(u(0.6, 1.0, len(AU_NAMES))),
    )


def morph_bumps(morph: dict[str, float]) -> list[Bump]:
    """The face-shape morph as landmark-anchored bumps (face-frame IOD units)."""
    width = Bump((27, 30, 33), (2.4, 3.2, 2.4), stretch=(morph["face_width"], 0.0))
    eye = Bump((36, 39), (0.5, 0.55, 0.45), shift=(-morph["eye_spacing"], 0.0))
    brow = Bump((18, 19, 20), (0.4, 0.3, 0.22), shift=(0.0, -morph["brow_height"]))
    nose = Bump((31, 33, 35), (0.4, 0.35, 0.3), shift=(0.0, morph["nose_length"]))
    mouth = Bump(
        (48, 54),
        (0.85, 0.4, 0.45),
        shift=(0.0, morph["mouth_height"]),
        stretch=(morph["mouth_width"], 0.0),
    )
    chin = Bump((7, 8, 9), (1.0, 0.9, 0.6), shift=(0.0, morph["chin_length"]))
    jaw = Bump((4, 5, 6), (0.55, 0.6, 0.6), shift=(-morph["jaw_width"], 0.0))
    return [
        width,
        eye,
        eye.mirrored(),
        brow,
        brow.mirrored(),
        nose,
        mouth,
        chin,
        jaw,
        jaw.mirrored(),
    ]
