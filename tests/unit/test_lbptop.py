"""LBP-TOP conventions of docs/methods.md#lbp-top (original LBPTOP.m), pinned by hand-worked
examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from microexp.features.lbptop import (
    basic_mapping,
    lbp_mapping,
    lbptop,
    lbptop_codes,
    n_bins,
    uniform_mapping,
)
from microexp.testing.lbptop_reference import lbptop_codes_reference

F32 = np.float32


def matlab_loop_codes(volume, radii, neighbors, interpolation):
    """Voxel-by-voxel transliteration of LBPTOP.m (1-based indices, as in MATLAB).

    Deliberately naive and slow: a third, independent reading of docs/methods.md#lbp-top for tiny
    volumes."""
    r_x, r_y, r_t = radii
    vol = np.asarray(volume, dtype=np.float64)
    vol32 = vol.astype(np.float32)
    n_t, height, width = vol.shape

    def at(y, x, t, source):  # MATLAB VolData(y, x, t), 1-based
        return source[t - 1, y - 1, x - 1]

    out = {plane: np.zeros((n_t - 2 * r_t, height - 2 * r_y, width - 2 * r_x), int)
           for plane in ("xy", "xt", "yt")}  # fmt: skip
    for i in range(r_t + 1, n_t - r_t + 1):
        for yc in range(r_y + 1, height - r_y + 1):
            for xc in range(r_x + 1, width - r_x + 1):
                centre = at(yc, xc, i, vol)
                for plane, n_p in zip(("xy", "xt", "yt"), neighbors, strict=True):
                    code = 0
                    for p in range(n_p):
                        a = (2 * math.pi * p) / n_p
                        if plane == "xy":
                            c1, c2 = xc + r_x * math.cos(a), yc - r_y * math.sin(a)
                        elif plane == "xt":
                            c1, c2 = xc + r_x * math.cos(a), i + r_t * math.sin(a)
                        else:
                            c1, c2 = yc - r_y * math.sin(a), i + r_t * math.cos(a)

                        def sample(k1, k2, source, plane=plane, i=i, yc=yc, xc=xc):
                            if plane == "xy":
                                return at(k2, k1, i, source)
                            if plane == "xt":
                                return at(yc, k1, k2, source)
                            return at(k1, xc, k2, source)

                        if interpolation == "nearest":
                            value = sample(math.floor(c1 + 0.5), math.floor(c2 + 0.5), vol)
                        else:
                            c1, c2 = F32(c1), F32(c2)
                            u, v = c1 - np.floor(c1), c2 - np.floor(c2)
                            f1, f2 = int(np.floor(c1)), int(np.floor(c2))
                            g1, g2 = int(np.ceil(c1)), int(np.ceil(c2))
                            value = np.floor(
                                sample(f1, f2, vol32) * (F32(1) - u) * (F32(1) - v)
                                + sample(f1, g2, vol32) * (F32(1) - u) * v
                                + sample(g1, f2, vol32) * u * (F32(1) - v)
                                + sample(g1, g2, vol32) * u * v
                            )
                        if value >= centre:
                            code += 2**p
                    out[plane][i - r_t - 1, yc - r_y - 1, xc - r_x - 1] = code
    return out["xy"], out["xt"], out["yt"]


def codes_of(volume, radii, neighbors=(4, 4, 4), interpolation="nearest"):
    codes = lbptop_codes(volume, radii, neighbors, interpolation)
    return tuple(int(c[0, 0, 0]) for c in codes.planes)


# ------------------------------------------------------------------------------------------
# Hand-worked codes
# ------------------------------------------------------------------------------------------


def star_volume():
    """3x3x3 volume, centre (t, y, x) = (1, 1, 1) = 5, six axis neighbours, the rest 0.

    east  V[1,1,2] = 6 (>= 5)   north V[1,0,1] = 7 (>= 5)   next frame V[2,1,1] = 5 (= 5)
    west  V[1,1,0] = 3 (< 5)    south V[1,2,1] = 2 (< 5)    prev frame V[0,1,1] = 8 (>= 5)
    """
    volume = np.zeros((3, 3, 3), dtype=np.uint8)
    volume[1, 1, 1] = 5
    volume[1, 1, 2], volume[1, 1, 0] = 6, 3
    volume[1, 0, 1], volume[1, 2, 1] = 7, 2
    volume[2, 1, 1], volume[0, 1, 1] = 5, 8
    return volume


def test_axis_neighbours_p4_each_plane_by_hand():
    # P = 4, R = 1: angles 0, pi/2, pi, 3pi/2; cos(pi/2) = 6e-17 and sin(pi) = 1.2e-16 round
    # away under floor(v + 0.5), so the neighbours are exactly on the axes.
    # XY: p0 x+1 (east 6 -> 1), p1 y-1 (north 7 -> 2), p2 x-1 (west 3 -> 0),
    #     p3 y+1 (south 2 -> 0)                                          code 1 + 2 = 3
    # XT: p0 x+1 (east -> 1), p1 t+1 (next 5 >= 5 -> 2), p2 x-1 (west -> 0),
    #     p3 t-1 (prev 8 -> 8)                                            code 1 + 2 + 8 = 11
    # YT: p0 t+1 (next -> 1), p1 y-1 (north -> 2), p2 t-1 (prev -> 4),
    #     p3 y+1 (south -> 0)                                             code 1 + 2 + 4 = 7
    # With y = yc + sin a (wrong sign) XY would be 1 + 8 = 9; with t = tc - sin a, XT 1 + 2 = 3.
    assert codes_of(star_volume(), (1, 1, 1)) == (3, 11, 7)
    assert codes_of(star_volume(), (1, 1, 1), interpolation="bilinear") == (3, 11, 7)


def test_diagonal_nearest_rounding_p8_r1():
    # P = 8, R = 1, p = 1: x = xc + cos(pi/4) = xc + 0.7071 -> floor(0.7071 + 0.5) = 1,
    # y = yc - 0.7071 -> floor(-0.7071 + 0.5) = -1: the north-east pixel V[1, 0, 2].
    volume = np.zeros((3, 3, 3), dtype=np.uint8)
    volume[1, 1, 1] = 5
    volume[1, 0, 2] = 9
    # XY: only p = 1 is >= 5 -> code 2. XT and YT neighbours stay in row/column 1 of frames
    # 0..2, all 0 except the centre's own row: XT p0 (x+1) V[1,1,2] = 0 -> nothing; code 0.
    assert codes_of(volume, (1, 1, 1), (8, 8, 8)) == (2, 0, 0)
    # The other diagonals: p3 = north-west, p5 = south-west, p7 = south-east.
    for pixel, bit in (((0, 0), 8), ((2, 0), 32), ((2, 2), 128)):
        volume = np.zeros((3, 3, 3), dtype=np.uint8)
        volume[1, 1, 1] = 5
        volume[1, pixel[0], pixel[1]] = 9
        assert codes_of(volume, (1, 1, 1), (8, 8, 8))[0] == bit


def test_diagonal_nearest_rounding_r2_stays_at_distance_one():
    # R = 2: 2 cos(pi/4) = 1.414 -> floor(1.414 + 0.5) = 1, so the diagonal neighbour of a
    # radius-2 circle is (x+1, y-1), not (x+2, y-2); p = 0 is (x+2, y).
    volume = np.zeros((5, 5, 5), dtype=np.uint8)
    volume[2, 2, 2] = 5
    volume[2, 1, 3] = 9  # (y-1, x+1)
    volume[2, 0, 4] = 9  # (y-2, x+2): must not count
    assert codes_of(volume, (2, 2, 2), (8, 8, 8))[0] == 2
    volume[2, 2, 4] = 9  # (y, x+2): p = 0
    assert codes_of(volume, (2, 2, 2), (8, 8, 8))[0] == 3


def test_time_radius_xt_and_yt_by_hand():
    # Rt = 2, Rx = Ry = 1, P = 8, 5 frames, centre frame 2.
    # XT p1: x = xc + 0.7071 -> +1, t = tc + 2 sin(pi/4) = tc + 1.414 -> floor(1.914) = +1.
    # XT p2: x = xc + 6e-17 -> +0, t = tc + 2 -> +2.
    # YT p0: y = yc - 0 -> +0, t = tc + 2 cos 0 = tc + 2; YT p1: y -1, t +1.
    volume = np.zeros((5, 3, 3), dtype=np.uint8)
    volume[2, 1, 1] = 5
    volume[3, 1, 2] = 9  # (t+1, y, x+1): XT p1 -> 2
    volume[4, 1, 1] = 9  # (t+2, y, x):   XT p2 -> 4 and YT p0 -> 1
    volume[3, 0, 1] = 9  # (t+1, y-1, x): YT p1 -> 2
    xy, xt, yt = codes_of(volume, (1, 1, 2), (8, 8, 8))
    assert (xy, xt, yt) == (0, 2 + 4, 1 + 2)


def test_bilinear_constant_patch_single_precision_by_hand():
    # A constant 13 volume, P = 8, R = 1, bilinear, XY plane at the centre (y, x) = (1, 1),
    # i.e. MATLAB (yc, xc) = (2, 2).
    # Axis neighbours (p = 0, 2, 4, 6) land on pixels: u = v = 0, value 13 -> bits 1+4+16+64.
    # p = 1: x1 = single(2 + 0.70710678118654757) = 2.707106828689575 (2965821 * 2^-22 + 2)
    #        y1 = single(2 - 0.70710678118654746) = 1.2928931713104248
    #        u = 0.7071068286895752, v = 0.2928931713104248, 1-u = v, 1-v = u (single)
    #        (13 (1-u)) (1-v) = 3.8076112270355225 * u = 2.692387819290161
    #        (13 (1-u)) v     = 3.8076112270355225 * v = 1.1152232885360718
    #        sum              = 3.8076109886169434            (single rounding)
    #        (13 u) (1-v)     = 9.192388534545898 * u = 6.500000476837158
    #        sum              = 10.307611465454102
    #        (13 u) v         = 9.192388534545898 * v = 2.692387819290161
    #        sum              = 12.999999046325684 -> floor 12 < 13 -> bit 1 is 0
    # p = 3 and p = 5 end at 12.999999046325684 too (bits 0); p = 7 (u = v = 0.70710683)
    # sums 3.8076109886169434 + 2.692387819290161 + 6.500000476837158 -> 13.0 exactly
    # -> bit 7 set. XY code = 1 + 4 + 16 + 64 + 128 = 213 (nearest gives 255).
    # With 0-based coordinates v would be 0.2928932309150696 and p = 1 would sum to 13.0: this
    # example also pins the 1-based centre of docs/methods.md#lbp-top.
    u, v = F32(0.7071068286895752), F32(0.2928931713104248)
    assert F32(2 + math.cos(math.pi / 4)) - F32(2) == u
    assert F32(2 - math.sin(math.pi / 4)) - F32(1) == v
    s = (F32(13) * (1 - u)) * (1 - v) + (F32(13) * (1 - u)) * v
    assert s == F32(3.8076109886169434)
    s = s + (F32(13) * u) * (1 - v)
    assert s == F32(10.307611465454102)
    s = s + (F32(13) * u) * v
    assert s == F32(12.999999046325684) and np.floor(s) == 12

    volume = np.full((3, 3, 3), 13, dtype=np.uint8)
    xy, xt, yt = codes_of(volume, (1, 1, 1), (8, 8, 8), "bilinear")
    assert xy == 213
    # The floor depends only on (u, v): (0.707, 0.293), (0.293, 0.293), (0.293, 0.707) give
    # 12.999999 and (0.707, 0.707) gives 13.0. XT (x1 = xc + cos a, t1 = tc + sin a, tc = 2):
    # p1 (0.707, 0.707) -> bit, p3 (0.293, 0.707), p5 (0.293, 0.293), p7 (0.707, 0.293) -> 0:
    # 85 + 2 = 87. YT (y1 = yc - sin a, t1 = tc + cos a): only p7 (0.707, 0.707): 85 + 128.
    assert (xt, yt) == (87, 213)
    assert codes_of(volume, (1, 1, 1), (8, 8, 8), "nearest") == (255, 255, 255)


def test_bilinear_ramp_by_hand():
    # V = 10 x along x (0-based), constant in y and t; centre (1, 1, 1) has value 10.
    # XY p = 1: corners x = floor/ceil(2.7071068) = 2/3 (1-based) -> values 10 and 20.
    # value = ((10 (1-u))(1-v) + (10 (1-u)) v) + (20 u)(1-v) + (20 u) v ~= 10 + 10 u = 17.07
    # -> floor 17 >= 10 -> bit. p = 3 (x1 = 1.2928932): corners x = 1/2 -> values 0 and 10:
    # ~= 10 u with u = 0.2928932 -> 2.93 -> floor 2 < 10 -> no bit.
    # XY: p0 (x+1: 20) 1, p1 2, p2 (y-1: 10) 4, p3 0, p4 (x-1: 0) 0, p5 0, p6 (y+1: 10) 64,
    #     p7 (x + 0.7071: 17.07) 128 -> 199.
    volume = np.broadcast_to(10 * np.arange(3, dtype=np.uint8), (3, 3, 3)).copy()
    assert codes_of(volume, (1, 1, 1), (8, 8, 8), "bilinear")[0] == 1 + 2 + 4 + 64 + 128


def test_constant_volume_nearest_is_all_ones():
    volume = np.full((9, 6, 7), 42, dtype=np.uint8)
    for plane_codes in lbptop_codes(volume, (1, 2, 3), (8, 4, 8)).planes:
        assert set(np.unique(plane_codes)) <= {255, 15}
    histograms = lbptop(volume, (1, 1, 1), (8, 8, 8), "u2")
    expected = np.zeros(59)
    expected[58] = 1.0  # code 255 -> the last uniform bin
    np.testing.assert_array_equal(histograms, np.stack([expected] * 3))


# ------------------------------------------------------------------------------------------
# Mappings
# ------------------------------------------------------------------------------------------


def test_uniform_mapping_p8_spot_checks():
    table = uniform_mapping(8)
    assert table.size == 256 and n_bins(8, "u2") == 59
    assert table[0] == 1 and table[1] == 2 and table[2] == 3 and table[3] == 4
    assert table[4] == 5 and table[6] == 6 and table[7] == 7 and table[8] == 8
    assert table[5] == 0 and table[9] == 0  # 00000101, 00001001: 4 transitions
    assert table[254] == 57 and table[255] == 58
    assert (table == 0).sum() == 256 - 58
    uniform_bins = table[table > 0]
    np.testing.assert_array_equal(uniform_bins, np.arange(1, 59))  # ascending code order


def test_uniform_mapping_p4_full_table():
    # Non-uniform 4-bit codes: 0101 (5) and 1010 (10); 14 uniform codes -> bins 1..14.
    expected = [1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 0, 10, 11, 12, 13, 14]
    np.testing.assert_array_equal(uniform_mapping(4), expected)
    assert n_bins(4, "u2") == 15 == 4 * 3 + 3


def test_basic_mapping():
    np.testing.assert_array_equal(basic_mapping(8), np.arange(256))
    assert n_bins(8, "basic") == 256 and n_bins(4, "basic") == 16


@pytest.mark.parametrize("n_neighbors", [3, 4, 5, 6, 8, 10, 12, 16])
def test_uniform_mapping_general_rule(n_neighbors):
    table, bins = lbp_mapping(n_neighbors, "u2")
    assert bins == n_neighbors * (n_neighbors - 1) + 3
    assert table.max() == bins - 1 and table[0] == 1 and table[-1] == bins - 1


def test_histograms_normalised_per_plane_and_shape():
    rng = np.random.default_rng(3)
    volume = rng.integers(0, 256, (10, 12, 13), dtype=np.uint8)
    cases = (("u2", (8,) * 3, 59), ("u2", (4,) * 3, 15),
             ("basic", (8,) * 3, 256), ("basic", (4,) * 3, 16))  # fmt: skip
    for mapping, neighbors, bins in cases:
        histograms = lbptop(volume, (1, 1, 2), neighbors, mapping)
        assert histograms.shape == (3, bins)
        np.testing.assert_allclose(histograms.sum(axis=1), 1.0)


def test_mixed_neighbours_pads_shorter_planes():
    rng = np.random.default_rng(4)
    volume = rng.integers(0, 256, (7, 8, 9), dtype=np.uint8)
    histograms = lbptop(volume, (1, 1, 1), (8, 4, 4), "u2")
    assert histograms.shape == (3, 59)
    assert np.all(histograms[1:, 15:] == 0)
    np.testing.assert_allclose(histograms.sum(axis=1), 1.0)


# ------------------------------------------------------------------------------------------
# Fast path == NumPy reference == literal MATLAB loop
# ------------------------------------------------------------------------------------------

RADII = [(rx, ry, rt) for rx, ry in ((1, 1), (2, 2), (3, 3), (4, 4), (1, 3), (2, 1))
         for rt in (1, 2, 3, 4)]  # fmt: skip
NEIGHBOURS = list(itertools.product((4, 8), repeat=3))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("radii", RADII)
def test_fast_path_equals_reference_random(interpolation, radii):
    rng = np.random.default_rng([*radii, len(interpolation)])
    for neighbors in NEIGHBOURS:
        shape = (2 * radii[2] + 1 + rng.integers(0, 5), 2 * radii[1] + 3, 2 * radii[0] + 4)
        volume = rng.integers(0, 256, shape, dtype=np.uint8)
        fast = lbptop_codes(volume, radii, neighbors, interpolation)
        reference = lbptop_codes_reference(volume, radii, neighbors, interpolation)
        for got, expected in zip(fast.planes, reference, strict=True):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("neighbors", [(8, 8, 8), (4, 4, 4), (6, 6, 6), (12, 5, 16)])
def test_fast_path_equals_reference_other_p_and_dtypes(interpolation, neighbors):
    # P = 6 / 12 take the per-centre table kernel (offsets depend on the centre there).
    rng = np.random.default_rng(11)
    for dtype in (np.uint8, np.uint16, np.int32, np.float64):
        volume = rng.integers(0, 200, (9, 11, 12)).astype(dtype)
        if dtype == np.float64:
            volume = volume + rng.random(volume.shape)  # non-integer values, double compare
        for radii in ((1, 1, 1), (3, 2, 4)):
            fast = lbptop_codes(volume, radii, neighbors, interpolation)
            reference = lbptop_codes_reference(volume, radii, neighbors, interpolation)
            for got, expected in zip(fast.planes, reference, strict=True):
                np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize(
    "radii, neighbors",
    [((1, 1, 1), (8, 8, 8)), ((2, 1, 2), (4, 8, 4)), ((1, 2, 3), (8, 4, 8)),
     ((1, 1, 1), (6, 6, 6))],
)  # fmt: skip
def test_fast_path_equals_literal_matlab_loop(interpolation, radii, neighbors):
    rng = np.random.default_rng(5)
    volume = rng.integers(0, 256, (2 * radii[2] + 3, 2 * radii[1] + 3, 2 * radii[0] + 3))
    volume = volume.astype(np.uint8)
    # Smooth regions make the single-precision floor matter, so mix in a flat patch.
    volume[:, :3, :3] = 13
    fast = lbptop_codes(volume, radii, neighbors, interpolation)
    loop = matlab_loop_codes(volume, radii, neighbors, interpolation)
    for got, expected in zip(fast.planes, loop, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_codes_layout_and_centre_ranges():
    volume = np.zeros((10, 12, 14), dtype=np.uint8)
    codes = lbptop_codes(volume, (2, 3, 4), (8, 8, 16))
    assert codes.xy.shape == (2, 6, 10) and codes.xy.dtype == np.uint8
    assert codes.yt.dtype == np.uint16
    assert codes.centre_ranges == (range(4, 6), range(3, 9), range(2, 12))
    assert codes.volume_shape == (10, 12, 14) and codes.radii == (2, 3, 4)


def test_minimum_volume_is_one_centre():
    volume = np.arange(27, dtype=np.uint8).reshape(3, 3, 3)
    codes = lbptop_codes(volume, (1, 1, 1), (8, 8, 8))
    assert codes.xy.shape == (1, 1, 1)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "volume, kwargs, message",
    [
        (np.zeros((8, 10, 10)), {"radii": (1, 1, 4)}, "at least 9"),
        (np.zeros((9, 2, 10)), {"radii": (1, 1, 4)}, "Ry=1"),
        (np.zeros((9, 10, 2)), {"radii": (1, 1, 4)}, "Rx=1"),
        (np.zeros((10, 10)), {}, "3D"),
        (np.zeros((2, 9, 10, 10)), {}, "3D"),
        (np.full((9, 5, 5), np.nan), {}, "NaN"),
        (np.zeros((9, 5, 5), dtype=bool), {}, "dtype"),
        (np.zeros((9, 5, 5), dtype=complex), {}, "dtype"),
        (np.zeros((9, 5, 5)), {"neighbors": (8, 8, 2)}, "neighbours"),
        (np.zeros((9, 5, 5)), {"neighbors": (8, 8, 17)}, "neighbours"),
        (np.zeros((9, 5, 5)), {"neighbors": (8, 8)}, "three"),
        (np.zeros((9, 5, 5)), {"mapping": "riu2"}, "mapping"),
        (np.zeros((9, 5, 5)), {"interpolation": "cubic"}, "interpolation"),
        (np.zeros((9, 5, 5)), {"radii": (0, 1, 1)}, ">= 1"),
        (np.zeros((9, 5, 5)), {"radii": (1.5, 1, 1)}, "integers"),
    ],
)
def test_bad_input_raises_value_error(volume, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lbptop(volume, **kwargs)


def test_infinite_values_rejected():
    volume = np.zeros((9, 5, 5))
    volume[4, 2, 2] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        lbptop_codes(volume)
