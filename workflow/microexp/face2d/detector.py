"""Face detection and 68-point landmarks with dlib (docs/methods.md#2d-face).

The choice for the landmark step of DSME-3D Sec. 4.1.1 (docs/methods.md#2d-face): dlib's HOG frontal
face detector and the 68-point shape predictor shipped in the PyPI package
``face-recognition-models``. The model file is located through ``importlib`` because
``face_recognition_models/__init__.py`` imports
``pkg_resources``, which recent setuptools no longer provides.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import dlib
import numpy as np

MODEL_PACKAGE = "face_recognition_models"
SHAPE_PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"


def shape_predictor_path() -> Path:
    """Path of the 68-point predictor inside ``face-recognition-models``, without importing it."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the PyPI package 'face-recognition-models' (module face_recognition_models) is not "
            "installed; it provides the dlib 68-point shape predictor"
        )
    path = Path(spec.submodule_search_locations[0]) / "models" / SHAPE_PREDICTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: reinstall the PyPI package 'face-recognition-models'"
        )
    return path


def _rect_area(rect: dlib.rectangle) -> int:
    return int(rect.width()) * int(rect.height())


def _rescaled(box: dlib.rectangle, scale: float) -> dlib.rectangle:
    """A box found on an image resized by ``scale``, in original pixels.

    dlib boxes are inclusive pixel ranges; their outer edges are mapped, so the box keeps the
    extent it had on the small image.
    """
    if scale == 1.0:
        return box
    return dlib.rectangle(
        round(box.left() / scale),
        round(box.top() / scale),
        round((box.right() + 1) / scale) - 1,
        round((box.bottom() + 1) / scale) - 1,
    )


class LandmarkDetector:
    """dlib HOG face detector + 68-point shape predictor; returns the largest face's landmarks.

    ``upsample`` is dlib's number of image doublings before detection: 0 finds faces down to
    about 80 px wide, which covers RealSense captures at 0.4-0.7 m (130-210 px faces).
    """

    def __init__(self, upsample: int = 0) -> None:
        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(shape_predictor_path()))

    def detect_faces(self, image_rgb: np.ndarray) -> list[dlib.rectangle]:
        """Face boxes of a uint8 RGB (or gray) image, largest first."""
        faces = list(self._detector(np.ascontiguousarray(image_rgb), self.upsample))
        return sorted(faces, key=_rect_area, reverse=True)

    def detect_faces_scored(
        self, image: np.ndarray, scale: float = 1.0
    ) -> list[tuple[dlib.rectangle, float]]:
        """Face boxes with their HOG detection scores, largest first, in full-image pixels.

        ``scale`` < 1 runs the detector on a copy resized by that factor (area averaging) and
        maps the boxes back: HOG cost grows with the pixel count, so 0.5 is about 4x faster,
        but faces smaller than ~80 px / scale are then missed (callers fall back to 1.0).
        The score is dlib's SVM margin (> 0 is a detection; larger is more face-like).
        """
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"detection scale must be in (0, 1], got {scale}")
        image = np.ascontiguousarray(image)
        if scale < 1.0:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes, scores, _ = self._detector.run(image, self.upsample, 0.0)
        found = [
            (_rescaled(box, scale), float(score)) for box, score in zip(boxes, scores, strict=True)
        ]
        return sorted(found, key=lambda item: _rect_area(item[0]), reverse=True)

    def landmarks_in_box(self, image_rgb: np.ndarray, box: dlib.rectangle) -> np.ndarray:
        """The 68 landmarks (x, y) in pixels that the predictor places inside ``box``.

        dlib's Python API returns whole pixels: coordinates are integers (+-0.5 px quantisation).
        """
        shape = self._predictor(np.ascontiguousarray(image_rgb), box)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def __call__(self, image_rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks (68, 2) of the largest detected face, or None when no face is found."""
        faces = self.detect_faces(image_rgb)
        if not faces:
            return None
        return self.landmarks_in_box(image_rgb, faces[0])
