"""RGB-D tensors (CAS(ME)^3 Sec. 5): limits, bins and the 400-unit rule, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.features import depth_range, rgbd_tensor


def test_hand_checked_tensor():
    # Onset depths 0, 500, 502, 510 / apex 0, 501, 503, 505 (2 x 2 crops, zeros included).
    depth_onset = np.array([[0, 500], [502, 510]], dtype=np.uint16)
    depth_apex = np.array([[0, 501], [503, 505]], dtype=np.uint16)
    gray_onset = np.array([[10, 20], [30, 40]], dtype=np.uint8)
    gray_apex = np.array([[11, 21], [31, 41]], dtype=np.uint8)
    # onset: mean 378, population std 218.27; band [-276.8, 1032.8]
    # holds everything, so its far value is 510; apex: far 505. far = 510, near = 500.
    limits = depth_range(depth_onset, depth_apex)
    assert (limits.near, limits.far, limits.bins) == (500, 510, 11)
    onset, apex = rgbd_tensor(gray_onset, gray_apex, depth_onset, depth_apex)
    assert onset.dtype == np.int16 and onset.shape == (2, 2, 11) and apex.shape == (2, 2, 11)
    expected_onset = np.zeros((2, 2, 11), np.int16)
    expected_onset[0, 0, 0] = 10  # zero depth -> bin 0
    expected_onset[0, 1, 0] = 20  # depth == near -> bin 0
    expected_onset[1, 0, 2] = 30
    expected_onset[1, 1, 10] = 40  # depth == far -> last bin
    np.testing.assert_array_equal(onset, expected_onset)
    expected_apex = np.zeros((2, 2, 11), np.int16)
    expected_apex[0, 0, 0] = 11
    expected_apex[0, 1, 1] = 21
    expected_apex[1, 0, 3] = 31
    expected_apex[1, 1, 5] = 41
    np.testing.assert_array_equal(apex, expected_apex)


def test_far_limit_is_within_three_population_stds_with_zeros_counted():
    # 99 pixels at 600 mm, one at 700 mm, plus holes. With the 20 zeros counted the
    # population mean is 500.8 and std 224.2: 700 is inside the band and is the far limit.
    # Without the zeros (mean 601, std 9.95) it would be outside.
    depth = np.zeros(120, dtype=np.uint16)
    depth[:99] = 600
    depth[99] = 700
    depth = depth.reshape(10, 12)
    mean, std = depth.mean(), depth.std()
    assert mean - 3 * std <= 700 <= mean + 3 * std
    limits = depth_range(depth, depth)
    assert (limits.near, limits.far) == (600, 700)


def test_far_limit_drops_outliers_beyond_three_stds():
    # 399 pixels at 600 and one at 900: mean 600.75, std 14.98, band [555.8, 645.7]; 900 is
    # out, so far = 600 (one bin), and the 900 pixel goes to bin 0 as "beyond range".
    depth = np.full(400, 600, dtype=np.uint16)
    depth[7] = 900
    depth = depth.reshape(20, 20)
    gray = np.arange(400, dtype=np.uint8).reshape(20, 20)
    limits = depth_range(depth, depth)
    assert (limits.near, limits.far, limits.bins) == (600, 600, 1)
    onset, _ = rgbd_tensor(gray, gray, depth, depth)
    assert onset.shape == (20, 20, 1)
    np.testing.assert_array_equal(onset[..., 0], gray.astype(np.int16))


def test_far_is_taken_over_both_frames_and_near_over_both():
    depth_onset = np.array([[600, 620], [640, 0]], dtype=np.uint16)
    depth_apex = np.array([[590, 700], [600, 610]], dtype=np.uint16)
    limits = depth_range(depth_onset, depth_apex)
    assert limits.near == 590  # apex's smallest non-zero
    assert limits.far == 700  # apex's largest in-band value (its band: [493.4, 756.6])


def test_range_of_400_units_is_refused_with_the_numbers():
    depth_onset = np.array([[500, 899], [600, 700]], dtype=np.uint16)
    depth_apex = np.array([[500, 600], [650, 700]], dtype=np.uint16)
    # onset band [262.1, 1086.9] keeps 899: far 899 < 500 + 400 -> 400 bins, allowed.
    assert depth_range(depth_onset, depth_apex).bins == 400
    depth_onset[0, 1] = 900  # far 900 >= near 500 + 400
    with pytest.raises(ValueError, match=r"far 900 >= near 500 \+ 400"):
        rgbd_tensor(np.zeros((2, 2)), np.zeros((2, 2)), depth_onset, depth_apex)


def test_bad_maps_are_refused():
    depth = np.array([[500, 501], [502, 503]], dtype=np.uint16)
    gray = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match="no valid"):
        rgbd_tensor(gray, gray, np.zeros((2, 2), np.uint16), depth)
    with pytest.raises(ValueError, match="shape"):
        rgbd_tensor(gray, gray, depth, np.zeros((3, 2), np.uint16))
    with pytest.raises(ValueError, match="integer depth"):
        rgbd_tensor(gray, gray, depth + 0.5, depth)
