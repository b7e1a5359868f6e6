"""Benchmark: SVM cross-validation with precomputed kernels vs LIBSVM's own kernel evaluation.

docs/methods.md#svm. A DSME-3D-sized synthetic problem (373 samples of 33 subjects, 7 classes with
DSME-3D-like imbalance, 5,000 histogram-like features with a weak class signal and a subject
offset) is run through LOSO (33 folds) and 10 x 10-fold stratified CV (100 folds) on one core:

- ``direct``: ``SVC(kernel=<kernel>)`` on the per-fold scaled features, LIBSVM computing kernel
  values inside each one-vs-one and Platt sub-problem;
- ``precomputed``: per fold, one BLAS Gram matrix of the scaled features, the kernel computed from
  it and ``SVC(kernel="precomputed")`` (microexp.learn.svm's default);
- ``precomputed sweep``: several (C, gamma) settings sharing each fold's Gram matrix;
- the inner CV that the nested fusion weight needs (LOSO inside each LOSO training fold, one
  modality, precomputed).

Direct runs are measured for the CAS(ME)^2 polynomial kernel only (they take minutes); the figure
for a direct sweep is an estimate (settings x the single direct run), labelled as such. Agreement
between direct and precomputed (identical predictions, largest probability difference) is
recorded. Accuracies are recorded only to show both modes agree; the synthetic problem is not
meant to resemble real difficulty. Timings come from a shared machine: indicative, not exact.

Writes to ``out_dir``: classify.json (everything), classify.tsv (one row per run), classify.png.

Run: python benchmarks/bench_classify.py [out_dir]   (default results/bench)
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from microexp.learn.metrics import summarize_scores
from microexp.learn.protocols import kfold_splits, loso_splits, nested_splits
from microexp.learn.svm import (
    SVMParams,
    cross_validate_svm,
    cross_validate_svm_sweep,
    probability_columns,
)

SEED = 20261122
N_SAMPLES = 373
N_SUBJECTS = 33
N_FEATURES = 5000
CLASS_WEIGHTS = [0.2, 0.15, 0.2, 0.2, 0.05, 0.05, 0.15]  # objective I-VII, as config.yaml
CLASSES = ["I", "II", "III", "IV", "V", "VI", "VII"]
CASME2_POLY = SVMParams(kernel="poly", gamma=0.1, degree=4, coef0=1.0, C=1.0, scaling="minmax")
SWEEP = [
    SVMParams(kernel="rbf", C=c, gamma=g, scaling="minmax")
    for c in (1.0, 10.0, 100.0)
    for g in ("scale", 1e-4)
]


def synthetic_problem(seed: int = SEED):
    """373 x 5,000 features: uniform histogram-like values, a class shift on 10 % of them and a
    per-subject offset (so LOSO is harder than 10-fold, as on real data)."""
    rng = np.random.default_rng(seed)
    subjects = np.sort(rng.integers(0, N_SUBJECTS, N_SAMPLES))
    subjects[:N_SUBJECTS] = np.arange(N_SUBJECTS)  # every subject present
    subjects = np.sort(subjects)
    labels = rng.choice(len(CLASSES), N_SAMPLES, p=CLASS_WEIGHTS)
    features = rng.gamma(2.0, 1.0, (N_SAMPLES, N_FEATURES))
    informative = rng.choice(N_FEATURES, N_FEATURES // 10, replace=False)
    class_means = rng.normal(0.0, 0.3, (len(CLASSES), len(informative)))
    features[:, informative] += class_means[labels]
    features += rng.normal(0.0, 0.5, (N_SUBJECTS, N_FEATURES))[subjects]
    features = np.abs(features)
    features /= features.sum(axis=1, keepdims=True)  # normalised like an LBP-TOP histogram
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    return samples, [str(s) for s in subjects], [CLASSES[k] for k in labels], features


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples, subjects, labels, features = synthetic_problem()
    protocols = {
        "loso": loso_splits(samples, subjects, labels),
        "10x10-fold": kfold_splits(samples, subjects, labels, seed=SEED),
    }
    rows: list[dict] = []
    agreement: dict[str, dict] = {}
    with threadpool_limits(limits=1):  # one core: BLAS included
        for name, splits in protocols.items():
            n_folds = int(splits.groupby(["repeat", "fold"]).ngroups)
            shared, t_shared = _timed(
                lambda s=splits: cross_validate_svm(
                    features, samples, s, CASME2_POLY, seed=SEED, classes=CLASSES
                )
            )
            direct, t_direct = _timed(
                lambda s=splits: cross_validate_svm(
                    features,
                    samples,
                    s,
                    CASME2_POLY,
                    seed=SEED,
                    classes=CLASSES,
                    precompute=False,
                )
            )
            _, t_sweep = _timed(
                lambda s=splits: cross_validate_svm_sweep(
                    features, samples, s, SWEEP, seed=SEED, classes=CLASSES
                )
            )
            columns = probability_columns(CLASSES)
            agreement[name] = {
                "identical_predictions": float((shared["predicted"] == direct["predicted"]).mean()),
                "max_probability_difference": float(
                    np.abs(shared[columns].to_numpy() - direct[columns].to_numpy()).max()
                ),
            }
            accuracy = {
                mode: float(
                    summarize_scores(table)
                    .set_index(["metric", "aggregation"])
                    .loc[("accuracy", "pooled"), "mean"]
                )
                for mode, table in (("precomputed", shared), ("direct", direct))
            }
            for mode, seconds, settings, measured in (
                ("direct", t_direct, 1, True),
                ("precomputed", t_shared, 1, True),
                ("direct sweep (estimate)", t_direct * len(SWEEP), len(SWEEP), False),
                ("precomputed sweep", t_sweep, len(SWEEP), True),
            ):
                rows.append(
                    {
                        "protocol": name,
                        "mode": mode,
                        "settings": settings,
                        "folds": n_folds,
                        "seconds": round(seconds, 3),
                        "ms_per_fold_and_setting": round(1e3 * seconds / n_folds / settings, 2),
                        "measured": measured,
                        "pooled_accuracy": accuracy.get(mode, float("nan")),
                    }
                )
            print(
                f"{name}: direct {t_direct:.1f} s, precomputed {t_shared:.1f} s, "
                f"sweep of {len(SWEEP)} {t_sweep:.1f} s",
                flush=True,
            )
        # What the honest (nested) fusion weight costs: the inner CV of every outer LOSO fold
        # (inner LOSO), for one modality, precomputed.
        inner = nested_splits(protocols["loso"], "loso", seed=SEED)
        _, t_nested = _timed(
            lambda: cross_validate_svm(
                features, samples, inner, CASME2_POLY, seed=SEED, classes=CLASSES
            )
        )
        n_inner = int(inner.groupby(["outer_repeat", "outer_fold", "fold"]).ngroups)
        rows.append(
            {
                "protocol": "loso inner CV (nested a, one modality)",
                "mode": "precomputed",
                "settings": 1,
                "folds": n_inner,
                "seconds": round(t_nested, 3),
                "ms_per_fold_and_setting": round(1e3 * t_nested / n_inner, 2),
                "measured": True,
                "pooled_accuracy": float("nan"),
            }
        )
        print(f"nested loso inner CV: {n_inner} folds, {t_nested:.1f} s", flush=True)
    total = {
        mode: sum(r["seconds"] for r in rows if r["mode"] == mode and r["protocol"] in protocols)
        for mode in ("direct", "precomputed")
    }
    result = {
        "problem": {
            "samples": N_SAMPLES,
            "subjects": N_SUBJECTS,
            "features": N_FEATURES,
            "classes": len(CLASSES),
            "seed": SEED,
        },
        "svm": {"single": CASME2_POLY.__dict__, "sweep": [p.__dict__ for p in SWEEP]},
        "threads": 1,
        "rows": rows,
        "loso_plus_10x10_seconds": total,
        "speedup": total["direct"] / total["precomputed"],
        "agreement": agreement,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "scikit-learn": importlib.metadata.version("scikit-learn"),
            "numpy": importlib.metadata.version("numpy"),
        },
    }
    (out_dir / "classify.json").write_text(json.dumps(result, indent=2) + "\n")
    with (out_dir / "classify.tsv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    _plot(out_dir / "classify.png", rows)
    return result


def _plot(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    protocols = ["loso", "10x10-fold"]
    modes = list(dict.fromkeys(r["mode"] for r in rows if r["protocol"] in protocols))
    width = 0.8 / len(modes)
    for m, mode in enumerate(modes):
        values = [
            next(r["seconds"] for r in rows if (r["protocol"], r["mode"]) == (p, mode))
            for p in protocols
        ]
        bars = left.bar(
            np.arange(len(protocols)) + m * width,
            values,
            width,
            label=mode,
            hatch="//" if "estimate" in mode else None,
        )
        left.bar_label(bars, fmt="%.1f", fontsize=7)
    left.set_xticks(np.arange(len(protocols)) + 0.4 - width / 2)
    left.set_xticklabels(protocols)
    left.set_yscale("log")
    left.set_ylabel("seconds, one core (log)")
    left.set_title(f"SVM CV, {N_SAMPLES} x {N_FEATURES}; sweep = {len(SWEEP)} settings")
    left.legend(fontsize=8)

    labels = [f"{r['protocol']}\n{r['mode']}" for r in rows if r["measured"]]
    values = [r["ms_per_fold_and_setting"] for r in rows if r["measured"]]
    right.barh(labels, values, color="tab:blue")
    right.set_xscale("log")
    right.set_xlabel("ms per fold and setting (log; shared machine)")
    right.tick_params(axis="y", labelsize=7)
    right.invert_yaxis()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
