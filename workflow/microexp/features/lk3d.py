"""Depth flow: pyramidal 3D Lucas-Kanade optical flow between two RGB-D tensors.

CAS(ME)^3 (Li et al., IEEE TPAMI 2023), Sec. 5 ("depth flow"): the onset and apex RGB-D tensors
(`microexp.features.rgbd.rgbd_tensor`) are compared by a weighted-window 3D Lucas-Kanade flow in
a Gaussian pyramid, the method of M. Mustafa's LKPR3D (Lucas & Kanade 1981, "An iterative image
registration technique with an application to stereo vision", IJCAI), run by the database's
authors with r = 4, 2 levels, 0 refinement iterations, sigma = 1. This module is an independent
implementation that gives the same numbers as that code (checked against it under GNU Octave on
small volumes, see docs/depth_flow.md), written for speed: separable sums on the coarsest level,
one numba pass per voxel on the finer ones, windows with no data skipped.

Conventions kept from the reference, including those that look like accidents (each one is
described in docs/depth_flow.md):

- Derivatives are 2x2x2 backward differences (kernels of +-1/4 convolved, the two frames
  averaged; the temporal one is onset minus apex). On the coarsest level they are taken on the
  whole volume; on the finer levels on each (2r+1)^3 window separately, as if the window were
  surrounded by zeros, so the first row, column and bin of every window see a step from zero.
- The least-squares system of a window is A V = -B with Gaussian window weights (normalised to
  sum 1) and V = pinv(A) (-B); pinv drops singular values <= 3 * sigma_max * eps (Octave's
  default cut-off). A window with no data gives A = 0 and V = 0 exactly.
- The reference's "dx" kernel varies along columns (axis 1), "dy" along rows (axis 0), "dz"
  along depth bins (axis 2): V = (ux, uy, uz) is the displacement along columns, rows and bins,
  positive toward increasing index (apex(p + u) ~ onset(p)), and the refinement shifts the apex
  window by round(ux) columns, round(uy) rows and round(uz) bins.
- Pyramid: each level is the previous one correlated with a 5^3 Gaussian (sigma 1.5, zero
  padding, same size) and sampled at even indices. Integer volumes are rounded (half away from
  zero) and saturated to their type at each level, as MATLAB's imfilter does for integer classes.
- Flow is carried to the next finer level by replicating each voxel 2x2x2, correlating with the
  same 5^3 Gaussian over the doubled grid, doubling, cropping to the finer size and rounding
  (half away from zero); the refined flow is that integer initial flow plus the window's V,
  which is 0 where the window (or its shifted apex window) leaves the volume, so borders carry
  the rounded initial flow.
- Refinement iterations (``iterations`` > 0) use radius r on the coarsest level and radius 2 on
  the finer levels.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import ndimage

__all__ = ["depth_flow", "gaussian_kernel3d", "pyramid_downsample", "upsample_flow"]

_PYRAMID_RADIUS = 2
_PYRAMID_SIGMA = 1.5
_REFINE_RADIUS_FINE = 2
# Windows whose A has a condition number (Frobenius estimate, squared here) below 1e3 are solved
# in closed form, the others by the eigen-decomposition with pinv's cut-off: the two then agree
# to ~1e-12 relative (measured on the benchmark's tensors; docs/depth_flow.md).
_DIRECT_COND_MAX_SQ = 1e6
# Slice-sum rings kept per column of windows, one per integer shift (`_refine_all`).
_RINGS = 4


def gaussian_kernel3d(radius: int, sigma: float) -> np.ndarray:
    """(2r+1)^3 Gaussian exp(-(x^2+y^2+z^2) / (2 sigma^2)) normalised to sum 1."""
    grid = np.arange(-radius, radius + 1, dtype=np.float64)
    x, y, z = np.meshgrid(grid, grid, grid, indexing="ij")
    kernel = np.exp(-(x * x + y * y + z * z) / (2.0 * sigma * sigma))
    total = kernel.sum()
    return kernel / total if total != 0 else kernel


def _gaussian_kernel1d(radius: int, sigma: float) -> np.ndarray:
    # The 3D kernel is the outer product of this one with itself (exactly, up to rounding).
    grid = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(grid * grid) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


def _round_half_away(values: np.ndarray) -> np.ndarray:
    # MATLAB's round (numpy rounds half to even).
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


@njit(cache=True, nogil=True)
def _round_half_away_inplace(values, factor):  # pragma: no cover
    # values <- round(factor * values), MATLAB's round, without temporaries (memory).
    flat = values.reshape(-1)
    for n in range(flat.shape[0]):
        x = factor * flat[n]
        if x >= 0.0:
            flat[n] = np.floor(x + 0.5)
        else:
            flat[n] = -np.floor(-x + 0.5)


# --------------------------------------------------------------------------------------------
# Pyramid
# --------------------------------------------------------------------------------------------


def pyramid_downsample(volume: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
    """One pyramid step: 5^3 Gaussian (sigma 1.5, zero padding), then every second voxel.

    ``dtype`` is the class of the original volume: for integer types the result is rounded half
    away from zero and saturated to that type's range (MATLAB imfilter on integer classes).
    Returned as float64 holding those values.
    """
    # The 3D Gaussian is separable: filter one axis at a time, keeping every second sample
    # before the next axis (only the kept voxels are ever needed).
    weights = _gaussian_kernel1d(_PYRAMID_RADIUS, _PYRAMID_SIGMA)
    out = np.asarray(volume, dtype=np.float64)
    for axis in range(3):
        out = ndimage.correlate1d(out, weights, axis=axis, mode="constant", cval=0.0)
        out = np.ascontiguousarray(out[(slice(None),) * axis + (slice(None, None, 2),)])
    if dtype is not None and np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(_round_half_away(out), info.min, info.max)
    return out


def upsample_flow(flow: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Initial flow of the finer level: 2 x (x2 replication, 5^3 Gaussian), cropped, rounded.

    Returns the integer initial flow of the finer level's ``shape`` (float64 holding integers).
    """
    weights = _gaussian_kernel1d(_PYRAMID_RADIUS, _PYRAMID_SIGMA)
    current = np.asarray(flow, dtype=np.float64)
    for axis in range(3):
        # Replicate along this axis, filter over the whole doubled grid (zero beyond it), and
        # only then crop to the finer level's size, as the reference does.
        current = ndimage.correlate1d(
            np.repeat(current, 2, axis=axis), weights, axis=axis, mode="constant", cval=0.0
        )
        current = current[(slice(None),) * axis + (slice(0, shape[axis]),)]
    current = np.ascontiguousarray(current)
    _round_half_away_inplace(current, 2.0)
    return current


# --------------------------------------------------------------------------------------------
# Least squares of one window: pinv as Octave (cut-off 3 sigma_max eps) on a symmetric 3x3
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _jacobi_eigen3(a, vectors):  # pragma: no cover
    # Cyclic Jacobi on a symmetric 3x3 (in place): eigenvalues on the diagonal, eigenvectors in
    # the columns of `vectors`. Jacobi keeps small eigenvalues to high relative accuracy.
    for i in range(3):
        for j in range(3):
            vectors[i, j] = 1.0 if i == j else 0.0
    for _sweep in range(50):
        off = a[0, 1] * a[0, 1] + a[0, 2] * a[0, 2] + a[1, 2] * a[1, 2]
        if off == 0.0:
            return
        for p in range(2):
            for q in range(p + 1, 3):
                apq = a[p, q]
                if abs(apq) <= 1e-18 * np.sqrt(abs(a[p, p] * a[q, q])):
                    # Negligible against the diagonal: rotating would not change it.
                    a[p, q] = 0.0
                    a[q, p] = 0.0
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for k in range(3):
                    akp = a[k, p]
                    akq = a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(3):
                    apk = a[p, k]
                    aqk = a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                a[p, q] = 0.0
                a[q, p] = 0.0
                for k in range(3):
                    vkp = vectors[k, p]
                    vkq = vectors[k, q]
                    vectors[k, p] = c * vkp - s * vkq
                    vectors[k, q] = s * vkp + c * vkq


@njit(cache=True, nogil=True)
def _solve_window(a00, a01, a02, a11, a12, a22, b0, b1, b2, work, vectors, out):  # pragma: no cover
    # out = pinv(A) (-B). For a symmetric A the singular values are |eigenvalues|.
    out[0] = 0.0
    out[1] = 0.0
    out[2] = 0.0
    if a00 == 0.0 and a11 == 0.0 and a22 == 0.0 and a01 == 0.0 and a02 == 0.0 and a12 == 0.0:
        return
    # Well-conditioned A (the common case): pinv(A) = inv(A), by cofactors. Both this and the
    # eigen-decomposition below err by ~cond(A) eps relative, so for cond(A) < 1e3 the two
    # agree to ~1e-12; near-singular and rank-deficient windows (where pinv's cut-off may drop
    # an eigenvalue) take the eigen-decomposition. ||A||_F ||inv(A)||_F >= cond_2(A).
    c00 = a11 * a22 - a12 * a12
    c01 = a02 * a12 - a01 * a22
    c02 = a01 * a12 - a02 * a11
    det = a00 * c00 + a01 * c01 + a02 * c02
    if det != 0.0:
        c11 = a00 * a22 - a02 * a02
        c12 = a01 * a02 - a00 * a12
        c22 = a00 * a11 - a01 * a01
        norm_a = a00 * a00 + a11 * a11 + a22 * a22 + 2.0 * (a01 * a01 + a02 * a02 + a12 * a12)
        norm_c = c00 * c00 + c11 * c11 + c22 * c22 + 2.0 * (c01 * c01 + c02 * c02 + c12 * c12)
        if norm_a * norm_c < _DIRECT_COND_MAX_SQ * det * det:
            inv_det = 1.0 / det
            out[0] = -(c00 * b0 + c01 * b1 + c02 * b2) * inv_det
            out[1] = -(c01 * b0 + c11 * b1 + c12 * b2) * inv_det
            out[2] = -(c02 * b0 + c12 * b1 + c22 * b2) * inv_det
            return
    work[0, 0] = a00
    work[0, 1] = a01
    work[0, 2] = a02
    work[1, 0] = a01
    work[1, 1] = a11
    work[1, 2] = a12
    work[2, 0] = a02
    work[2, 1] = a12
    work[2, 2] = a22
    _jacobi_eigen3(work, vectors)
    smax = max(abs(work[0, 0]), abs(work[1, 1]), abs(work[2, 2]))
    tol = 3.0 * smax * 2.220446049250313e-16
    for e in range(3):
        lam = work[e, e]
        if abs(lam) <= tol:
            continue
        proj = -(vectors[0, e] * b0 + vectors[1, e] * b1 + vectors[2, e] * b2) / lam
        out[0] += vectors[0, e] * proj
        out[1] += vectors[1, e] * proj
        out[2] += vectors[2, e] * proj


# --------------------------------------------------------------------------------------------
# Coarsest level (LKW3D): derivatives of the whole volume, Gaussian-weighted window sums
# --------------------------------------------------------------------------------------------


def _whole_volume_derivatives(image1: np.ndarray, image2: np.ndarray):
    """Ix, Iy, Iz, It of the official 2x2x2 kernels (full convolution cropped to the start)."""

    def pair(vol):
        # S: sums of the 2x2x2 backward neighbourhood along the given axes; D: backward
        # difference (previous minus current, i.e. the +-1/4 kernel convolved).
        padded = np.pad(vol, ((1, 0), (1, 0), (1, 0)))
        cur = padded[1:, :, :]
        prev = padded[:-1, :, :]
        s0 = cur + prev
        d0 = prev - cur
        out = {}
        for name, arr in (("s", s0), ("d", d0)):
            cur1, prev1 = arr[:, 1:, :], arr[:, :-1, :]
            out[name + "s"] = cur1 + prev1
            out[name + "d"] = prev1 - cur1
        fields = {}
        for name, arr in out.items():
            cur2, prev2 = arr[:, :, 1:], arr[:, :, :-1]
            fields[name + "s"] = cur2 + prev2
            fields[name + "d"] = prev2 - cur2
        # axis order of names: rows, columns, depth
        return (
            0.25 * fields["sds"],  # varies along columns: the reference's "dx"
            0.25 * fields["dss"],  # along rows: "dy"
            0.25 * fields["ssd"],  # along depth: "dz"
            0.25 * fields["sss"],  # all-ones: "dt"
        )

    x1, y1, z1, t1 = pair(image1)
    x2, y2, z2, t2 = pair(image2)
    return 0.5 * (x1 + x2), 0.5 * (y1 + y2), 0.5 * (z1 + z2), 0.5 * (t1 - t2)


def _window_sums(field: np.ndarray, weights: np.ndarray) -> np.ndarray:
    # Weighted (2r+1)^3 sums centred on every voxel with a full window ('valid' region).
    out = field
    for axis in range(3):
        out = ndimage.correlate1d(out, weights, axis=axis, mode="constant", cval=0.0)
    return out


@njit(cache=True, nogil=True)
def _solve_all(sums, radius, ux, uy, uz):  # pragma: no cover
    n0, n1, n2 = ux.shape
    for i in range(radius, n0 - radius):
        work = np.empty((3, 3))
        vectors = np.empty((3, 3))
        v = np.empty(3)
        for j in range(radius, n1 - radius):
            for k in range(radius, n2 - radius):
                _solve_window(
                    sums[0, i, j, k], sums[1, i, j, k], sums[2, i, j, k],
                    sums[3, i, j, k], sums[4, i, j, k], sums[5, i, j, k],
                    sums[6, i, j, k], sums[7, i, j, k], sums[8, i, j, k],
                    work, vectors, v,
                )  # fmt: skip
                ux[i, j, k] = v[0]
                uy[i, j, k] = v[1]
                uz[i, j, k] = v[2]


def _lk_whole_volume(image1: np.ndarray, image2: np.ndarray, radius: int, sigma: float):
    """LKW3D: flow of every voxel with a full window, zero elsewhere."""
    shape = image1.shape
    ux = np.zeros(shape)
    uy = np.zeros(shape)
    uz = np.zeros(shape)
    if min(shape) < 2 * radius + 1:
        return ux, uy, uz
    ix, iy, iz, it = _whole_volume_derivatives(
        np.asarray(image1, dtype=np.float64), np.asarray(image2, dtype=np.float64)
    )
    weights = _gaussian_kernel1d(radius, sigma)
    products = (ix * ix, ix * iy, ix * iz, iy * iy, iy * iz, iz * iz, ix * it, iy * it, iz * it)
    sums = np.empty((9, *shape))
    for n, product in enumerate(products):
        sums[n] = _window_sums(product, weights)
    _solve_all(sums, radius, ux, uy, uz)
    return ux, uy, uz


# --------------------------------------------------------------------------------------------
# Finer levels (refinedLK3D): per-window derivatives, apex window shifted by the initial flow
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _slice_sums(image1, image2, i0, j0, z, si, sj, sk, first, g, planes, out):  # pragma: no cover
    # Weighted sums over one depth slice z of a window (rows i0.., columns j0..) of the nine
    # products of the window's derivative fields. The 3D Gaussian weight is g(a) g(b) g(c):
    # this slice's share is sum_ab g(a) g(b) (...), and the window's sums are then
    # sum_c g(c) (slice c). `first`: z is the window's first bin (the bin before it counts as
    # zero, as in the reference's per-window derivatives). Fields are 8x the reference's (its
    # kernels carry 1/4 and the two frames are averaged): the caller scales the sums by 1/64,
    # which is exact (a power of two). Returns whether bin z itself holds data in either window
    # (if not, the sums of z as a window's first bin are zero).
    n = g.shape[0]
    sc = planes[0]
    dc = planes[1]
    mc = planes[2]
    sbc = planes[3]
    dbc = planes[4]
    sbdc = planes[5]
    mbc = planes[6]
    any_data = False
    any_cur = False
    for a in range(n):
        for b in range(n):
            v1 = float(image1[i0 + a, j0 + b, z])
            v2 = float(image2[i0 + a + si, j0 + b + sj, z + sk])
            p_cur = v1 + v2
            m_cur = v1 - v2
            p_prev = 0.0
            m_prev = 0.0
            if not first:
                u1 = float(image1[i0 + a, j0 + b, z - 1])
                u2 = float(image2[i0 + a + si, j0 + b + sj, z - 1 + sk])
                p_prev = u1 + u2
                m_prev = u1 - u2
            if p_cur != 0.0 or m_cur != 0.0:
                any_cur = True
            elif p_prev != 0.0 or m_prev != 0.0:
                any_data = True
            # Along depth: sum and backward difference (previous minus current).
            sc[a, b] = p_cur + p_prev
            dc[a, b] = p_prev - p_cur
            mc[a, b] = m_cur + m_prev
    for e in range(9):
        out[e] = 0.0
    if not (any_data or any_cur):
        return False
    # Along columns (the window is zero before its first column).
    for a in range(n):
        prev_s = 0.0
        prev_d = 0.0
        prev_m = 0.0
        for b in range(n):
            cur_s = sc[a, b]
            cur_d = dc[a, b]
            cur_m = mc[a, b]
            sbc[a, b] = cur_s + prev_s
            dbc[a, b] = prev_s - cur_s
            sbdc[a, b] = cur_d + prev_d
            mbc[a, b] = cur_m + prev_m
            prev_s = cur_s
            prev_d = cur_d
            prev_m = cur_m
    # Along rows (zero before the first row), with the weighted products.
    a00 = 0.0
    a01 = 0.0
    a02 = 0.0
    a11 = 0.0
    a12 = 0.0
    a22 = 0.0
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    for a in range(n):
        ga = g[a]
        for b in range(n):
            # fx varies along columns, fy along rows (the reference's "dx" and "dy").
            if a == 0:
                fx = dbc[a, b]
                fy = -sbc[a, b]
                fz = sbdc[a, b]
                ft = mbc[a, b]
            else:
                fx = dbc[a, b] + dbc[a - 1, b]
                fy = sbc[a - 1, b] - sbc[a, b]
                fz = sbdc[a, b] + sbdc[a - 1, b]
                ft = mbc[a, b] + mbc[a - 1, b]
            w = ga * g[b]
            a00 += fx * fx * w
            a01 += fx * fy * w
            a02 += fx * fz * w
            a11 += fy * fy * w
            a12 += fy * fz * w
            a22 += fz * fz * w
            b0 += fx * ft * w
            b1 += fy * ft * w
            b2 += fz * ft * w
    out[0] = a00
    out[1] = a01
    out[2] = a02
    out[3] = a11
    out[4] = a12
    out[5] = a22
    out[6] = b0
    out[7] = b1
    out[8] = b2
    return any_cur


@njit(cache=True, nogil=True, inline="always")
def _slice_empty(slices1, slices2, i, j, z, si, sj, sk):  # pragma: no cover
    # Slice z of the window centred on (i, j) (onset) and of its apex window shifted by
    # (si, sj, sk) reads bins z and z - 1 of both: no data in any of the four, no sums.
    return (
        not slices1[i, j, z] and not slices1[i, j, z - 1]
        and not slices2[i + si, j + sj, z + sk] and not slices2[i + si, j + sj, z - 1 + sk]
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _refine_all(
    image1, image2, slices1, slices2, occupied1, occupied2, radius, g, ux, uy, uz
):  # pragma: no cover
    # Windows at one row and column that share an integer shift share all but one depth slice
    # of their sums: the full-slice sums are kept in rings indexed by bin, one per shift (the
    # last few shifts of the column, so a shift that comes back finds its slices; ~3 % fewer
    # slices than one ring on the benchmark's faces), each with the range of bins it holds.
    # Only missing slices are computed; a slice whose bins hold no data in either window
    # (`_slice_empty`, a third of them) is zero without reading it, and a window with no data
    # is skipped (its flow is its initial flow). All exact: skipped sums are zeros (the sums
    # start at +0.0 and only add zero products), a reused slice is the same computation on the
    # same voxels.
    n0, n1, n2 = image1.shape
    n = 2 * radius + 1
    skipped = np.zeros(n0, dtype=np.int64)
    solved = np.zeros(n0, dtype=np.int64)
    for i in range(radius, n0 - radius):
        planes = np.empty((7, n, n))
        rings = np.empty((_RINGS, n, 9))
        ring_shift = np.empty((_RINGS, 3), dtype=np.int64)
        ring_lo = np.empty(_RINGS, dtype=np.int64)
        ring_hi = np.empty(_RINGS, dtype=np.int64)
        ring_used = np.empty(_RINGS, dtype=np.int64)
        first_slice = np.empty(9)
        sums = np.empty(9)
        work = np.empty((3, 3))
        vectors = np.empty((3, 3))
        v = np.empty(3)
        scale = 1.0 / 64.0
        i0 = i - radius
        for j in range(radius, n1 - radius):
            j0 = j - radius
            for q in range(_RINGS):
                ring_used[q] = -1  # free; its bins [lo, hi] are empty
                ring_lo[q] = 1
                ring_hi[q] = 0
            for k in range(radius, n2 - radius):
                # round(ux) shifts columns, round(uy) rows, round(uz) bins (reference order).
                # ux, uy, uz hold the (integer) initial flow on entry.
                fx = ux[i, j, k]
                fy = uy[i, j, k]
                fz = uz[i, j, k]
                si = int(fy)
                sj = int(fx)
                sk = int(fz)
                if (
                    i - radius + si < 0 or i + radius + si >= n0
                    or j - radius + sj < 0 or j + radius + sj >= n1
                    or k - radius + sk < 0 or k + radius + sk >= n2
                ):  # fmt: skip
                    continue
                if not occupied1[i, j, k] and not occupied2[i + si, j + sj, k + sk]:
                    skipped[i] += 1  # every bin of both windows is empty: all sums are zero
                    continue
                solved[i] += 1
                # This shift's ring, or the least recently used one.
                q = -1
                for c in range(_RINGS):
                    if (
                        ring_used[c] >= 0 and ring_shift[c, 0] == si
                        and ring_shift[c, 1] == sj and ring_shift[c, 2] == sk
                    ):  # fmt: skip
                        q = c
                        break
                if q < 0:
                    q = 0
                    for c in range(1, _RINGS):
                        if ring_used[c] < ring_used[q]:
                            q = c
                    ring_shift[q, 0] = si
                    ring_shift[q, 1] = sj
                    ring_shift[q, 2] = sk
                    ring_lo[q] = 1
                    ring_hi[q] = 0
                ring_used[q] = k
                lo = ring_lo[q]
                hi = ring_hi[q]
                for z in range(k - radius + 1, k + radius + 1):
                    if lo <= z <= hi:
                        continue
                    if _slice_empty(slices1, slices2, i, j, z, si, sj, sk):
                        for e in range(9):
                            rings[q, z % n, e] = 0.0
                    else:
                        _slice_sums(
                            image1, image2, i0, j0, z, si, sj, sk, False, g, planes,
                            rings[q, z % n],
                        )  # fmt: skip
                # Bins k - r + 1 .. k + r are now held; bin k - r too if it was (its slot is
                # the one no bin of this window uses).
                ring_lo[q] = k - radius if lo <= k - radius <= hi else k - radius + 1
                ring_hi[q] = k + radius
                # The window's first bin sees zero before it: its own sums.
                if slices1[i, j, k - radius] or slices2[i + si, j + sj, k - radius + sk]:
                    _slice_sums(
                        image1, image2, i0, j0, k - radius, si, sj, sk, True, g, planes,
                        first_slice,
                    )  # fmt: skip
                else:
                    for e in range(9):
                        first_slice[e] = 0.0
                for e in range(9):
                    sums[e] = g[0] * first_slice[e]
                for c in range(1, n):
                    z = k - radius + c
                    gc = g[c]
                    for e in range(9):
                        sums[e] += gc * rings[q, z % n, e]
                _solve_window(
                    sums[0] * scale, sums[1] * scale, sums[2] * scale,
                    sums[3] * scale, sums[4] * scale, sums[5] * scale,
                    sums[6] * scale, sums[7] * scale, sums[8] * scale,
                    work, vectors, v,
                )  # fmt: skip
                ux[i, j, k] = v[0] + fx
                uy[i, j, k] = v[1] + fy
                uz[i, j, k] = v[2] + fz
    return skipped.sum(), solved.sum()


def _occupancy(volume: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    # (slices, windows): True where the (2r+1)^2 depth slice centred there, and the (2r+1)^3
    # window centred there, hold a non-zero voxel. The maximum filter is separable (exact on
    # booleans), so the windows' occupancy is the slices' filtered along depth.
    size = 2 * radius + 1
    slices = volume != 0
    for axis in (0, 1):
        slices = ndimage.maximum_filter1d(slices, size, axis=axis, mode="constant", cval=False)
    windows = ndimage.maximum_filter1d(slices, size, axis=2, mode="constant", cval=False)
    return slices, windows


def _refine(init, image1, image2, radius: int, sigma: float, stats: dict):
    """refinedLK3D: V of each window plus the rounded initial flow.

    ``init``: three float64 arrays holding the integer initial flow; they are overwritten with
    the refined flow and returned (no second set of volume-sized arrays: memory).
    """
    ux, uy, uz = (np.ascontiguousarray(u, dtype=np.float64) for u in init)
    shape = image1.shape
    if min(shape) < 2 * radius + 1:
        return ux, uy, uz
    slices1, occupied1 = _occupancy(image1, radius)
    slices2, occupied2 = _occupancy(image2, radius)
    g = _gaussian_kernel1d(radius, sigma)
    skipped, solved = _refine_all(
        image1, image2, slices1, slices2, occupied1, occupied2, radius, g, ux, uy, uz
    )
    stats["windows"] = stats.get("windows", 0) + int(np.prod([n - 2 * radius for n in shape]))
    stats["skipped"] = stats.get("skipped", 0) + int(skipped)
    stats["solved"] = stats.get("solved", 0) + int(solved)
    return ux, uy, uz


def _rounded(flow):
    # The reference rounds the flow it is given before refining it (in place: memory).
    for u in flow:
        _round_half_away_inplace(u, 1.0)
    return flow


def _as_level_image(volume: np.ndarray) -> np.ndarray:
    # Integer volumes are used as they are (their values are exact in float64); others cast.
    if volume.dtype.kind in "iu":
        return np.ascontiguousarray(volume)
    return np.ascontiguousarray(volume, dtype=np.float64)


def depth_flow(
    onset: np.ndarray,
    apex: np.ndarray,
    radius: int = 4,
    levels: int = 2,
    iterations: int = 0,
    sigma: float = 1.0,
    stats: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3D optical flow (ux, uy, uz) from ``onset`` to ``apex``: the reference LKPR3D.

    ``onset``, ``apex``: H x W x D volumes of one shape (RGB-D tensors, `rgbd_tensor`); integer
    volumes are rounded at each pyramid level as the reference does. Defaults are CAS(ME)^3's
    (r = 4, 2 levels, 0 iterations, sigma = 1). Returns three float64 arrays of the volume's
    shape in the reference's output order; see the module docstring and docs/depth_flow.md for
    which axis each measures. ``stats``, when given, receives the number of windows, how many
    were skipped for holding no data (their flow is exactly the initial flow) and solved.
    """
    onset = np.asarray(onset)
    apex = np.asarray(apex)
    if onset.shape != apex.shape or onset.ndim != 3:
        raise ValueError(
            f"depth_flow needs two 3D volumes of one shape, got {onset.shape} and {apex.shape}"
        )
    if radius < 1 or levels < 1 or iterations < 0 or sigma <= 0:
        raise ValueError(
            f"depth_flow: radius >= 1, levels >= 1, iterations >= 0, sigma > 0 needed; got "
            f"radius={radius}, levels={levels}, iterations={iterations}, sigma={sigma}"
        )
    if stats is None:
        stats = {}
    dtype = onset.dtype
    # Pyramid: level 0 is the input (as float64), each next one downsampled from the previous
    # one (rounded for integer inputs).
    pyramid1 = [_as_level_image(onset)]
    pyramid2 = [_as_level_image(apex)]
    for _ in range(1, levels):
        pyramid1.append(pyramid_downsample(pyramid1[-1], dtype))
        pyramid2.append(pyramid_downsample(pyramid2[-1], dtype))
    for level_image in pyramid1[1:]:
        if min(level_image.shape) < 2:
            raise ValueError(
                f"depth_flow: {levels} levels shrink a {onset.shape} volume to "
                f"{level_image.shape}; use fewer levels"
            )

    image1, image2 = pyramid1[-1], pyramid2[-1]
    ux, uy, uz = _lk_whole_volume(image1, image2, radius, sigma)
    for _ in range(iterations):
        ux, uy, uz = _refine(_rounded((ux, uy, uz)), image1, image2, radius, sigma, stats)

    for level in range(levels - 2, -1, -1):
        image1, image2 = pyramid1[level], pyramid2[level]
        shape = image1.shape
        # One component at a time, so that only one coarse and one fine array are in flight.
        init = []
        for coarse in (ux, uy, uz):
            init.append(upsample_flow(coarse, shape))
        del ux, uy, uz, coarse
        ux, uy, uz = _refine(init, image1, image2, radius, sigma, stats)
        del init
        for _ in range(iterations):
            flow = _rounded((ux, uy, uz))
            ux, uy, uz = _refine(flow, image1, image2, _REFINE_RADIUS_FINE, sigma, stats)
    return ux, uy, uz
