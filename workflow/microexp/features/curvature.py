"""Principal curvatures on point clouds, shape index and HK surface types.

docs/methods.md#curvature (DSME-3D 4.2.2 - 4.2.3). At every vertex the surface is fitted, in a local
frame built from the vertex normal, by a cubic height polynomial over the neighbours within a radius
(the "osculating jet" of Goldfeather & Interrante 2004, "A novel cubic-order algorithm for
approximating principal direction vectors", ACM TOG 23(1)); the principal curvatures are the
eigenvalues of the Weingarten (shape-operator) matrix of the fit at the vertex.

Sign convention (docs/methods.md#curvature, pinned in tests/unit/test_curvature.py): the camera sits
at the origin looking down +z; normals point toward the camera (toward smaller z for a face in front
of it) and a surface that is convex toward the camera has POSITIVE curvature. A spherical cap facing
the camera (nose tip) has k1 = k2 = +1/R, the inside of a sphere (cup) -1/R, a ridge (+1/R, 0) and a
saddle (+1/R, -1/R). Curvatures are in 1/(unit of the points), i.e. 1/mm for the pipeline's clouds.

Choice (beyond Goldfeather-Interrante's 7-coefficient polynomial, which assumes the vertex lies
exactly on the surface and its normal is exact): by default the fit also has a constant and two
linear terms, so depth noise on the vertex itself and a tilted PCA normal do not bias the
curvature; the shape operator is then evaluated with the fitted surface's first fundamental
form. Measured at radius 5-6.5 mm on 1 mm grids: 2-3x less error under 0.05 mm depth noise, for
a slightly larger truncation bias without noise (+1.2 % vs +0.9 % on a 30 mm sphere).
`free_offset_and_tilt=False` gives the textbook 7-coefficient fit.

Choice: neighbour normals are NOT used as extra slope constraints by default. Goldfeather-
Interrante add them, but on a point cloud the normals are themselves PCA estimates over the same
radius, so the constraints widen the effective window to about twice the radius: measured on
1 mm grids with radius 6 mm, they cut the error from 0.05 mm depth noise by ~2x yet bias a
nose-sized Gaussian bump (sigma 15 mm) from -4 % to -12 % at its tip. Without them the radius is
the one smoothing scale; `use_normal_constraints=True` trades resolution for noise.

The surface types computed from the principal curvatures (shape index and its Dorai-Jain
bins, Besl-Jain HK types) are in :mod:`microexp.features.surface_types`; their names are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy.spatial import cKDTree

from microexp.features.surface_types import (
    HK_TYPE_NAMES,
    SHAPE_INDEX_BIN_NAMES,
    SHAPE_INDEX_BINS,
    SHAPE_INDEX_EDGES,
    HKType,
    hk_type,
    shape_index,
    shape_index_bin,
)

# The TBB that some wheels bring is older than numba wants (it warns and falls back); OpenMP
# is always there (libgomp) and gives the same, thread-count independent results here.
numba.config.THREADING_LAYER = "omp"

__all__ = [
    "DEFAULT_MIN_NEIGHBORS",
    "HK_TYPE_NAMES",
    "SHAPE_INDEX_BINS",
    "SHAPE_INDEX_BIN_NAMES",
    "SHAPE_INDEX_EDGES",
    "CurvatureFit",
    "HKType",
    "estimate_normals",
    "fit_principal_curvatures",
    "hk_type",
    "mean_gaussian_curvature",
    "orient_normals_toward_camera",
    "principal_curvatures",
    "radius_neighbors",
    "shape_index",
    "shape_index_bin",
]

DEFAULT_MIN_NEIGHBORS = 10
"""A 10-coefficient jet needs at least 10 well spread points (the vertex counts as one)."""

_NORMAL_CONSTRAINT_MIN_COS = 0.5
"""Neighbour normals more than 60 degrees off the vertex normal give unbounded slopes (-nx/nz):
they are left out of the Goldfeather-Interrante slope constraints."""

_CHOLESKY_RELATIVE_PIVOT = 1e-10
"""A pivot this small relative to its diagonal entry means the neighbours do not span the jet
(e.g. all on a line): the vertex gets NaN instead of a meaningless curvature."""


# --------------------------------------------------------------------------------------------
# Neighbourhoods
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _pairs_to_csr(pairs: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    # Counting sort: O(pairs), where np.argsort on millions of int64 keys costs ~0.5 s.
    counts = np.ones(n_points, dtype=np.int64)  # every point is its own neighbour
    for k in range(pairs.shape[0]):
        counts[pairs[k, 0]] += 1
        counts[pairs[k, 1]] += 1
    indptr = np.zeros(n_points + 1, dtype=np.int64)
    for i in range(n_points):
        indptr[i + 1] = indptr[i] + counts[i]
    fill = indptr[:-1].copy()
    indices = np.empty(indptr[-1], dtype=np.int64)
    for i in range(n_points):
        indices[fill[i]] = i
        fill[i] += 1
    for k in range(pairs.shape[0]):
        a = pairs[k, 0]
        b = pairs[k, 1]
        indices[fill[a]] = b
        fill[a] += 1
        indices[fill[b]] = a
        fill[b] += 1
    return indptr, indices


def radius_neighbors(points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours within `radius` (inclusive, the point itself included) in CSR form.

    Returns (indptr, indices): the neighbours of point i are indices[indptr[i]:indptr[i+1]].
    Uses scipy.spatial.cKDTree.query_pairs, whose ndarray output is far cheaper than one Python
    list per point.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    pairs = cKDTree(points).query_pairs(float(radius), output_type="ndarray")
    return _pairs_to_csr(pairs.astype(np.int64, copy=False), points.shape[0])


# --------------------------------------------------------------------------------------------
# Normals
# --------------------------------------------------------------------------------------------


@numba.njit(parallel=True, cache=True)
def _pca_normals(
    points: np.ndarray, indptr: np.ndarray, indices: np.ndarray, min_neighbors: int
) -> np.ndarray:
    n = points.shape[0]
    normals = np.full((n, 3), np.nan)
    for i in numba.prange(n):
        start = indptr[i]
        stop = indptr[i + 1]
        m = stop - start
        if m < min_neighbors:
            continue
        # One pass over the neighbours in coordinates relative to the point itself (small
        # numbers, so sum d d^T - m mean mean^T does not cancel); scalars, not small arrays:
        # an array per neighbour is an allocation, which dominated on small clouds.
        px = points[i, 0]
        py = points[i, 1]
        pz = points[i, 2]
        sx = sy = sz = 0.0
        sxx = sxy = sxz = syy = syz = szz = 0.0
        for jj in range(start, stop):
            j = indices[jj]
            dx = points[j, 0] - px
            dy = points[j, 1] - py
            dz = points[j, 2] - pz
            sx += dx
            sy += dy
            sz += dz
            sxx += dx * dx
            sxy += dx * dy
            sxz += dx * dz
            syy += dy * dy
            syz += dy * dz
            szz += dz * dz
        mx = sx / m
        my = sy / m
        mz = sz / m
        cov = np.empty((3, 3))
        cov[0, 0] = sxx - m * mx * mx
        cov[0, 1] = cov[1, 0] = sxy - m * mx * my
        cov[0, 2] = cov[2, 0] = sxz - m * mx * mz
        cov[1, 1] = syy - m * my * my
        cov[1, 2] = cov[2, 1] = syz - m * my * mz
        cov[2, 2] = szz - m * mz * mz
        _, vecs = np.linalg.eigh(cov)
        # Smallest eigenvalue's eigenvector: the direction the neighbourhood is thinnest in.
        normals[i, 0] = vecs[0, 0]
        normals[i, 1] = vecs[1, 0]
        normals[i, 2] = vecs[2, 0]
    return normals


def orient_normals_toward_camera(
    normals: np.ndarray, points: np.ndarray, viewpoint: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> np.ndarray:
    """Flip normals so that each points toward the camera at `viewpoint`
    (docs/methods.md#curvature).

    The sign of every curvature depends on this orientation; a normal exactly perpendicular to
    the viewing ray (a surface seen edge-on, which a depth camera does not see) is left as is.
    """
    normals = np.array(normals, dtype=np.float64, copy=True)
    to_camera = np.asarray(viewpoint, dtype=np.float64)[None, :] - points
    away = np.einsum("ij,ij->i", normals, to_camera) < 0
    normals[away] *= -1.0
    return normals


def estimate_normals(
    points: np.ndarray,
    radius: float,
    *,
    viewpoint: tuple[float, float, float] = (0.0, 0.0, 0.0),
    min_neighbors: int = 3,
    neighbors: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Unit normals by PCA of the neighbours within `radius`, oriented toward the camera.

    Points with fewer than `min_neighbors` neighbours (itself included) get NaN normals.
    `neighbors` is an optional precomputed (indptr, indices) from `radius_neighbors`.
    """
    points = _as_finite_points(points)
    indptr, indices = neighbors if neighbors is not None else radius_neighbors(points, radius)
    normals = _pca_normals(points, indptr, indices, max(int(min_neighbors), 3))
    return orient_normals_toward_camera(normals, points, viewpoint)


# --------------------------------------------------------------------------------------------
# Cubic jet fit (Goldfeather-Interrante) and the Weingarten matrix
# --------------------------------------------------------------------------------------------

# Unknowns of the height polynomial in the local frame (x, y along the tangent basis, z along
# the normal), coordinates scaled by 1/radius so that the normal equations are well conditioned:
#   z = h0 + p x + q y + a/2 x^2 + b x y + c/2 y^2 + d x^3 + e x^2 y + f x y^2 + g y^3
_N_JET = 10
_FIRST_CURVED = 3  # index of `a`: the textbook G&I fit solves only unknowns 3..9
# Each unknown's monomial is _JET_SCALE[k] * x**_JET_EXP_X[k] * y**_JET_EXP_Y[k].
_JET_EXP_X = np.array([0, 1, 0, 2, 1, 0, 3, 2, 1, 0])
_JET_EXP_Y = np.array([0, 0, 1, 0, 1, 2, 0, 1, 2, 3])
_JET_SCALE = np.array([1.0, 1.0, 1.0, 0.5, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0])


@numba.njit(cache=True)
def _tangent_basis(
    nx: float, ny: float, nz: float
) -> tuple[float, float, float, float, float, float]:
    # Unit vectors u, v with (u, v, n) right-handed: u is the axis least aligned with n (x, or
    # y when |n_x| >= 0.6, for stability) made orthogonal to n; v = n x u. Scalars, not arrays:
    # this runs once per point.
    if abs(nx) < 0.6:
        along = nx  # seed (1, 0, 0)
        ux = 1.0 - along * nx
        uy = -along * ny
        uz = -along * nz
    else:
        along = ny  # seed (0, 1, 0)
        ux = -along * nx
        uy = 1.0 - along * ny
        uz = -along * nz
    norm = np.sqrt(ux * ux + uy * uy + uz * uz)
    ux /= norm
    uy /= norm
    uz /= norm
    return ux, uy, uz, ny * uz - nz * uy, nz * ux - nx * uz, nx * uy - ny * ux


@numba.njit(cache=True)
def _jet_normal_equations(
    pos: np.ndarray,
    height: np.ndarray,
    slope_pos: np.ndarray,
    slope_x: np.ndarray,
    slope_y: np.ndarray,
    ata: np.ndarray,
    atb: np.ndarray,
) -> None:
    # The least-squares normal equations of the jet only involve moments sum x^i y^j of the
    # neighbours (pos: i + j <= 6; height: sum z x^i y^j, i + j <= 3) and, for the slope rows
    # dz/dx and dz/dy of the normal constraints, lower-order moments; accumulating those is
    # about twice as cheap per neighbour as forming the 10 x 10 outer products.
    for k in range(_N_JET):
        ik = _JET_EXP_X[k]
        jk = _JET_EXP_Y[k]
        ck = _JET_SCALE[k]
        rhs = ck * height[ik, jk]
        if ik > 0:
            rhs += ck * ik * slope_x[ik - 1, jk]
        if jk > 0:
            rhs += ck * jk * slope_y[ik, jk - 1]
        atb[k] = rhs
        for m in range(_N_JET):
            im = _JET_EXP_X[m]
            jm = _JET_EXP_Y[m]
            value = pos[ik + im, jk + jm]
            if ik > 0 and im > 0:
                value += ik * im * slope_pos[ik + im - 2, jk + jm]
            if jk > 0 and jm > 0:
                value += jk * jm * slope_pos[ik + im, jk + jm - 2]
            ata[k, m] = ck * _JET_SCALE[m] * value


@numba.njit(cache=True)
def _cholesky_solve(
    ata: np.ndarray, atb: np.ndarray, first: int, out: np.ndarray, low: np.ndarray, y: np.ndarray
) -> bool:
    # Solves the symmetric positive definite block ata[first:, first:]; returns False when the
    # neighbourhood does not determine the jet. `low` (>= m x m) and `y` (>= m) are work space.
    m = _N_JET - first
    for r in range(m):
        for c in range(r + 1):
            s = ata[first + r, first + c]
            for k in range(c):
                s -= low[r, k] * low[c, k]
            if r == c:
                diag = ata[first + r, first + r]
                if s <= _CHOLESKY_RELATIVE_PIVOT * diag or diag <= 0.0:
                    return False
                low[r, r] = np.sqrt(s)
            else:
                low[r, c] = s / low[c, c]
    for r in range(m):
        s = atb[first + r]
        for k in range(r):
            s -= low[r, k] * y[k]
        y[r] = s / low[r, r]
    out[:] = 0.0
    for r in range(m - 1, -1, -1):
        s = y[r]
        for k in range(r + 1, m):
            s -= low[k, r] * out[first + k]
        out[first + r] = s / low[r, r]
    return True


_CHUNK = 64
"""Points per parallel work item: each chunk allocates its work arrays once (an allocation per
point cost more than the fit itself on small clouds)."""


@numba.njit(parallel=True, cache=True)
def _fit_jets(
    points: np.ndarray,
    normals: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    radius: float,
    min_neighbors: int,
    free_offset_and_tilt: bool,
    use_normal_constraints: bool,
    k1: np.ndarray,
    k2: np.ndarray,
    dir1: np.ndarray,
    dir2: np.ndarray,
    fitted_normals: np.ndarray,
) -> None:
    n_points = points.shape[0]
    for chunk in numba.prange((n_points + _CHUNK - 1) // _CHUNK):
        pos = np.empty((7, 7))
        height = np.empty((4, 4))
        slope_pos = np.empty((5, 5))
        slope_x = np.empty((3, 3))
        slope_y = np.empty((3, 3))
        xp = np.ones(7)
        yp = np.ones(7)
        ata = np.empty((_N_JET, _N_JET))
        atb = np.empty(_N_JET)
        coef = np.zeros(_N_JET)
        low = np.empty((_N_JET, _N_JET))
        work = np.empty(_N_JET)
        for i in range(chunk * _CHUNK, min((chunk + 1) * _CHUNK, n_points)):
            _fit_jet(
                i, points, normals, indptr, indices, radius, min_neighbors,
                free_offset_and_tilt, use_normal_constraints, k1, k2, dir1, dir2,
                fitted_normals, pos, height, slope_pos, slope_x, slope_y, xp, yp, ata, atb,
                coef, low, work,
            )  # fmt: skip


@numba.njit(cache=True)
def _fit_jet(
    i, points, normals, indptr, indices, radius, min_neighbors, free_offset_and_tilt,
    use_normal_constraints, k1, k2, dir1, dir2, fitted_normals,
    pos, height, slope_pos, slope_x, slope_y, xp, yp, ata, atb, coef, low, work,
) -> None:  # fmt: skip
    # One point; the arrays after `fitted_normals` are the chunk's work space.
    first = 0 if free_offset_and_tilt else _FIRST_CURVED
    start = indptr[i]
    stop = indptr[i + 1]
    nx = normals[i, 0]
    ny = normals[i, 1]
    nz = normals[i, 2]
    if stop - start < min_neighbors or not np.isfinite(nx):
        return
    e1x, e1y, e1z, e2x, e2y, e2z = _tangent_basis(nx, ny, nz)
    pos[:] = 0.0
    height[:] = 0.0
    slope_pos[:] = 0.0
    slope_x[:] = 0.0
    slope_y[:] = 0.0
    inv_radius = 1.0 / radius
    px = points[i, 0]
    py = points[i, 1]
    pz = points[i, 2]
    for jj in range(start, stop):
        j = indices[jj]
        dx = (points[j, 0] - px) * inv_radius
        dy = (points[j, 1] - py) * inv_radius
        dz = (points[j, 2] - pz) * inv_radius
        x = dx * e1x + dy * e1y + dz * e1z
        y = dx * e2x + dy * e2y + dz * e2z
        z = dx * nx + dy * ny + dz * nz
        for a in range(1, 7):
            xp[a] = xp[a - 1] * x
            yp[a] = yp[a - 1] * y
        for a in range(7):
            for b in range(7 - a):
                pos[a, b] += xp[a] * yp[b]
        for a in range(4):
            for b in range(4 - a):
                height[a, b] += z * xp[a] * yp[b]
        if use_normal_constraints:
            njx = normals[j, 0]
            njy = normals[j, 1]
            njz = normals[j, 2]
            cos_nj = njx * nx + njy * ny + njz * nz
            if np.isfinite(cos_nj) and cos_nj > _NORMAL_CONSTRAINT_MIN_COS:
                # Goldfeather-Interrante: the fitted surface's gradient at the neighbour
                # must match its normal, dz/dx = -nx/nz and dz/dy = -ny/nz.
                sx = -(njx * e1x + njy * e1y + njz * e1z) / cos_nj
                sy = -(njx * e2x + njy * e2y + njz * e2z) / cos_nj
                for a in range(5):
                    for b in range(5 - a):
                        slope_pos[a, b] += xp[a] * yp[b]
                for a in range(3):
                    for b in range(3 - a):
                        slope_x[a, b] += sx * xp[a] * yp[b]
                        slope_y[a, b] += sy * xp[a] * yp[b]
    _jet_normal_equations(pos, height, slope_pos, slope_x, slope_y, ata, atb)
    if not _cholesky_solve(ata, atb, first, coef, low, work):
        return
    p = coef[1]
    q = coef[2]
    # Back to unscaled units: slopes are scale free, second derivatives scale by 1/radius.
    # Minus sign: the height runs along the normal toward the camera, and a surface convex
    # toward the camera bends away from it (negative height Hessian) yet must come out
    # positive (docs/methods.md#curvature).
    w = np.sqrt(1.0 + p * p + q * q)
    big_l = -coef[3] / (radius * w)
    big_m = -coef[4] / (radius * w)
    big_n = -coef[5] / (radius * w)
    big_e = 1.0 + p * p
    big_f = p * q
    big_g = 1.0 + q * q
    det_i = big_e * big_g - big_f * big_f
    mean_h = (big_e * big_n - 2.0 * big_f * big_m + big_g * big_l) / (2.0 * det_i)
    gauss_k = (big_l * big_n - big_m * big_m) / det_i
    disc = np.sqrt(max(mean_h * mean_h - gauss_k, 0.0))
    kappa1 = mean_h + disc
    k1[i] = kappa1
    k2[i] = mean_h - disc
    # Principal direction of k1: kernel of (II - k1 I) in the (x, y) parameter plane, mapped
    # to 3D through the fitted surface's tangent vectors (1, 0, p) and (0, 1, q).
    r1u = big_m - kappa1 * big_f
    r1v = -(big_l - kappa1 * big_e)
    r2u = big_n - kappa1 * big_g
    r2v = -(big_m - kappa1 * big_f)
    if r1u * r1u + r1v * r1v >= r2u * r2u + r2v * r2v:
        du = r1u
        dv = r1v
    else:
        du = r2u
        dv = r2v
    if du * du + dv * dv == 0.0:  # umbilic: every direction is principal
        du = 1.0
        dv = 0.0
    # Fitted normal n - p e1 - q e2, normalised.
    fx = nx - p * e1x - q * e2x
    fy = ny - p * e1y - q * e2y
    fz = nz - p * e1z - q * e2z
    norm = np.sqrt(fx * fx + fy * fy + fz * fz)
    fx /= norm
    fy /= norm
    fz /= norm
    # t1 = du (e1 + p n) + dv (e2 + q n), made orthogonal to the fitted normal, normalised.
    tx = du * (e1x + p * nx) + dv * (e2x + q * nx)
    ty = du * (e1y + p * ny) + dv * (e2y + q * ny)
    tz = du * (e1z + p * nz) + dv * (e2z + q * nz)
    along = tx * fx + ty * fy + tz * fz
    tx -= along * fx
    ty -= along * fy
    tz -= along * fz
    norm = np.sqrt(tx * tx + ty * ty + tz * tz)
    tx /= norm
    ty /= norm
    tz /= norm
    fitted_normals[i, 0] = fx
    fitted_normals[i, 1] = fy
    fitted_normals[i, 2] = fz
    dir1[i, 0] = tx
    dir1[i, 1] = ty
    dir1[i, 2] = tz
    # direction2 = fitted normal x t1
    dir2[i, 0] = fy * tz - fz * ty
    dir2[i, 1] = fz * tx - fx * tz
    dir2[i, 2] = fx * ty - fy * tx


@dataclass(frozen=True)
class CurvatureFit:
    """Per-point result of `fit_principal_curvatures` (docs/methods.md#curvature sign convention).

    k1 >= k2 (1/length unit); `normals` are the fitted surfaces' unit normals (toward the camera);
    `direction1` / `direction2` the unit principal directions of k1 / k2; `neighbor_counts` the
    number of points within the radius (the point included). Points whose curvature could not be
    fitted (too few neighbours, degenerate neighbourhood) have NaN in every array except
    `neighbor_counts`: never silent zeros.
    """

    k1: np.ndarray
    k2: np.ndarray
    normals: np.ndarray
    direction1: np.ndarray
    direction2: np.ndarray
    neighbor_counts: np.ndarray

    @property
    def undefined(self) -> np.ndarray:
        """Boolean mask of points without a curvature (NaN)."""
        return ~np.isfinite(self.k1)

    @property
    def n_undefined(self) -> int:
        """How many points have no curvature."""
        return int(np.count_nonzero(self.undefined))


def _as_finite_points(points: np.ndarray) -> np.ndarray:
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must have shape (N, 3), got {points.shape}")
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {len(points)} points have NaN/inf coordinates "
            f"(first at index {int(np.flatnonzero(bad)[0])}); drop them before computing curvature"
        )
    return points


def fit_principal_curvatures(
    points: np.ndarray,
    radius: float,
    normals: np.ndarray | None = None,
    *,
    min_neighbors: int = DEFAULT_MIN_NEIGHBORS,
    free_offset_and_tilt: bool = True,
    use_normal_constraints: bool = False,
    viewpoint: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> CurvatureFit:
    """Principal curvatures, directions and normals of a point cloud (docs/methods.md#curvature).

    For every point: a tangent frame from its normal (given, or PCA of the neighbours within
    `radius`), a least-squares cubic height polynomial over the neighbours within `radius`
    (Goldfeather & Interrante 2004), and the eigenvalues of the Weingarten matrix of the fit at
    the point, k1 >= k2, positive where the surface is convex toward the camera at `viewpoint`.

    Parameters
    ----------
    points : (N, 3) coordinates (mm in the pipeline). NaN/inf coordinates raise ValueError.
    radius : neighbourhood radius, same unit as `points`.
    normals : optional (N, 3) normals; they are re-oriented toward the camera (so the sign
        convention holds for unoriented normals, e.g. open3d's), not re-estimated.
    min_neighbors : points with fewer neighbours within `radius` (themselves included) get NaN.
    free_offset_and_tilt : fit a constant and a linear term too (robust to noise on the vertex
        and to a tilted normal; see the module docstring). False: G&I's 7-coefficient form.
    use_normal_constraints : add the neighbours' normals as slope constraints, as G&I do
        (smoother, biased low on features comparable to the radius; see the module docstring).
    viewpoint : camera centre; the pipeline's camera is at the origin looking down +z.
    """
    points = _as_finite_points(points)
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    n_points = points.shape[0]
    indptr, indices = radius_neighbors(points, radius)
    if normals is None:
        normals = estimate_normals(points, radius, viewpoint=viewpoint, neighbors=(indptr, indices))
    else:
        normals = np.asarray(normals, dtype=np.float64)
        if normals.shape != points.shape:
            raise ValueError(f"normals shape {normals.shape} != points shape {points.shape}")
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            normals = orient_normals_toward_camera(normals / length, points, viewpoint)
    normals = np.ascontiguousarray(normals)
    k1 = np.full(n_points, np.nan)
    k2 = np.full(n_points, np.nan)
    dir1 = np.full((n_points, 3), np.nan)
    dir2 = np.full((n_points, 3), np.nan)
    fitted_normals = np.full((n_points, 3), np.nan)
    _fit_jets(
        points,
        normals,
        indptr,
        indices,
        float(radius),
        max(int(min_neighbors), 1),
        bool(free_offset_and_tilt),
        bool(use_normal_constraints),
        k1,
        k2,
        dir1,
        dir2,
        fitted_normals,
    )
    return CurvatureFit(k1, k2, fitted_normals, dir1, dir2, np.diff(indptr))


def principal_curvatures(
    points: np.ndarray,
    radius: float,
    normals: np.ndarray | None = None,
    *,
    min_neighbors: int = DEFAULT_MIN_NEIGHBORS,
    free_offset_and_tilt: bool = True,
    use_normal_constraints: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(k1, k2) with k1 >= k2 per point; NaN where undefined. See `fit_principal_curvatures`,
    which also returns normals, principal directions and neighbour counts."""
    fit = fit_principal_curvatures(
        points,
        radius,
        normals,
        min_neighbors=min_neighbors,
        free_offset_and_tilt=free_offset_and_tilt,
        use_normal_constraints=use_normal_constraints,
    )
    return fit.k1, fit.k2


def mean_gaussian_curvature(k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H = (k1 + k2) / 2 and K = k1 k2 (DSME-3D Eqs. 4-5)."""
    k1 = np.asarray(k1, dtype=np.float64)
    k2 = np.asarray(k2, dtype=np.float64)
    return 0.5 * (k1 + k2), k1 * k2
