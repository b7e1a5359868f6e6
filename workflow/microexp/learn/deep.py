"""Deep 2D baselines of DSME-3D Table 12, trained honestly under LOSO (DSME-3D Sec. 4.3.3).

Three networks, each trained from scratch for every fold with a fixed number of epochs and
evaluated after the last epoch (never an epoch or a model picked on the test subject):

``ststnet``
    STSTNet (Liong et al. 2019, "Shallow triple stream three-dimensional CNN"). Input
    (N, 3, 28, 28): the onset-apex u, v and optical strain images. Three parallel 3 x 3
    convolutions with 3, 5 and 8 filters on all three channels (padding 2, so 30 x 30, as in
    the authors' PyTorch port), each followed by ReLU, batch normalisation, 3 x 3 max pooling
    with stride 3 and padding 1 (10 x 10) and dropout 0.5; the 16 maps are concatenated,
    average-pooled 2 x 2 (5 x 5) and a dense layer maps the 400 values to the classes.
``offapexnet``
    OFF-ApexNet (Gan et al. 2019). Input (N, 3, 28, 28); channels 0 (u) and 1 (v) are used,
    each in its own stream, standardised per sample (the image's own mean and standard
    deviation, inside the network, no fitted state), then: 5 x 5 convolution with 6 filters
    (padding 2), ReLU, 2 x 2 max pooling (14 x 14), 5 x 5 convolution with 16 filters, ReLU,
    2 x 2 max pooling (7 x 7). The two streams' 2 x 784 values are concatenated, then dense
    1024 + ReLU, dropout 0.5, dense 1024 + ReLU, dropout 0.5, dense to the classes.
``stcnn3d``
    A small spatio-temporal 3D CNN in the spirit of the 3D-CNN DSME-3D cites (Reddy et al.
    2019, MicroExpSTCNN). Input (N, 1, T, H, W), the aligned gray clip resampled to a fixed
    length (T, H, W divisible by 4). Per sample the clip is standardised (its own mean and
    standard deviation, inside the network, no fitted state), then 3 x 3 x 3 convolution with 8
    filters (padding 1), ReLU, 2 x 2 x 2 max pooling, 3 x 3 x 3 convolution with 16 filters, ReLU,
    2 x 2 x 2 max pooling, dropout 0.5, dense to the classes.

Inputs are taken as given (STSTNet's published code feeds raw 0-255 image values, see
docs/flow.md for the flow stage's exact normalisation); STSTNet's batch normalisation is the
only normalisation it needs. Training follows STSTNet's published code: Adam (PyTorch's
defaults: betas 0.9, 0.999, eps 1e-8), cross-entropy averaged over the mini-batch, learning
rate 5e-5, batch 256, 800 epochs; PyTorch's default initialisation (uniform, +-1/sqrt(fan in),
for weights and biases; batch-norm scale 1, shift 0, momentum 0.1, eps 1e-5). The training
samples are shuffled once with the seed (one permutation shared by every fold, each fold keeping
its training samples in that order) and cut into consecutive mini-batches, the same every
epoch; the published code does not shuffle at all.

**All folds are trained at once.** Training 68 LOSO folds one after another costs ~150 ms per
fold and epoch on one core; here the folds' models are one batched model: every parameter has a
leading model axis, the first layer of the flow networks is one convolution with (models x
filters) output channels on the shared input, later convolutions are grouped (groups = models),
dense layers are batched products. A mini-batch step feeds the union of the folds' batches;
a membership mask says which rows belong to which fold's batch. The mask enters everywhere a
sample could influence another: the loss (a fold's mean over its own rows only), batch-norm
statistics (over the fold's own rows), Adam (a fold without a batch at a step is not updated).
A test subject's rows are never in its fold's mask, so they get exactly zero weight in its
gradients and statistics (tests/unit/test_deep.py perturbs them and finds the fold's parameters
bit-identical). Each model draws its initial weights and dropout masks from its own generator
seeded from (seed, fold), only for its own rows, so a fold trained alone and trained with the
others gives the same model up to floating-point summation order (tested).

Deterministic: ``torch.use_deterministic_algorithms(True)`` while training, seeded generators
on the CPU (also when the arithmetic runs on a GPU, which is used when present).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from microexp.learn.protocols import derive_seed

__all__ = [
    "MODELS",
    "PUBLISHED_TRAINING",
    "fit_predict_loso",
    "fit_predict_nested_loso",
    "input_shape",
    "train_predict",
]

MODELS = ("ststnet", "offapexnet", "stcnn3d")

# STSTNet's published training (Liong et al. 2019, the authors' code).
PUBLISHED_TRAINING = {"epochs": 800, "batch_size": 256, "learning_rate": 5e-5}

_BN_EPS = 1e-5
_BN_MOMENTUM = 0.1
_DROPOUT = 0.5
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8
# Activations of one model chunk are kept near this size (bytes): large enough for efficient
# products, small enough not to swamp a shared machine's memory.
_CHUNK_BYTES = 96 * 2**20


def input_shape(model: str) -> str:
    """The input each model takes, for messages and docs."""
    return {
        "ststnet": "(N, 3, 28, 28)",
        "offapexnet": "(N, 3, 28, 28)",
        "stcnn3d": "(N, 1, T, H, W) with T, H, W divisible by 4",
    }[_check_model(model)]


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {MODELS}")
    return model


def _check_inputs(inputs: np.ndarray, model: str) -> np.ndarray:
    x = np.asarray(inputs)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"inputs must be floating point, got {x.dtype}")
    if model in ("ststnet", "offapexnet"):
        if x.ndim != 4 or x.shape[1:] != (3, 28, 28):
            raise ValueError(f"{model} takes inputs {input_shape(model)}, got {x.shape}")
    elif x.ndim != 5 or x.shape[1] != 1 or any(s % 4 for s in x.shape[2:]):
        raise ValueError(f"{model} takes inputs {input_shape(model)}, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("inputs hold NaN or infinite values")
    return np.ascontiguousarray(x, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Batched networks: parameters carry a leading model axis M.


def _uniform(gen, shape: tuple[int, ...], fan_in: int):
    import torch

    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=gen, dtype=torch.float32) * 2.0 - 1.0) * bound


def _init_params(model: str, gen, n_classes: int, sample_shape: tuple[int, ...]) -> dict:
    """One model's parameters (PyTorch's default initialisation), drawn from its generator."""
    import torch

    p: dict[str, torch.Tensor] = {}
    if model == "ststnet":
        # The three branches (3, 5, 8 filters) are stacked as 16 filters; each branch's
        # parameters are drawn in branch order.
        weights, biases = [], []
        for filters in (3, 5, 8):
            weights.append(_uniform(gen, (filters, 3, 3, 3), 27))
            biases.append(_uniform(gen, (filters,), 27))
        p["conv_w"] = torch.cat(weights)
        p["conv_b"] = torch.cat(biases)
        p["bn_g"] = torch.ones(16)
        p["bn_b"] = torch.zeros(16)
        p["fc_w"] = _uniform(gen, (n_classes, 400), 400)
        p["fc_b"] = _uniform(gen, (n_classes,), 400)
    elif model == "offapexnet":
        for stream in ("u", "v"):
            p[f"{stream}1_w"] = _uniform(gen, (6, 1, 5, 5), 25)
            p[f"{stream}1_b"] = _uniform(gen, (6,), 25)
            p[f"{stream}2_w"] = _uniform(gen, (16, 6, 5, 5), 150)
            p[f"{stream}2_b"] = _uniform(gen, (16,), 150)
        p["fc1_w"] = _uniform(gen, (1024, 1568), 1568)
        p["fc1_b"] = _uniform(gen, (1024,), 1568)
        p["fc2_w"] = _uniform(gen, (1024, 1024), 1024)
        p["fc2_b"] = _uniform(gen, (1024,), 1024)
        p["fc3_w"] = _uniform(gen, (n_classes, 1024), 1024)
        p["fc3_b"] = _uniform(gen, (n_classes,), 1024)
    else:
        t, h, w = sample_shape[1:]
        n_flat = 16 * (t // 4) * (h // 4) * (w // 4)
        p["c1_w"] = _uniform(gen, (8, 1, 3, 3, 3), 27)
        p["c1_b"] = _uniform(gen, (8,), 27)
        p["c2_w"] = _uniform(gen, (16, 8, 3, 3, 3), 216)
        p["c2_b"] = _uniform(gen, (16,), 216)
        p["fc_w"] = _uniform(gen, (n_classes, n_flat), n_flat)
        p["fc_b"] = _uniform(gen, (n_classes,), n_flat)
    return p


def _buffers(model: str, n_models: int) -> dict:
    import torch

    if model == "ststnet":
        return {"bn_mean": torch.zeros(n_models, 16), "bn_var": torch.ones(n_models, 16)}
    return {}


def _dropout_shapes(model: str, sample_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Shapes (per sample) of the dropout masks a training forward pass uses, in order."""
    if model == "ststnet":
        return [(16, 10, 10)]
    if model == "offapexnet":
        return [(1024,), (1024,)]
    t, h, w = sample_shape[1:]
    return [(16 * (t // 4) * (h // 4) * (w // 4),)]


def _masked_mean(values, member, count):
    """Per-model mean over member rows: values (S, M, C), member (S, M) -> (M, C)."""
    import torch

    return torch.einsum("smc,sm->mc", values, member) / count[:, None]


def _standardise(x):
    """Each sample to zero mean, unit standard deviation over all its values (no fitted state)."""
    dims = tuple(range(1, x.dim()))
    mu = x.mean(dim=dims, keepdim=True)
    sd = x.std(dim=dims, keepdim=True).clamp_min(1e-6)
    return (x - mu) / sd


def _forward(model: str, p: dict, buf: dict, x, member, drop: list, train: bool):
    """Logits (S, M, K) of M models on the shared rows x.

    ``member`` (S, M) float: 1 where a row is in a model's mini-batch (training only); batch-norm
    statistics are taken over those rows. ``drop``: dropout masks (S, M, ...) already scaled by
    1 / (1 - p), or [] when evaluating.
    """
    import torch
    import torch.nn.functional as F

    n_rows = x.shape[0]
    n_models = next(iter(p.values())).shape[0]
    if model == "ststnet":
        y = F.conv2d(x, p["conv_w"].reshape(-1, 3, 3, 3), p["conv_b"].reshape(-1), padding=2)
        r = torch.relu(y)  # (S, M*16, 30, 30)
        if train:
            flat = r.reshape(n_rows, n_models, 16, -1)
            s1 = flat.sum(-1)
            s2 = (flat * flat).sum(-1)
            count = member.sum(0) * flat.shape[-1]
            mean = _masked_mean(s1, member, count)
            var = (_masked_mean(s2, member, count) - mean * mean).clamp_min(0.0)
            with torch.no_grad():
                active = (member.sum(0) > 0)[:, None]
                unbiased = var * count[:, None] / (count[:, None] - 1).clamp_min(1.0)
                new_mean = (1 - _BN_MOMENTUM) * buf["bn_mean"] + _BN_MOMENTUM * mean
                new_var = (1 - _BN_MOMENTUM) * buf["bn_var"] + _BN_MOMENTUM * unbiased
                buf["bn_mean"].copy_(torch.where(active, new_mean, buf["bn_mean"]))
                buf["bn_var"].copy_(torch.where(active, new_var, buf["bn_var"]))
        else:
            mean, var = buf["bn_mean"], buf["bn_var"]
        scale = p["bn_g"] / torch.sqrt(var + _BN_EPS)  # (M, 16)
        shift = p["bn_b"] - mean * scale
        if bool((scale > 0).all()):
            # Batch norm is then an increasing affine map per channel and commutes with max
            # pooling: pool first, normalise 9x fewer values (same result, exactly the same
            # maxima).
            pooled = F.max_pool2d(r, 3, 3, 1).reshape(n_rows, n_models, 16, 10, 10)
            z = pooled * scale[None, :, :, None, None] + shift[None, :, :, None, None]
        else:
            full = r.reshape(n_rows, n_models, 16, 30, 30)
            full = full * scale[None, :, :, None, None] + shift[None, :, :, None, None]
            z = F.max_pool2d(full.reshape(n_rows, -1, 30, 30), 3, 3, 1)
            z = z.reshape(n_rows, n_models, 16, 10, 10)
        if drop:
            z = z * drop[0]
        z = F.avg_pool2d(z.reshape(n_rows, -1, 10, 10), 2).reshape(n_rows, n_models, 400)
        return torch.einsum("smk,mck->smc", z, p["fc_w"]) + p["fc_b"]
    if model == "offapexnet":
        streams = []
        for channel, s in ((0, "u"), (1, "v")):
            h = _standardise(x[:, channel : channel + 1])
            h = F.conv2d(
                h,
                p[f"{s}1_w"].reshape(-1, 1, 5, 5),
                p[f"{s}1_b"].reshape(-1),
                padding=2,
            )
            h = F.max_pool2d(torch.relu(h), 2)  # (S, M*6, 14, 14)
            h = F.conv2d(
                h,
                p[f"{s}2_w"].reshape(-1, 6, 5, 5),
                p[f"{s}2_b"].reshape(-1),
                padding=2,
                groups=n_models,
            )
            h = F.max_pool2d(torch.relu(h), 2)  # (S, M*16, 7, 7)
            streams.append(h.reshape(n_rows, n_models, 784))
        h = torch.cat(streams, dim=2)
        h = torch.relu(torch.einsum("smk,mjk->smj", h, p["fc1_w"]) + p["fc1_b"])
        if drop:
            h = h * drop[0]
        h = torch.relu(torch.einsum("smk,mjk->smj", h, p["fc2_w"]) + p["fc2_b"])
        if drop:
            h = h * drop[1]
        return torch.einsum("smk,mjk->smj", h, p["fc3_w"]) + p["fc3_b"]
    # stcnn3d: per-sample standardisation, then two conv-pool blocks and a dense layer.
    h = F.conv3d(
        _standardise(x), p["c1_w"].reshape(-1, 1, 3, 3, 3), p["c1_b"].reshape(-1), padding=1
    )
    h = F.max_pool3d(torch.relu(h), 2)
    h = F.conv3d(
        h, p["c2_w"].reshape(-1, 8, 3, 3, 3), p["c2_b"].reshape(-1), padding=1, groups=n_models
    )
    h = F.max_pool3d(torch.relu(h), 2)
    h = h.reshape(n_rows, n_models, -1)
    if drop:
        h = h * drop[0]
    return torch.einsum("smk,mjk->smj", h, p["fc_w"]) + p["fc_b"]


# --------------------------------------------------------------------------------------------
# Training


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
):
    """Train one model per training set, all at once; softmax probabilities on its predict set.

    ``y``: class codes 0..K-1 (N,). ``train_sets[m]`` / ``predict_sets[m]``: row positions of
    model m's training and prediction samples; ``seeds[m]`` seeds its initial weights and dropout.
    Returns a list of (len(predict_sets[m]), K) float64 arrays (and, with ``return_params``, each
    model's final parameters and buffers as NumPy arrays).
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
# LOSO


def _encode(labels: Sequence, classes: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    values = pd.Series(list(labels), dtype="object")
    if values.isna().any():
        raise ValueError("labels hold missing values: apply the class scheme and drop them first")
    values = values.astype(str)
    if classes is None:
        classes = sorted(values.unique())
    classes = [str(c) for c in classes]
    unknown = sorted(set(values) - set(classes))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {classes}")
    code = {c: k for k, c in enumerate(classes)}
    return values.map(code).to_numpy(dtype=np.int64), classes


def _subjects(groups: Sequence, n: int) -> np.ndarray:
    subjects = np.asarray([str(g) for g in groups], dtype=object)
    if len(subjects) != n:
        raise ValueError(f"{n} inputs but {len(subjects)} groups")
    return subjects


def _fold_order(subjects: np.ndarray) -> list[str]:
    """LOSO folds in first-seen subject order (as protocols.loso_splits numbers them)."""
    return list(dict.fromkeys(subjects.tolist()))


def fit_predict_loso(
    inputs: np.ndarray,
    labels: Sequence,
    groups: Sequence,
    model: str = "ststnet",
    epochs: int = PUBLISHED_TRAINING["epochs"],
    seed: int = 0,
    batch_size: int = PUBLISHED_TRAINING["batch_size"],
    learning_rate: float = PUBLISHED_TRAINING["learning_rate"],
    *,
    classes: Sequence[str] | None = None,
    device: str | None = None,
    n_threads: int | None = None,
    models_per_chunk: int | None = None,
) -> pd.DataFrame:
    """Leave-one-subject-out predictions of a network trained from scratch for every fold.

    ``inputs``: float32 (N, 3, 28, 28) for the flow networks, (N, 1, T, H, W) for ``stcnn3d``,
    taken as given. ``labels``: class per row; ``groups``: subject per row. Fold k tests the k-th
    subject in first-seen order; its model sees only the other subjects. The last epoch is
    evaluated. ``classes`` fixes the class order (default: sorted labels).

    Returns one row per input row: sample (the row index), subject, fold, y_true, y_pred and
    ``p_<class>`` softmax probabilities (ties in the argmax go to the earlier class).
    """
    model = _check_model(model)
    x = _check_inputs(inputs, model)
    y, classes = _encode(labels, classes)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} inputs but {len(y)} labels")
    subjects = _subjects(groups, len(x))
    order = _fold_order(subjects)
    if len(order) < 2:
        raise ValueError("LOSO needs at least two subjects")
    test_sets = [np.flatnonzero(subjects == s) for s in order]
    train_sets = [np.flatnonzero(subjects != s) for s in order]
    probabilities = train_predict(
        x,
        y,
        train_sets,
        test_sets,
        [derive_seed(seed, k) for k in range(len(order))],
        model=model,
        n_classes=len(classes),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        shuffle_seed=derive_seed(seed, len(order), 0),
        device=device,
        n_threads=n_threads,
        models_per_chunk=models_per_chunk,
    )
    return _table(test_sets, probabilities, subjects, y, classes, list(range(len(order))))


def _table(
    test_sets: Sequence[np.ndarray],
    probabilities: Sequence[np.ndarray],
    subjects: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    folds: Sequence[int],
    outer_folds: Sequence[int] | None = None,
) -> pd.DataFrame:
    parts = []
    for k, (rows, prob) in enumerate(zip(test_sets, probabilities, strict=True)):
        part = pd.DataFrame(
            {
                "sample": np.asarray(rows, dtype=np.int64),
                "subject": pd.array(subjects[rows].tolist(), dtype="string"),
                "fold": np.full(len(rows), folds[k], dtype=np.int64),
                "y_true": pd.array([classes[c] for c in y[rows]], dtype="string"),
                "y_pred": pd.array([classes[c] for c in prob.argmax(axis=1)], dtype="string"),
            }
        )
        for j, c in enumerate(classes):
            part[f"p_{c}"] = prob[:, j]
        if outer_folds is not None:
            part.insert(0, "outer_fold", np.full(len(rows), outer_folds[k], dtype=np.int64))
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    keys = ["outer_fold"] if outer_folds is not None else []
    return table.sort_values([*keys, "sample"], kind="stable").reset_index(drop=True)


def fit_predict_nested_loso(
    inputs: np.ndarray,
    labels: Sequence,
    groups: Sequence,
    model: str = "ststnet",
    epochs: int = PUBLISHED_TRAINING["epochs"],
    seed: int = 0,
    batch_size: int = PUBLISHED_TRAINING["batch_size"],
    learning_rate: float = PUBLISHED_TRAINING["learning_rate"],
    *,
    classes: Sequence[str] | None = None,
    device: str | None = None,
    n_threads: int | None = None,
    models_per_chunk: int | None = None,
) -> pd.DataFrame:
    """Inner LOSO predictions inside every outer LOSO fold's training subjects.

    For outer fold k (k-th subject) and every other subject j, a model is trained on the
    subjects other than k and j and predicts j's samples: the out-of-fold probabilities a nested
    fusion weight is chosen on (learn/fusion.py). All outer x inner models train at once.
    Columns: outer_fold, fold (the inner fold: j's index in the outer fold's first-seen subject
    order), then those of ``fit_predict_loso``; rows sorted by outer fold, then sample. Each
    (outer, inner) model has its own seed, distinct from the outer models'.
    """
    model = _check_model(model)
    x = _check_inputs(inputs, model)
    y, classes = _encode(labels, classes)
    subjects = _subjects(groups, len(x))
    order = _fold_order(subjects)
    if len(order) < 3:
        raise ValueError("nested LOSO needs at least three subjects")
    train_sets, test_sets, seeds, extra = [], [], [], []
    for k, outer in enumerate(order):
        inner_order = [s for s in order if s != outer]
        for j, inner in enumerate(inner_order):
            train_sets.append(np.flatnonzero((subjects != outer) & (subjects != inner)))
            test_sets.append(np.flatnonzero(subjects == inner))
            seeds.append(derive_seed(seed, len(order) + 1, k, j))
            extra.append({"outer_fold": k, "fold": j})
    probabilities = train_predict(
        x,
        y,
        train_sets,
        test_sets,
        seeds,
        model=model,
        n_classes=len(classes),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        shuffle_seed=derive_seed(seed, len(order), 0),
        device=device,
        n_threads=n_threads,
        models_per_chunk=models_per_chunk,
    )
    return _table(
        test_sets,
        probabilities,
        subjects,
        y,
        classes,
        [e["fold"] for e in extra],
        [e["outer_fold"] for e in extra],
    )
