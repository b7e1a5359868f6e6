"""The depth_flow stage's pieces: depth crops, direction histograms, the per-sample result and
the RGB vs RGB-D study, on hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from microexp.evaluate.formatting import TableContext, to_markdown
from microexp.evaluate.rgbd_study import StudyFeatures, rgbd_paper_table, rgbd_table
from microexp.failures import SampleFailure
from microexp.features.depth_sample import (
    DepthFlowParams,
    depth_crop,
    direction_histograms,
    load_depth_flow,
    process_depth_flow,
    save_depth_flow,
)


def test_depth_crop_is_nearest_and_zero_outside():
    depth = np.array([[100, 200, 300], [400, 0, 600]], dtype=np.uint16)
    # Crop = image shifted by one column to the left and doubled in size.
    transform = np.array([[2.0, 0.0, -2.0], [0.0, 2.0, 0.0]])
    crop = depth_crop(depth, transform, (4, 6))
    assert crop.dtype == np.uint16
    # Crop pixel (r, c) samples image (r / 2, c / 2 + 1) at the nearest pixel: only values of
    # the image (no blend of 400 and 0), and 0 beyond its right edge.
    assert set(np.unique(crop)) <= {0, 100, 200, 300, 400, 600}
    assert crop[0, 0] == 200 and crop[2, 0] == 0 and crop[0, 5] == 0


def test_direction_histograms_by_hand():
    # 2 x 2 pixels, one block. Motions (rows, cols): right (0, 1), down (1, 0), left-up
    # (-1, -1) of magnitude sqrt(2), and a zero motion.
    rows = np.array([[0.0, 1.0], [-1.0, 0.0]])
    cols = np.array([[1.0, 0.0], [-1.0, 0.0]])
    valid = np.ones((2, 2), bool)
    hist = direction_histograms(rows, cols, None, valid, grid=1, max_magnitude=10.0)
    total = 2 + np.sqrt(2)
    expected = np.zeros(8)
    expected[0] = 1 / total  # atan2(0, 1) = 0 deg
    expected[2] = 1 / total  # atan2(1, 0) = 90 deg
    expected[5] = np.sqrt(2) / total  # atan2(-1, -1) = -135 deg -> sector -3 = 5
    np.testing.assert_allclose(hist, expected)
    # Capped weights: with max_magnitude 1 the diagonal counts 1, like the others.
    capped = direction_histograms(rows, cols, None, valid, grid=1, max_magnitude=1.0)
    np.testing.assert_allclose(capped[[0, 2, 5]], [1 / 3, 1 / 3, 1 / 3])
    # 3D: the same in-plane motions with depth parts -2 (toward the camera), 0, +0.1.
    depth = np.array([[-2.0, 0.0], [0.1, 0.0]])
    hist3 = direction_histograms(rows, cols, depth, valid, grid=1, max_magnitude=10.0)
    weights = {0 * 3 + 0: np.hypot(1, 2), 2 * 3 + 1: 1.0, 5 * 3 + 1: np.hypot(np.sqrt(2), 0.1)}
    expected3 = np.zeros(24)
    for index, w in weights.items():
        expected3[index] = w
    np.testing.assert_allclose(hist3, expected3 / expected3.sum())
    # Blocks: grid 2 puts each pixel in its own block (row-major), invalid pixels ignored.
    valid[0, 0] = False
    blocks = direction_histograms(rows, cols, None, valid, grid=2, max_magnitude=10.0)
    assert blocks.shape == (32,)
    assert blocks[0 * 8 + 0] == 0.0 and blocks[1 * 8 + 2] > 0 and blocks[2 * 8 + 5] > 0


def _face_pair(lift: float):
    # A small depth "face" (a dome) with a textured gray image; the apex dome is lifted.
    y, x = np.mgrid[0:40, 0:40].astype(float)
    dome = 30 * np.exp(-((x - 20) ** 2 + (y - 20) ** 2) / 200.0)
    gray = (120 + 50 * np.sin(x / 3.0) * np.cos(y / 4.0)).astype(np.uint8)
    onset = np.round(600 - dome).astype(np.uint16)
    apex = np.round(600 - dome - lift * np.exp(-((x - 20) ** 2 + (y - 20) ** 2) / 50.0))
    return gray, gray.copy(), onset, apex.astype(np.uint16)


def test_process_and_files_round_trip(tmp_path):
    gray_onset, gray_apex, depth_onset, depth_apex = _face_pair(lift=1.0)
    params = DepthFlowParams(grid=2)
    result = process_depth_flow(gray_onset, gray_apex, depth_onset, depth_apex, params)
    # No holes and a narrow range: every depth is within 3 std, so the limits are the extremes.
    near = int(min(depth_onset.min(), depth_apex.min()))
    far = int(max(depth_onset.max(), depth_apex.max()))
    assert (result.near, result.far) == (near, far)
    assert tuple(result.tensor_shape) == (40, 40, far - near + 1)
    assert result.surface_flow.shape == (40, 40, 3) and result.flow2d.shape == (40, 40, 2)
    assert result.hist3d.shape == (4 * 24,) and result.hist2d.shape == (4 * 8,)
    assert result.hist3d.sum() == pytest.approx(1.0)
    # Same gray images: no 2D motion.
    assert np.abs(result.flow2d).max() < 0.05
    save_depth_flow(tmp_path / "s.npz", result)
    again = load_depth_flow(tmp_path / "s.npz")
    assert (again.near, again.far, again.windows) == (result.near, result.far, result.windows)
    np.testing.assert_array_equal(again.surface_flow, result.surface_flow)


def test_depth_range_over_400_is_a_sample_failure_with_the_numbers():
    gray_onset, gray_apex, depth_onset, depth_apex = _face_pair(lift=0.0)
    depth_onset = depth_onset.copy()
    depth_onset[:20] = 1100  # half the face 500 units behind: inside 3 std, over the range
    with pytest.raises(SampleFailure) as caught:
        process_depth_flow(gray_onset, gray_apex, depth_onset, depth_apex, DepthFlowParams())
    assert caught.value.details["far"] == 1100
    assert caught.value.details["near"] == int(depth_apex.min())
    assert ">= near" in caught.value.reason


def test_study_separates_by_the_informative_modality():
    # 6 subjects x 4 micro-expressions, one per class of the 4-class scheme, 7-class labels
    # from the emotions. Depth features carry the class; 2D features are noise.
    rng = np.random.default_rng(0)
    emotions = ["happiness", "disgust", "surprise", "others"]
    rows, hist2d, hist3d, samples = [], [], [], []
    for subject in range(6):
        for k, emotion in enumerate(emotions):
            sample = f"{subject}_{k}"
            samples.append(sample)
            rows.append(
                {"sample": sample, "subject": str(subject), "expression_type": "micro",
                 "emotion": emotion}
            )  # fmt: skip
            onehot = np.zeros(4)
            onehot[k] = 1.0
            hist3d.append(onehot + 0.05 * rng.random(4))
            hist2d.append(rng.random(4))
    rows.append({"sample": "9_9", "subject": "9", "expression_type": "macro", "emotion": "fear"})
    sheet = pd.DataFrame(rows)
    features = StudyFeatures(
        samples, np.array(hist2d), np.array(hist3d), pd.DataFrame(columns=["sample", "reason"])
    )
    table, report = rgbd_table(sheet, features, seed=1, alpha_step=0.25)
    four = table[table["scheme"] == "4-class"].set_index("input")
    assert four.loc["depth", "uf1"] == pytest.approx(1.0)
    assert four.loc["RGB", "uf1"] < 0.6
    assert four.loc["RGB-D (oracle a)", "uf1"] == pytest.approx(1.0)
    assert four.loc["RGB-D (oracle a)", "a"] > 0
    assert set(four["n_samples"]) == {24}  # the macro-expression is not in the study
    assert report["4-class"]["classes"] == ["positive", "negative", "surprise", "others"]
    paper = rgbd_paper_table(table, report, TableContext("toy", "generic", n_excluded=0))
    assert paper.values.loc[("4-class", "depth"), "UF1"] == pytest.approx(1.0)
    assert paper.cells.loc[("4-class", "depth"), "UAR"] == "1.0000"
    # 7-class: happiness, disgust, surprise, others (6 each) -- the same separation.
    assert paper.values.loc[("7-class", "depth"), "N"] == 24
    assert paper.values.loc[("7-class", "depth"), "n classes"] == 4
    assert "4-class (casme3_four_class): positive 6" in to_markdown(paper)


def test_study_table_says_why_a_scheme_did_not_run():
    # Two subjects only: LOSO needs 3, so no rows are computed and the table says so.
    rows = [
        {"sample": f"{s}_{k}", "subject": str(s), "expression_type": "micro", "emotion": e}
        for s in range(2)
        for k, e in enumerate(["happiness", "surprise"])
    ]
    features = StudyFeatures(
        [r["sample"] for r in rows],
        np.eye(4),
        np.eye(4),
        pd.DataFrame(columns=["sample", "reason"]),
    )
    table, report = rgbd_table(pd.DataFrame(rows), features, seed=1)
    assert table.empty
    paper = rgbd_paper_table(table, report, TableContext("toy", "generic", n_excluded=0))
    assert paper.values.index.tolist()[0] == ("4-class", "RGB")
    assert paper.values.isna().all().all()
    assert "not run: fewer than 2 classes or 3 subjects" in to_markdown(paper)
