"""Camera and subjects of the embedded synthetic RGB-D micro-expression data set.

DSME-3D (section 3.1) recorded 848 x 480 colour and depth with an Intel RealSense D415 at about
0.4-0.7 m. The licensed recordings cannot ship, so the pipeline renders look-alikes: every
subject is derived from the one real face photograph shipped in scikit-image
(``skimage.data.astronaut()``) by a landmark-driven face-shape morph, skin and hair tone, a
subject-specific light shining on a metric 3D face surface, and skin texture (freckles, blotches,
pores). Its 68 neutral landmarks are the photograph's, calibrated once with dlib (the detector of
docs/methods.md#2d-face) and then carried geometrically through every warp, never re-detected.

Units: image points are (x, y) pixels with pixel centres at integer coordinates (OpenCV and
dlib); 3D points are millimetres in the colour camera's frame (x right, y down, z forward).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import distance_transform_edt

from microexp.camera import Intrinsics
from microexp.synthetic.actions import (
    AU_NAMES,
    LEFT_EYE,
    RIGHT_EYE,
    AUField,
    Bump,
    EyelidGeometry,
    FaceFrame,
    au_unit_fields,
    evaluate_bumps,
    eyelid_geometry,
    face_frame,
)

#: The synthetic camera: a D415 colour stream at 848 x 480. Depth is rendered in this
#: camera's frame (depth-to-colour extrinsics = identity), i.e. already aligned to colour as
#: ``rs.align`` would deliver it.
D415_COLOR = Intrinsics(width=848, height=480, fx=600.0, fy=600.0, cx=424.0, cy=240.0)


def bilinear_sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of a 2D array at (N, 2) (x, y) points (clamped to the border)."""
    h, w = image.shape
    x = np.clip(np.asarray(points[:, 0], dtype=np.float64), 0.0, w - 1.000001)
    y = np.clip(np.asarray(points[:, 1], dtype=np.float64), 0.0, h - 1.000001)
    x0 = np.floor(x).astype(int)
    y0 = np.floor(y).astype(int)
    fx = x - x0
    fy = y - y0
    img = image.astype(np.float64, copy=False)
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _affine_apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _similarity(scale: float, angle_rad: float, translation: np.ndarray) -> np.ndarray:
    c, s = scale * np.cos(angle_rad), scale * np.sin(angle_rad)
    return np.array([[c, -s, translation[0]], [s, c, translation[1]]])


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --- The source photograph ------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoFace:
    """The real face every subject is derived from, with what was measured on it once."""

    image: np.ndarray  # (512, 512, 3) uint8 RGB (2 px of skin inpainted beyond the jaw)
    landmarks: np.ndarray  # (68, 2) calibrated dlib landmarks (photo pixels)
    head_mask: np.ndarray  # float32 in [0, 1]: face, hair and neck
    skin_weight: np.ndarray  # float32 in [0, 1]
    hair_weight: np.ndarray  # float32 in [0, 1]
    skin_rgb: np.ndarray  # mean skin colour (3,)
    hair_rgb: np.ndarray  # mean hair colour (3,)


def calibrate_photo_landmarks(image: np.ndarray) -> np.ndarray:
    """The photograph's 68 landmarks: dlib averaged over 24 rescaled, rotated, subpixel-shifted
    copies mapped back to the photograph (one prediction is biased by its integer output and by
    its detection box; the average is deterministic and stable to ~0.2 px)."""
    from microexp.face2d.detector import LandmarkDetector

    detector = LandmarkDetector(upsample=1)
    faces = detector.detect_faces(image)
    if not faces:
        raise RuntimeError("dlib found no face in skimage.data.astronaut()")
    box = faces[0]
    centre = np.array([(box.left() + box.right()) / 2, (box.top() + box.bottom()) / 2])
    size = float(box.width())
    detector.upsample = 0
    estimates = []
    for scale in (1.5, 2.0):
        out = round(size * scale * 2.0)
        for angle_deg in (-3.0, 0.0, 3.0):
            for shift in ((0.0, 0.0), (0.5, 0.25), (0.25, 0.5), (0.75, 0.75)):
                matrix = _similarity(scale, np.deg2rad(angle_deg), np.zeros(2))
                matrix[:, 2] = out / 2 + np.asarray(shift) - _affine_apply(matrix, centre)
                warped = cv2.warpAffine(image, matrix, (out, out), flags=cv2.INTER_LINEAR)
                landmarks = detector(warped)
                if landmarks is None:
                    continue
                inverse = cv2.invertAffineTransform(matrix)
                estimates.append(_affine_apply(inverse, landmarks))
    if len(estimates) < 12:
        raise RuntimeError("dlib lost the astronaut's face on its rescaled copies")
    return np.mean(estimates, axis=0)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Binary mask with enclosed holes (eyes, teeth) filled; (0, 0) must be background."""
    flood = mask.astype(np.uint8).copy()
    h, w = flood.shape
    cv2.floodFill(flood, np.zeros((h + 2, w + 2), np.uint8), (0, 0), 2)
    return flood != 2


def _jaw_polygon(landmarks: np.ndarray, frame: FaceFrame, forehead_iod: float) -> np.ndarray:
    """Face outline: the jaw (0-16) closed over the forehead by the brows lifted by
    ``forehead_iod``."""
    brows = landmarks[26:16:-1] - frame.to_image_vector(np.array([0.0, forehead_iod]))
    return np.concatenate([landmarks[:17], brows], axis=0)


def _segment_photo_head(
    image: np.ndarray, landmarks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Photograph with a skin rim inpainted around the jaw, head mask, skin and hair weights.

    The studio backdrop is unsaturated grey, hair and skin are not; below the mouth only the
    face outline and a neck band count as head (the space suit's collar is saturated too).
    Hue and saturation separate hair (OpenCV H > 17, saturated) from skin (H 8-16).
    """
    h, w = image.shape[:2]
    frame = face_frame(landmarks)
    hsv = cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    foreground = (sat > 40) | (val < 120)

    ys, xs = np.mgrid[0:h, 0:w]
    face_xy = frame.to_face(np.stack([xs.ravel(), ys.ravel()], axis=1)).reshape(h, w, 2)
    fx_, fy_ = face_xy[..., 0], face_xy[..., 1]
    lm_face = frame.to_face(landmarks)
    mouth_level = lm_face[[48, 54], 1].mean()
    chin = lm_face[8]
    polygon = np.zeros((h, w), np.uint8)
    cv2.fillPoly(polygon, [np.round(_jaw_polygon(landmarks, frame, 0.7)).astype(np.int32)], 1)
    polygon = cv2.dilate(polygon, np.ones((3, 3), np.uint8)).astype(bool)
    neck = (np.abs(fx_ - chin[0]) < 0.6) & (fy_ < chin[1] + 0.3) & (val > 110)
    window = (np.abs(fx_) < 1.9) & (fy_ > -2.8)
    allowed = window & ((fy_ < mouth_level) | polygon | neck)
    head = foreground & allowed

    _, labels = cv2.connectedComponents(head.astype(np.uint8))
    nose = np.round(landmarks[30]).astype(int)
    head = labels == labels[nose[1], nose[0]]
    head = _fill_holes(head)
    # dlib's jaw points sit on the occluding contour; grow the head 2 px past the face outline
    # (colour inpainted from the skin) so the depth under every landmark is the face's.
    outline = np.zeros((h, w), np.uint8)
    cv2.fillPoly(outline, [np.round(_jaw_polygon(landmarks, frame, 0.7)).astype(np.int32)], 1)
    grown = cv2.dilate(outline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0
    rim = grown & ~head
    image = cv2.inpaint(image, rim.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    head |= grown
    smooth = cv2.GaussianBlur(head.astype(np.float32), (0, 0), 1.5) > 0.5
    head_mask = cv2.GaussianBlur(smooth.astype(np.float32), (0, 0), 0.6)
    hsv = cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]

    hue_wrapped = np.where(hue > 90, hue - 180, hue)
    hair = _smoothstep((hue_wrapped - 15.0) / 4.0) * _smoothstep((sat - 60.0) / 40.0)
    # Outside the face outline dark pixels are hair too; inside they are brows and pupils.
    hair = np.maximum(hair, ~polygon * _smoothstep((100.0 - val) / 30.0))
    # Eyes and the mouth's interior (teeth) keep their colour; the rest of the face is skin.
    interior = np.zeros((h, w), np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE, tuple(range(60, 68))):
        cv2.fillPoly(interior, [np.round(landmarks[list(ring)]).astype(np.int32)], 1)
    skin = (1.0 - hair) * (1.0 - cv2.GaussianBlur(interior.astype(np.float32), (0, 0), 0.8))
    hair = cv2.GaussianBlur(hair.astype(np.float32), (0, 0), 1.0) * head_mask
    skin = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), 1.0) * head_mask
    return image, head_mask.astype(np.float32), skin.astype(np.float32), hair.astype(np.float32)


@functools.lru_cache(maxsize=1)
def photo_face() -> PhotoFace:
    """The astronaut photograph, its calibrated landmarks and segmentation (computed once)."""
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[..., :3])
    landmarks = calibrate_photo_landmarks(image)
    image, head_mask, skin, hair = _segment_photo_head(image, landmarks)
    pixels = image.reshape(-1, 3).astype(np.float64)
    skin_rgb = (pixels * skin.reshape(-1, 1)).sum(0) / skin.sum()
    hair_rgb = (pixels * hair.reshape(-1, 1)).sum(0) / hair.sum()
    for array in (image, landmarks, head_mask, skin, hair, skin_rgb, hair_rgb):
        array.setflags(write=False)
    return PhotoFace(image, landmarks, head_mask, skin, hair, skin_rgb, hair_rgb)


# --- Subject parameters ---------------------------------------------------------------------

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


# --- Subject --------------------------------------------------------------------------------


@dataclass(eq=False)
class SyntheticSubject:
    """One synthetic person: neutral appearance and geometry, ready for ``render.render_frame``.

    Head arrays (``texture``, ``alpha``, ``depth_mm``) cover the region of interest
    ``roi = (y0, y1, x0, x1)`` of the image; the background (wall and torso) covers the image.
    ``au_gain`` is the subject's expressiveness per AU (order of ``actions.AU_NAMES``, values in
    [0.6, 1]): ``render_frame`` uses intensities as given; the expression scheduler multiplies
    its intended intensities by the gain, so subjects differ in amplitude.
    """

    index: int
    seed: int
    name: str
    intrinsics: Intrinsics
    parameters: SubjectParameters
    distance_mm: float
    au_gain: np.ndarray
    neutral_landmarks2d: np.ndarray
    neutral_landmarks3d: np.ndarray
    frame: FaceFrame
    roi: tuple[int, int, int, int]
    texture: np.ndarray  # (h, w, 3) uint8, shaded
    alpha: np.ndarray  # (h, w) float32 head coverage
    depth_mm: np.ndarray  # (h, w) float32 neutral surface depth
    shading: np.ndarray  # (h, w) float32 diffuse shading of the neutral surface
    background_color: np.ndarray  # (H, W, 3) uint8
    background_depth_mm: np.ndarray  # (H, W) float32
    au_fields: dict[str, AUField] = field(repr=False)
    eyelids: tuple[EyelidGeometry, EyelidGeometry] = field(repr=False)
    light_direction: np.ndarray = field(repr=False)

    @property
    def face_width_px(self) -> float:
        """Distance between the jaw ends (landmarks 0 and 16) in the neutral image."""
        lm = self.neutral_landmarks2d
        return float(np.hypot(*(lm[16] - lm[0])))


def invert_forward_map(
    forward_x: np.ndarray, forward_y: np.ndarray, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Invert a smooth warp given on a pixel grid: ``forward`` holds where each grid pixel p
    goes; returns, for each grid pixel q, the source s with forward(s) = q.

    Fixed point s <- s - (forward(s) - q) with bilinear look-ups (``cv2.remap``); the error
    shrinks each step by the largest gradient of forward - identity (< 0.5 for the morph, AUs
    and small head motions), so a handful of iterations reach 0.01 px.
    """
    h, w = forward_x.shape
    qy, qx = np.mgrid[0:h, 0:w].astype(np.float32)
    # First step from s = q needs no look-up: forward(q) is the grid itself.
    sx = qx - (forward_x - qx)
    sy = qy - (forward_y - qy)
    for _ in range(iterations - 1):
        fx = cv2.remap(forward_x, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fy = cv2.remap(forward_y, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sx -= fx - qx
        sy -= fy - qy
    return sx, sy


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


def _outline_falloff_mm(
    outside_iod: np.ndarray, y_face: np.ndarray, landmarks_face: np.ndarray, iod_mm: float
) -> np.ndarray:
    """Depth added behind the face outline: hair beside the face, the neck under the jaw (none
    above the brows, where the fringe lies on the forehead)."""
    brows = landmarks_face[17:27, 1].mean()
    mouth = landmarks_face[[48, 54], 1].mean()
    chin = landmarks_face[8, 1]
    depth = iod_mm * (0.2 + 0.55 * _smoothstep((y_face - mouth) / (chin - mouth)))
    depth *= _smoothstep((y_face - brows + 0.3) / 0.8)
    return depth * _smoothstep(outside_iod / 0.18)


def _relight(
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


def _highlight_rolloff(values: np.ndarray, knee: float = 210.0) -> np.ndarray:
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


def _skin_texture(
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


def _background(
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


def light_direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector from the face towards the light (camera frame; up is -y)."""
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    return np.array([np.sin(az) * np.cos(el), -np.sin(el), -np.cos(az) * np.cos(el)])


@dataclass(frozen=True)
class FacePlacement:
    """How the photograph's face becomes a subject's neutral face in the image."""

    photo_to_image: np.ndarray  # (2, 3) similarity: size for the distance, roll, position
    placed_landmarks: np.ndarray  # photograph landmarks after the similarity
    morph: list[Bump]  # face-shape morph, applied after the similarity
    landmarks2d: np.ndarray  # neutral truth landmarks (68, 2)
    face_depth_mm: float  # depth at which the face outline is sized


def place_face(
    params: SubjectParameters, intrinsics: Intrinsics, photo_landmarks: np.ndarray
) -> FacePlacement:
    """Similarity (face width ``face_width_mm`` seen at the face's depth) then the morph."""
    photo_width = float(np.hypot(*(photo_landmarks[16] - photo_landmarks[0])))
    face_depth = params.distance_mm + 30.0  # the jaw outline sits behind the nose tip
    scale = intrinsics.fx * params.face_width_mm / (face_depth * photo_width)
    photo_eyes = photo_landmarks[36:48].mean(axis=0)
    placement = _similarity(scale, np.deg2rad(params.roll_deg), np.zeros(2))
    placement[:, 2] = np.asarray(params.centre_px) - _affine_apply(placement, photo_eyes)
    placed = _affine_apply(placement, photo_landmarks)
    bumps = morph_bumps(params.morph)
    moved, _ = evaluate_bumps(bumps, face_frame(placed), placed, placed)
    return FacePlacement(placement, placed, bumps, placed + moved, face_depth)


def _head_roi(
    photo: PhotoFace, placement: np.ndarray, iod_px: float, intrinsics: Intrinsics
) -> tuple[int, int, int, int]:
    """Image box (y0, y1, x0, x1) of the head plus room for the morph and head motion."""
    ys, xs = np.nonzero(photo.head_mask > 0.01)
    corners = np.array(
        [[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.min(), ys.max()], [xs.max(), ys.max()]],
        dtype=np.float64,
    )
    box = _affine_apply(placement, corners)
    margin = 0.45 * iod_px
    return (
        max(int(box[:, 1].min() - margin), 0),
        min(int(box[:, 1].max() + margin) + 1, intrinsics.height),
        max(int(box[:, 0].min() - margin), 0),
        min(int(box[:, 0].max() + margin) + 1, intrinsics.width),
    )


def _photo_maps(
    pose: FacePlacement, roi: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """For every ROI pixel, where to read the photograph: invert the morph on the grid, then
    undo the similarity."""
    y0, y1, x0, x1 = roi
    ys, xs = np.mgrid[y0:y1, x0:x1]
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    placed = pose.placed_landmarks
    moved, _ = evaluate_bumps(pose.morph, face_frame(placed), placed, grid)
    shape = xs.shape
    forward_x = (grid[:, 0] + moved[:, 0] - x0).reshape(shape).astype(np.float32)
    forward_y = (grid[:, 1] + moved[:, 1] - y0).reshape(shape).astype(np.float32)
    src_x, src_y = invert_forward_map(forward_x, forward_y, iterations=12)
    unplace = cv2.invertAffineTransform(pose.photo_to_image)
    src = _affine_apply(unplace, np.stack([src_x.ravel() + x0, src_y.ravel() + y0], axis=1))
    return (
        src[:, 0].reshape(shape).astype(np.float32),
        src[:, 1].reshape(shape).astype(np.float32),
    )


def _head_depth(
    params: SubjectParameters,
    pose: FacePlacement,
    frame: FaceFrame,
    intrinsics: Intrinsics,
    roi: tuple[int, int, int, int],
) -> np.ndarray:
    """Metric depth (mm) of the head surface on the ROI, nose tip at the subject's distance."""
    y0, y1, x0, x1 = roi
    origin = np.array([x0, y0], np.float64)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    grid_face = frame.to_face(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64))
    landmarks_face = frame.to_face(pose.landmarks2d)
    iod_mm = frame.iod_px * pose.face_depth_mm / intrinsics.fx
    height = face_relief_mm(grid_face, landmarks_face, iod_mm, params.relief).reshape(xs.shape)

    outline = np.zeros(xs.shape, np.uint8)
    polygon = _jaw_polygon(pose.landmarks2d, frame, 0.7) - origin
    cv2.fillPoly(outline, [np.round(polygon * 16).astype(np.int32)], 1, cv2.LINE_AA, shift=4)
    # Exact EDT (OpenCV's precise distance transform depends on its thread count).
    outside_iod = distance_transform_edt(outline == 0).ravel() / frame.iod_px
    falloff = _outline_falloff_mm(outside_iod, grid_face[:, 1], landmarks_face, iod_mm)
    # The outline is a polygon through 17 points; smooth away its corners and pixel steps.
    falloff = cv2.GaussianBlur(
        falloff.reshape(xs.shape).astype(np.float32), (0, 0), 0.06 * frame.iod_px
    )
    height -= falloff
    nose_height = bilinear_sample(height, pose.landmarks2d[30:31] - origin)[0]
    return (params.distance_mm + nose_height - height).astype(np.float32)


def _appearance(
    rng: np.random.Generator,
    params: SubjectParameters,
    photo: PhotoFace,
    maps: tuple[np.ndarray, np.ndarray],
    relight: np.ndarray,
    iod_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Head texture (uint8 RGB) and coverage on the ROI: the photograph warped, relit, toned
    and textured."""

    def from_photo(array: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        return cv2.remap(array, *maps, interpolation, borderMode=cv2.BORDER_REFLECT)

    texture = from_photo(photo.image, cv2.INTER_CUBIC).astype(np.float32)
    alpha = np.clip(from_photo(photo.head_mask), 0.0, 1.0).astype(np.float32)
    skin = np.clip(from_photo(photo.skin_weight), 0.0, 1.0)
    hair = np.clip(from_photo(photo.hair_weight), 0.0, 1.0)
    skin_gain = np.asarray(params.skin_rgb) / photo.skin_rgb
    skin_gain /= max(1.0, skin_gain.max() / 1.05)  # the photograph is already fair and bright
    hair_gain = np.asarray(params.hair_rgb) / photo.hair_rgb
    tone = 1.0 + skin[..., None] * (skin_gain - 1.0) + hair[..., None] * (hair_gain - 1.0)
    texture *= tone.astype(np.float32) * relight[..., None]
    texture *= _skin_texture(rng, params, skin, iod_px)
    return np.round(_highlight_rolloff(texture)).astype(np.uint8), alpha


def _au_fields_with_shading(
    landmarks2d: np.ndarray,
    roi: tuple[int, int, int, int],
    depth: np.ndarray,
    shading: np.ndarray,
    light: np.ndarray,
    params: SubjectParameters,
    intrinsics: Intrinsics,
) -> dict[str, AUField]:
    """Every AU's unit-intensity field on the ROI, with the shading change its relief causes
    under the subject's light (first order in the surface slope)."""
    y0, _, x0, _ = roi
    roi_landmarks = landmarks2d - np.array([x0, y0], np.float64)
    fields = au_unit_fields(face_frame(roi_landmarks), roi_landmarks, depth.shape)
    mm_per_px = depth / intrinsics.fx
    for name, f in fields.items():
        gy, gx = np.gradient(f.dz)
        window = (slice(f.y0, f.y1), slice(f.x0, f.x1))
        slope_x = gx / mm_per_px[window]
        slope_y = gy / mm_per_px[window]
        # Halved: subsurface scattering in skin softens the shading of fine relief.
        diffuse = 0.5 * (1 - params.ambient) * (light[0] * slope_x + light[1] * slope_y)
        shade = diffuse / np.maximum(shading[window], 0.2)
        fields[name] = replace(f, shade=shade.astype(np.float32))
    return fields


def make_subject(index: int, seed: int, intrinsics: Intrinsics = D415_COLOR) -> SyntheticSubject:
    """Build subject ``index`` of the data set seeded by ``seed`` (deterministic)."""
    rng = np.random.default_rng((seed, index))
    params = draw_subject_parameters(rng, intrinsics)
    photo = photo_face()
    pose = place_face(params, intrinsics, photo.landmarks)
    landmarks2d = pose.landmarks2d
    frame = face_frame(landmarks2d)
    roi = _head_roi(photo, pose.photo_to_image, frame.iod_px, intrinsics)
    y0, _, x0, _ = roi

    depth = _head_depth(params, pose, frame, intrinsics, roi)
    light = light_direction(params.light_azimuth_deg, params.light_elevation_deg)
    shading, relight = _relight(depth, intrinsics, light, params.ambient)
    texture, alpha = _appearance(rng, params, photo, _photo_maps(pose, roi), relight, frame.iod_px)
    background_color, background_depth = _background(
        rng, params, intrinsics, landmarks2d, frame, light
    )
    fields = _au_fields_with_shading(landmarks2d, roi, depth, shading, light, params, intrinsics)
    eyelids = (
        eyelid_geometry(landmarks2d, RIGHT_EYE, frame.iod_px),
        eyelid_geometry(landmarks2d, LEFT_EYE, frame.iod_px),
    )
    landmark_depth = bilinear_sample(depth, landmarks2d - np.array([x0, y0], np.float64))
    return SyntheticSubject(
        index=index,
        seed=seed,
        name=f"sub{index:02d}",
        intrinsics=intrinsics,
        parameters=params,
        distance_mm=params.distance_mm,
        au_gain=np.asarray(params.au_gain),
        neutral_landmarks2d=landmarks2d,
        neutral_landmarks3d=intrinsics.deproject(landmarks2d, landmark_depth),
        frame=frame,
        roi=roi,
        texture=texture,
        alpha=alpha,
        depth_mm=depth,
        shading=shading,
        background_color=background_color,
        background_depth_mm=background_depth,
        au_fields=fields,
        eyelids=eyelids,
        light_direction=light,
    )
