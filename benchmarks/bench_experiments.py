"""Benchmark: the DSME-3D block sweep (231 grid x overlap variants, Tables 7-10) through
``microexp.learn.experiments.run_sweep`` on one core.

docs/tables.md. A synthetic-sized data set (72 micro-expressions of 9 subjects, 4 classes) is
written as per-sample LBP-TOP integral files (168 x 168 crops, 20 frames, radii (1, 1, 4), P = 8,
u2; random texture with a weak class signal) and a samples.tsv, exactly as the features rule lays
them out. Measured:

- ``feature_matrices``: every integral file opened once, all 231 variants in one pass;
- ``run_sweep`` LOSO (9 folds) for the 231 experiments: loading + splits + SVMs;
- ``run_sweep`` 10 x 10-fold for the 33 grids at one overlap (an estimate for 231 is x7);
- one experiment at a time (``load_experiment`` + ``run_experiment``) for a few variants, to
  show what the one-pass loading saves (extrapolated to 231, labelled as such).

Timings come from a shared machine: indicative, not exact. Writes experiments.json to out_dir.

Run: python -m benchmarks bench_experiments   (or python benchmarks/bench_experiments.py [out])
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
    integral_histograms,
    save_integral,
)
from microexp.features.lbptop import lbptop_codes
from microexp.learn.experiments import run_experiment, run_sweep
from microexp.learn.matrices import feature_matrices, load_experiment
from microexp.learn.specs import expand_sweep

SEED = 20261122
N_SUBJECTS = 9
PER_SUBJECT = 8
CLASSES = ("I", "II", "III", "IV")
CROP = (168, 168)
N_FRAMES = 20
SETTING = "r1-1-4_p8-8-8_u2_nearest"


def write_dataset(results: Path) -> None:
    rng = np.random.default_rng(SEED)
    folder = results / "bench" / "features" / "lbptop" / SETTING
    folder.mkdir(parents=True)
    rows = []
    for s in range(N_SUBJECTS):
        for v in range(PER_SUBJECT):
            cls = CLASSES[(s + v) % len(CLASSES)]
            sample = f"{s:02d}_{v}"
            volume = rng.integers(0, 200, size=(N_FRAMES, *CROP))
            # A class-dependent band of coarser texture, on the wrong band for 40 % of samples,
            # so that accuracy is neither chance nor perfect.
            k = CLASSES.index(cls) if rng.random() < 0.6 else int(rng.integers(len(CLASSES)))
            volume[:, 40 * k : 40 * k + 40, :] //= 2
            codes = lbptop_codes(volume.astype(np.uint8), (1, 1, 4), (8, 8, 8))
            save_integral(folder / f"{sample}.npz", integral_histograms(codes))
            rows.append(("bench", f"{s:02d}", sample, "micro", cls, "others"))
    columns = ["dataset", "subject", "sample", "expression_type", "objective_class", "emotion"]
    pd.DataFrame(rows, columns=columns).to_csv(
        results / "bench" / "samples.tsv", sep="\t", index=False
    )


def sweep_spec(protocols: list[str], overlaps) -> dict:
    return {
        "dataset": "bench",
        "scheme": "objective",
        "feature": {"lbptop": {"setting": SETTING}},
        "svm": {"kernel": "rbf", "C": 1.0, "gamma": "scale", "scaling": "minmax"},
        "protocols": protocols,
        "seed": SEED,
        "sweep": {"grid": "dsme3d", "overlap": overlaps},
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "samples": N_SUBJECTS * PER_SUBJECT,
        "subjects": N_SUBJECTS,
        "classes": len(CLASSES),
        "crop": CROP,
        "frames": N_FRAMES,
        "setting": SETTING,
    }
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        results = Path(tmp)
        started = time.perf_counter()
        write_dataset(results)
        report["write_integrals_s"] = time.perf_counter() - started
        folder = results / "bench" / "features" / "lbptop" / SETTING
        files = {f"lbptop/{SETTING}": {p.stem: p for p in folder.glob("*.npz")}}
        inputs = {"samples_tsv": results / "bench" / "samples.tsv", "feature_files": files}

        loso = expand_sweep(sweep_spec(["loso"], "dsme3d"), "blocks")
        started = time.perf_counter()
        runs = run_sweep(loso, **inputs)
        report["run_sweep_231_loso_s"] = time.perf_counter() - started
        accuracy = {}
        for name, run in runs.items():
            table = run.predictions["loso"]
            accuracy[name] = float((table["label"] == table["predicted"]).mean())
        report["loso_accuracy_range"] = [min(accuracy.values()), max(accuracy.values())]
        report["peak_rss_after_run_sweep_231_mb"] = peak_rss_mb()
        del runs

        samples = pd.read_csv(results / "bench" / "samples.tsv", sep="\t", dtype=str)["sample"]
        started = time.perf_counter()
        matrices = feature_matrices(files, list(samples), [e.feature for e in loso])
        report["feature_matrices_231_s"] = time.perf_counter() - started
        report["feature_values_per_sample"] = int(sum(m.features.shape[1] for m in matrices))
        report["feature_matrices_231_mb"] = sum(m.features.nbytes for m in matrices) / 2**20
        del matrices

        started = time.perf_counter()
        half = expand_sweep(sweep_spec(["loso"], "dsme3d"), "blocks")[::7]  # overlap 0 only
        run_sweep(half, features_per_pass=11, **inputs)
        report["run_sweep_33_loso_3_passes_s"] = time.perf_counter() - started

        kfold = expand_sweep(sweep_spec(["kfold"], [int(DSME3D_OVERLAPS[3])]), "blocks")
        started = time.perf_counter()
        run_sweep(kfold, **inputs)
        seconds = time.perf_counter() - started
        report["run_sweep_33_kfold10x10_s"] = seconds
        report["run_sweep_231_kfold10x10_estimate_s"] = seconds * len(DSME3D_OVERLAPS)

        started = time.perf_counter()
        few = loso[:: len(loso) // 7][:7]
        for spec in few:
            data = load_experiment(spec, **inputs)
            run_experiment(
                data.features, data.samples, data.subjects, data.labels, spec.svm, "loso",
                seed=SEED, classes=data.classes,
            )  # fmt: skip
        seconds = time.perf_counter() - started
        report["one_at_a_time_7_loso_s"] = seconds
        report["one_at_a_time_231_loso_estimate_s"] = seconds / len(few) * len(DSME3D_GRIDS) * 7
    report["peak_rss_mb"] = peak_rss_mb()
    (out_dir / "experiments.json").write_text(json.dumps(report, indent=2) + "\n")
    for key, value in report.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    return report


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
