"""Training of the Table 12 networks: many models (one per LOSO fold) at once, seeded and
deterministic (microexp.learn.deep's docstring)."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from microexp.learn.deep.networks import (
    _ADAM_BETAS,
    _ADAM_EPS,
    _CHUNK_BYTES,
    _DROPOUT,
    PUBLISHED_TRAINING,
    _buffers,
    _check_inputs,
    _check_model,
    _dropout_shapes,
    _forward,
    _forward_one,
    _init_params,
)

__all__ = ["train_predict"]


@dataclass
class _Chunk:
    """A run of consecutive models trained together: parameters, buffers, Adam state."""

    models: np.ndarray  # model indices
    params: dict
    buffers: dict
    exp_avg: dict
    exp_avg_sq: dict
    steps: object  # (Mc,) float tensor: Adam steps taken per model
    generators: list


@contextlib.contextmanager
def _deterministic(n_threads: int | None) -> Iterator[None]:
    import torch

    previous = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    if torch.cuda.is_available():
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    if n_threads is not None:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)
        torch.set_num_threads(threads)


def _default_device(device: str | None) -> str:
    import torch

    if device is not None:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _chunk_size(model: str, n_rows: int, sample_shape: tuple[int, ...], requested: int | None):
    if requested is not None:
        return max(1, int(requested))
    per_model_row = {
        "ststnet": 16 * 30 * 30,
        "offapexnet": 2 * 6 * 28 * 28 + 2 * 16 * 14 * 14 + 2048,
        "stcnn3d": 8 * int(np.prod(sample_shape[1:])),
    }[model]
    return max(1, _CHUNK_BYTES // (4 * per_model_row * max(n_rows, 1)))


def _schedule(
    train_sets: Sequence[np.ndarray], permutation: np.ndarray, batch_size: int
) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Mini-batches per step: (union rows, per model its rows) in the shared permutation order.

    Model m's training rows keep the order of ``permutation``; step k takes its k-th run of
    ``batch_size`` rows (none if it has fewer steps). The same every epoch.
    """
    rank = np.empty_like(permutation)
    rank[permutation] = np.arange(len(permutation))
    ordered = [np.asarray(t)[np.argsort(rank[np.asarray(t)], kind="stable")] for t in train_sets]
    n_steps = max(math.ceil(len(o) / batch_size) for o in ordered)
    steps = []
    for k in range(n_steps):
        batches = [o[k * batch_size : (k + 1) * batch_size] for o in ordered]
        union = np.unique(np.concatenate(batches))
        steps.append((union, batches))
    return steps


def _adam_update(chunk: _Chunk, active, learning_rate: float) -> None:
    """PyTorch's Adam, per model, for the models active at this step only."""
    import torch

    beta1, beta2 = _ADAM_BETAS
    with torch.no_grad():
        chunk.steps += active.to(chunk.steps.dtype)
        step = chunk.steps.clamp_min(1.0)
        bias1 = 1 - beta1**step
        bias2_sqrt = torch.sqrt(1 - beta2**step)
        everyone = bool(active.all())
        for name, param in chunk.params.items():
            grad = param.grad
            if grad is None:
                continue
            shape = (-1,) + (1,) * (param.dim() - 1)
            m = chunk.exp_avg[name]
            v = chunk.exp_avg_sq[name]
            step_size = (learning_rate / bias1).reshape(shape)
            if everyone:  # the usual case: in place, as torch.optim.Adam
                m.mul_(beta1).add_(grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (v.sqrt() / bias2_sqrt.reshape(shape)).add_(_ADAM_EPS)
                param.sub_(step_size * m / denom)
            else:
                on = active.reshape(shape)
                m.copy_(torch.where(on, beta1 * m + (1 - beta1) * grad, m))
                v.copy_(torch.where(on, beta2 * v + (1 - beta2) * grad * grad, v))
                denom = torch.sqrt(v) / bias2_sqrt.reshape(shape) + _ADAM_EPS
                param.sub_(torch.where(on, step_size * m / denom, torch.zeros_like(param)))
            param.grad = None


def _new_chunk(model, idx, seeds, n_classes, sample_shape, device) -> _Chunk:
    import torch

    gens = [torch.Generator().manual_seed(int(seeds[m])) for m in idx]
    drawn = [_init_params(model, g, n_classes, sample_shape) for g in gens]
    params = {
        k: torch.stack([d[k] for d in drawn]).to(device).requires_grad_(True) for k in drawn[0]
    }
    return _Chunk(
        models=idx,
        params=params,
        buffers={k: v.to(device) for k, v in _buffers(model, len(idx)).items()},
        exp_avg={k: torch.zeros_like(v) for k, v in params.items()},
        exp_avg_sq={k: torch.zeros_like(v) for k, v in params.items()},
        steps=torch.zeros(len(idx), device=device),
        generators=gens,
    )


def _train_step(
    model, chunk, x_all, y_all, union, batches, drop_shapes, n_classes, learning_rate, device
) -> None:
    """One mini-batch step of every model of a chunk on the union of their batches."""
    import torch

    rows = torch.from_numpy(union).to(device)
    x = x_all.index_select(0, rows)
    yb = y_all.index_select(0, rows)
    position = {int(r): i for i, r in enumerate(union)}
    mc = len(chunk.models)
    member = torch.zeros(len(union), mc)
    local_rows = []
    for j, m in enumerate(chunk.models):
        local = np.fromiter((position[int(r)] for r in batches[m]), np.int64, len(batches[m]))
        local_rows.append(local)
        member[local, j] = 1.0
    # Dropout masks: each model draws only for its own rows, from its own generator
    # (independent of which other models share the step).
    keep = 1.0 - _DROPOUT
    drop = []
    for shape in drop_shapes:
        mask = torch.zeros((len(union), mc, *shape))
        for j, g in enumerate(chunk.generators):
            if len(local_rows[j]):
                draw = torch.rand((len(local_rows[j]), *shape), generator=g)
                mask[local_rows[j], j] = (draw < keep).float() / keep
        drop.append(mask.to(device))
    member = member.to(device)
    active = member.sum(0) > 0
    if not bool(active.any()):
        return
    with torch.enable_grad():
        logits = _forward(model, chunk.params, chunk.buffers, x, member, drop, train=True)
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, n_classes), yb.repeat_interleave(mc), reduction="none"
        ).reshape(len(union), mc)
        losses = torch.where(member > 0, losses, torch.zeros_like(losses))
        per_model = losses.sum(0) / member.sum(0).clamp_min(1.0)
        per_model.sum().backward()
    _adam_update(chunk, active, learning_rate)


def _evaluate(model, chunk, x_all, predict_sets, n_classes, device):
    """(model index, softmax probabilities on its prediction rows) after the last epoch:
    dropout off, batch norm on its running statistics."""
    import torch

    wanted = np.unique(np.concatenate([np.asarray(predict_sets[m]) for m in chunk.models]))
    if len(wanted) == 0:
        return [(m, np.empty((0, n_classes))) for m in chunk.models]
    position = {int(r): i for i, r in enumerate(wanted)}
    x = x_all.index_select(0, torch.from_numpy(wanted).to(device))
    logits = _forward(model, chunk.params, chunk.buffers, x, None, [], train=False)
    prob = torch.softmax(logits.double(), dim=-1).cpu().numpy()
    out = []
    for j, m in enumerate(chunk.models):
        rows = np.asarray(predict_sets[m])
        local = np.fromiter((position[int(r)] for r in rows), np.int64, len(rows))
        out.append((m, prob[local, j]))
    return out


def train_predict(
    inputs: np.ndarray,
    y: np.ndarray,
    train_sets: Sequence[np.ndarray],
    predict_sets: Sequence[np.ndarray],
    seeds: Sequence[int],
    *,
    model: str = "ststnet",
    n_classes: int | None = None,
    epochs: int = PUBLISHED_TRAINING["epochs"],
    batch_size: int = PUBLISHED_TRAINING["batch_size"],
    learning_rate: float = PUBLISHED_TRAINING["learning_rate"],
    shuffle_seed: int = 0,
    device: str | None = None,
    n_threads: int | None = None,
    models_per_chunk: int | None = None,
    return_params: bool = False,
    batched: bool | None = None,
    shared: bool | None = None,
):
    """Train one model per training set; softmax probabilities on its predict set.

    ``y``: class codes 0..K-1 (N,). ``train_sets[m]`` / ``predict_sets[m]``: row positions of
    model m's training and prediction samples; ``seeds[m]`` seeds its initial weights and dropout.
    Returns a list of (len(predict_sets[m]), K) float64 arrays (and, with ``return_params``, each
    model's final parameters and buffers as NumPy arrays).

    ``batched``: train all models as one batched model (``models_per_chunk`` at a time) instead
    of each on its own; default: batched on a GPU, one model at a time on the CPU, where
    ``n_threads`` models train in parallel, each on one thread (so the results do not depend on
    ``n_threads``). Both give the same models up to floating-point summation order.

    ``shared``: STSTNet on the CPU only (its default there): the models train in groups on
    shared mini-batches (``_train_predict_shared``); ``batched`` or ``shared=False`` choose
    the other ways.
    """
    import torch

    model = _check_model(model)
    x_np = _check_inputs(inputs, model)
    y = np.asarray(y, dtype=np.int64)
    if y.shape != (len(x_np),):
        raise ValueError(f"{len(x_np)} inputs but labels of shape {y.shape}")
    n_classes = int(n_classes if n_classes is not None else y.max() + 1)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"class codes must lie in 0..{n_classes - 1}")
    if not (len(train_sets) == len(predict_sets) == len(seeds)) or not train_sets:
        raise ValueError("need one training set, prediction set and seed per model")
    for m, rows in enumerate(train_sets):
        if len(rows) == 0:
            raise ValueError(f"model {m} has no training samples")
    if epochs < 1 or batch_size < 1 or learning_rate <= 0:
        raise ValueError("epochs and batch_size must be >= 1, learning_rate > 0")
    device = _default_device(device)
    sample_shape = x_np.shape[1:]
    n_models = len(train_sets)
    if shared is None:
        shared = batched is None and device == "cpu" and model == "ststnet"
    if shared:
        if batched or device != "cpu" or model != "ststnet":
            raise ValueError("shared mini-batches train STSTNet on the CPU, not batched")
        return _train_predict_shared(
            x_np, y, train_sets, predict_sets, seeds, n_classes, epochs, batch_size,
            learning_rate, shuffle_seed, n_threads, return_params,
        )  # fmt: skip
    if batched is None:
        batched = device != "cpu"
    if not batched:
        if device != "cpu":
            raise ValueError(f"one model at a time runs on the CPU; on {device} use batched=True")
        return _train_predict_one_by_one(
            model, x_np, y, train_sets, predict_sets, seeds, n_classes, epochs, batch_size,
            learning_rate, shuffle_seed, n_threads, return_params,
        )  # fmt: skip

    with _deterministic(n_threads), torch.no_grad():
        x_all = torch.from_numpy(x_np).to(device)
        y_all = torch.from_numpy(y.copy()).to(device)
        permutation = np.random.default_rng(shuffle_seed).permutation(len(x_np))
        schedule = _schedule(train_sets, permutation, batch_size)
        max_rows = max(len(u) for u, _ in schedule)
        size = _chunk_size(model, max_rows, sample_shape, models_per_chunk)
        drop_shapes = _dropout_shapes(model, sample_shape)
        results: list[np.ndarray] = [np.empty((0, n_classes))] * n_models
        params_out: list[dict] = []
        # Models are independent, so each chunk is trained through all its epochs and evaluated
        # before the next starts: only one chunk's parameters and Adam state are in memory.
        for start in range(0, n_models, size):
            chunk = _new_chunk(
                model, np.arange(start, min(n_models, start + size)), seeds, n_classes,
                sample_shape, device,
            )  # fmt: skip
            for _epoch in range(epochs):
                for union, batches in schedule:
                    _train_step(
                        model, chunk, x_all, y_all, union, batches, drop_shapes, n_classes,
                        learning_rate, device,
                    )  # fmt: skip
            for m, prob in _evaluate(model, chunk, x_all, predict_sets, n_classes, device):
                results[m] = prob
            if return_params:
                for j in range(len(chunk.models)):
                    state = {k: v[j].detach().cpu().numpy() for k, v in chunk.params.items()}
                    state.update({k: v[j].cpu().numpy() for k, v in chunk.buffers.items()})
                    params_out.append(state)
            del chunk
        if not return_params:
            return results
        return results, params_out


# --------------------------------------------------------------------------------------------
# One model at a time (the CPU default). On a CPU the batched model is memory-bound and no
# faster than the models one after another (README, benchmarks/bench_deep.py); trained one at a
# time, each model is a plain PyTorch network on one thread, and models train in parallel.


def _model_batches(rows: np.ndarray, permutation: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """A model's mini-batches: its rows in ``permutation`` order cut in runs of ``batch_size``
    (as ``_schedule`` cuts them)."""
    rank = np.empty_like(permutation)
    rank[permutation] = np.arange(len(permutation))
    rows = np.asarray(rows)
    ordered = rows[np.argsort(rank[rows], kind="stable")]
    return [ordered[k : k + batch_size] for k in range(0, len(ordered), batch_size)]


def _train_one(
    model: str,
    x_all,
    y_all,
    batches: list[np.ndarray],
    predict_rows: np.ndarray,
    seed: int,
    n_classes: int,
    epochs: int,
    learning_rate: float,
    return_params: bool,
) -> tuple[np.ndarray, dict | None]:
    """Train one model (its initial weights and dropout masks from its own generator, drawn as
    the batched model draws them), evaluate the last epoch on its prediction rows."""
    import torch
    import torch.nn.functional as F

    sample_shape = tuple(x_all.shape[1:])
    gen = torch.Generator().manual_seed(int(seed))
    params = _init_params(model, gen, n_classes, sample_shape)
    for value in params.values():
        value.requires_grad_(True)
    buffers = {k: v[0] for k, v in _buffers(model, 1).items()}
    optimiser = torch.optim.Adam(
        list(params.values()), lr=learning_rate, betas=_ADAM_BETAS, eps=_ADAM_EPS, foreach=False
    )
    drop_shapes = _dropout_shapes(model, sample_shape)
    keep = 1.0 - _DROPOUT
    # The mini-batches are the same every epoch: gathered once.
    steps = []
    for rows in batches:
        index = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        xb = x_all.index_select(0, index)
        if model == "ststnet":
            # Channels-last: PyTorch's CPU convolution and max pooling are faster on it here
            # (measured, benchmarks/bench_deep.py); deterministic like the default layout.
            xb = xb.contiguous(memory_format=torch.channels_last)
        steps.append((xb, y_all.index_select(0, index)))
    with torch.enable_grad():
        for _epoch in range(epochs):
            for xb, yb in steps:
                drop = [
                    (torch.rand((len(xb), *shape), generator=gen) < keep).float() / keep
                    for shape in drop_shapes
                ]
                logits = _forward_one(model, params, buffers, xb, drop, train=True)
                optimiser.zero_grad(set_to_none=True)
                F.cross_entropy(logits, yb).backward()
                optimiser.step()
    with torch.no_grad():
        if len(predict_rows):
            xp = x_all.index_select(0, torch.from_numpy(np.asarray(predict_rows, dtype=np.int64)))
            logits = _forward_one(model, params, buffers, xp, [], train=False)
            prob = torch.softmax(logits.double(), dim=-1).numpy()
        else:
            prob = np.empty((0, n_classes))
    state = None
    if return_params:
        state = {k: v.detach().numpy().copy() for k, v in params.items()}
        state.update({k: v.numpy().copy() for k, v in buffers.items()})
    return prob, state


def _train_predict_one_by_one(
    model, x_np, y, train_sets, predict_sets, seeds, n_classes, epochs, batch_size,
    learning_rate, shuffle_seed, n_threads, return_params,
):  # fmt: skip
    """``train_predict`` with each model trained on its own, ``n_threads`` at a time."""
    import torch

    workers = max(1, int(n_threads) if n_threads is not None else torch.get_num_threads())
    permutation = np.random.default_rng(shuffle_seed).permutation(len(x_np))
    x_all = torch.from_numpy(x_np)
    y_all = torch.from_numpy(y.copy())

    def job(m: int) -> tuple[np.ndarray, dict | None]:
        return _train_one(
            model, x_all, y_all, _model_batches(train_sets[m], permutation, batch_size),
            np.asarray(predict_sets[m]), seeds[m], n_classes, epochs, learning_rate,
            return_params,
        )  # fmt: skip

    # Threads, not processes: PyTorch releases the GIL in its kernels, and every model runs
    # its kernels on one thread, so a model's arithmetic is the same whatever ``workers`` is.
    with _deterministic(1):
        if workers == 1 or len(train_sets) == 1:
            done = [job(m) for m in range(len(train_sets))]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = list(pool.map(job, range(len(train_sets))))
    results = [prob for prob, _ in done]
    if not return_params:
        return results
    return results, [state for _, state in done]


# --------------------------------------------------------------------------------------------
# STSTNet on the CPU (the default there): the models in groups on shared mini-batches
# (learn/deep/shared.py).


def shared_chunks(
    train_sets: Sequence[np.ndarray], permutation: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(rows, member, bounds): the rows some model trains on, in ``permutation`` order; member
    (len(rows), models) bool, a row in a model's training set; the steps' chunks as (start,
    stop) into ``rows``: consecutive runs of ``batch_size``, the same every epoch. At a step a
    model's mini-batch is the chunk's rows of its own training set (the chunk less the rows it
    does not train on, e.g. its test subject's)."""
    membership = np.zeros((len(permutation), len(train_sets)), dtype=bool)
    for m, rows in enumerate(train_sets):
        membership[np.asarray(rows, dtype=np.int64), m] = True
    rows = permutation[membership[permutation].any(axis=1)]
    bounds = [(k, min(k + batch_size, len(rows))) for k in range(0, len(rows), batch_size)]
    return rows, membership[rows], bounds


def _train_group(
    idx: np.ndarray,
    chunk_patches: list,
    chunk_labels: list,
    chunk_member: list[np.ndarray],
    x_all,
    predict_sets: Sequence[np.ndarray],
    seeds: Sequence[int],
    n_classes: int,
    epochs: int,
    learning_rate: float,
    return_params: bool,
) -> list[tuple[int, np.ndarray, dict | None]]:
    """Train the models ``idx`` together on the shared chunks; evaluate the last epoch."""
    import torch
    import torch.nn.functional as F

    from microexp.learn.deep.shared import dropout_masks, forward_train

    group = _new_chunk("ststnet", idx, seeds, n_classes, tuple(x_all.shape[1:]), "cpu")
    n_models = len(idx)
    steps = []
    chunks = zip(chunk_patches, chunk_labels, chunk_member, strict=True)
    for patches_k, labels_k, member_k in chunks:
        member = np.ascontiguousarray(member_k[:, idx])
        active = member.any(axis=0)
        if active.any():
            steps.append(
                (patches_k, labels_k, member, torch.from_numpy(member), torch.from_numpy(active))
            )
    with torch.enable_grad():
        for _epoch in range(epochs):
            for patches_k, labels_k, member, member_t, active_t in steps:
                drop = dropout_masks(group.generators, member)
                logits = forward_train(
                    group.params, group.buffers, patches_k, member_t, drop, active_t
                )
                losses = F.cross_entropy(
                    logits.reshape(-1, n_classes),
                    labels_k.repeat_interleave(n_models),
                    reduction="none",
                ).reshape(len(member), n_models)
                losses = torch.where(member_t, losses, torch.zeros_like(losses))
                per_model = losses.sum(0) / member_t.sum(0).clamp_min(1)
                per_model.sum().backward()
                _adam_update(group, active_t, learning_rate)
    out = []
    with torch.no_grad():
        evaluated = dict(_evaluate("ststnet", group, x_all, predict_sets, n_classes, "cpu"))
        for j, m in enumerate(idx):
            state = None
            if return_params:
                state = {k: v[j].detach().numpy().copy() for k, v in group.params.items()}
                state.update({k: v[j].numpy().copy() for k, v in group.buffers.items()})
            out.append((int(m), evaluated[m], state))
    return out


def _train_predict_shared(
    x_np, y, train_sets, predict_sets, seeds, n_classes, epochs, batch_size, learning_rate,
    shuffle_seed, n_threads, return_params,
):  # fmt: skip
    """``train_predict`` of STSTNet with the models in groups of ``shared.GROUP_MODELS`` on
    shared mini-batches, ``n_threads`` groups at a time, each group on one thread (so the
    results do not depend on ``n_threads``)."""
    import torch

    from microexp.learn.deep.shared import GROUP_MODELS, patches

    workers = max(1, int(n_threads) if n_threads is not None else torch.get_num_threads())
    permutation = np.random.default_rng(shuffle_seed).permutation(len(x_np))
    rows, member, bounds = shared_chunks(train_sets, permutation, batch_size)
    # The first layer's input is constant: every trained image's patches, cut once, in the
    # chunks' row order (a chunk is then one contiguous slice).
    patches_all = torch.from_numpy(patches(x_np[rows]))
    labels = torch.from_numpy(y[rows].copy())
    chunk_patches = [patches_all[a:b] for a, b in bounds]
    chunk_labels = [labels[a:b] for a, b in bounds]
    chunk_member = [member[a:b] for a, b in bounds]
    x_all = torch.from_numpy(x_np)
    n_models = len(train_sets)
    groups = [
        np.arange(s, min(s + GROUP_MODELS, n_models)) for s in range(0, n_models, GROUP_MODELS)
    ]

    def job(idx: np.ndarray) -> list[tuple[int, np.ndarray, dict | None]]:
        return _train_group(
            idx, chunk_patches, chunk_labels, chunk_member, x_all, predict_sets, seeds,
            n_classes, epochs, learning_rate, return_params,
        )  # fmt: skip

    with _deterministic(1), torch.no_grad():
        if workers == 1 or len(groups) == 1:
            done = [job(g) for g in groups]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = list(pool.map(job, groups))
    results: list[np.ndarray] = [np.empty((0, n_classes))] * n_models
    states: list[dict | None] = [None] * n_models
    for part in done:
        for m, prob, state in part:
            results[m] = prob
            states[m] = state
    if not return_params:
        return results
    return results, states
