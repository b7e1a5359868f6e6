"""The real face photograph every synthetic subject is derived from.

The one face photograph shipped in scikit-image (``skimage.data.astronaut()``): its 68
landmarks, calibrated once with dlib (the detector of docs/methods.md#2d-face), and its
segmentation into head, skin and hair. Image points are (x, y) pixels with pixel centres at
integer coordinates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from microexp.synthetic.actions import LEFT_EYE, RIGHT_EYE, FaceFrame, face_frame
from microexp.synthetic.warp import affine_apply, similarity, smoothstep


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
                matrix = similarity(scale, np.deg2rad(angle_deg), np.zeros(2))
                matrix[:, 2] = out / 2 + np.asarray(shift) - affine_apply(matrix, centre)
                warped = cv2.warpAffine(image, matrix, (out, out), flags=cv2.INTER_LINEAR)
                landmarks = detector(warped)
                if landmarks is None:
                    continue
                inverse = cv2.invertAffineTransform(matrix)
                estimates.append(affine_apply(inverse, landmarks))
    if len(estimates) < 12:
        raise RuntimeError("dlib lost the astronaut's face on its rescaled copies")
    return np.mean(estimates, axis=0)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Binary mask with enclosed holes (eyes, teeth) filled; (0, 0) must be background."""
    flood = mask.astype(np.uint8).copy()
    h, w = flood.shape
    cv2.floodFill(flood, np.zeros((h + 2, w + 2), np.uint8), (0, 0), 2)
    return flood != 2


def jaw_polygon(landmarks: np.ndarray, frame: FaceFrame, forehead_iod: float) -> np.ndarray:
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
    cv2.fillPoly(polygon, [np.round(jaw_polygon(landmarks, frame, 0.7)).astype(np.int32)], 1)
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
    cv2.fillPoly(outline, [np.round(jaw_polygon(landmarks, frame, 0.7)).astype(np.int32)], 1)
    grown = cv2.dilate(outline, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0
    rim = grown & ~head
    image = cv2.inpaint(image, rim.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    head |= grown
    smooth = cv2.GaussianBlur(head.astype(np.float32), (0, 0), 1.5) > 0.5
    head_mask = cv2.GaussianBlur(smooth.astype(np.float32), (0, 0), 0.6)
    hsv = cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]

    hue_wrapped = np.where(hue > 90, hue - 180, hue)
    hair = smoothstep((hue_wrapped - 15.0) / 4.0) * smoothstep((sat - 60.0) / 40.0)
    # Outside the face outline dark pixels are hair too; inside they are brows and pupils.
    hair = np.maximum(hair, ~polygon * smoothstep((100.0 - val) / 30.0))
    # Eyes and the mouth's interior (teeth) keep their colour; the rest of the face is skin.
    interior = np.zeros((h, w), np.uint8)
    for ring in (RIGHT_EYE, LEFT_EYE, tuple(range(60, 68))):
        cv2.fillPoly(interior, [np.round(landmarks[list(ring)]).astype(np.int32)], 1)
    skin = (1.0 - hair) * (1.0 - cv2.GaussianBlur(interior.astype(np.float32), (0, 0), 0.8))
    hair = cv2.GaussianBlur(hair.astype(np.float32), (0, 0), 1.0) * head_mask
    skin = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), 1.0) * head_mask
    return image, head_mask.astype(np.float32), skin.astype(np.float32), hair.astype(np.float32)


def astronaut_image() -> np.ndarray:
    """The photograph: ``skimage.data.astronaut()`` as (512, 512, 3) uint8 RGB."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[..., :3])


@functools.lru_cache(maxsize=1)
def photo_face() -> PhotoFace:
    """The astronaut photograph, its calibrated landmarks and segmentation (computed once a
    process; `photo_face_from_landmarks` skips the calibration)."""
    image = astronaut_image()
    return photo_face_from_landmarks(calibrate_photo_landmarks(image), image)


def photo_face_from_landmarks(landmarks: np.ndarray, image: np.ndarray | None = None) -> PhotoFace:
    """The photograph with landmarks calibrated earlier (`calibrate_photo_landmarks`, e.g.
    read back from the file a generation run writes once), its segmentation from them."""
    landmarks = np.array(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2) or not np.all(np.isfinite(landmarks)):
        raise ValueError(
            f"calibrated photo landmarks must be 68 finite (x, y) points, got {landmarks.shape}"
        )
    image = astronaut_image() if image is None else image
    image, head_mask, skin, hair = _segment_photo_head(image, landmarks)
    pixels = image.reshape(-1, 3).astype(np.float64)
    skin_rgb = (pixels * skin.reshape(-1, 1)).sum(0) / skin.sum()
    hair_rgb = (pixels * hair.reshape(-1, 1)).sum(0) / hair.sum()
    for array in (image, landmarks, head_mask, skin, hair, skin_rgb, hair_rgb):
        array.setflags(write=False)
    return PhotoFace(image, landmarks, head_mask, skin, hair, skin_rgb, hair_rgb)
