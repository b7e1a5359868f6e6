"""Surface and look of a synthetic subject: the metric face relief, its shading under the
subject's light, skin texture and the backdrop (wall and torso).

Units: image points are (x, y) pixels; 3D points and depths are millimetres in the colour
camera's frame (x right, y down, z forward). Face-frame points are in IOD units
(``actions.face_frame``).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import PchipInterpolator

from microexp.camera import Intrinsics
from microexp.synthetic.actions import LEFT_EYE, RIGHT_EYE, FaceFrame
from microexp.synthetic.parameters import SubjectParameters
from microexp.synthetic.warp import smoothstep


def face_relief_mm(
    points_face: np.ndarray,
    landmarks_face: np.ndarray,
    iod_mm: float,
    relief: dict[str, float],
) -> np.ndarray:
    """Height of the face surface towards the camera (mm) at face-frame points (N, 2).

    A head cylinder and receding forehead, plus landmark-anchored shapes: nose ridge and alae,
    eye sockets with eyeballs, brow ridge, cheekbones, muzzle, lips and chin, and a fall-off
    behind the face outline (hair, neck). Sizes are typical adult values in IOD units.
    """
    x, y = points_face[:, 0], points_face[:, 1]
    lm = landmarks_face
    height = np.zeros(len(x))

    def gauss(centre: np.ndarray, sx: float, sy: float, amplitude_mm: float) -> None:
        nonlocal height
        dx = (x - centre[0]) / sx
        dy = (y - centre[1]) / sy
        height += amplitude_mm * np.exp(-0.5 * (dx * dx + dy * dy))

    # Head: cylinder across, receding forehead and skull above the brows.
    x_mid = (lm[0, 0] + lm[16, 0]) / 2
    half_width = 0.6 * (lm[16, 0] - lm[0, 0])
    brow_line = lm[17:27, 1].mean() - 0.05
    above = np.clip(brow_line - y, 0.0, None)
    r2 = ((x - x_mid) / half_width) ** 2 + (above / 2.5) ** 2
    height -= 1.75 * iod_mm * (1.0 - np.sqrt(1.0 - np.minimum(r2, 0.985)))
    d0 = 0.3
    height -= 0.25 * iod_mm * np.where(above < d0, above**2 / (2 * d0), above - d0 / 2)

    # Nose: ridge from the nasion (27) over the tip (30) to the subnasale (33).
    axis = lm[33] - lm[27]
    length = float(np.hypot(*axis))
    axis /= length
    s = (x - lm[27, 0]) * axis[0] + (y - lm[27, 1]) * axis[1]
    d = -(x - lm[27, 0]) * axis[1] + (y - lm[27, 1]) * axis[0]
    s30 = float((lm[30] - lm[27]) @ axis)
    knots = np.array([-0.18, 0.0, 0.5 * s30, s30, s30 + 0.6 * (length - s30), length, length + 0.1])
    nose_h = np.array([0.0, 6.0, 11.0, 22.0, 12.0, 5.0, 0.0]) * relief["nose"]
    nose_w = np.array([0.1, 0.085, 0.1, 0.12, 0.14, 0.16, 0.16])
    s_clipped = np.clip(s, knots[0], knots[-1])
    ridge = PchipInterpolator(knots, nose_h)(s_clipped)
    sigma = PchipInterpolator(knots, nose_w)(s_clipped)
    height += ridge * np.exp(-0.5 * (d / sigma) ** 2)
    for ala, side in ((31, -1.0), (35, 1.0)):
        gauss(lm[ala] + np.array([0.03 * side, -0.02]), 0.06, 0.06, 7.0 * relief["nose"])

    # Eyes: socket, eyeball; brow ridge; cheekbones.
    for eye, side in ((RIGHT_EYE, -1.0), (LEFT_EYE, 1.0)):
        centre = lm[list(eye)].mean(axis=0)
        gauss(centre + np.array([0.0, -0.02]), 0.2, 0.14, -8.0 * relief["eyes"])
        gauss(centre, 0.13, 0.075, 3.5)
        gauss(centre + np.array([0.12 * side, 0.36]), 0.25, 0.17, 5.0 * relief["cheeks"])
    for brow in range(17, 27):
        gauss(lm[brow] + np.array([0.0, -0.02]), 0.12, 0.1, 4.0 * relief["brows"])
    gauss(lm[[21, 22]].mean(axis=0) + np.array([0.0, 0.02]), 0.15, 0.12, 3.0 * relief["brows"])

    # Mouth: muzzle, lips, mouth opening; chin and the groove above it.
    gauss(lm[48:68].mean(axis=0), 0.5, 0.42, 11.0)
    gauss(lm[[50, 51, 52, 61, 62, 63]].mean(axis=0), 0.3, 0.065, 3.5 * relief["lips"])
    gauss(lm[[56, 57, 58, 65, 66, 67]].mean(axis=0), 0.26, 0.07, 3.5 * relief["lips"])
    gauss(lm[60:68].mean(axis=0), 0.22, 0.045, -2.5)
    gauss(lm[8] + np.array([0.0, -0.2]), 0.3, 0.17, 7.0 * relief["chin"])
    gauss((lm[57] + lm[8]) / 2 + np.array([0.0, -0.05]), 0.2, 0.06, -2.0)
    return height


def outline_falloff_mm(
    outside_iod: np.ndarray, y_face: np.ndarray, landmarks_face: np.ndarray, iod_mm: float
) -> np.ndarray:
    """Depth added behind the face outline: hair beside the face, the neck under the jaw (none
    above the brows, where the fringe lies on the forehead)."""
    brows = landmarks_face[17:27, 1].mean()
    mouth = landmarks_face[[48, 54], 1].mean()
    chin = landmarks_face[8, 1]
    depth = iod_mm * (0.2 + 0.55 * smoothstep((y_face - mouth) / (chin - mouth)))
    depth *= smoothstep((y_face - brows + 0.3) / 0.8)
    return depth * smoothstep(outside_iod / 0.18)


def shading_under_light(
    depth_mm: np.ndarray, intrinsics: Intrinsics, light: np.ndarray, ambient: float
) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse shading of a depth map under ``light`` and its ratio to the photograph's
    near-frontal studio light (which the texture already carries)."""
    gy, gx = np.gradient(depth_mm.astype(np.float64))
    # Surface slopes in mm per mm: one pixel spans z / f millimetres.
    normal = np.stack(
        [gx * intrinsics.fx / depth_mm, gy * intrinsics.fy / depth_mm, -np.ones_like(gx)], -1
    )
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    studio = np.array([0.0, -np.sin(np.deg2rad(10.0)), -np.cos(np.deg2rad(10.0))])
    shade = ambient + (1 - ambient) * np.clip(normal @ light, 0.0, None)
    studio_shade = 0.4 + 0.6 * np.clip(normal @ studio, 0.0, None)
    return shade.astype(np.float32), np.clip(shade / studio_shade, 0.6, 1.3).astype(np.float32)


def light_direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector from the face towards the light (camera frame; up is -y)."""
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    return np.array([np.sin(az) * np.cos(el), -np.sin(el), -np.cos(az) * np.cos(el)])


def highlight_rolloff(values: np.ndarray, knee: float = 210.0) -> np.ndarray:
    """Compress values above ``knee`` smoothly into [knee, 255] instead of clipping them."""
    headroom = 255.0 - knee
    over = np.clip(values - knee, 0.0, None)
    rolled = knee + headroom * (1.0 - np.exp(-over / headroom))
    return np.clip(np.where(values > knee, rolled, values), 0.0, 255.0)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell_px: float) -> np.ndarray:
    """Zero-mean, unit-std random field with features about ``cell_px`` wide."""
    h, w = shape
    coarse = rng.standard_normal((max(int(h / cell_px), 2) + 2, max(int(w / cell_px), 2) + 2))
    field_ = cv2.resize(coarse.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return (field_ - field_.mean()) / (field_.std() + 1e-6)


def skin_texture(
    rng: np.random.Generator, params: SubjectParameters, skin: np.ndarray, iod_px: float
) -> np.ndarray:
    """Multiplicative RGB texture on skin: blotches, pores, freckles and a few blemishes."""
    shape = skin.shape
    gain = np.ones((*shape, 3), np.float32)
    blotch = params.blotch * _smooth_noise(rng, shape, 0.35 * iod_px)
    gain *= 1.0 + blotch[..., None] * np.array([0.6, 1.0, 1.0], np.float32)
    pores = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), 0.6)
    gain *= 1.0 + params.pores * 2.0 * pores[..., None]
    candidates = np.argwhere(skin > 0.7)
    spots = np.zeros(shape, np.float32)
    if params.freckles and len(candidates):
        picks = candidates[rng.integers(len(candidates), size=params.freckles)]
        spots[picks[:, 0], picks[:, 1]] = rng.uniform(0.5, 1.6, len(picks))
    freckles = cv2.GaussianBlur(spots, (0, 0), 1.0) * 2 * np.pi * 0.15
    gain *= 1.0 - freckles[..., None] * np.array([0.6, 0.8, 0.95], np.float32)
    blemish = np.zeros(shape, np.float32)
    if len(candidates):
        picks = candidates[rng.integers(len(candidates), size=int(rng.integers(0, 4)))]
        blemish[picks[:, 0], picks[:, 1]] = 1.0
    red = cv2.GaussianBlur(blemish, (0, 0), 2.5) * 2 * np.pi * 2.5**2 * 0.12
    gain *= 1.0 - red[..., None] * np.array([0.0, 0.8, 0.7], np.float32)
    weight = skin[..., None]
    return 1.0 + weight * (gain - 1.0)


def backdrop(
    rng: np.random.Generator,
    params: SubjectParameters,
    intrinsics: Intrinsics,
    landmarks2d: np.ndarray,
    frame: FaceFrame,
    light: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Wall (a tilted plane 1.2-1.6 m away) and torso (an upright cylinder under the chin)."""
    h, w = intrinsics.height, intrinsics.width
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    xn = (xs - intrinsics.cx) / intrinsics.fx
    yn = (ys - intrinsics.cy) / intrinsics.fy
    tilt_x, tilt_y = params.wall_tilt
    wall_depth = params.wall_mm / (1.0 - tilt_x * xn - tilt_y * yn)
    wall_light = 1.0 + 0.025 * _smooth_noise(rng, (h, w), 200.0) - 0.08 * (ys / h)
    wall_grain = 1.0 + 0.02 * cv2.GaussianBlur(
        rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8
    )
    wall = np.asarray(params.wall_rgb) * (wall_light * wall_grain)[..., None]

    iod = frame.iod_px
    chin = landmarks2d[8]
    neck_x = chin[0]
    collar = chin[1] + 0.02 * iod
    lateral = np.abs(xs - neck_x)
    top = collar + np.clip(lateral - 0.55 * iod, 0.0, None) ** 2 / (2.2 * iod)
    half = 2.6 * iod
    torso_mask = (ys >= top) & (lateral <= half)
    torso_alpha = cv2.GaussianBlur(torso_mask.astype(np.float32), (0, 0), 0.7)
    across = np.clip((xs - neck_x) / half, -1.0, 1.0)
    torso_depth = params.distance_mm + 45.0 + 35.0 * across**2 + 0.05 * (ys - collar)
    normal = np.stack([across * 0.6, np.full_like(across, 0.15), -np.ones_like(across)], -1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    shade = params.ambient + (1 - params.ambient) * np.clip(normal @ light, 0.0, None)
    folds = 1.0 + 0.05 * _smooth_noise(rng, (h, w), 0.6 * iod)
    torso = np.asarray(params.shirt_rgb) * (shade * folds)[..., None]

    color = wall + torso_alpha[..., None] * (torso - wall)
    depth = np.where(torso_alpha >= 0.5, torso_depth, wall_depth)
    return (
        np.clip(np.round(color), 0, 255).astype(np.uint8),
        depth.astype(np.float32),
    )
