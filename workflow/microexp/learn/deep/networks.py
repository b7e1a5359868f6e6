"""The Table 12 networks as batched functions: parameters with a leading model axis
(the architectures are described in microexp.learn.deep's docstring, DSME-3D Sec. 4.3.3)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MODELS", "PUBLISHED_TRAINING", "input_shape"]

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
# One model at a time: the same networks, parameters without the model axis. Used when each
# fold trains on its own (the CPU default); the maths are those of ``_forward`` with one model.


def _forward_one(model: str, p: dict, buf: dict, x, drop: list, train: bool):
    """Logits (S, K) of one model on rows x; batch-norm statistics over all rows when training.

    ``drop``: dropout masks (S, ...) already scaled by 1 / (1 - p), or [] when evaluating.
    """
    import torch
    import torch.nn.functional as F

    if model == "ststnet":
        y = F.conv2d(x, p["conv_w"], p["conv_b"], padding=2)  # (S, 16, 30, 30)
        if train:
            pooled, s1, s2 = _relu_stats_pool(y)
            count = y.numel() // y.shape[1]
            mean = s1 / count
            var = (s2 / count - mean * mean).clamp_min(0.0)
            with torch.no_grad():
                unbiased = var * (count / max(count - 1, 1))
                buf["bn_mean"].mul_(1 - _BN_MOMENTUM).add_(mean, alpha=_BN_MOMENTUM)
                buf["bn_var"].mul_(1 - _BN_MOMENTUM).add_(unbiased, alpha=_BN_MOMENTUM)
        else:
            mean, var = buf["bn_mean"], buf["bn_var"]
            pooled = F.max_pool2d(torch.relu(y), 3, 3, 1)
        scale = p["bn_g"] / torch.sqrt(var + _BN_EPS)
        shift = p["bn_b"] - mean * scale
        if bool((scale > 0).all()):
            # Pool first (batch norm is then increasing per channel, see ``_forward``).
            z = pooled * scale[:, None, None] + shift[:, None, None]
        else:
            r = torch.relu(y)
            z = F.max_pool2d(r * scale[:, None, None] + shift[:, None, None], 3, 3, 1)
        if drop:
            z = z * drop[0]
        z = F.avg_pool2d(z, 2).flatten(1)  # (S, 400), channel-major as in ``_forward``
        return F.linear(z, p["fc_w"], p["fc_b"])
    if model == "offapexnet":
        streams = []
        for channel, s in ((0, "u"), (1, "v")):
            h = _standardise(x[:, channel : channel + 1])
            h = F.max_pool2d(torch.relu(F.conv2d(h, p[f"{s}1_w"], p[f"{s}1_b"], padding=2)), 2)
            h = F.max_pool2d(torch.relu(F.conv2d(h, p[f"{s}2_w"], p[f"{s}2_b"], padding=2)), 2)
            streams.append(h.flatten(1))
        h = torch.cat(streams, dim=1)
        h = torch.relu(F.linear(h, p["fc1_w"], p["fc1_b"]))
        if drop:
            h = h * drop[0]
        h = torch.relu(F.linear(h, p["fc2_w"], p["fc2_b"]))
        if drop:
            h = h * drop[1]
        return F.linear(h, p["fc3_w"], p["fc3_b"])
    h = F.conv3d(_standardise(x), p["c1_w"], p["c1_b"], padding=1)
    h = F.max_pool3d(torch.relu(h), 2)
    h = F.max_pool3d(torch.relu(F.conv3d(h, p["c2_w"], p["c2_b"], padding=1)), 2)
    h = h.flatten(1)
    if drop:
        h = h * drop[0]
    return F.linear(h, p["fc_w"], p["fc_b"])


def _relu_stats_pool(y):
    """(max_pool2d(relu(y), 3, 3, 1), per-channel sum of relu(y), of relu(y)^2) with one
    hand-written backward: the three gradients meet in one tensor instead of autograd's
    separate passes over the (S, 16, 30, 30) activations (STSTNet's cost on a CPU)."""
    return _ReluStatsPoolFunction.get().apply(y)


class _ReluStatsPoolFunction:
    _cls = None

    @classmethod
    def get(cls):
        if cls._cls is None:
            import torch
            import torch.nn.functional as F

            class ReluStatsPool(torch.autograd.Function):
                @staticmethod
                def forward(ctx, y):
                    r = torch.relu(y)
                    s1 = r.sum(dim=(0, 2, 3))
                    s2 = (r * r).sum(dim=(0, 2, 3))
                    pooled, index = F.max_pool2d(r, 3, 3, 1, return_indices=True)
                    ctx.save_for_backward(r, index)
                    return pooled, s1, s2

                @staticmethod
                def backward(ctx, g_pool, g1, g2):
                    r, index = ctx.saved_tensors
                    if g_pool is None:
                        grad = torch.zeros_like(r)
                    else:
                        grad = torch.ops.aten.max_pool2d_with_indices_backward(
                            g_pool, r, [3, 3], [3, 3], [1, 1], [1, 1], False, index
                        )
                    if g1 is not None:
                        grad.add_(g1[None, :, None, None])
                    if g2 is not None:
                        grad.addcmul_(r, 2.0 * g2[None, :, None, None])
                    # relu: no gradient where relu(y) = 0.
                    return torch.ops.aten.threshold_backward(grad, r, 0.0)

            cls._cls = ReluStatsPool
        return cls._cls
