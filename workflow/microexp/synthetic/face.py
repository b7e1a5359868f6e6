"""Camera and subjects of the embedded synthetic RGB-D micro-expression data set.

DSME-3D (section 3.1) recorded 848 x 480 colour and depth with an Intel RealSense D415 at about
0.4-0.7 m. The licensed recordings cannot ship, so the pipeline renders look-alikes: every
subject is derived from the one real face photograph shipped in scikit-image
(``skimage.data.astronaut()``) by a landmark-driven face-shape morph, skin and hair tone, a
subject-specific light shining on a metric 3D face surface, and skin texture (freckles, blotches,
pores). Its 68 neutral landmarks are the photograph's, calibrated once with dlib (the detector of
docs/methods.md#2d-face) and then carried geometrically through every warp, never re-detected.

The parts: ``photo`` (the source photograph), ``parameters`` (what is random about a
subject), ``surface`` (relief, shading, skin texture, backdrop) and ``warp`` (image-warp
helpers); this module places the face in the image and assembles the subject.

Units: image points are (x, y) pixels with pixel centres at integer coordinates (OpenCV and
dlib); 3D points are millimetres in the colour camera's frame (x right, y down, z forward).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

from microexp.camera import Intrinsics
from microexp.synthetic.actions import (
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
from microexp.synthetic.parameters import (
    SubjectParameters,
    draw_subject_parameters,
    morph_bumps,
)
from microexp.synthetic.photo import PhotoFace, jaw_polygon, photo_face
from microexp.synthetic.surface import (
    backdrop,
    face_relief_mm,
    highlight_rolloff,
    light_direction,
    outline_falloff_mm,
    shading_under_light,
    skin_texture,
)
from microexp.synthetic.warp import affine_apply, bilinear_sample, invert_forward_map, similarity

# Re-exported: the subject's parts live in photo, parameters, surface and warp; callers import
# the subject and these helpers from here.
__all__ = [
    "D415_COLOR",
    "FacePlacement",
    "SubjectParameters",
    "SyntheticSubject",
    "bilinear_sample",
    "draw_subject_parameters",
    "invert_forward_map",
    "light_direction",
    "make_subject",
    "photo_face",
    "place_face",
]

#: The synthetic camera: a D415 colour stream at 848 x 480. Depth is rendered in this
#: camera's frame (depth-to-colour extrinsics = identity), i.e. already aligned to colour as
#: ``rs.align`` would deliver it.
D415_COLOR = Intrinsics(width=848, height=480, fx=600.0, fy=600.0, cx=424.0, cy=240.0)


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
    placement = similarity(scale, np.deg2rad(params.roll_deg), np.zeros(2))
    placement[:, 2] = np.asarray(params.centre_px) - affine_apply(placement, photo_eyes)
    placed = affine_apply(placement, photo_landmarks)
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
    box = affine_apply(placement, corners)
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
    src = affine_apply(unplace, np.stack([src_x.ravel() + x0, src_y.ravel() + y0], axis=1))
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
    polygon = jaw_polygon(pose.landmarks2d, frame, 0.7) - origin
    cv2.fillPoly(outline, [np.round(polygon * 16).astype(np.int32)], 1, cv2.LINE_AA, shift=4)
    # Exact EDT (OpenCV's precise distance transform depends on its thread count).
    outside_iod = distance_transform_edt(outline == 0).ravel() / frame.iod_px
    falloff = outline_falloff_mm(outside_iod, grid_face[:, 1], landmarks_face, iod_mm)
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
    texture *= skin_texture(rng, params, skin, iod_px)
    return np.round(highlight_rolloff(texture)).astype(np.uint8), alpha


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


def make_subject(
    index: int, seed: int, intrinsics: Intrinsics = D415_COLOR, photo: PhotoFace | None = None
) -> SyntheticSubject:
    """Build subject ``index`` of the data set seeded by ``seed`` (deterministic). ``photo``:
    the source photograph with its calibrated landmarks (default `photo_face()`, which runs
    dlib's calibration once a process)."""
    rng = np.random.default_rng((seed, index))
    params = draw_subject_parameters(rng, intrinsics)
    photo = photo_face() if photo is None else photo
    pose = place_face(params, intrinsics, photo.landmarks)
    landmarks2d = pose.landmarks2d
    frame = face_frame(landmarks2d)
    roi = _head_roi(photo, pose.photo_to_image, frame.iod_px, intrinsics)
    y0, _, x0, _ = roi

    depth = _head_depth(params, pose, frame, intrinsics, roi)
    light = light_direction(params.light_azimuth_deg, params.light_elevation_deg)
    shading, relight = shading_under_light(depth, intrinsics, light, params.ambient)
    texture, alpha = _appearance(rng, params, photo, _photo_maps(pose, roi), relight, frame.iod_px)
    background_color, background_depth = backdrop(
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
