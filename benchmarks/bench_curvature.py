"""Benchmark: point-cloud principal curvatures (microexp) vs libigl's mesh principal_curvature.

docs/methods.md#curvature. Speed at two sizes: a ~30k-point face-like surface (ellipsoid + nose +
brows + mouth groove, 1 mm grid, as a depth camera would sample a face at ~0.5 m; libigl radius 5
edges, about 6.5 mm) and a 49 x 49 = 2,401-point analytic grid (the nose-like Gaussian bump with
0.05 mm depth noise; libigl radius 3 edges, about 3.6 mm), where fixed costs per call and per point
weigh most. Accuracy against analytic curvatures, on the face and on the analytic surfaces of the
unit tests (sphere cap, cup, cylinder, saddle, plane, nose-like Gaussian bump), noise free and with
0.05 mm depth noise.

Why ours is not slower on small clouds (it was 0.7-0.9x libigl there before): the neighbour
search is one cKDTree query; the PCA normal and the jet fit of each point now run without any
per-point or per-neighbour array allocation (scalars, and work arrays allocated once per chunk
of 64 points), which had cost more than the arithmetic itself at ~30 neighbours per point. The
parallel loops use numba's OpenMP layer; on a loaded machine two threads can be slower than one
on the small grid (threads waiting for a core), which is why both thread counts are reported,
with CPU time next to wall time.

libigl (PyPI `libigl`) is optional: without it the benchmark prints a note and measures microexp
alone. libigl gets a mesh of the same vertices (grid cells or an xy Delaunay triangulation, faces
oriented toward the camera so its signs match ours) and the same neighbourhood radius in its ball
mode (its radius is an integer multiple of the mean edge length, so ours is set to match), plus
its default 5-ring.

Writes to `out_dir`: curvature.json (everything), curvature_accuracy.tsv, curvature_speed.tsv and
curvature.png. Timings come from a shared machine: treat them as indicative, not exact.

Run: python benchmarks/bench_curvature.py [out_dir]   (default results/bench)
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
from scipy.ndimage import binary_erosion
from scipy.spatial import Delaunay

from microexp.features.curvature import (
    fit_principal_curvatures,
    shape_index,
    shape_index_bin,
)

Z0 = 500.0  # mm from the camera
SPACING = 1.0  # mm between samples
NOISE = 0.05  # mm of depth noise, along z
IGL_RADIUS_EDGES = 5  # libigl's ball radius in mean edge lengths (an int in its API)
REPEATS = 3
SMALL_REPEATS = 15  # the small grid takes milliseconds: more repeats for a stable best time
SMALL_HALF = 24.0  # mm: 49 x 49 = 2,401 points on the 1 mm grid
SMALL_IGL_RADIUS_EDGES = 3
SMALL_SURFACE = "gaussian bump"
SEED = 20240601

Height = Callable[[np.ndarray, np.ndarray], np.ndarray]


# --------------------------------------------------------------------------------------------
# Surfaces: heights g(x, y) with z = Z0 + g (positive g is away from the camera)
# --------------------------------------------------------------------------------------------


def _face_height(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ellipsoidal head, nose, two brow ridges, a mouth groove (mm, y grows downward)."""
    a, b, c = 95.0, 115.0, 70.0
    head = c * (1.0 - np.sqrt(np.clip(1.0 - (x / a) ** 2 - (y / b) ** 2, 1e-9, None)))
    nose = 22.0 * np.exp(-(x**2 / (2 * 9.0**2) + (y - 5.0) ** 2 / (2 * 16.0**2)))
    brows = sum(
        5.0 * np.exp(-((x - side * 32.0) ** 2 / (2 * 14.0**2) + (y + 38.0) ** 2 / (2 * 5.0**2)))
        for side in (-1.0, 1.0)
    )
    mouth = -3.0 * np.exp(-(x**2 / (2 * 20.0**2) + (y - 45.0) ** 2 / (2 * 3.5**2)))
    return head - nose - brows - mouth


def _cap(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 30.0 - np.sqrt(30.0**2 - x**2 - y**2)


def _cup(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -_cap(x, y)


def _cylinder(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 25.0 - np.sqrt(25.0**2 - x**2)


def _saddle(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x**2 - y**2) / (2 * 30.0)


def _plane(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.3 * x - 0.2 * y


def _bump(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -15.0 * np.exp(-(x**2 + y**2) / (2 * 15.0**2))


ANALYTIC: dict[str, Height] = {
    "cap R30": _cap,
    "cup R30": _cup,
    "cylinder R25": _cylinder,
    "saddle a30": _saddle,
    "plane": _plane,
    "gaussian bump": _bump,
}
ANALYTIC_HALF = 20.0  # mm half width of the analytic patches (inside the R30 sphere)


def true_curvatures(height: Height, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analytic (k1, k2) of z = Z0 + g(x, y), convex toward the camera positive
    (docs/methods.md#curvature).

    Derivatives by central differences of the closed-form height (step 1e-3 mm: truncation and
    round-off both far below the errors measured here).
    """
    with np.errstate(invalid="ignore"):  # NaN truth just outside a patch's domain is not used
        return _graph_curvatures(height, x, y, 1e-3)


def _graph_curvatures(
    height: Height, x: np.ndarray, y: np.ndarray, h: float
) -> tuple[np.ndarray, np.ndarray]:
    gx = (height(x + h, y) - height(x - h, y)) / (2 * h)
    gy = (height(x, y + h) - height(x, y - h)) / (2 * h)
    g0 = height(x, y)
    gxx = (height(x + h, y) - 2 * g0 + height(x - h, y)) / h**2
    gyy = (height(x, y + h) - 2 * g0 + height(x, y - h)) / h**2
    gxy = (
        height(x + h, y + h) - height(x + h, y - h) - height(x - h, y + h) + height(x - h, y - h)
    ) / (4 * h**2)
    e, f, g = 1 + gx**2, gx * gy, 1 + gy**2
    w = np.sqrt(1 + gx**2 + gy**2)
    ll, mm, nn = gxx / w, gxy / w, gyy / w
    mean = (e * nn - 2 * f * mm + g * ll) / (2 * (e * g - f**2))
    gauss = (ll * nn - mm**2) / (e * g - f**2)
    disc = np.sqrt(np.maximum(mean**2 - gauss, 0.0))
    return mean + disc, mean - disc


@dataclass
class Patch:
    points: np.ndarray
    faces: np.ndarray  # triangles, oriented toward the camera
    interior: np.ndarray  # points whose neighbourhood is not cut by the patch border
    true_k1: np.ndarray
    true_k2: np.ndarray


def _grid_patch(
    height: Height,
    inside: Callable,
    half_x: float,
    half_y: float,
    noise: float,
    margin: float,
    rng: np.random.Generator,
) -> Patch:
    xs = np.arange(-half_x, half_x + 1e-9, SPACING)
    ys = np.arange(-half_y, half_y + 1e-9, SPACING)
    gx, gy = np.meshgrid(xs, ys)
    mask = inside(gx, gy)
    index = np.full(gx.shape, -1)
    index[mask] = np.arange(mask.sum())
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate(
        [np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)]
    )
    faces = faces[(faces >= 0).all(axis=1)]
    x, y = gx[mask], gy[mask]
    points = np.column_stack([x, y, Z0 + height(x, y) + rng.normal(0, noise, x.shape)])
    steps = int(np.ceil(margin / SPACING))
    interior = binary_erosion(mask, iterations=steps, border_value=0)[mask]
    k1, k2 = true_curvatures(height, x, y)
    return Patch(points, _toward_camera(points, faces), interior, k1, k2)


def _random_patch(height: Height, noise: float, margin: float, rng: np.random.Generator) -> Patch:
    side = 2 * ANALYTIC_HALF
    n = int(side**2 / SPACING**2)
    xy = rng.uniform(-ANALYTIC_HALF, ANALYTIC_HALF, size=(n, 2))
    x, y = xy[:, 0], xy[:, 1]
    points = np.column_stack([x, y, Z0 + height(x, y) + rng.normal(0, noise, x.shape)])
    faces = Delaunay(xy).simplices.astype(np.int64)
    interior = (np.abs(x) < ANALYTIC_HALF - margin) & (np.abs(y) < ANALYTIC_HALF - margin)
    k1, k2 = true_curvatures(height, x, y)
    return Patch(points, _toward_camera(points, faces), interior, k1, k2)


def _toward_camera(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    # libigl's curvature signs follow the face orientation: with normals toward the camera (-z)
    # a cap facing the camera comes out positive, as in docs/methods.md#curvature.
    v0, v1, v2 = points[faces[:, 0]], points[faces[:, 1]], points[faces[:, 2]]
    normal_z = np.cross(v1 - v0, v2 - v0)[:, 2]
    faces = faces.copy()
    faces[normal_z > 0] = faces[normal_z > 0][:, ::-1]
    return np.ascontiguousarray(faces, dtype=np.int64)


def face_patch(noise: float, margin: float, rng: np.random.Generator) -> Patch:
    """The ~30k-point face-like crop."""

    def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x / 95.0) ** 2 + (y / 115.0) ** 2 < 0.85

    return _grid_patch(_face_height, inside, 95.0, 115.0, noise, margin, rng)


def analytic_patch(
    name: str, sampling: str, noise: float, margin: float, rng: np.random.Generator
) -> Patch:
    height = ANALYTIC[name]
    if sampling == "random":
        return _random_patch(height, noise, margin, rng)

    def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.ones(x.shape, dtype=bool)

    return _grid_patch(height, inside, ANALYTIC_HALF, ANALYTIC_HALF, noise, margin, rng)


# --------------------------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------------------------


def _load_igl() -> ModuleType | None:
    try:
        import igl
    except ImportError:
        return None
    return igl


def mean_edge_length(points: np.ndarray, faces: np.ndarray) -> float:
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    return float(np.linalg.norm(points[edges[:, 0]] - points[edges[:, 1]], axis=1).mean())


Method = Callable[[Patch, float], tuple[np.ndarray, np.ndarray]]


def _ours(normal_constraints: bool) -> Method:
    def run(patch: Patch, radius: float) -> tuple[np.ndarray, np.ndarray]:
        fit = fit_principal_curvatures(
            patch.points, radius, use_normal_constraints=normal_constraints
        )
        return fit.k1, fit.k2

    return run


def _libigl(igl: ModuleType, kring: bool, edges: int = IGL_RADIUS_EDGES) -> Method:
    def run(patch: Patch, radius: float) -> tuple[np.ndarray, np.ndarray]:
        _, _, pv1, pv2, _ = igl.principal_curvature(
            patch.points, patch.faces, radius=edges, useKring=kring
        )
        return np.maximum(pv1, pv2), np.minimum(pv1, pv2)

    return run


def methods(igl: ModuleType | None, edges: int = IGL_RADIUS_EDGES) -> dict[str, Method]:
    found = {
        "microexp jet": _ours(False),
        "microexp jet + normal constraints": _ours(True),
    }
    if igl is not None:
        found[f"libigl ball {edges} edges"] = _libigl(igl, kring=False, edges=edges)
        found[f"libigl {edges}-ring"] = _libigl(igl, kring=True, edges=edges)
    return found


def small_patch(noise: float, rng: np.random.Generator) -> Patch:
    """The 2,401-point analytic grid of the small-cloud speed case."""

    def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.ones(x.shape, dtype=bool)

    return _grid_patch(ANALYTIC[SMALL_SURFACE], inside, SMALL_HALF, SMALL_HALF, noise, 0.0, rng)


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


@dataclass
class Accuracy:
    surface: str
    sampling: str
    noise_mm: float
    method: str
    radius_mm: float
    n_points: int
    n_interior: int
    n_undefined: int
    median_error: float  # of max(|k1 - k1_true|, |k2 - k2_true|), 1/mm
    p90_error: float
    median_error_pct_of_1_over_30mm: float
    si_bin_agreement: float  # fraction of interior, non-planar points in the true SI bin


def _accuracy(patch: Patch, k1: np.ndarray, k2: np.ndarray, **labels: object) -> Accuracy:
    inner = patch.interior & np.isfinite(k1)
    error = np.maximum(np.abs(k1 - patch.true_k1), np.abs(k2 - patch.true_k2))[inner]
    true_si = shape_index(patch.true_k1[inner], patch.true_k2[inner], planar_tolerance=1e-4)
    shaped = np.isfinite(true_si)
    if shaped.any():
        ours = shape_index_bin(shape_index(k1[inner][shaped], k2[inner][shaped]))
        agreement = float(np.mean(ours == shape_index_bin(true_si[shaped])))
    else:
        agreement = float("nan")
    return Accuracy(
        n_points=len(patch.points),
        n_interior=int(patch.interior.sum()),
        n_undefined=int(np.count_nonzero(~np.isfinite(k1))),
        median_error=float(np.median(error)),
        p90_error=float(np.percentile(error, 90)),
        median_error_pct_of_1_over_30mm=float(100 * np.median(error) * 30.0),
        si_bin_agreement=agreement,
        **labels,  # type: ignore[arg-type]
    )


def _best_time(
    run: Callable[[], object], repeats: int = REPEATS
) -> tuple[float, float, float, float]:
    """Best and median wall time of `repeats` runs, CPU time / wall time (threads used), and the
    best CPU time (less sensitive than wall time to other processes on a shared machine)."""
    times = []
    cpu_times = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
    return min(times), float(np.median(times)), sum(cpu_times) / sum(times), min(cpu_times)


def _speed_rows(
    size: str,
    patch: Patch,
    radius: float,
    all_methods: dict[str, Method],
    threads: int,
    repeats: int,
) -> list[dict]:
    rows = []
    for name, method in all_methods.items():
        method(patch, radius)  # warm: JIT cache load, thread pool start-up
        settings = [threads] if name.startswith("libigl") else sorted({1, threads})
        for n_threads in settings:
            numba.set_num_threads(n_threads)
            best, median, cores_busy, best_cpu = _best_time(
                lambda method=method: method(patch, radius), repeats
            )
            rows.append(
                {
                    "size": size,
                    "method": name,
                    "threads": n_threads if name.startswith("microexp") else "own",
                    "cpu_per_wall": cores_busy,
                    "n_points": len(patch.points),
                    "radius_mm": radius,
                    "best_s": best,
                    "median_s": median,
                    "best_cpu_s": best_cpu,
                    "points_per_s": len(patch.points) / best,
                }
            )
        numba.set_num_threads(threads)
    # Ours vs libigl's ball neighbourhood (the same radius), best wall time, default threads.
    libigl = [r for r in rows if r["method"].startswith("libigl ball")]
    if libigl:
        for row in rows:
            row["speed_vs_libigl_ball"] = libigl[0]["best_s"] / row["best_s"]
    return rows


def main(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    igl = _load_igl()
    if igl is None:
        print("bench_curvature: libigl not installed (pip install libigl); measuring microexp only")
    igl_version = importlib.metadata.version("libigl") if igl is not None else None
    all_methods = methods(igl)

    # ---- the face-like crop: speed and accuracy ---------------------------------------------
    face = face_patch(0.0, margin=10.0, rng=rng)
    radius = IGL_RADIUS_EDGES * mean_edge_length(face.points, face.faces)
    face = face_patch(0.0, margin=radius + SPACING, rng=rng)
    noisy_face = face_patch(NOISE, margin=radius + SPACING, rng=rng)
    fit_principal_curvatures(face.points[:500], radius)  # JIT compile / cache load, not timed
    fit_principal_curvatures(face.points[:500], radius, use_normal_constraints=True)
    threads = numba.get_num_threads()
    speed_rows = _speed_rows("face-like", face, radius, all_methods, threads, REPEATS)
    accuracy_rows: list[Accuracy] = []
    face_results: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # ---- the small analytic grid: speed and accuracy ----------------------------------------
    small = small_patch(NOISE, rng)
    small_radius = SMALL_IGL_RADIUS_EDGES * mean_edge_length(small.points, small.faces)
    margin = small_radius + SPACING
    small.interior = (np.abs(small.points[:, 0]) < SMALL_HALF - margin) & (
        np.abs(small.points[:, 1]) < SMALL_HALF - margin
    )
    small_methods = methods(igl, SMALL_IGL_RADIUS_EDGES)
    speed_rows += _speed_rows(
        "analytic grid", small, small_radius, small_methods, threads, SMALL_REPEATS
    )
    for name, method in small_methods.items():
        k1, k2 = method(small, small_radius)
        accuracy_rows.append(
            _accuracy(
                small,
                k1,
                k2,
                surface=f"{SMALL_SURFACE} (small grid)",
                sampling="grid",
                noise_mm=NOISE,
                method=name,
                radius_mm=small_radius,
            )
        )

    for name, method in all_methods.items():
        for patch, noise in ((face, 0.0), (noisy_face, NOISE)):
            k1, k2 = method(patch, radius)
            if noise == 0.0:
                face_results[name] = (k1, k2)
            accuracy_rows.append(
                _accuracy(
                    patch,
                    k1,
                    k2,
                    surface="face-like",
                    sampling="grid",
                    noise_mm=noise,
                    method=name,
                    radius_mm=radius,
                )
            )

    # ---- analytic surfaces ----------------------------------------------------------------
    for surface in ANALYTIC:
        for sampling in ("grid", "random"):
            for noise in (0.0, NOISE):
                patch = analytic_patch(surface, sampling, noise, margin=10.0, rng=rng)
                for name, method in all_methods.items():
                    k1, k2 = method(patch, radius)
                    accuracy_rows.append(
                        _accuracy(
                            patch,
                            k1,
                            k2,
                            surface=surface,
                            sampling=sampling,
                            noise_mm=noise,
                            method=name,
                            radius_mm=radius,
                        )
                    )

    neighbours = fit_principal_curvatures(face.points, radius).neighbor_counts
    summary = {
        "note": "timings on a shared 2-core machine: indicative only",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numba_threads": threads,
        "versions": {
            "numpy": np.__version__,
            "numba": numba.__version__,
            "libigl": igl_version,
        },
        "face_like": {
            "n_points": len(face.points),
            "n_faces": len(face.faces),
            "radius_mm": radius,
            "median_neighbours": float(np.median(neighbours)),
        },
        "analytic_grid": {
            "surface": SMALL_SURFACE,
            "n_points": len(small.points),
            "radius_mm": small_radius,
            "median_neighbours": float(
                np.median(fit_principal_curvatures(small.points, small_radius).neighbor_counts)
            ),
        },
        "speed": speed_rows,
        "accuracy": [asdict(row) for row in accuracy_rows],
    }
    (out_dir / "curvature.json").write_text(json.dumps(summary, indent=2) + "\n")
    _write_tsv(out_dir / "curvature_speed.tsv", speed_rows)
    _write_tsv(out_dir / "curvature_accuracy.tsv", [asdict(row) for row in accuracy_rows])
    _plot(out_dir / "curvature.png", face, face_results, speed_rows, accuracy_rows)
    for row in speed_rows:
        print(
            f"{row['size']:14s} {row['method']:36s} threads={row['threads']!s:4s} "
            f"{row['points_per_s']:>9.0f} pts/s  cpu {row['best_cpu_s'] * 1e3:7.1f} ms  "
            f"x{row.get('speed_vs_libigl_ball', float('nan')):.2f} vs libigl ball"
        )
    return summary


def _write_tsv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)


def _plot(
    path: Path,
    face: Patch,
    face_results: dict,
    speed_rows: list[dict],
    accuracy_rows: list[Accuracy],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(13, 10))
    labels = [f"{r['size']}: {r['method']}\n({r['threads']} thr)" for r in speed_rows]
    colours = ["tab:blue" if r["size"] == "face-like" else "tab:orange" for r in speed_rows]
    axes[0, 0].barh(labels, [r["points_per_s"] / 1e3 for r in speed_rows], color=colours)
    axes[0, 0].tick_params(axis="y", labelsize=6)
    axes[0, 0].set_xlabel("thousand points / s (best wall time; shared machine)")
    sizes = sorted({(r["size"], r["n_points"]) for r in speed_rows})
    axes[0, 0].set_title("speed: " + ", ".join(f"{s} {n} points" for s, n in sizes))
    axes[0, 0].invert_yaxis()

    method_names = list(dict.fromkeys(r.method for r in accuracy_rows))
    cases = list(
        dict.fromkeys((r.surface, r.noise_mm) for r in accuracy_rows if r.sampling == "grid")
    )
    width = 0.8 / len(method_names)
    for m, name in enumerate(method_names):
        values = [
            next(
                (
                    r.median_error_pct_of_1_over_30mm
                    for r in accuracy_rows
                    if (r.surface, r.noise_mm, r.method, r.sampling) == (*case, name, "grid")
                ),
                np.nan,  # the small grid's libigl radius differs: its own method names
            )
            for case in cases
        ]
        axes[0, 1].bar(np.arange(len(cases)) + m * width, values, width, label=name)
    axes[0, 1].set_xticks(np.arange(len(cases)) + 0.4 - width / 2)
    axes[0, 1].set_xticklabels([f"{s}\n{n} mm" for s, n in cases], rotation=60, fontsize=7)
    axes[0, 1].set_ylabel("median |k error|, % of 1/30 mm^-1")
    axes[0, 1].set_title("accuracy on 1 mm grids")
    axes[0, 1].legend(fontsize=7)

    shown = [
        n for n in face_results if n in ("microexp jet", f"libigl ball {IGL_RADIUS_EDGES} edges")
    ]
    for ax, name in zip(axes[1], shown, strict=False):
        k1, k2 = face_results[name]
        error = np.maximum(np.abs(k1 - face.true_k1), np.abs(k2 - face.true_k2))
        error[~face.interior] = np.nan
        image = ax.scatter(face.points[:, 0], face.points[:, 1], c=error, s=1, vmin=0, vmax=0.01)
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_title(f"{name}: max |k error| (1/mm), face-like, no noise")
        figure.colorbar(image, ax=ax)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
