"""Benchmark: LBP-TOP code pass, integral histograms and the 231 DSME-3D block variants.

DSME-3D 4.2.1 / 4.3.1. Measures on one core (numba kernels are single-threaded):

1. throughput of one code pass (all three planes, radii (1, 1, 4), P = 8) in volume voxels per
   second on a 30 x 200 x 200 uint8 volume, nearest and bilinear, for the numba path and for the
   plain NumPy reference (``lbptop_codes_reference``);
2. for one 30 x 160 x 160 sample: one code pass, building the integral histograms, deriving all
   231 grid x overlap variants from them, versus computing each variant from scratch (code pass
   + direct per-block counting); the figure of merit is (integral + 231 variants) / code pass;
3. the integral file size (``save_integral``) for that sample, on random noise (worst case) and
   on a smooth face-like texture with camera noise.

Writes to `out_dir`: lbptop.json (everything), lbptop_speed.tsv, lbptop_variants.tsv and
lbptop.png. Timings come from a shared 2-core machine: treat them as indicative, not exact.

Run: python benchmarks/bench_lbptop.py [out_dir]   (default results/bench)
"""

from __future__ import annotations

import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
from scipy.ndimage import gaussian_filter

from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
    block_feature_variants,
    block_grid,
    integral_histograms,
    save_integral,
)
from microexp.features.lbptop import lbp_mapping, lbptop_codes
from microexp.testing.lbptop_reference import lbptop_codes_reference

RADII = (1, 1, 4)
NEIGHBORS = (8, 8, 8)
SPEED_SHAPE = (30, 200, 200)
SAMPLE_SHAPE = (30, 160, 160)
REPEATS = 7
SEED = 20240601


def _timed(function: Callable[[], object], repeats: int = REPEATS) -> tuple[float, float]:
    """(median, min) wall time in seconds over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def random_volume(shape: tuple[int, int, int], seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def face_like_volume(shape: tuple[int, int, int], seed: int = SEED) -> np.ndarray:
    """Smooth texture (blurred noise, 40-220 gray levels) + small motion + camera noise (sd 2)."""
    rng = np.random.default_rng(seed)
    n_t, height, width = shape
    texture = gaussian_filter(rng.standard_normal((height + 8, width + 8)), 4.0)
    texture = 40 + 180 * (texture - texture.min()) / np.ptp(texture)
    frames = []
    for t in range(n_t):
        shift = round(float(2 * np.sin(2 * np.pi * t / n_t)))  # a slow 2-pixel sway
        frame = texture[4 + shift : 4 + shift + height, 4 : 4 + width]
        frames.append(frame + rng.normal(0, 2, frame.shape))
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def direct_variant(volume: np.ndarray, grid: tuple[int, int], overlap: int) -> np.ndarray:
    """One variant from scratch: a code pass, then per-block counting by slicing the codes."""
    codes = lbptop_codes(volume, RADII, NEIGHBORS)
    r_x, r_y, _ = RADII
    features = []
    for y0, y1, x0, x1 in block_grid(volume.shape[1:], grid, overlap):
        rows = slice(max(y0 - r_y, 0), max(y1 - r_y, 0))
        cols = slice(max(x0 - r_x, 0), max(x1 - r_x, 0))
        for plane, n_neighbors in zip(codes.planes, codes.neighbors, strict=True):
            table, bins = lbp_mapping(n_neighbors, "u2")
            counts = np.bincount(table[plane[:, rows, cols]].ravel(), minlength=bins)
            features.append(counts / counts.sum())
    return np.concatenate(features)


def measure_speed() -> list[dict]:
    volume = random_volume(SPEED_SHAPE)
    n_voxels = volume.size
    rows = []
    for interpolation in ("nearest", "bilinear"):
        lbptop_codes(volume, RADII, NEIGHBORS, interpolation)  # compile / load the cache
        median, best = _timed(lambda i=interpolation: lbptop_codes(volume, RADII, NEIGHBORS, i))
        ref_median, ref_best = _timed(
            lambda i=interpolation: lbptop_codes_reference(volume, RADII, NEIGHBORS, i),
            repeats=2,
        )
        for implementation, (med, low) in (
            ("numba", (median, best)),
            ("numpy_reference", (ref_median, ref_best)),
        ):
            rows.append(
                {
                    "interpolation": interpolation,
                    "implementation": implementation,
                    "volume": "x".join(map(str, SPEED_SHAPE)),
                    "median_s": round(med, 5),
                    "best_s": round(low, 5),
                    "mvoxels_per_s_median": round(n_voxels / med / 1e6, 1),
                    "mvoxels_per_s_best": round(n_voxels / low / 1e6, 1),
                }
            )
    return rows


def measure_variants(volume: np.ndarray, label: str) -> dict:
    lbptop_codes(volume, RADII, NEIGHBORS)
    codes_median, _ = _timed(lambda: lbptop_codes(volume, RADII, NEIGHBORS))
    codes = lbptop_codes(volume, RADII, NEIGHBORS)

    def build():
        integral = integral_histograms(codes, "u2")
        _ = integral.cumulative
        return integral

    build()
    integral_median, _ = _timed(build)
    integral = build()
    block_feature_variants(integral)
    variants_median, _ = _timed(lambda: block_feature_variants(integral))
    n_variants = len(DSME3D_GRIDS) * len(DSME3D_OVERLAPS)

    # From scratch: timed on a subset (every 7th variant) and scaled to 231, to keep it short.
    subset = [(g, o) for g in DSME3D_GRIDS for o in DSME3D_OVERLAPS][::7]
    start = time.perf_counter()
    for grid, overlap in subset:
        direct_variant(volume, grid, overlap)
    scratch_total = (time.perf_counter() - start) / len(subset) * n_variants

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "integral.npz"
        save_integral(path, integral)
        file_bytes = path.stat().st_size
    derived = integral_median + variants_median
    return {
        "volume": label,
        "shape": "x".join(map(str, volume.shape)),
        "code_pass_s": round(codes_median, 5),
        "integral_s": round(integral_median, 5),
        "all_231_from_integral_s": round(variants_median, 5),
        "integral_plus_231_s": round(derived, 5),
        "ratio_to_code_pass": round(derived / codes_median, 2),
        "all_231_from_scratch_s": round(scratch_total, 3),
        "speedup_vs_scratch": round(scratch_total / (codes_median + derived), 1),
        "integral_file_bytes": file_bytes,
        "counts_in_memory_bytes": sum(c.nbytes for c in integral.counts),
        "cumulative_in_memory_bytes": sum(c.nbytes for c in integral.cumulative),
    }


def main(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    speed_rows = measure_speed()
    variant_rows = [
        measure_variants(random_volume(SAMPLE_SHAPE), "random"),
        measure_variants(face_like_volume(SAMPLE_SHAPE), "face_like"),
    ]
    summary = {
        "benchmark": "lbptop",
        "radii": RADII,
        "neighbors": NEIGHBORS,
        "mapping": "u2",
        "speed": speed_rows,
        "variants": variant_rows,
        "note": "single core, shared 2-core machine: indicative timings",
        "machine": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "numba": numba.__version__,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
    }
    (out_dir / "lbptop.json").write_text(json.dumps(summary, indent=2) + "\n")
    _write_tsv(out_dir / "lbptop_speed.tsv", speed_rows)
    _write_tsv(out_dir / "lbptop_variants.tsv", variant_rows)
    _plot(out_dir / "lbptop.png", speed_rows, variant_rows)
    return summary


def _write_tsv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)


def _plot(path: Path, speed_rows: list[dict], variant_rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{r['interpolation']}\n{r['implementation']}" for r in speed_rows]
    values = [r["mvoxels_per_s_median"] for r in speed_rows]
    left.bar(labels, values, color=["C0", "C7", "C1", "C7"])
    left.set_ylabel("M voxels / s (median, one core)")
    left.set_title(f"LBP-TOP code pass, {'x'.join(map(str, SPEED_SHAPE))} uint8")
    for x, value in enumerate(values):
        left.text(x, value, f"{value:g}", ha="center", va="bottom")

    names = ["code pass", "integral", "231 variants\nfrom integral", "231 variants\nfrom scratch"]
    keys = ["code_pass_s", "integral_s", "all_231_from_integral_s", "all_231_from_scratch_s"]
    width = 0.38
    for k, row in enumerate(variant_rows):
        ms = [1000 * row[key] for key in keys]
        positions = np.arange(len(names)) + (k - 0.5) * width
        right.bar(positions, ms, width, label=row["volume"])
    right.set_xticks(np.arange(len(names)), names)
    right.set_yscale("log")
    right.set_ylabel("ms (log)")
    right.set_title(f"231 grid x overlap variants, {'x'.join(map(str, SAMPLE_SHAPE))}")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
