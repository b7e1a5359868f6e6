"""LBP-TOP with LBPTOP.m's BorderLength / TimeLength (``border_xy`` / ``border_t``).

The case is the one where the per-axis radii and the MATLAB borders disagree: anisotropic radii
Rx = 2, Ry = 3, Rt = 3, P = 8 on every plane, ``u2``, bilinear and nearest. LBPTOP.m loops over
``i = TimeLength+1 : Length-TimeLength``, ``yc = BorderLength+1 : height-BorderLength``,
``xc = BorderLength+1 : width-BorderLength`` (1-based), its documentation advising
BorderLength = max(Rx, Ry) and TimeLength = Rt. The expected codes below are computed in plain
Python from neighbour positions worked out by hand, not with the package's tables.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from microexp.face2d.stage import Face2DResult
from microexp.failures import SampleFailure
from microexp.features.blocks import (
    block_histograms,
    integral_histograms,
    load_integral,
    save_integral,
)
from microexp.features.lbptop import lbptop, lbptop_codes, uniform_mapping
from microexp.features.rois import roi_histograms
from microexp.features.sample import LbptopSetting, lbptop_integral
from microexp.features.tim import tim
from microexp.learn.specs import lbptop_setting

F32 = np.float32
RADII = (2, 3, 3)  # Rx, Ry, Rt
P8 = (8, 8, 8)
BORDER_XY, BORDER_T = 3, 3  # max(Rx, Ry), Rt: what LBPTOP.m's documentation advises
SHAPE = (10, 11, 12)  # T, H, W: 4 x 5 x 6 = 120 MATLAB centres

# Nearest neighbours for Rx = 2, Ry = 3, Rt = 3, P = 8, worked out by hand from
# X = floor(xc + Rx cos a + 0.5), Y = floor(yc - Ry sin a + 0.5), T = floor(i + Rt sin a + 0.5)
# (XT) and T = floor(i + Rt cos a + 0.5) (YT), a = 2 pi p / 8: Rx cos 45 = 1.414 -> 1,
# Ry sin 45 = 2.121 -> 2 (floor(-2.121 + 0.5) = -2, floor(2.121 + 0.5) = 2), Rt sin 45 -> 2.
# Entries are (dt, dy, dx) for p = 0..7.
NEAREST_OFFSETS = {
    "xy": [(0, 0, 2), (0, -2, 1), (0, -3, 0), (0, -2, -1),
           (0, 0, -2), (0, 2, -1), (0, 3, 0), (0, 2, 1)],
    "xt": [(0, 0, 2), (2, 0, 1), (3, 0, 0), (2, 0, -1),
           (0, 0, -2), (-2, 0, -1), (-3, 0, 0), (-2, 0, 1)],
    "yt": [(3, 0, 0), (2, -2, 0), (0, -3, 0), (-2, -2, 0),
           (-3, 0, 0), (-2, 2, 0), (0, 3, 0), (2, 2, 0)],
}  # fmt: skip


def random_volume(seed: int = 19) -> np.ndarray:
    rng = np.random.default_rng(seed)
    volume = rng.integers(0, 256, SHAPE).astype(np.uint8)
    volume[:, :4, :4] = 13  # a flat patch: the single-precision floor matters there
    return volume


def nearest_code(volume: np.ndarray, t: int, y: int, x: int, plane: str) -> int:
    centre = int(volume[t, y, x])
    code = 0
    for p, (dt, dy, dx) in enumerate(NEAREST_OFFSETS[plane]):
        if int(volume[t + dt, y + dy, x + dx]) >= centre:
            code += 1 << p
    return code


def bilinear_code(volume: np.ndarray, t: int, y: int, x: int, plane: str) -> int:
    """LBPTOP.m's bilinear branch for one voxel, in plain Python with float32 scalars."""
    r_x, r_y, r_t = RADII
    tc, yc, xc = t + 1, y + 1, x + 1  # MATLAB's 1-based centre
    centre = float(volume[t, y, x])
    code = 0
    for p in range(8):
        a = (2 * math.pi * p) / 8
        if plane == "xy":
            c1, c2 = F32(xc + r_x * math.cos(a)), F32(yc - r_y * math.sin(a))
        elif plane == "xt":
            c1, c2 = F32(xc + r_x * math.cos(a)), F32(tc + r_t * math.sin(a))
        else:
            c1, c2 = F32(yc - r_y * math.sin(a)), F32(tc + r_t * math.cos(a))
        u, v = c1 - np.floor(c1), c2 - np.floor(c2)

        def at(k1: int, k2: int, plane: str = plane) -> np.float32:  # 1-based (c1, c2)
            if plane == "xy":
                return F32(volume[tc - 1, k2 - 1, k1 - 1])
            if plane == "xt":
                return F32(volume[k2 - 1, yc - 1, k1 - 1])
            return F32(volume[k2 - 1, k1 - 1, xc - 1])

        f1, f2, g1, g2 = (int(f(c)) for f, c in ((np.floor, c1), (np.floor, c2),
                                                  (np.ceil, c1), (np.ceil, c2)))  # fmt: skip
        value = np.floor(
            at(f1, f2) * (F32(1) - u) * (F32(1) - v)
            + at(f1, g2) * (F32(1) - u) * v
            + at(g1, f2) * u * (F32(1) - v)
            + at(g1, g2) * u * v
        )
        assert value.dtype == np.float32
        if value >= centre:
            code += 1 << p
    return code


def matlab_centres(shape, border_xy: int, border_t: int) -> list[tuple[int, int, int]]:
    """(t, y, x), 0-based, of LBPTOP.m's loops with TimeLength / BorderLength."""
    length, height, width = shape
    return [
        (i - 1, yc - 1, xc - 1)
        for i in range(border_t + 1, length - border_t + 1)
        for yc in range(border_xy + 1, height - border_xy + 1)
        for xc in range(border_xy + 1, width - border_xy + 1)
    ]


def matlab_histograms(volume, interpolation: str, border_xy: int, border_t: int) -> np.ndarray:
    """LBPTOP.m's u2 histogram (3, 59): counts over its centres, each row divided by its sum."""
    code_of = nearest_code if interpolation == "nearest" else bilinear_code
    table = uniform_mapping(8)
    histogram = np.zeros((3, 59))
    for t, y, x in matlab_centres(volume.shape, border_xy, border_t):
        for row, plane in enumerate(("xy", "xt", "yt")):
            histogram[row, table[code_of(volume, t, y, x, plane)]] += 1
    return histogram / histogram.sum(axis=1, keepdims=True)


def test_hand_offsets_match_the_matlab_formula():
    # The table above, re-derived from the formula, so a typo in it cannot pass unnoticed.
    r_x, r_y, r_t = RADII
    for p in range(8):
        a = (2 * math.pi * p) / 8
        dx = math.floor(r_x * math.cos(a) + 0.5)
        dy_xy = math.floor(-r_y * math.sin(a) + 0.5)
        assert NEAREST_OFFSETS["xy"][p] == (0, dy_xy, dx)
        assert NEAREST_OFFSETS["xt"][p] == (math.floor(r_t * math.sin(a) + 0.5), 0, dx)
        assert NEAREST_OFFSETS["yt"][p] == (math.floor(r_t * math.cos(a) + 0.5), dy_xy, 0)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_codes_of_single_voxels_by_hand(interpolation):
    volume = random_volume()
    codes = lbptop_codes(volume, RADII, P8, interpolation, border_xy=BORDER_XY, border_t=BORDER_T)
    code_of = nearest_code if interpolation == "nearest" else bilinear_code
    # The first and last MATLAB centre, one in the flat patch, and one in the middle.
    voxels = [(3, 3, 3), (6, 7, 8), (4, 3, 3), (5, 5, 6)]
    for t, y, x in voxels:
        for plane, plane_codes in zip(("xy", "xt", "yt"), codes.planes, strict=True):
            expected = code_of(volume, t, y, x, plane)
            got = int(plane_codes[t - BORDER_T, y - BORDER_XY, x - BORDER_XY])
            assert got == expected, (plane, (t, y, x))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_borders_exclude_exactly_the_voxels_lbptop_m_excludes(interpolation):
    volume = random_volume()
    codes = lbptop_codes(volume, RADII, P8, interpolation, border_xy=BORDER_XY, border_t=BORDER_T)
    frames, rows, cols = codes.centre_ranges
    ours = {(t, y, x) for t in frames for y in rows for x in cols}
    assert ours == set(matlab_centres(SHAPE, BORDER_XY, BORDER_T))
    assert codes.xy.shape == (len(frames), len(rows), len(cols)) == (4, 5, 6)
    # Today's default (each axis's radius) keeps columns 2 and W - 3 as centres as well.
    default = lbptop_codes(volume, RADII, P8, interpolation)
    assert default.centre_ranges == (range(3, 7), range(3, 8), range(2, 10))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_histograms_are_bit_identical_to_the_matlab_loops(interpolation):
    volume = random_volume()
    expected = matlab_histograms(volume, interpolation, BORDER_XY, BORDER_T)
    got = lbptop(volume, RADII, P8, "u2", interpolation, border_xy=BORDER_XY, border_t=BORDER_T)
    np.testing.assert_array_equal(got, expected)
    # Without the borders the centre set differs and so do all three planes: the reported case.
    default = lbptop(volume, RADII, P8, "u2", interpolation)
    assert all((default[row] != expected[row]).any() for row in range(3))


def test_larger_borders_and_time_border_alone():
    volume = random_volume(3)
    got = lbptop(volume, RADII, P8, "u2", "nearest", border_xy=4, border_t=4)
    np.testing.assert_array_equal(got, matlab_histograms(volume, "nearest", 4, 4))
    codes = lbptop_codes(volume, RADII, P8, "nearest", border_t=4)
    assert codes.centre_ranges == (range(4, 6), range(3, 8), range(2, 10))
    assert codes.borders == (2, 3, 4)


def test_border_below_a_radius_is_rejected():
    volume = random_volume()
    with pytest.raises(ValueError, match="border_xy=2 is smaller than Ry=3"):
        lbptop(volume, RADII, P8, border_xy=2)
    with pytest.raises(ValueError, match="border_t=2 is smaller than Rt=3"):
        lbptop(volume, RADII, P8, border_t=2)
    with pytest.raises(ValueError, match="border_xy=2 is smaller than Ry=3"):
        LbptopSetting(radii=RADII, border_xy=2)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_blocks_and_rois_use_the_borders(interpolation, tmp_path):
    volume = random_volume()
    codes = lbptop_codes(volume, RADII, P8, interpolation, border_xy=BORDER_XY, border_t=BORDER_T)
    integral = integral_histograms(codes, "u2")
    expected = matlab_histograms(volume, interpolation, BORDER_XY, BORDER_T)
    # One block is the whole volume; a full-face ROI too.
    np.testing.assert_array_equal(block_histograms(integral, (1, 1), 0)[0], expected.ravel())
    full = np.ones((1, SHAPE[1], SHAPE[2]), dtype=bool)
    np.testing.assert_array_equal(roi_histograms(integral, full)[0], expected.ravel())
    # A 2 x 2 grid: block (0, 0) covers pixels rows 0..5, cols 0..5; its centres are the
    # MATLAB centres inside it (rows 3..5, cols 3..5), counted here by hand.
    table = uniform_mapping(8)
    code_of = nearest_code if interpolation == "nearest" else bilinear_code
    counts = np.zeros((3, 59))
    for t, y, x in matlab_centres(SHAPE, BORDER_XY, BORDER_T):
        if y < 6 and x < 6:
            for row, plane in enumerate(("xy", "xt", "yt")):
                counts[row, table[code_of(volume, t, y, x, plane)]] += 1
    block = block_histograms(integral, (2, 2), 0)[0]
    np.testing.assert_array_equal(block, (counts / counts.sum(axis=1, keepdims=True)).ravel())
    # Files keep the borders.
    save_integral(tmp_path / "i.npz", integral)
    loaded = load_integral(tmp_path / "i.npz")
    assert loaded.borders == (3, 3, 3) and loaded.radii == RADII
    np.testing.assert_array_equal(block_histograms(loaded, (2, 2), 0)[0], block)


def test_time_segments_use_the_time_border():
    volume = random_volume()
    codes = lbptop_codes(volume, RADII, P8, "nearest", border_xy=BORDER_XY, border_t=4)
    integral = integral_histograms(codes, "u2", time_segments=2)
    # Frames 0..9 split into [0, 5) and [5, 10); centre frames are 4 and 5 only.
    per_segment = block_histograms(integral, (1, 1), 0)
    for segment, frame in enumerate((4, 5)):
        expected = lbptop(volume[frame - 4 : frame + 5], RADII, P8, border_xy=3, border_t=4)
        np.testing.assert_array_equal(per_segment[segment], expected.ravel())


def face2d_with(volume: np.ndarray) -> Face2DResult:
    t = volume.shape[0]
    zeros = np.zeros((t, 68, 2))
    return Face2DResult(
        landmarks68=zeros, landmarks49_index=np.arange(49), detected=np.zeros(t, bool),
        detection_score=np.zeros(t), landmark_jump=np.zeros(t), appearance_ncc=np.ones(t),
        similarity=np.eye(2, 3), crop_box=np.zeros(4), crop_units=np.ones(2),
        crop_transform=np.eye(2, 3), aligned_gray=volume, aligned_landmarks=zeros,
        onset=0, apex=t // 2,
    )  # fmt: skip


def test_settings_carry_borders_through_names_and_the_feature_stage():
    default = LbptopSetting.from_config({"radii": [2, 3, 3], "interpolation": "bilinear"})
    explicit = LbptopSetting.from_config(
        {"radii": [2, 3, 3], "interpolation": "bilinear", "border_xy": 3, "border_t": 3}
    )
    # Names without borders are what they were (cached files stay valid); explicit borders
    # give a distinct name that parses back.
    assert default.name == "r2-3-3_p8-8-8_u2_bilinear"
    assert explicit.name == "r2-3-3_p8-8-8_u2_bilinear_bxy3_bt3"
    assert LbptopSetting.from_name(explicit.name) == explicit
    assert lbptop_setting(explicit.name) == explicit
    assert lbptop_setting(explicit.to_config()) == explicit
    only_t = LbptopSetting(radii=(1, 1, 4), border_t=5, tim_frames=30)
    assert only_t.name == "r1-1-4_p8-8-8_u2_nearest_bt5_tim30"
    assert LbptopSetting.from_name(only_t.name) == only_t
    with pytest.raises(ValueError, match="does not round-trip"):
        LbptopSetting.from_name("r2-3-3_p8-8-8_u2_bilinear_bxy03")
    # The repr (a Snakemake parameter of the batch jobs) is unchanged without borders.
    assert repr(LbptopSetting()) == (
        "LbptopSetting(radii=(1, 1, 4), neighbors=(8, 8, 8), mapping='u2', "
        "interpolation='nearest', tim_frames=None)"
    )
    # The feature stage computes with the borders, TIM included.
    volume = random_volume()
    integral = lbptop_integral(face2d_with(volume), explicit)
    expected = matlab_histograms(volume, "bilinear", BORDER_XY, BORDER_T)
    np.testing.assert_array_equal(block_histograms(integral, (1, 1), 0)[0], expected.ravel())
    assert integral.meta["setting"] == explicit.name
    resampled = LbptopSetting(radii=RADII, border_xy=3, border_t=3, tim_frames=12)
    integral = lbptop_integral(face2d_with(volume), resampled)
    expected = lbptop(tim(volume, 12, dtype=np.uint8), RADII, P8, border_xy=3, border_t=3)
    np.testing.assert_array_equal(block_histograms(integral, (1, 1), 0)[0], expected.ravel())
    with pytest.raises(SampleFailure, match="bxy3_bt3"):
        lbptop_integral(face2d_with(volume[:6]), explicit)  # 6 frames < 2 * 3 + 1
