"""Whole-video crops with a stub detector: alignment follows the face, smoothing removes
landmark jitter, frames without a face are recorded, frame order survives the look-ahead."""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import pytest

from microexp.face2d.stage import Face2DParams
from microexp.features.rois import template_landmarks68
from microexp.spotting.video import VideoFrame, crop_video

SIZE = (320, 320)
FACE = template_landmarks68((160, 160)) + 80.0  # a face in the middle of the frame


class StubDetector:
    """Returns the frame's known landmarks (plus jitter) wherever it is asked."""

    def __init__(self, truth: dict[int, np.ndarray | None]):
        self.truth = truth
        self.current = None

    def detect_faces_scored(self, gray, scale=1.0):
        lm = self.truth[int(gray[0, 0])]  # the frame index is written in the corner pixel
        if lm is None:
            return []
        x0, y0 = lm.min(axis=0)
        x1, y1 = lm.max(axis=0)
        return [(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), 1.0)]

    def landmarks_in_box(self, gray, box):
        lm = self.truth[int(gray[0, 0])]
        return FACE.copy() if lm is None else lm.copy()


def textured(seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = cv2.GaussianBlur(rng.random(SIZE).astype(np.float32), (0, 0), 3)
    return ((g - g.min()) / (g.max() - g.min()) * 200 + 30).astype(np.uint8)


def video(n=40, jitter=1.0, blank=(), seed=1):
    """The face translates slowly (0.3 px a frame); landmarks carry +-jitter px noise."""
    base = textured()
    rng = np.random.default_rng(seed)
    frames, truth = [], {}
    for i in range(n):
        shift = np.array([0.3 * i, 0.1 * i])
        m = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
        img = cv2.warpAffine(base, m, SIZE[::-1], borderMode=cv2.BORDER_REFLECT)
        if i in blank:
            img[:] = 0
            truth[i] = None
        else:
            truth[i] = FACE + shift + rng.normal(0, jitter, FACE.shape)
        img[0, 0] = i
        frames.append(VideoFrame(100 + i, np.repeat(img[..., None], 3, axis=2), None))
    return frames, truth


def crops_of(frames, truth, smoothing):
    params = Face2DParams()
    return crop_video(
        iter(frames), params, detector=StubDetector(truth), smoothing_frames=smoothing
    )


def test_alignment_follows_the_face_and_smoothing_removes_jitter():
    frames, truth = video(jitter=0.0)
    exact = crops_of(frames, truth, 0)
    g = exact.gray.astype(float)
    # the face moves 0.3 px a frame; aligned crops stay put (interior, away from the border)
    assert np.abs(g[-1, 20:-20, 20:-20] - g[0, 20:-20, 20:-20]).mean() < 2.0
    frames, truth = video(jitter=1.0)
    noisy = crops_of(frames, truth, 0).gray.astype(float)
    smooth = crops_of(frames, truth, 3).gray.astype(float)
    jitter_raw = np.abs(np.diff(noisy[:, 20:-20, 20:-20], axis=0)).mean()
    jitter_smooth = np.abs(np.diff(smooth[:, 20:-20, 20:-20], axis=0)).mean()
    assert jitter_smooth < 0.6 * jitter_raw


def test_frames_without_face_are_recorded_and_order_is_kept():
    frames, truth = video(n=30, blank=(10, 11, 12))
    crops = crops_of(frames, truth, 3)
    assert crops.frame_numbers.tolist() == list(range(100, 130))
    assert crops.frames_without_face.tolist() == [110, 111, 112]
    assert crops.face_found.sum() == 27
    assert crops.detected[0] and crops.detected[13]  # first frame and re-detection after loss
    assert np.isnan(crops.landmarks[10]).all() and not np.isnan(crops.landmarks[13]).any()
    assert crops.gray.shape == (30, 168, 168)
    assert crops.block_depth is None


def _shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Translation (x, y) of b against a in pixels (phase correlation on the interior)."""
    window = cv2.createHanningWindow(a[20:-20, 20:-20].shape[::-1], cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(
        a[20:-20, 20:-20].astype(np.float64), b[20:-20, 20:-20].astype(np.float64), window
    )
    return np.array([dx, dy])


def test_fixed_box_crops_keep_the_motion_the_aligned_crops_remove():
    # the face translates by (0.3, 0.1) px a frame: through the first frame's box the crop
    # moves by i times that (times the crop's scale), the aligned crops stay put
    frames, truth = video(jitter=0.0)
    crops = crops_of(frames, truth, 0)
    assert crops.gray_fixed.shape == crops.gray.shape
    np.testing.assert_array_equal(crops.gray_fixed[0], crops.gray[0])
    fixed = [_shift(crops.gray_fixed[0], crops.gray_fixed[i]) for i in (10, 20, 30)]
    aligned = [_shift(crops.gray[0], crops.gray[i]) for i in (10, 20, 30)]
    per_frame = np.array([s / i for s, i in zip(fixed, (10, 20, 30), strict=True)])
    # the crop's scale s from the x motion; then every frame moved s (0.3, 0.1) px a frame
    # (phase correlation is good to ~0.3 px here: 0.015 px a frame at i = 20)
    scale = per_frame[:, 0].mean() / 0.3
    assert 0.5 < scale < 2.0
    np.testing.assert_allclose(per_frame, np.tile(scale * np.array([0.3, 0.1]), (3, 1)), atol=0.015)
    assert np.abs(aligned).max() < 0.1


def test_fixed_box_crops_round_trip(tmp_path):
    from microexp.spotting.crops import load_video_crops, save_video_crops

    frames, truth = video(n=12)
    crops = crops_of(frames, truth, 3)
    save_video_crops(tmp_path / "v.npz", crops)
    back = load_video_crops(tmp_path / "v.npz")
    np.testing.assert_array_equal(back.frames_for("fixed"), crops.gray_fixed)
    np.testing.assert_array_equal(back.frames_for("aligned"), crops.gray)


def test_frame_folder_with_depth_pairs_by_number_and_reads_mm(tmp_path):
    """CAS(ME)^3 Part A's layout: color/<n>.jpg + depth/<n>.png, paired by frame number."""
    from microexp.io.frames import FrameFolderError
    from microexp.spotting.video import iter_frame_folder

    (tmp_path / "color").mkdir()
    (tmp_path / "depth").mkdir()
    for n in (153, 154, 155):  # 155 has no depth frame: skipped
        cv2.imwrite(str(tmp_path / f"color/{n}.jpg"), np.full((6, 8, 3), n % 256, np.uint8))
    for n in (153, 154):
        depth = np.full((6, 8), 500 + n, np.uint16)
        depth[0, 0] = 0  # no data
        cv2.imwrite(str(tmp_path / f"depth/{n}.png"), depth)
    frames = list(iter_frame_folder(tmp_path, "color", "depth", depth_scale=0.0001))
    assert [f.frame_number for f in frames] == [153, 154]
    assert frames[1].depth_mm.dtype == np.float32
    assert np.isnan(frames[1].depth_mm[0, 0])
    assert frames[1].depth_mm[2, 3] == pytest.approx((500 + 154) * 0.1)  # 0.1 mm a unit
    assert frames[0].intrinsics is None
    # the flat layout (CAS(ME)^2) reads the folder's own images, without depth
    flat = list(iter_frame_folder(tmp_path / "color"))
    assert [f.frame_number for f in flat] == [153, 154, 155] and flat[0].depth_mm is None
    cv2.imwrite(str(tmp_path / "depth/153.png"), np.full((5, 8), 500, np.uint16))
    with pytest.raises(FrameFolderError, match=r"153\.png.*sizes differ"):
        list(iter_frame_folder(tmp_path, "color", "depth"))
