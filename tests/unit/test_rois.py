"""36 CAS(ME)^2 ROIs from 68 landmarks (CAS(ME)^2 section 3, Fig. 2)."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.features.blocks import block_grid, block_histograms, integral_histograms
from microexp.features.lbptop import lbp_mapping, lbptop_codes
from microexp.features.rois import (
    MIRROR_68,
    N_ROIS,
    ROI_MIRROR_PAIRS,
    ROI_NAMES,
    convex_hull,
    polygon_mask,
    roi_boxes,
    roi_features,
    roi_histograms,
    roi_masks,
    roi_polygons,
    template_landmarks68,
)

CROP = (160, 160)


def test_mirror_permutation_is_an_involution():
    mirror = np.array(MIRROR_68)
    assert sorted(mirror) == list(range(68))
    np.testing.assert_array_equal(mirror[mirror], np.arange(68))
    assert mirror[36] == 45 and mirror[39] == 42 and mirror[48] == 54 and mirror[8] == 8


def test_36_named_rois():
    assert N_ROIS == 36 == len(ROI_NAMES) == len(set(ROI_NAMES))
    assert len(ROI_MIRROR_PAIRS) == 17
    for right, left in ROI_MIRROR_PAIRS:
        assert ROI_NAMES[right].replace("right_", "") == ROI_NAMES[left].replace("left_", "")


@pytest.mark.parametrize("crop", [(160, 160), (128, 112), (200, 180)])
def test_masks_non_empty_within_crop(crop):
    landmarks = template_landmarks68(crop)
    masks = roi_masks(landmarks, crop)
    assert masks.shape == (36, *crop) and masks.dtype == bool
    assert np.all(masks.sum(axis=(1, 2)) >= 50)
    boxes = roi_boxes(masks)
    assert np.all(boxes[:, [0, 2]] >= 0)
    assert np.all(boxes[:, 1] <= crop[0]) and np.all(boxes[:, 3] <= crop[1])
    # Regions are mostly disjoint: shared pixels are a small part of the covered area.
    coverage = masks.sum(axis=0)
    assert (coverage > 1).sum() < 0.1 * (coverage > 0).sum()


def test_symmetric_landmarks_give_mirrored_masks():
    landmarks = template_landmarks68(CROP)
    # the template is symmetric about x = (W - 1) / 2
    np.testing.assert_array_equal(landmarks[list(MIRROR_68), 0], CROP[1] - 1 - landmarks[:, 0])
    masks = roi_masks(landmarks, CROP)
    for right, left in ROI_MIRROR_PAIRS:
        np.testing.assert_array_equal(masks[right], masks[left][:, ::-1])
    for midline in (34, 35):
        np.testing.assert_array_equal(masks[midline], masks[midline][:, ::-1])
    # and the right ROIs are on the image-left half (subject's right: eye 36-41)
    centre = (CROP[1] - 1) / 2
    for right, _ in ROI_MIRROR_PAIRS:
        _, xs = np.nonzero(masks[right])
        assert xs.mean() < centre


def test_masks_follow_the_landmarks():
    landmarks = template_landmarks68(CROP)
    masks = roi_masks(landmarks, CROP)
    shifted = roi_masks(landmarks + np.array([3.0, -2.0]), CROP)  # (x + 3, y - 2)
    np.testing.assert_array_equal(shifted[:, 10:150, 13:150], masks[:, 12:152, 10:147])
    # a rotated face (about its centre) keeps its ROI sizes
    angle = np.deg2rad(10)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([79.5, 79.5])
    rotated = roi_masks((landmarks - centre) @ rotation.T + centre, CROP)
    np.testing.assert_allclose(rotated.sum(axis=(1, 2)), masks.sum(axis=(1, 2)), rtol=0.15)


def test_polygon_mask_by_hand():
    # square with corners (1, 1) and (3, 2): pixel centres x = 1..3, y = 1..2 (edges count)
    square = convex_hull(np.array([[1, 1], [3, 1], [3, 2], [1, 2], [2, 1.5]]))
    assert len(square) == 4
    mask = polygon_mask(square, (4, 5))
    expected = np.zeros((4, 5), dtype=bool)
    expected[1:3, 1:4] = True
    np.testing.assert_array_equal(mask, expected)
    # outside the crop -> empty
    assert not polygon_mask(square + 100, (4, 5)).any()


def test_roi_histograms_equal_direct_counting():
    rng = np.random.default_rng(0)
    volume = rng.integers(0, 256, (11, 96, 96), dtype=np.uint8)
    codes = lbptop_codes(volume, (1, 1, 3), (4, 4, 4))
    masks = roi_masks(template_landmarks68((96, 96)), (96, 96))
    histograms = roi_histograms(codes, masks, "u2")
    assert histograms.shape == (36, 3 * 15)
    table, bins = lbp_mapping(4, "u2")
    for k, mask in enumerate(masks):
        centres = mask[1:-1, 1:-1]  # centre range of radius 1
        expected = []
        for plane in codes.planes:
            counts = np.bincount(table[plane[:, centres]].ravel(), minlength=bins)
            expected.append(counts / counts.sum())
        np.testing.assert_allclose(histograms[k], np.concatenate(expected), atol=1e-15)
    integral = integral_histograms(codes, "u2")
    np.testing.assert_array_equal(roi_features(integral, masks), histograms.ravel())


def test_rectangular_roi_equals_block():
    rng = np.random.default_rng(1)
    volume = rng.integers(0, 256, (9, 40, 50), dtype=np.uint8)
    integral = integral_histograms(lbptop_codes(volume, (2, 2, 2)))
    blocks = block_grid((40, 50), (2, 3), 5)
    masks = np.zeros((len(blocks), 40, 50), dtype=bool)
    for k, (y0, y1, x0, x1) in enumerate(blocks):
        masks[k, y0:y1, x0:x1] = True
    np.testing.assert_allclose(
        roi_histograms(integral, masks), block_histograms(integral, (2, 3), 5), atol=1e-15
    )


def test_bad_landmarks():
    with pytest.raises(ValueError, match="68, 2"):
        roi_polygons(np.zeros((49, 2)))
    with pytest.raises(ValueError, match="NaN"):
        roi_polygons(np.full((68, 2), np.nan))
    with pytest.raises(ValueError, match="coincide"):
        roi_polygons(np.zeros((68, 2)))
    integral = integral_histograms(lbptop_codes(np.zeros((9, 20, 20), np.uint8), (1, 1, 4)))
    with pytest.raises(ValueError, match="masks"):
        roi_histograms(integral, np.zeros((36, 10, 10), dtype=bool))
