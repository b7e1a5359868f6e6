"""Benchmark: LOSO training time of the Table 12 networks (learn/deep/), all folds batched.

The stand-in has the shape of the MEGC 2019 composite that STSTNet was published on: 442
inputs (3, 28, 28) in 0-255 from 68 subjects (2 to 13 samples each), 3 classes, LOSO, so 68
fold-models. Each network is trained for a few epochs at two epoch counts; the difference
gives the cost of one epoch of all 68 folds (set-up and evaluation cancel), extrapolated to the
published 800 epochs (STSTNet: Adam 5e-5, batch 256). For comparison, one fold trained alone
(the same code with one model, i.e. the folds one after another) is timed the same way.

Threads: 2 (torch.set_num_threads), the machine's two cores. The machine is shared: the load
average at the start and end is recorded, and the figures are upper bounds of what an idle
machine gives.

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


def _time(x, y, train, test, model: str, epochs: int) -> float:
    started = time.perf_counter()
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
        n_threads=THREADS,
    )
    return time.perf_counter() - started


def per_epoch(x, y, train, test, model: str, low: int, high: int) -> dict:
    t_low = _time(x, y, train, test, model, low)
    t_high = _time(x, y, train, test, model, high)
    epoch = (t_high - t_low) / (high - low)
    return {"seconds_low": t_low, "seconds_high": t_high, "epochs": [low, high], "epoch_s": epoch}


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
    for model, (low, high) in {
        "ststnet": (1, 3),
        "offapexnet": (1, 2),
        "stcnn3d_on_flow_sized_clips": (1, 2),
    }.items():
        name = model
        xm = x
        if model.startswith("stcnn3d"):
            name = "stcnn3d"
            # (1, 8, 28, 28) clips: as many values per sample as 8 gray 28 x 28 frames.
            xm = np.repeat(x[:, :1, None], 8, axis=2)
        batched = per_epoch(xm, y, train, test, name, low, high)
        alone = per_epoch(xm, y, train[:1], test[:1], name, low, high)
        entry = {
            "batched_68_folds": batched,
            "one_fold_alone": alone,
            "batched_68x800_min": batched["epoch_s"] * epochs / 60,
            "sequential_68x800_min": alone["epoch_s"] * len(order) * epochs / 60,
        }
        report["networks"][model] = entry
        rows.append(
            f"{model}\t{batched['epoch_s']:.2f}\t{alone['epoch_s'] * 1000:.0f}\t"
            f"{entry['batched_68x800_min']:.1f}\t{entry['sequential_68x800_min']:.1f}"
        )
        print(rows[-1], flush=True)
    report["load_average_end"] = os.getloadavg()
    (out_dir / "deep.json").write_text(json.dumps(report, indent=2) + "\n")
    header = (
        "network\tepoch_68_folds_s\tepoch_one_fold_ms\t68x800_batched_min\t68x800_sequential_min"
    )
    (out_dir / "deep.tsv").write_text("\n".join([header, *rows]) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
