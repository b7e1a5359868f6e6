"""Block LBP-TOP features from integral histograms (docs/methods.md#block-grids, DSME-3D 4.3.1)."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
    block_feature_variants,
    block_features,
    block_grid,
    block_histograms,
    block_windows,
    integral_histograms,
    load_integral,
    save_integral,
    window_counts,
)
from microexp.features.lbptop import lbp_mapping, lbptop, lbptop_codes
from microexp.grids import block_bounds


def test_block_bounds_by_hand():
    # L = 10, n = 3, o = 2: stride (L - o) / n = 8/3; starts floor(j 8/3 + 1/2) = 0, 3, 5, 8;
    # stops = next start + 2 = 5, 7, 10. Adjacent blocks share [3, 5) and [5, 7): 2 pixels.
    np.testing.assert_array_equal(block_bounds(10, 3, 2), [[0, 5], [3, 7], [5, 10]])
    # L = 160, n = 5, o = 0: 32-pixel blocks.
    np.testing.assert_array_equal(block_bounds(160, 5, 0)[:, 0], [0, 32, 64, 96, 128])
    # L = 160, n = 10, o = 30: stride 13, size 43.
    bounds = block_bounds(160, 10, 30)
    np.testing.assert_array_equal(bounds[:2], [[0, 43], [13, 56]])
    assert bounds[-1, 1] == 160
    # Round half up: L = 5, n = 2, o = 0: start_1 = floor(2.5 + 0.5) = 3.
    np.testing.assert_array_equal(block_bounds(5, 2, 0), [[0, 3], [3, 5]])


def test_dsme3d_variants():
    assert len(DSME3D_GRIDS) == 33 and len(set(DSME3D_GRIDS)) == 33
    assert len(DSME3D_OVERLAPS) == 7
    assert (3, 3) in DSME3D_GRIDS and (8, 10) in DSME3D_GRIDS
    # Every grid the paper names (Tables 7-11).
    for grid in ((3, 10), (7, 10), (5, 5), (8, 8), (7, 9), (3, 4), (5, 9)):
        assert grid in DSME3D_GRIDS


@pytest.mark.parametrize("length", [160, 128, 97])
def test_block_bounds_properties_for_all_231_variants(length):
    for rows, cols in DSME3D_GRIDS:
        for overlap in DSME3D_OVERLAPS:
            for n in (rows, cols):
                bounds = block_bounds(length, n, overlap)
                assert bounds[0, 0] == 0 and bounds[-1, 1] == length
                # exactly `overlap` shared pixels between neighbours
                np.testing.assert_array_equal(bounds[:-1, 1] - bounds[1:, 0], overlap)
                sizes = bounds[:, 1] - bounds[:, 0]
                assert sizes.max() - sizes.min() <= 1
                assert abs(sizes.mean() - (length + (n - 1) * overlap) / n) < 1


def test_block_bounds_errors():
    with pytest.raises(ValueError, match="cannot split"):
        block_bounds(35, 10, 30)
    with pytest.raises(ValueError, match="overlap"):
        block_bounds(100, 3, -1)
    with pytest.raises(ValueError, match=">= 1"):
        block_bounds(100, 0, 0)


def test_block_grid_row_major():
    blocks = block_grid((10, 20), (2, 3), 0)
    assert blocks.shape == (6, 4)
    np.testing.assert_array_equal(blocks[1], [0, 5, 7, 13])  # row 0, column 1
    np.testing.assert_array_equal(blocks[3], [5, 10, 0, 7])  # row 1, column 0


def grown_block(volume, block, radii):
    """The block's pixels plus a radius margin, clipped to the crop: its centres are exactly
    the block's pixels that are centres of the whole crop."""
    y0, y1, x0, x1 = block
    r_x, r_y, _ = radii
    height, width = volume.shape[1:]
    rows = slice(max(y0 - r_y, 0), min(y1 + r_y, height))
    cols = slice(max(x0 - r_x, 0), min(x1 + r_x, width))
    return volume[:, rows, cols]


@pytest.mark.parametrize(
    "radii, neighbors, mapping, interpolation",
    [
        ((1, 1, 4), (8, 8, 8), "u2", "nearest"),
        ((2, 2, 3), (8, 8, 8), "basic", "bilinear"),
        ((1, 3, 2), (4, 4, 4), "u2", "bilinear"),
        ((3, 1, 1), (8, 4, 8), "u2", "nearest"),
    ],
)
def test_block_histograms_equal_direct_lbptop_on_the_block(
    radii, neighbors, mapping, interpolation
):
    rng = np.random.default_rng(7)
    volume = rng.integers(0, 256, (11, 46, 53), dtype=np.uint8)
    integral = integral_histograms(lbptop_codes(volume, radii, neighbors, interpolation), mapping)
    for grid, overlap in (((3, 3), 0), ((4, 5), 5), ((2, 7), 10), ((5, 3), 15), ((1, 1), 0)):
        histograms = block_histograms(integral, grid, overlap)
        blocks = block_grid((46, 53), grid, overlap)
        assert histograms.shape == (len(blocks), sum(lbp_mapping(p, mapping)[1] for p in neighbors))
        for block, histogram in zip(blocks, histograms, strict=True):
            sub = grown_block(volume, block, radii)
            expected = lbptop(sub, radii, neighbors, mapping, interpolation)
            parts = np.split(histogram, np.cumsum(integral.n_bins)[:-1])
            for part, row in zip(parts, expected, strict=True):
                np.testing.assert_allclose(part, row[: part.size], rtol=0, atol=1e-15)


def direct_block_counts(codes, mapping, block):
    """Count mapped codes of the centres inside a block by slicing the code volumes."""
    y0, y1, x0, x1 = block
    r_x, r_y, _ = codes.radii
    out = []
    for plane, n_neighbors in zip(codes.planes, codes.neighbors, strict=True):
        table, bins = lbp_mapping(n_neighbors, mapping)
        sl = plane[:, max(y0 - r_y, 0) : max(y1 - r_y, 0), max(x0 - r_x, 0) : max(x1 - r_x, 0)]
        out.append(np.bincount(table[sl].ravel(), minlength=bins))
    return out


def test_all_231_variants_equal_direct_counting():
    rng = np.random.default_rng(8)
    volume = rng.integers(0, 256, (12, 72, 80), dtype=np.uint8)
    codes = lbptop_codes(volume, (1, 1, 4), (8, 8, 8))
    integral = integral_histograms(codes, "u2")
    variants = block_feature_variants(integral)
    assert len(variants) == 231
    for (grid, overlap), features in variants.items():
        blocks = block_grid((72, 80), grid, overlap)
        histograms = features.reshape(len(blocks), 3 * 59)
        np.testing.assert_array_equal(features, block_features(integral, grid, overlap))
        for block, histogram in zip(blocks, histograms, strict=True):
            counts = direct_block_counts(codes, "u2", block)
            expected = np.concatenate([c / c.sum() for c in counts])
            np.testing.assert_allclose(histogram, expected, rtol=0, atol=1e-15)


def test_window_counts_are_raw_counts():
    rng = np.random.default_rng(9)
    volume = rng.integers(0, 256, (9, 20, 24), dtype=np.uint8)
    codes = lbptop_codes(volume, (2, 2, 2), (4, 4, 4))
    integral = integral_histograms(codes, "basic")
    windows = block_windows(integral, (2, 2), 4)
    counts = window_counts(integral, windows)
    blocks = block_grid((20, 24), (2, 2), 4)
    for k, block in enumerate(blocks):
        for plane, expected in enumerate(direct_block_counts(codes, "basic", block)):
            np.testing.assert_array_equal(counts[plane][k, 0], expected)


def test_block_without_centres_is_all_zero():
    # Width 12, radius 4: centres are columns 4..7; 6 columns blocks of width 2 -> the first
    # two blocks [0, 2), [2, 4) hold no centre.
    volume = np.random.default_rng(1).integers(0, 256, (9, 12, 12), dtype=np.uint8)
    integral = integral_histograms(lbptop_codes(volume, (4, 1, 4), (8, 8, 8)))
    histograms = block_histograms(integral, (1, 6), 0)
    assert np.all(histograms[:2] == 0) and np.all(histograms[-2:] == 0)
    np.testing.assert_allclose(histograms[2].reshape(3, 59).sum(axis=1), 1.0)


def test_time_segments_equal_lbptop_on_frame_ranges():
    rng = np.random.default_rng(10)
    volume = rng.integers(0, 256, (20, 24, 24), dtype=np.uint8)
    radii = (1, 1, 2)
    integral = integral_histograms(lbptop_codes(volume, radii), "u2", time_segments=3)
    # frames 0..19 in 3 segments: starts floor(j 20/3 + 1/2) = 0, 7, 13 -> [0,7), [7,13), [13,20)
    np.testing.assert_array_equal(integral.time_bounds, [[0, 7], [7, 13], [13, 20]])
    histograms = block_histograms(integral, (2, 2), 0)
    assert histograms.shape == (3 * 4, 3 * 59)
    blocks = block_grid((24, 24), (2, 2), 0)
    for segment, (t0, t1) in enumerate(integral.time_bounds):
        sub_t = volume[max(t0 - 2, 0) : min(t1 + 2, 20)]
        for k, block in enumerate(blocks):
            expected = lbptop(grown_block(sub_t, block, radii), radii)
            np.testing.assert_allclose(histograms[segment * 4 + k], expected.ravel(), atol=1e-15)


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(12)
    volume = rng.integers(0, 256, (14, 40, 36), dtype=np.uint8)
    integral = integral_histograms(lbptop_codes(volume, (1, 1, 4), (8, 8, 8), "bilinear"))
    integral.meta["sample"] = "1_1"
    path = tmp_path / "sample.npz"
    save_integral(path, integral)
    with np.load(path) as data:
        assert data["counts_xy"].dtype == np.uint8  # at most 6 centre frames per pixel
    loaded = load_integral(path)
    for a, b in zip(integral.counts, loaded.counts, strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.volume_shape == (14, 40, 36) and loaded.radii == (1, 1, 4)
    assert loaded.interpolation == "bilinear" and loaded.mapping == "u2"
    assert loaded.meta == {"sample": "1_1"}
    np.testing.assert_array_equal(
        block_features(loaded, (5, 5), 5), block_features(integral, (5, 5), 5)
    )


def test_integral_parameter_errors():
    codes = lbptop_codes(np.zeros((9, 10, 10), dtype=np.uint8), (1, 1, 4))
    with pytest.raises(ValueError, match="time_segments"):
        integral_histograms(codes, time_segments=0)
    with pytest.raises(ValueError, match="centre frames"):
        integral_histograms(codes, time_segments=2)
    with pytest.raises(ValueError, match="mapping"):
        integral_histograms(codes, mapping="ri")
    integral = integral_histograms(codes)
    with pytest.raises(ValueError, match="grid"):
        block_histograms(integral, (0, 3), 0)


def test_integral_file_is_a_plain_npz_whatever_the_zlib_level(tmp_path):
    """savez_compressed at level 1 writes the file np.savez_compressed would (same members,
    dtypes and values), at exactly the path given."""
    from microexp.stagefile import savez_compressed

    rng = np.random.default_rng(3)
    arrays = {
        "counts": rng.integers(0, 3, (1, 20, 30, 59), dtype=np.uint8),
        "bounds": np.array([[2, 9]], dtype=np.int64),
        "meta": np.array('{"a": 1}'),
    }
    savez_compressed(tmp_path / "fast", 1, **arrays)
    np.savez_compressed(tmp_path / "numpy.npz", **arrays)
    assert (tmp_path / "fast").is_file() and not (tmp_path / "fast.npz").exists()
    with np.load(tmp_path / "fast", allow_pickle=False) as fast:
        with np.load(tmp_path / "numpy.npz", allow_pickle=False) as reference:
            assert fast.files == reference.files
            for name in reference.files:
                assert fast[name].dtype == reference[name].dtype
                np.testing.assert_array_equal(fast[name], reference[name])
