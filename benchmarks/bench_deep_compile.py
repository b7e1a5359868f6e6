"""Benchmark: does ``torch.compile`` pay for STSTNet's LOSO training on the CPU?

Measured on the stand-in of ``bench_deep`` (442 inputs (3, 28, 28), 68 subjects, batch 256, so
two mini-batches per fold: 256 and a last partial batch whose size depends on the fold), with
the package's training step (``learn/deep/training._train_one``: one fold, one thread,
deterministic algorithms, Adam 5e-5, seeded dropout masks drawn outside the network). Targets:

- ``eager``: the package's step as it runs today (``networks._forward_one``, whose ReLU,
  batch-norm sums and max pooling share one hand-written backward);
- ``compiled_package``: ``torch.compile`` of that same loss, static shapes (its data-dependent
  pool-first branch breaks the graph; the hand-written backward is traced as it is);
- ``compiled_traceable_static`` / ``compiled_traceable_dynamic``: the same maths written with
  plain operators and no data-dependent branch (batch norm applied before the max pooling, which
  gives the same values bit for bit since rounding is monotone), compiled with static shapes or
  ``dynamic=True`` (one graph for every batch size).

Per target: ``compile_s`` (wall of the first epoch of the first fold minus a steady epoch),
``recompile_s`` (the same for a second fold, whose last batch has another size), steady ms per
epoch (wall and CPU) for one fold on one thread, ms per fold and epoch (wall) with 2 folds in
parallel threads, and the projected 68 folds x 800 epochs on 2 cores: compile + one recompile
per distinct last-batch size (static shapes) + 68 x 800 x the parallel figure (under load
mostly the neighbours' share), and the same with one fold's CPU time halved (2 idle cores).
``max_abs_diff``: largest parameter difference to eager after the measured epochs. Load
average recorded.
Inductor keeps compiled kernels in an on-disk cache (``/tmp/torchinductor_$USER``): a second
run of this benchmark compiles in seconds, so only a first run's ``compile_s`` is the cold
figure a fresh machine pays.

Writes to `out_dir`: deep_compile.json and deep_compile.tsv.

Run: python -m benchmarks bench_deep_compile
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.bench_deep import megc_like
from microexp.learn.deep.networks import (
    _ADAM_BETAS,
    _ADAM_EPS,
    _BN_EPS,
    _BN_MOMENTUM,
    _DROPOUT,
    PUBLISHED_TRAINING,
    _buffers,
    _forward_one,
    _init_params,
)
from microexp.learn.deep.training import _model_batches

EPOCHS = 5  # steady epochs timed per fold
BATCH = PUBLISHED_TRAINING["batch_size"]


def package_loss(p, buf, xb, yb, drop):
    import torch.nn.functional as F

    return F.cross_entropy(_forward_one("ststnet", p, buf, xb, drop, train=True), yb)


def traceable_loss(p, buf, xb, yb, drop):
    """``package_loss`` with plain operators and no data-dependent branch (same maths)."""
    import torch
    import torch.nn.functional as F

    y = F.conv2d(xb, p["conv_w"], p["conv_b"], padding=2)
    r = torch.relu(y)
    count = y.shape[0] * y.shape[2] * y.shape[3]
    mean = r.sum(dim=(0, 2, 3)) / count
    var = ((r * r).sum(dim=(0, 2, 3)) / count - mean * mean).clamp_min(0.0)
    with torch.no_grad():
        buf["bn_mean"].mul_(1 - _BN_MOMENTUM).add_(mean, alpha=_BN_MOMENTUM)
        buf["bn_var"].mul_(1 - _BN_MOMENTUM).add_(var * (count / (count - 1)), alpha=_BN_MOMENTUM)
    scale = p["bn_g"] / torch.sqrt(var + _BN_EPS)
    shift = p["bn_b"] - mean * scale
    z = F.max_pool2d(r * scale[:, None, None] + shift[:, None, None], 3, 3, 1) * drop[0]
    return F.cross_entropy(F.linear(F.avg_pool2d(z, 2).flatten(1), p["fc_w"], p["fc_b"]), yb)


class Fold:
    """One fold's model, optimiser, generator and fixed mini-batches (as ``_train_one``)."""

    def __init__(self, x_all, y_all, rows, permutation, seed: int):
        import torch

        self.gen = torch.Generator().manual_seed(seed)
        self.params = _init_params("ststnet", self.gen, 3, (3, 28, 28))
        for value in self.params.values():
            value.requires_grad_(True)
        self.buffers = {k: v[0] for k, v in _buffers("ststnet", 1).items()}
        self.optimiser = torch.optim.Adam(
            list(self.params.values()), lr=PUBLISHED_TRAINING["learning_rate"],
            betas=_ADAM_BETAS, eps=_ADAM_EPS, foreach=False,
        )  # fmt: skip
        self.steps = []
        for batch in _model_batches(rows, permutation, BATCH):
            index = torch.from_numpy(np.asarray(batch, dtype=np.int64))
            xb = x_all.index_select(0, index).contiguous(memory_format=torch.channels_last)
            self.steps.append((xb, y_all.index_select(0, index)))

    def epochs(self, loss, n: int) -> None:
        import torch

        keep = 1.0 - _DROPOUT
        with torch.enable_grad():
            for _ in range(n):
                for xb, yb in self.steps:
                    draw = torch.rand((len(xb), 16, 10, 10), generator=self.gen)
                    drop = [(draw < keep).float() / keep]
                    self.optimiser.zero_grad(set_to_none=True)
                    loss(self.params, self.buffers, xb, yb, drop).backward()
                    self.optimiser.step()


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(name: str, loss, data, n_shapes: int) -> tuple[dict, dict]:
    x_all, y_all, train, permutation = data
    a = Fold(x_all, y_all, train[0], permutation, seed=0)
    b = Fold(x_all, y_all, train[1], permutation, seed=1)
    first_a, _ = _timed(lambda: a.epochs(loss, 1))
    wall, cpu = _timed(lambda: a.epochs(loss, EPOCHS))
    epoch_wall, epoch_cpu = wall / EPOCHS, cpu / EPOCHS
    first_b, _ = _timed(lambda: b.epochs(loss, 1))
    c = Fold(x_all, y_all, train[0], permutation, seed=2)
    d = Fold(x_all, y_all, train[1], permutation, seed=3)
    with ThreadPoolExecutor(max_workers=2) as pool:
        started = time.perf_counter()
        list(pool.map(lambda f: f.epochs(loss, EPOCHS), (c, d)))
        parallel = (time.perf_counter() - started) / (2 * EPOCHS)
    compile_s = max(first_a - epoch_wall, 0.0)
    recompile_s = max(first_b - epoch_wall, 0.0)
    extra = recompile_s * max(n_shapes - 1, 0) if recompile_s > 1.0 else 0.0
    fold_epochs = 68 * PUBLISHED_TRAINING["epochs"]
    projected = (compile_s + extra + fold_epochs * parallel) / 60
    # What 2 otherwise idle cores would give: one fold's CPU time, folds shared by 2 threads.
    cpu_bound = (compile_s + extra + fold_epochs * epoch_cpu / 2) / 60
    row = {
        "target": name,
        "compile_s": compile_s,
        "recompile_s": recompile_s,
        "one_fold_wall_ms": epoch_wall * 1000,
        "one_fold_cpu_ms": epoch_cpu * 1000,
        "parallel_2_wall_ms_per_fold": parallel * 1000,
        "68x800_2_cores_min": projected,
        "68x800_cpu_bound_2_cores_min": cpu_bound,
    }
    print(json.dumps(row), flush=True)
    return row, {k: v.detach().clone() for k, v in a.params.items()}


def main(out_dir: Path) -> None:
    import torch

    out_dir.mkdir(parents=True, exist_ok=True)
    x, y, groups = megc_like()
    order = list(dict.fromkeys(groups.tolist()))
    train = [np.flatnonzero(groups != s) for s in order]
    # Two folds whose last partial batches differ in size (a static graph recompiles).
    sizes = [len(t) % BATCH for t in train]
    second = next(k for k in range(1, len(train)) if sizes[k] != sizes[0])
    data = (
        torch.from_numpy(x),
        torch.from_numpy(y.astype(np.int64)),
        [train[0], train[second]],
        np.random.default_rng(0).permutation(len(x)),
    )
    report: dict = {
        "torch": torch.__version__,
        "cxx": shutil.which("c++") or shutil.which("g++"),
        "distinct_last_batch_sizes": len(set(sizes)),
        "load_average_start": os.getloadavg(),
        "rows": [],
    }
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        targets = {
            "eager": package_loss,
            "compiled_package": torch.compile(package_loss, dynamic=False),
            "compiled_traceable_static": torch.compile(traceable_loss, dynamic=False),
            "compiled_traceable_dynamic": torch.compile(traceable_loss, dynamic=True),
        }
        reference = None
        for name, loss in targets.items():
            torch._dynamo.reset()
            row, params = measure(name, loss, data, len(set(sizes)))
            if reference is None:
                reference = params
            row["max_abs_diff"] = max(
                float((params[k] - reference[k]).abs().max()) for k in reference
            )
            report["rows"].append(row)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    report["load_average_end"] = os.getloadavg()
    (out_dir / "deep_compile.json").write_text(json.dumps(report, indent=2) + "\n")
    keys = list(report["rows"][0])
    lines = ["\t".join(keys)]
    for row in report["rows"]:
        lines.append(
            "\t".join(v if isinstance(v, str) else f"{v:.3g}" for v in (row[k] for k in keys))
        )
    (out_dir / "deep_compile.tsv").write_text("\n".join(lines) + "\n")
    print(json.dumps({k: report[k] for k in ("load_average_start", "load_average_end")}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
