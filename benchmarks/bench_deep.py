"""Benchmark: LOSO training time of the Table 12 networks (learn/deep/).

The stand-in has the shape of the MEGC 2019 composite that STSTNet was published on: 442
inputs (3, 28, 28) in 0-255 from 68 subjects (2 to 13 samples each), 3 classes, LOSO, so 68
fold-models of ~435 training inputs. Each way of training is timed at two epoch counts; the
difference gives the cost of one epoch (set-up and evaluation cancel), projected to 68 folds x
the published 800 epochs (STSTNet: Adam 5e-5, batch 256):

- ``shared`` (STSTNet only, its CPU default): all 68 folds in groups of 8 on shared
  mini-batches (learn/deep/shared.py), ``n_threads=2``: wall and CPU time per fold and epoch;
- ``one_fold``: one fold alone as a plain PyTorch network on one thread (``batched=False``,
  the CPU default of the other networks; STSTNet's CPU default before the shared path);
- ``parallel``: 4 folds, one at a time each on one thread, 2 in parallel (``batched=False``,
  ``n_threads=2``): wall time per fold and epoch;
- ``batched``: the same 4 folds as one batched model on 2 threads (the GPU default).

``68x800_wall_min`` projects the measured wall time per fold and epoch of the way (for
``one_fold``: that of ``parallel``); on a loaded machine the wall time mostly measures the
neighbours, so ``68x800_cpu_bound_2_cores_min`` also projects the CPU time per fold and epoch
shared by 2 cores (what an otherwise idle machine gives, near enough).

The 3D CNN is timed on (1, 8, 28, 28) clips (as many values per sample as 8 gray 28 x 28
frames; the default run's clips have 16 frames, twice the cost).

The machine is shared: the load average at the start and end is recorded, and CPU times are
given beside wall times; both are upper bounds of what an idle machine gives.

Writes to `out_dir`: deep.json and deep.tsv.

Run: python -m benchmarks bench_deep
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from microexp.learn.deep import PUBLISHED_TRAINING, train_predict

N_SUBJECTS = 68
N_SAMPLES = 442
THREADS = 2
PARALLEL_FOLDS = 4


def megc_like(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """442 inputs from 68 subjects with uneven sample counts, 3 classes."""
    rng = np.random.default_rng(seed)
    sizes = np.full(N_SUBJECTS, 2)
    extra = rng.multinomial(N_SAMPLES - sizes.sum(), rng.dirichlet(np.ones(N_SUBJECTS) * 2))
    sizes = sizes + extra
    groups = np.repeat(np.arange(N_SUBJECTS), sizes)
    y = rng.integers(0, 3, N_SAMPLES)
    x = rng.uniform(0, 255, (N_SAMPLES, 3, 28, 28)).astype(np.float32)
    return x, y, groups


def _time(x, y, train, test, model: str, epochs: int, **kwargs) -> tuple[float, float]:
    """(wall, CPU) seconds of one train_predict call."""
    wall, cpu = time.perf_counter(), time.process_time()
    train_predict(
        x,
        y,
        train,
        test,
        list(range(len(train))),
        model=model,
        epochs=epochs,
        batch_size=PUBLISHED_TRAINING["batch_size"],
        learning_rate=PUBLISHED_TRAINING["learning_rate"],
        **kwargs,
    )
    return time.perf_counter() - wall, time.process_time() - cpu


def per_fold_epoch(x, y, train, test, model: str, low: int, high: int, **kwargs) -> dict:
    """Seconds per fold and epoch (wall and CPU) from the difference of two epoch counts."""
    wall_low, cpu_low = _time(x, y, train, test, model, low, **kwargs)
    wall_high, cpu_high = _time(x, y, train, test, model, high, **kwargs)
    scale = (high - low) * len(train)
    return {
        "folds": len(train),
        "epochs": [low, high],
        "wall_s": [wall_low, wall_high],
        "cpu_s": [cpu_low, cpu_high],
        "wall_per_fold_epoch_s": (wall_high - wall_low) / scale,
        "cpu_per_fold_epoch_s": (cpu_high - cpu_low) / scale,
    }


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y, groups = megc_like()
    order = list(dict.fromkeys(groups.tolist()))
    train = [np.flatnonzero(groups != s) for s in order]
    test = [np.flatnonzero(groups == s) for s in order]
    epochs = PUBLISHED_TRAINING["epochs"]
    report: dict = {
        "machine": platform.processor() or platform.machine(),
        "threads": THREADS,
        "load_average_start": os.getloadavg(),
        "n_samples": N_SAMPLES,
        "n_folds": len(order),
        "published_epochs": epochs,
        "networks": {},
    }
    rows = []
    k = PARALLEL_FOLDS
    n_folds = len(order)

    def row(network: str, way: str, timing: dict, threads: int, wall: float) -> str:
        cpu = timing["cpu_per_fold_epoch_s"]
        return (
            f"{network}\t{way}\t{timing['folds']}\t{threads}\t"
            f"{timing['wall_per_fold_epoch_s'] * 1000:.1f}\t{cpu * 1000:.1f}\t"
            f"{wall * n_folds * epochs / 60:.1f}\t{cpu * n_folds * epochs / THREADS / 60:.1f}"
        )

    for model, (low, high) in {
        "ststnet": (1, 4),
        "offapexnet": (1, 3),
        "stcnn3d_on_8_frame_clips": (1, 2),
    }.items():
        name = model
        xm = x
        if model.startswith("stcnn3d"):
            name = "stcnn3d"
            xm = np.repeat(x[:, :1, None], 8, axis=2)
        entry: dict = {}
        if name == "ststnet":
            _time(xm, y, train, test, name, 1, n_threads=THREADS)  # warm-up (compilation)
            shared = per_fold_epoch(xm, y, train, test, name, 1, 3, n_threads=THREADS)
            entry["shared"] = shared
            rows.append(row(model, "shared", shared, THREADS, shared["wall_per_fold_epoch_s"]))
            print(rows[-1], flush=True)
        plain = {"n_threads": 1, "batched": False}
        _time(xm, y, train[:1], test[:1], name, 1, **plain)  # warm-up (first calls)
        one = per_fold_epoch(xm, y, train[:1], test[:1], name, low, high, **plain)
        parallel = per_fold_epoch(
            xm, y, train[:k], test[:k], name, low, high, n_threads=THREADS, batched=False
        )
        batched = per_fold_epoch(
            xm, y, train[:k], test[:k], name, low, high, n_threads=THREADS, batched=True
        )
        entry.update({"one_fold": one, "parallel": parallel, "batched": batched})
        report["networks"][model] = entry
        rows.append(row(model, "one_fold", one, 1, parallel["wall_per_fold_epoch_s"]))
        rows.append(row(model, "parallel", parallel, THREADS, parallel["wall_per_fold_epoch_s"]))
        rows.append(row(model, "batched", batched, THREADS, batched["wall_per_fold_epoch_s"]))
        print("\n".join(rows[-3:]), flush=True)
    report["load_average_end"] = os.getloadavg()
    (out_dir / "deep.json").write_text(json.dumps(report, indent=2) + "\n")
    header = (
        "network\tway\tfolds\tthreads\twall_ms_per_fold_epoch\tcpu_ms_per_fold_epoch\t"
        "68x800_wall_min\t68x800_cpu_bound_2_cores_min"
    )
    (out_dir / "deep.tsv").write_text("\n".join([header, *rows]) + "\n")
    print(json.dumps({k: report[k] for k in ("load_average_start", "load_average_end")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
