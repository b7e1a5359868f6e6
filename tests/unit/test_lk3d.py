"""Depth flow (pyramidal 3D Lucas-Kanade, CAS(ME)^3 Sec. 5) against known motions and by hand.

Agreement with the reference code itself (LKPR3D under GNU Octave) is checked outside the test
suite; see docs/depth_flow.md for the figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from microexp.features import depth_flow
from microexp.features.lk3d import (
    _refine,
    _solve_window,
    gaussian_kernel3d,
    pyramid_downsample,
    upsample_flow,
)


def _smooth(shift=(0.0, 0.0, 0.0), shape=(40, 40, 40), offset=0.0):
    # A smooth zero-mean volume (plus `offset`), sampled at p - shift: apex(p + shift) = onset(p).
    y, x, z = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    y, x, z = y - shift[0], x - shift[1], z - shift[2]
    return (
        offset
        + 40.0 * np.sin(0.4 * y + 0.2) * np.cos(0.32 * x - 0.1)
        + 30.0 * np.sin(0.36 * z + 0.2 * x)
        + 20.0 * np.cos(0.28 * y - 0.4 * z)
    )


@pytest.mark.parametrize(
    ("shift", "levels"),
    [((0.3, 0.0, 0.0), 2), ((0.0, -0.25, 0.0), 2), ((0.0, 0.0, 0.35), 2), ((0.2, -0.3, 0.15), 1)],
)
def test_subvoxel_translation_is_recovered(shift, levels):
    onset = _smooth()
    apex = _smooth(shift)
    ux, uy, uz = depth_flow(onset, apex, levels=levels)
    interior = (slice(10, -10),) * 3
    # `shift` is (rows, columns, bins); the reference's ux is the motion along columns (its
    # "dx" kernel varies along dimension 2), uy along rows, uz along bins.
    for component, truth in zip((uy, ux, uz), shift, strict=True):
        error = np.median(np.abs(component[interior] - truth))
        assert error <= 0.02, (shift, levels, truth, error)


def test_window_derivatives_see_a_step_from_zero_at_the_window_start():
    # On the finer levels the reference differentiates each window as if surrounded by zeros:
    # a constant offset then puts a step on the window's first row, column and bin, which
    # pulls the flow toward zero. On the coarsest level (whole-volume derivatives) an offset
    # changes nothing.
    shift = (0.3, 0.0, 0.0)
    interior = (slice(10, -10),) * 3
    plain = depth_flow(_smooth(), _smooth(shift), levels=2)[1][interior]  # uy: rows
    offset = depth_flow(_smooth(offset=100.0), _smooth(shift, offset=100.0), levels=2)[1][interior]
    assert np.median(np.abs(plain - 0.3)) < 0.02
    assert np.median(offset) < 0.3 - 0.02
    whole = [
        depth_flow(_smooth(offset=o), _smooth(shift, offset=o), levels=1)[1][interior]
        for o in (0.0, 100.0)
    ]
    np.testing.assert_allclose(whole[0], whole[1], atol=1e-9)


def test_windows_without_data_give_exactly_zero_flow():
    shape = (36, 38, 28)
    onset = np.zeros(shape, np.int16)
    apex = np.zeros(shape, np.int16)
    onset[5:8, 5:8, 5:8] = 100
    apex[5:8, 6:9, 5:8] = 100
    stats: dict = {}
    for levels in (1, 2):
        ux, uy, uz = depth_flow(onset, apex, levels=levels, stats=stats)
        # Further than a window (plus the pyramid's reach) from the data, nothing moves.
        far = (slice(26, None), slice(26, None), slice(None))
        for component in (ux, uy, uz):
            assert np.all(component[far] == 0.0)
            assert np.any(component != 0.0)
    assert stats["skipped"] > 0 and stats["solved"] > 0
    zeros = depth_flow(np.zeros(shape), np.zeros(shape))
    assert all(np.all(c == 0.0) for c in zeros)


def test_refinement_shifts_columns_by_ux_and_rows_by_uy():
    # The reference shifts the apex window by round(ux) columns, round(uy) rows, round(uz)
    # bins. Apex = onset moved by 2 columns: an initial ux of 2 aligns the windows (the
    # least-squares step then finds ~0 motion on top of it); the same 2 given as uy does not.
    onset = _smooth(shape=(30, 30, 30))
    apex = _smooth((0.0, 2.0, 0.0), shape=(30, 30, 30))
    zero = np.zeros(onset.shape, np.int32)
    two = np.full(onset.shape, 2, np.int32)
    interior = (slice(8, -8),) * 3
    ux, uy, uz = _refine((two, zero, zero), onset, apex, 4, 1.0, {})
    assert np.max(np.abs(ux[interior] - 2.0)) < 0.05
    assert np.max(np.abs(uy[interior])) < 0.05 and np.max(np.abs(uz[interior])) < 0.05
    ux, uy, uz = _refine((zero, two, zero), onset, apex, 4, 1.0, {})
    assert np.median(np.abs(uy[interior] - 2.0) + np.abs(ux[interior])) > 0.5


def test_gaussian_kernel():
    kernel = gaussian_kernel3d(2, 1.5)
    assert kernel.shape == (5, 5, 5)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-15)
    one = np.exp(-(np.arange(-2, 3) ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(kernel, np.einsum("i,j,k", one, one, one) / one.sum() ** 3)


def test_pyramid_rounds_integer_volumes_and_keeps_floats():
    volume = np.zeros((7, 7, 7), np.int16)
    volume[2, 4, 2] = 100  # a kept (even) position
    one = np.exp(-(np.arange(-2, 3) ** 2) / (2 * 1.5**2))
    centre = 100 * one[2] ** 3 / one.sum() ** 3  # 100 * 0.0228 = 2.28...
    down = pyramid_downsample(volume, volume.dtype)
    assert down.shape == (4, 4, 4)
    assert down[1, 2, 1] == np.round(centre) == 2.0
    # The neighbour one step away on the coarse grid is 2 fine voxels away: 100 g(2)/sum^3.
    assert down[1, 3, 1] == np.round(100 * one[0] * one[2] ** 2 / one.sum() ** 3) == 1.0
    as_float = pyramid_downsample(volume.astype(float), np.dtype(float))
    assert as_float[1, 2, 1] == pytest.approx(centre, rel=1e-12)
    # Saturation to the integer type (MATLAB's imfilter on integer classes).
    big = np.full((5, 5, 5), 32767, np.int16)
    assert pyramid_downsample(big, big.dtype).max() <= 32767


def test_upsampled_initial_flow_is_doubled_and_rounded_half_away_from_zero():
    coarse = np.full((6, 6, 6), 0.75)
    init = upsample_flow(coarse, (11, 12, 12))
    assert init.shape == (11, 12, 12) and np.all(init == np.round(init))
    # Interior: 2 x 0.75 = 1.5 -> 2; 2 x -0.25 = -0.5 -> -1 (MATLAB's round, half away from
    # zero; numpy's half-to-even would give 0).
    assert init[5, 5, 5] == 2
    assert upsample_flow(np.full((6, 6, 6), -0.25), (12, 12, 12))[5, 5, 5] == -1
    # Near the far end of the doubled grid the zeros beyond it are filtered in before the crop.
    assert init[5, 5, 11] < 2


def _octave_pinv_solution(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # pinv(A) (-B) with Octave's default cut-off: singular values <= 3 sigma_max eps dropped
    # (numpy's pinv drops those <= rcond sigma_max).
    return np.linalg.pinv(a, rcond=3 * np.finfo(float).eps) @ -b


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(3)
    _solve_window(
        a[0, 0], a[0, 1], a[0, 2], a[1, 1], a[1, 2], a[2, 2], b[0], b[1], b[2],
        np.empty((3, 3)), np.empty((3, 3)), out,
    )  # fmt: skip
    return out


def test_window_solution_is_pinv_with_octaves_cut_off():
    # Well-conditioned windows take a closed-form inverse, near-singular and rank-deficient
    # ones pinv's cut-off; both must give pinv(A) (-B) as Octave computes it.
    rng = np.random.default_rng(3)
    b = np.array([3.0, -1.0, 2.0])
    cases = []
    for _ in range(20):
        g = rng.normal(size=(30, 3)) * rng.uniform(0.1, 10.0, 3)
        cases.append(g.T @ g)  # full rank, various conditioning
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    for eigenvalues in (
        [5.0, 2.0, 1.0],
        [5.0, 2.0, 1e-4],
        [5.0, 2.0, 1e-9],
        [5.0, 1e-7, 1e-12],
        [5.0, 2.0, 1e-17],
    ):
        cases.append(q @ np.diag(eigenvalues) @ q.T)  # ever closer to singular; the last one
        # below the cut-off (3 x 5 x eps = 3.3e-15): pinv drops it, an inverse would not
    # Exactly rank-deficient (integer entries: the products are exact): rank 2, rank 1, and
    # data along one axis only (an empty window's neighbour).
    u = np.array([1.0, 2.0, -1.0])
    v = np.array([0.0, 1.0, 3.0])
    cases += [np.outer(u, u) + np.outer(v, v), np.outer(u, u), np.diag([4.0, 0.0, 0.0])]
    for a in cases:
        expected = _octave_pinv_solution(a, b)
        got = _solve(a, b)
        # Any two pinv computations differ by ~cond eps (relative) on the singular values kept.
        singular = np.linalg.svd(a, compute_uv=False)
        kept = singular[singular > 3 * np.finfo(float).eps * singular[0]]
        tolerance = 1e-9 + 100 * np.finfo(float).eps * kept[0] / kept[-1]
        assert np.max(np.abs(got - expected)) <= tolerance * (1 + np.max(np.abs(expected))), a
    # Rank 1: the solution lies along the one direction with data, none along the others.
    got = _solve(np.outer(u, u), b)
    np.testing.assert_allclose(got, -u * (u @ b) / (u @ u) ** 2, rtol=1e-12)
    assert np.all(_solve(np.zeros((3, 3)), b) == 0.0)
