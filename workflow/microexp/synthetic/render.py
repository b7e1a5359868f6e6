"""Render one frame of a synthetic subject: colour, metric depth and truth landmarks.

A frame is the subject's neutral face deformed by Action Units (``actions.py``) and moved by a
small rigid head motion, over a static background (wall and torso). Every surface point of the
head ("material" point p of the neutral image) goes through the same chain as the landmarks:

    p -> blink(p) -> + AU displacement -> deproject at the surface depth (+ AU depth change)
      -> rigid head motion (camera mm) -> project

The image is rendered backwards: for each pixel q the material point is found by a fixed-point
inversion of that smooth forward map (s <- s - (F(s) - q), a few ``cv2.remap`` passes), then
texture, depth and head coverage are sampled there. Truth landmarks are carried forwards through
the same chain, so they are exact by construction and independent of any detector. Depth equals
the surface z under every pixel; ``landmarks3d`` lie on that surface. The renderer is
noise-free; ``sensor.py`` adds the D415's artefacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from microexp.synthetic.actions import (
    AU_BUMPS,
    AU_NAMES,
    BLINK_AU,
    au_displacement_at,
    bump_support_box,
    close_eyelid,
    open_eyelid,
)
from microexp.synthetic.face import SyntheticSubject, bilinear_sample, invert_forward_map

FIXED_POINT_ITERATIONS = 7
# Expressions stronger than intensity 1 (the long videos' macro-expressions, up to
# MAX_AU_INTENSITY) deform more steeply: the inversion's error shrinks by the deformation's
# largest gradient per step (up to ~0.9 there), so they get more steps. Intensities <= 1 keep 7
# (the recognition set's frames are unchanged).
STRONG_EXPRESSION_ITERATIONS = 24
MAX_AU_INTENSITY = 1.8
_BLINK = AU_NAMES.index(BLINK_AU)

# Summed AU fields on their box (y0, y1, x0, x1): dx, dy (px), dz (mm), shading change.
AUFieldSum = tuple[tuple[int, int, int, int], np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class RenderedFrame:
    """Noise-free truth of one frame (image size of the subject's intrinsics)."""

    color: np.ndarray  # (H, W, 3) uint8 RGB
    depth_mm: np.ndarray  # (H, W) float32, z in the colour camera's frame
    landmarks2d: np.ndarray  # (68, 2) float64 pixels
    landmarks3d: np.ndarray  # (68, 3) float64 mm (camera frame)


def _validated_intensity(au_intensity: np.ndarray, max_intensity: float = 1.0) -> np.ndarray:
    a = np.asarray(au_intensity, dtype=np.float64).reshape(-1)
    if a.shape != (len(AU_NAMES),):
        raise ValueError(f"au_intensity needs {len(AU_NAMES)} values (AU_NAMES), got {a.shape}")
    if not 1.0 <= max_intensity <= MAX_AU_INTENSITY:
        raise ValueError(f"max_intensity must lie in [1, {MAX_AU_INTENSITY}], got {max_intensity}")
    if not np.all(np.isfinite(a)) or a.min() < 0.0 or a.max() > max_intensity:
        raise ValueError(f"AU intensities must lie in [0, {max_intensity}], got {a}")
    if a[_BLINK] > 1.0:
        raise ValueError(f"the blink ({BLINK_AU}) intensity must lie in [0, 1], got {a[_BLINK]}")
    return a


def _validated_motion(head_motion: np.ndarray | None) -> np.ndarray | None:
    if head_motion is None:
        return None
    m = np.asarray(head_motion, dtype=np.float64)
    if m.shape != (4, 4) or not np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3), atol=1e-6):
        raise ValueError("head_motion must be a 4 x 4 rigid transform (camera mm)")
    if np.allclose(m, np.eye(4)):
        return None
    return m


def _box_union(
    boxes: list[tuple[int, int, int, int]], shape: tuple[int, int], pad: int
) -> tuple[int, int, int, int]:
    y0 = max(min(b[0] for b in boxes) - pad, 0)
    y1 = min(max(b[1] for b in boxes) + pad, shape[0])
    x0 = max(min(b[2] for b in boxes) - pad, 0)
    x1 = min(max(b[3] for b in boxes) + pad, shape[1])
    return y0, y1, x0, x1


def _blink_texture(subject: SyntheticSubject, texture: np.ndarray, intensity: float) -> None:
    """Slide the upper lids down over the eyes in the material texture (in place)."""
    y0, _, x0, _ = subject.roi
    h, w = texture.shape[:2]
    for geometry in subject.eyelids:
        bx0, bx1, by0, by1 = geometry.box()
        ey0, ey1 = max(int(by0) - 1 - y0, 0), min(int(np.ceil(by1)) + 2 - y0, h)
        ex0, ex1 = max(int(bx0) - 1 - x0, 0), min(int(np.ceil(bx1)) + 2 - x0, w)
        ys, xs = np.mgrid[ey0:ey1, ex0:ex1]
        points = np.stack([xs.ravel() + x0, ys.ravel() + y0], axis=1).astype(np.float64)
        source = open_eyelid(geometry, points, intensity)
        map_x = (source[:, 0] - x0).reshape(xs.shape).astype(np.float32)
        map_y = (source[:, 1] - y0).reshape(xs.shape).astype(np.float32)
        texture[ey0:ey1, ex0:ex1] = cv2.remap(
            subject.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )


def _au_fields(subject: SyntheticSubject, intensity: np.ndarray) -> AUFieldSum | None:
    """Summed AU displacement, depth change and shading change on the union of active boxes."""
    active = [
        (subject.au_fields[name], a)
        for name, a in zip(AU_NAMES, intensity, strict=True)
        if name != BLINK_AU and a > 0.0
    ]
    if not active:
        return None
    box = _box_union([(f.y0, f.y1, f.x0, f.x1) for f, _ in active], subject.alpha.shape, 0)
    y0, y1, x0, x1 = box
    dx = np.zeros((y1 - y0, x1 - x0), np.float32)
    dy = np.zeros_like(dx)
    dz = np.zeros_like(dx)
    shade = np.zeros_like(dx)
    for f, a in active:
        window = (slice(f.y0 - y0, f.y1 - y0), slice(f.x0 - x0, f.x1 - x0))
        dx[window] += np.float32(a) * f.dx
        dy[window] += np.float32(a) * f.dy
        dz[window] += np.float32(a) * f.dz
        if f.shade is not None:
            shade[window] += np.float32(a) * f.shade
    return box, dx, dy, dz, shade


def _apply_shading(texture: np.ndarray, box: tuple[int, int, int, int], shade: np.ndarray) -> None:
    y0, y1, x0, x1 = box
    patch = texture[y0:y1, x0:x1].astype(np.float32) * (1.0 + shade[..., None])
    texture[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)


def _still_head(
    subject: SyntheticSubject,
    texture: np.ndarray,
    fields: AUFieldSum | None,
    iterations: int = FIXED_POINT_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Head colour, depth and coverage (ROI) without head motion: only the AU box changes."""
    if fields is None:
        return texture, subject.depth_mm, subject.alpha
    (y0, y1, x0, x1), dx, dy, dz, _ = fields
    qy, qx = np.mgrid[0 : y1 - y0, 0 : x1 - x0].astype(np.float32)
    sx, sy = invert_forward_map(qx + dx, qy + dy, iterations)  # box-local pixels
    color = texture.copy()
    color[y0:y1, x0:x1] = cv2.remap(
        texture, sx + np.float32(x0), sy + np.float32(y0), cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    # Skin slides over the underlying shape; only the AU's own relief changes the depth.
    depth = subject.depth_mm.copy()
    depth[y0:y1, x0:x1] += cv2.remap(dz, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return color, depth, subject.alpha


def _moving_head(
    subject: SyntheticSubject,
    texture: np.ndarray,
    fields: AUFieldSum | None,
    motion: np.ndarray,
    iterations: int = FIXED_POINT_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Head colour, depth and coverage (ROI) after the AUs and the rigid ``motion``."""
    intrinsics = subject.intrinsics
    y0, _, x0, _ = subject.roi
    h, w = subject.alpha.shape
    # Where each material point sits after the AUs (ROI px), and its depth there.
    py, px = np.mgrid[0:h, 0:w].astype(np.float32)
    surface = subject.depth_mm.copy()
    if fields is not None:
        (fy0, fy1, fx0, fx1), dx, dy, dz, _ = fields
        window = (slice(fy0, fy1), slice(fx0, fx1))
        px[window] += dx
        py[window] += dy
        on_shape = cv2.remap(
            subject.depth_mm, px[window], py[window], cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        surface[window] = on_shape + dz
    # Moved point = R (xn z, yn z, z) + t, with (xn, yn) the normalised image coordinates.
    rotation = motion[:3, :3].astype(np.float32)
    translation = motion[:3, 3].astype(np.float32)
    xn = (px + np.float32(x0 - intrinsics.cx)) * np.float32(1.0 / intrinsics.fx)
    yn = (py + np.float32(y0 - intrinsics.cy)) * np.float32(1.0 / intrinsics.fy)
    moved = []
    for row in range(3):
        axis = surface * (rotation[row, 0] * xn + rotation[row, 1] * yn + rotation[row, 2])
        axis += translation[row]
        moved.append(axis)
    xm, ym, zm = moved
    forward_x = xm / zm * np.float32(intrinsics.fx) + np.float32(intrinsics.cx - x0)
    forward_y = ym / zm * np.float32(intrinsics.fy) + np.float32(intrinsics.cy - y0)
    sx, sy = invert_forward_map(forward_x, forward_y, iterations)
    color = cv2.remap(texture, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    depth = cv2.remap(zm, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(subject.alpha, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return color, depth, alpha


def render_frame(
    subject: SyntheticSubject,
    au_intensity: np.ndarray,
    head_motion: np.ndarray | None = None,
    max_intensity: float = 1.0,
) -> RenderedFrame:
    """Render ``subject`` with AU intensities (order ``AU_NAMES``, each in [0, 1], used as
    given) and an optional rigid ``head_motion`` (4 x 4, camera mm, applied to the head only).

    ``max_intensity`` (at most ``MAX_AU_INTENSITY``) admits stronger expressions than the
    recognition set's: the long videos' macro-expressions (``long_video.py``) go beyond 1, where
    the displacement and depth change scale on linearly; the blink stays in [0, 1]."""
    intensity = _validated_intensity(au_intensity, max_intensity)
    motion = _validated_motion(head_motion)
    iterations = FIXED_POINT_ITERATIONS if intensity.max() <= 1.0 else STRONG_EXPRESSION_ITERATIONS
    y0, y1, x0, x1 = subject.roi
    origin = np.array([x0, y0], np.float64)

    # Material texture: blink and AU shading change what the skin looks like, not where it is.
    texture = subject.texture
    blink = float(intensity[_BLINK])
    fields = _au_fields(subject, intensity)
    if blink > 0.0 or fields is not None:
        texture = texture.copy()
    if blink > 0.0:
        _blink_texture(subject, texture, blink)
    if fields is not None:
        _apply_shading(texture, fields[0], fields[4])

    if motion is None:
        head_color, head_depth, head_alpha = _still_head(subject, texture, fields, iterations)
    else:
        head_color, head_depth, head_alpha = _moving_head(
            subject, texture, fields, motion, iterations
        )

    # Composite over the static background; the nearer surface wins (z-buffer).
    color = subject.background_color.copy()
    depth = subject.background_depth_mm.copy()
    background_color = color[y0:y1, x0:x1]
    background_depth = depth[y0:y1, x0:x1]
    in_front = (head_alpha > 0.0) & (head_depth < background_depth)
    coverage = np.where(in_front, head_alpha, np.float32(0.0))[..., None]
    blended = background_color + coverage * (
        head_color.astype(np.float32) - background_color.astype(np.float32)
    )
    color[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    depth[y0:y1, x0:x1] = np.where(in_front & (head_alpha >= 0.5), head_depth, background_depth)

    landmarks2d, landmarks3d = _carry_landmarks(subject, intensity, motion, origin)
    return RenderedFrame(color, depth, landmarks2d, landmarks3d)


def _carry_landmarks(
    subject: SyntheticSubject, intensity: np.ndarray, motion: np.ndarray | None, origin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Truth landmarks through the same chain as the pixels: blink, AUs, surface, motion."""
    neutral = subject.neutral_landmarks2d
    points = neutral.copy()
    blink = float(intensity[_BLINK])
    if blink > 0.0:
        for geometry in subject.eyelids:
            points = close_eyelid(geometry, points, blink)
    moved, dz = au_displacement_at(intensity, subject.frame, neutral, points)
    points = points + moved
    z = bilinear_sample(subject.depth_mm, points - origin) + dz
    points3d = subject.intrinsics.deproject(points, z)
    if motion is None:
        return points, points3d
    points3d = points3d @ motion[:3, :3].T + motion[:3, 3]
    return subject.intrinsics.project(points3d), points3d


def au_region_mask(subject: SyntheticSubject, au_name: str, pad_px: int = 2) -> np.ndarray:
    """Image pixels (H, W) that AU ``au_name`` can change on a still head: its support boxes
    (eyelid boxes for the blink) grown by ``pad_px``. Everything else stays bit-identical."""
    mask = np.zeros((subject.intrinsics.height, subject.intrinsics.width), bool)
    if au_name == BLINK_AU:
        boxes = [g.box() for g in subject.eyelids]
    else:
        boxes = [
            bump_support_box(b, subject.frame, subject.neutral_landmarks2d)
            for b in AU_BUMPS[au_name]
        ]
    for bx0, bx1, by0, by1 in boxes:
        mask[
            max(int(by0) - pad_px, 0) : int(np.ceil(by1)) + pad_px + 1,
            max(int(bx0) - pad_px, 0) : int(np.ceil(bx1)) + pad_px + 1,
        ] = True
    return mask
