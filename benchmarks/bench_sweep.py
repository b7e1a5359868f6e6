"""Benchmark: CPU-seconds per setting of the DSME-3D block sweep (231 grid x overlap settings,
Tables 7-10) under LOSO + 10 x 10-fold, LIBSVM's vote vs Platt probabilities.

docs/methods.md#svm. A stand-in of the paper's shape: 373 micro-expressions of 33 subjects,
5 classes (imbalanced as DSME-3D's objective classes), and per setting a block-grid LBP-TOP
feature of the real size (rows x cols blocks x 3 planes x 59 u2 bins, each plane's histogram
drawn as multinomial counts of a block's pixels, normalised: ties at 0 and repeated values as in
real histograms; a weak class signal and a subject offset). Five grids spanning the DSME-3D
block counts (3 x 3 .. 8 x 10) are measured; overlap does not change the feature size.

Per setting, as one setting of ``run_sweep`` does it (splits shared by the sweep, not counted):
``cross_validate_svm_sweep`` for LOSO (33 folds) and 10 x 10-fold (100 folds), then
``setting_scores`` on both prediction tables. Three modes:

- ``probability``: Platt probabilities, each fold's own min-max Gram product (classify 1's
  computation, today's ``decision: probability``);
- ``vote``: LIBSVM's vote with the shared min-max Gram matrix (``decision: vote``, the default);
- breakdown of ``vote``: Gram matrices alone (every fold's ``_GramCache.fold``) and scores alone.

The figure for the whole 231-setting sweep is a least-squares line (CPU-s against feature size,
which is what the Gram products scale with) evaluated at the mean size of the 231 DSME-3D
settings: an estimate, labelled as such. Reading features (one integral-histogram file per
sample, all 231 variants in one pass: ``feature_matrices``) is measured on a few synthetic
168 x 168 x 20 clips after one untimed call (numba's compilation is once per process), split
into a cost per sample and a cost per job (per-feature bookkeeping, which must not be scaled
by the sample count), and spread over the 231 settings at 373 samples.

CPU time is ``time.process_time`` on one BLAS thread; the machine is shared, so figures are
indicative. Writes sweep.json, sweep.tsv and sweep.png to out_dir.

Run: python -m benchmarks bench_sweep   (or python benchmarks/bench_sweep.py [out_dir])
"""

from __future__ import annotations

import csv
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
    integral_histograms,
    save_integral,
)
from microexp.features.lbptop import lbptop_codes
from microexp.learn.matrices import feature_matrices
from microexp.learn.protocols import folds, kfold_splits, loso_splits
from microexp.learn.scores import setting_scores
from microexp.learn.specs import feature_spec
from microexp.learn.svm import SVMParams, _GramCache, cross_validate_svm_sweep

SEED = 20261122
N_SAMPLES = 373
N_SUBJECTS = 33
CLASSES = ["I", "II", "III", "IV", "V"]
CLASS_WEIGHTS = [0.25, 0.2, 0.25, 0.2, 0.1]
BINS_PER_BLOCK = 3 * 59  # XY, XT, YT planes x u2 bins
PIXELS_PER_BLOCK = 400  # counts per plane histogram (a 20 x 20 px block of one frame)
GRIDS = [(3, 3), (4, 7), (5, 8), (6, 9), (8, 10)]
PARAMS = SVMParams(kernel="linear", C=1.0, scaling="minmax")  # config.yaml's sweeps
N_READ_SAMPLES = 4


def sample_table(seed: int = SEED) -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    subjects = np.sort(np.concatenate([np.arange(N_SUBJECTS), rng.integers(0, N_SUBJECTS, 340)]))
    labels = rng.choice(len(CLASSES), N_SAMPLES, p=CLASS_WEIGHTS)
    samples = [f"s{s:02d}_{k:03d}" for k, s in enumerate(subjects)]
    return samples, [f"s{s:02d}" for s in subjects], [CLASSES[k] for k in labels]


def block_histograms(grid: tuple[int, int], labels: list[str], subjects: list[str], seed: int):
    """(373, rows * cols * 177) normalised per-plane multinomial histograms."""
    rng = np.random.default_rng(seed)
    n_hist = grid[0] * grid[1] * 3
    base = rng.dirichlet(np.full(59, 0.3), n_hist)  # skewed bins, as u2 histograms are
    codes = np.array([CLASSES.index(label) for label in labels])
    shift = rng.dirichlet(np.full(59, 0.3), (len(CLASSES), n_hist))
    subject_ids = np.unique(subjects, return_inverse=True)[1]
    offset = rng.dirichlet(np.full(59, 0.3), (N_SUBJECTS, n_hist))
    p = 0.8 * base[None] + 0.1 * shift[codes] + 0.1 * offset[subject_ids]
    counts = rng.multinomial(PIXELS_PER_BLOCK, p / p.sum(axis=-1, keepdims=True))
    return counts.reshape(N_SAMPLES, -1) / PIXELS_PER_BLOCK


def per_setting(features, samples, splits, decision: str) -> float:
    """CPU-s of one setting: both protocols' SVMs and scores."""
    start = time.process_time()
    for protocol, table in splits.items():
        (predictions,) = cross_validate_svm_sweep(
            features, samples, table, [PARAMS], seed=SEED, classes=CLASSES, decision=decision
        )
        setting_scores(predictions, kind="blocks", scheme="objective", protocol=protocol)
    return time.process_time() - start


def gram_only(features, samples, splits) -> float:
    start = time.process_time()
    for table in splits.values():
        cache = _GramCache(features, share_minmax=True)
        position = {s: k for k, s in enumerate(samples)}
        rows = table["sample"].map(position).to_numpy()
        for fold in folds(table):
            cache.fold(rows[fold.train], rows[fold.test], "minmax")
    return time.process_time() - start


def scores_only(samples, splits, decision: str) -> float:
    features = np.random.default_rng(0).random((N_SAMPLES, 8))
    predictions = {
        p: cross_validate_svm_sweep(
            features, samples, t, [PARAMS], seed=SEED, classes=CLASSES, decision=decision
        )[0]
        for p, t in splits.items()
    }
    start = time.process_time()
    for protocol, table in predictions.items():
        setting_scores(table, kind="blocks", scheme="objective", protocol=protocol)
    return time.process_time() - start


def reading_cost(folder: Path) -> dict:
    """CPU-s of ``feature_matrices`` for all 231 block variants of one code setting, split into
    a cost per sample (loading and the block sums) and a cost per job (per-feature bookkeeping
    that does not grow with the samples), then spread over the 231 settings at 373 samples.
    One untimed call first: numba's compilation / cache load is once per process."""
    rng = np.random.default_rng(SEED)
    setting = "r1-1-4_p8-8-8_u2_nearest"
    target = folder / "bench" / "features" / "lbptop" / setting
    target.mkdir(parents=True)
    names = [f"x{k}" for k in range(N_READ_SAMPLES)]
    for name in names:
        volume = rng.integers(0, 200, size=(20, 168, 168)).astype(np.uint8)
        codes = lbptop_codes(volume, (1, 1, 4), (8, 8, 8))
        save_integral(target / f"{name}.npz", integral_histograms(codes))
    specs = [
        feature_spec({"lbptop": {"setting": setting, "grid": list(g), "overlap": o}})
        for g in DSME3D_GRIDS
        for o in DSME3D_OVERLAPS
    ]
    files = {f"lbptop/{setting}": {name: target / f"{name}.npz" for name in names}}
    feature_matrices(files, names[:1], specs)
    seconds = {}
    for n in (1, N_READ_SAMPLES):
        start = time.process_time()
        feature_matrices(files, names[:n], specs)
        seconds[n] = time.process_time() - start
    per_sample = (seconds[N_READ_SAMPLES] - seconds[1]) / (N_READ_SAMPLES - 1)
    per_job = max(seconds[1] - per_sample, 0.0)
    return {
        "cpu_s_per_sample_all_231": per_sample,
        "cpu_s_per_job_all_231": per_job,
        "cpu_s_per_setting_at_373_samples": (per_job + per_sample * N_SAMPLES) / len(specs),
    }


def main(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples, subjects, labels = sample_table()
    splits = {
        "loso": loso_splits(samples, subjects, labels),
        "kfold": kfold_splits(samples, subjects, labels, seed=SEED, n_splits=10, n_repeats=10),
    }
    rows = []
    with threadpool_limits(limits=1):
        # Untimed: numba's compilation (or cache load) is once per process, not per setting.
        warm = np.random.default_rng(0).random((N_SAMPLES, 8))
        for decision in ("vote", "probability"):
            per_setting(warm, samples, splits, decision)
        for k, grid in enumerate(GRIDS):
            features = block_histograms(grid, labels, subjects, SEED + k)
            row = {"grid": f"{grid[0]}x{grid[1]}", "n_features": features.shape[1]}
            row["probability_cpu_s"] = per_setting(features, samples, splits, "probability")
            row["vote_cpu_s"] = per_setting(features, samples, splits, "vote")
            row["vote_gram_cpu_s"] = gram_only(features, samples, splits)
            rows.append(row)
            print(
                f"{row['grid']} ({row['n_features']} features): probability "
                f"{row['probability_cpu_s']:.2f} CPU-s, vote {row['vote_cpu_s']:.2f} CPU-s "
                f"(Gram {row['vote_gram_cpu_s']:.2f})",
                flush=True,
            )
        score_seconds = {d: scores_only(samples, splits, d) for d in ("probability", "vote")}
        with tempfile.TemporaryDirectory() as tmp:
            reading = reading_cost(Path(tmp))
    sizes = np.array([r * c * BINS_PER_BLOCK for r, c in DSME3D_GRIDS for _ in DSME3D_OVERLAPS])
    measured = np.array([r["n_features"] for r in rows], dtype=float)
    estimate = {}
    for mode in ("probability", "vote"):
        slope, intercept = np.polyfit(measured, [r[f"{mode}_cpu_s"] for r in rows], 1)
        svm = float(intercept + slope * sizes.mean())
        estimate[mode] = {
            "svm_and_scores_cpu_s_per_setting": svm,
            "with_reading_cpu_s_per_setting": svm + reading["cpu_s_per_setting_at_373_samples"],
            "whole_sweep_cpu_s": 231 * (svm + reading["cpu_s_per_setting_at_373_samples"]),
        }
    result = {
        "problem": {
            "samples": N_SAMPLES,
            "subjects": N_SUBJECTS,
            "classes": len(CLASSES),
            "protocols": "LOSO (33 folds) + 10 x 10-fold (100 folds)",
            "svm": PARAMS.__dict__,
            "mean_features_of_the_231_settings": float(sizes.mean()),
        },
        "rows": rows,
        "scores_cpu_s_per_setting": score_seconds,
        "reading": reading,
        "estimate_231_settings": estimate,
        "note": "CPU-s on one BLAS thread on a shared 2-core machine (under load): indicative",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    (out_dir / "sweep.json").write_text(json.dumps(result, indent=2) + "\n")
    with (out_dir / "sweep.tsv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    _plot(out_dir / "sweep.png", rows, estimate)
    for mode, figures in estimate.items():
        print(
            f"estimate over the 231 settings, {mode}: "
            f"{figures['with_reading_cpu_s_per_setting']:.2f} CPU-s per setting "
            f"(reading {reading['cpu_s_per_setting_at_373_samples']:.3f})",
            flush=True,
        )
    return result


def _plot(path: Path, rows: list[dict], estimate: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    x = [r["n_features"] for r in rows]
    left.plot(x, [r["probability_cpu_s"] for r in rows], "o-", label="probability (Platt)")
    left.plot(x, [r["vote_cpu_s"] for r in rows], "s-", label="vote (default)")
    left.plot(x, [r["vote_gram_cpu_s"] for r in rows], "^--", label="vote: Gram matrices only")
    left.set_xlabel("features per sample (block grid x 177)")
    left.set_ylabel("CPU-s per setting (LOSO + 10 x 10-fold)")
    left.set_title("373 samples, 33 subjects, 5 classes")
    left.legend()
    modes = list(estimate)
    values = [estimate[m]["with_reading_cpu_s_per_setting"] for m in modes]
    bars = right.bar(modes, values, color=["tab:blue", "tab:orange"])
    right.bar_label(bars, fmt="%.2f")
    right.axhline(1.0, color="gray", linestyle=":", label="aim: 1 CPU-s per setting")
    right.set_ylabel("CPU-s per setting, mean over the 231 (estimate)")
    right.set_title("DSME-3D block sweep, reading included")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
