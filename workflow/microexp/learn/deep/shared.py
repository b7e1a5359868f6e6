"""STSTNet's LOSO folds trained together on shared mini-batches, on the CPU (the default there;
microexp.learn.deep's docstring and docs/methods.md#deep-networks).

The cost of STSTNet on a CPU is its first layer: 16 filters 3 x 3 x 3 at 30 x 30 positions per
image, then ReLU, batch-norm sums and max pooling over (images x 16 x 900) values. Here every
fold's model sees the same chunk of rows at a step (minus the rows it does not train on), so:

- the first layer's input is constant: the 3 x 3 x 3 patches of every image (plus a 1 for the
  bias) are cut once, and the convolution of all models in a group is one product
  (positions x 28) @ (28 x models * 16), computed a few images at a time so that the result stays
  in cache;
- ReLU, the per-image batch-norm sums and the 3 x 3 / stride 3 max pooling run over that
  block in one compiled pass (``_relu_stats_pool_block``) while it is in cache; the backward
  recomputes the block (one product) and builds the gradient of the convolution's output in one
  pass (``_relu_stats_pool_grad_block``), then one product gives the weight and bias gradients.
  Nothing of size (images x 16 x 900) is ever stored;
- batch norm, dropout, average pooling, the dense layer, the loss and Adam are PyTorch on the
  stacked parameters of the group's models (Adam is element-wise, so one update of the stacked
  parameters is each model's own Adam).

Per-model masks (``member``) keep a model's batch-norm statistics, loss and gradients to its own
training rows of the chunk; a model with no row in a chunk skips that step (no Adam update, no
running-statistics update).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from microexp.learn.deep.networks import _BN_EPS, _BN_MOMENTUM, _DROPOUT

__all__: list[str] = []

# Models trained together in one group (one thread): 8 x 16 = 128 output channels. Fixed, so a
# model's arithmetic does not depend on how many threads there are.
GROUP_MODELS = 8
# Images per block of the first layer: 2 x 900 positions x 128 channels x 4 bytes ~ 0.9 MB
# (fits the L2 cache with the patches).
_BLOCK_ROWS = 2
_POSITIONS = 900  # 30 x 30 outputs of a 3 x 3 convolution with padding 2 on 28 x 28
_PATCH = 28  # 3 x 3 x 3 weights + the bias


def patches(x: np.ndarray) -> np.ndarray:
    """(N, 900, 28) float32: each output position's 3 x 3 x 3 input patch (zero padding 2),
    in the order of ``conv_w.reshape(16, 27)`` (channel, row, column), then a 1 for the bias."""
    padded = np.pad(np.asarray(x, dtype=np.float32), ((0, 0), (0, 0), (2, 2), (2, 2)))
    # (N, 3, 30, 30, 3, 3) views -> (N, 30, 30, 3, 3, 3): position, then channel, row, column.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    out = np.empty((len(x), _POSITIONS, _PATCH), dtype=np.float32)
    out[:, :, :27] = windows.transpose(0, 2, 3, 1, 4, 5).reshape(len(x), _POSITIONS, 27)
    out[:, :, 27] = 1.0
    return out


@njit(cache=True, nogil=True, boundscheck=False)
def _relu_stats_pool_block(y, mode, drop, kept, row0, s1, s2):  # pragma: no cover - compiled
    """One block's forward after the convolution, in place.

    y (n, 900, C): convolution outputs of n images (position-major, channel last), replaced by
    ReLU(y). s1, s2 (n, C): per image and channel, the sum of ReLU(y) and of its square.
    kept[m, row0 + r, f] (models, rows, 16, 100), channel c = 16 m + f: the pooled maps times
    the dropout mask ``drop`` (same shape, 1 kept, 0 dropped). Pooling: 3 x 3 max pooling with
    stride 3 and padding 1 of ReLU(y) where mode > 0 (the batch-norm scale that follows is
    positive: normalising and pooling commute), its minimum where mode < 0 (a negative scale
    turns the maximum into the minimum), the window's first value where mode == 0 (a zero
    scale makes every value equal). Row and column 29 belong to no window (PyTorch's output
    size 10) but count in the sums.
    """
    n, n_pos, c_count = y.shape
    t1 = np.empty(c_count, np.float32)
    t2 = np.empty(c_count, np.float32)
    hi = np.empty(c_count, np.float32)
    lo = np.empty(c_count, np.float32)
    first = np.empty(c_count, np.float32)
    zero = np.float32(0.0)
    for r in range(n):
        for c in range(c_count):
            t1[c] = zero
            t2[c] = zero
        for p in range(n_pos):
            for c in range(c_count):
                v = max(y[r, p, c], zero)
                y[r, p, c] = v
                t1[c] += v
                t2[c] += v * v
        for c in range(c_count):
            s1[r, c] = t1[c]
            s2[r, c] = t2[c]
        for a in range(10):
            i0 = max(3 * a - 1, 0)
            for b in range(10):
                j0 = max(3 * b - 1, 0)
                p0 = i0 * 30 + j0
                for c in range(c_count):
                    v = y[r, p0, c]
                    hi[c] = v
                    lo[c] = v
                    first[c] = v
                for i in range(i0, 3 * a + 2):
                    for j in range(j0, 3 * b + 2):
                        p = i * 30 + j
                        for c in range(c_count):
                            v = y[r, p, c]
                            hi[c] = max(hi[c], v)
                            lo[c] = min(lo[c], v)
                w = a * 10 + b
                for m in range(c_count // 16):
                    for f in range(16):
                        c = 16 * m + f
                        sign = mode[c]
                        v = hi[c] if sign > 0 else (lo[c] if sign < 0 else first[c])
                        kept[m, row0 + r, f, w] = v * drop[m, row0 + r, f, w]


@njit(cache=True, nogil=True, boundscheck=False)
def _relu_stats_pool_grad_block(y, mode, drop, g_kept, row0, g_s1, g_s2):  # pragma: no cover
    """One block's backward: y (n, 900, C) convolution outputs, replaced by dL/dy.

    dL/dy = [y > 0] (g_s1 + g_s2 * relu(y) + g_pool at the window's pooled position), with
    g_s1 = dL/ds1 and g_s2 = 2 dL/ds2 per image and channel (n, C; zero for an image outside
    the model's batch) and g_pool = g_kept * drop (``kept``'s layout, see
    ``_relu_stats_pool_block``). The pooled position is the window's first
    maximum of mode * y in scan order (rows, then columns), as PyTorch's max pooling picks it; a
    window whose pooled value is 0 passes no gradient (ReLU), whatever position it picks.
    """
    n, _, c_count = y.shape
    best = np.empty(c_count, np.float32)
    index = np.empty(c_count, np.int64)
    g_pool = np.empty(c_count, np.float32)
    zero = np.float32(0.0)
    for r in range(n):
        for a in range(10):
            i0 = max(3 * a - 1, 0)
            for b in range(10):
                j0 = max(3 * b - 1, 0)
                w = a * 10 + b
                p0 = i0 * 30 + j0
                for m in range(c_count // 16):
                    for f in range(16):
                        g_pool[16 * m + f] = g_kept[m, row0 + r, f, w] * drop[m, row0 + r, f, w]
                for c in range(c_count):
                    best[c] = y[r, p0, c] * mode[c]
                    index[c] = p0
                for i in range(i0, 3 * a + 2):
                    for j in range(j0, 3 * b + 2):
                        p = i * 30 + j
                        for c in range(c_count):
                            v = y[r, p, c] * mode[c]
                            larger = v > best[c]
                            best[c] = v if larger else best[c]
                            index[c] = p if larger else index[c]
                for i in range(i0, 3 * a + 2):
                    for j in range(j0, 3 * b + 2):
                        p = i * 30 + j
                        for c in range(c_count):
                            v = y[r, p, c]
                            g = g_s1[r, c] + g_s2[r, c] * v
                            g += g_pool[c] if index[c] == p else zero
                            y[r, p, c] = g if v > zero else zero
        for i in range(30):
            for j in range(30):
                if i == 29 or j == 29:
                    p = i * 30 + j
                    for c in range(c_count):
                        v = y[r, p, c]
                        g = g_s1[r, c] + g_s2[r, c] * v
                        y[r, p, c] = g if v > zero else zero


class _FirstLayer:
    """Autograd function of the group's first layer on one chunk: (conv_w, conv_b) ->
    (pooled maps times the dropout masks (M, n, 16, 100), s1 (M, 16), s2 (M, 16)); s1, s2 summed
    over each model's rows."""

    _cls = None

    @classmethod
    def get(cls):
        if cls._cls is None:
            import torch

            class FirstLayer(torch.autograd.Function):
                @staticmethod
                def forward(ctx, conv_w, conv_b, chunk_patches, member, mode, drop):
                    n = chunk_patches.shape[0]
                    n_models = conv_w.shape[0]
                    channels = n_models * 16
                    weights = _augmented_weights(conv_w, conv_b)
                    y = torch.empty(_BLOCK_ROWS * _POSITIONS, channels)
                    y_np = y.numpy().reshape(_BLOCK_ROWS, _POSITIONS, channels)
                    mode_np, drop_np = mode.numpy(), drop.numpy()
                    kept = torch.empty(n_models, n, 16, 100)
                    kept_np = kept.numpy()
                    s1 = np.empty((n, channels), np.float32)
                    s2 = np.empty((n, channels), np.float32)
                    for r0 in range(0, n, _BLOCK_ROWS):
                        k = min(_BLOCK_ROWS, n - r0)
                        torch.mm(
                            chunk_patches[r0 : r0 + k].reshape(-1, _PATCH),
                            weights,
                            out=y[: k * _POSITIONS],
                        )
                        _relu_stats_pool_block(
                            y_np[:k], mode_np, drop_np, kept_np, r0, s1[r0 : r0 + k],
                            s2[r0 : r0 + k],
                        )  # fmt: skip
                    # Per model: sums over its own rows (float64 across rows).
                    member_np = member.numpy().astype(np.float64)
                    sum1 = np.einsum("rmc,rm->mc", s1.reshape(n, n_models, 16), member_np)
                    sum2 = np.einsum("rmc,rm->mc", s2.reshape(n, n_models, 16), member_np)
                    ctx.save_for_backward(weights, chunk_patches, member, mode, drop)
                    return (
                        kept,
                        torch.from_numpy(sum1.astype(np.float32)),
                        torch.from_numpy(sum2.astype(np.float32)),
                    )

                @staticmethod
                def backward(ctx, g_kept, g1, g2):
                    weights, chunk_patches, member, mode, drop = ctx.saved_tensors
                    n = chunk_patches.shape[0]
                    channels = weights.shape[1]
                    n_models = channels // 16
                    if g_kept is None:
                        g_kept = torch.zeros(n_models, n, 16, 100)
                    g_kept_np = g_kept.contiguous().numpy()
                    m = member.to(torch.float32)[:, :, None]
                    zeros = torch.zeros(n_models, 16)
                    g_s1 = (m * (g1 if g1 is not None else zeros)).reshape(n, channels)
                    g_s2 = (m * (2.0 * g2 if g2 is not None else zeros)).reshape(n, channels)
                    g_s1_np = g_s1.contiguous().numpy()
                    g_s2_np = g_s2.contiguous().numpy()
                    y = torch.empty(_BLOCK_ROWS * _POSITIONS, channels)
                    y_np = y.numpy().reshape(_BLOCK_ROWS, _POSITIONS, channels)
                    mode_np, drop_np = mode.numpy(), drop.numpy()
                    grad = torch.zeros(_PATCH, channels)
                    for r0 in range(0, n, _BLOCK_ROWS):
                        k = min(_BLOCK_ROWS, n - r0)
                        block = chunk_patches[r0 : r0 + k].reshape(-1, _PATCH)
                        torch.mm(block, weights, out=y[: k * _POSITIONS])
                        _relu_stats_pool_grad_block(
                            y_np[:k], mode_np, drop_np, g_kept_np, r0, g_s1_np[r0 : r0 + k],
                            g_s2_np[r0 : r0 + k],
                        )  # fmt: skip
                        grad.addmm_(block.t(), y[: k * _POSITIONS])
                    g_w = grad[:27].t().reshape(n_models, 16, 3, 3, 3)
                    g_b = grad[27].reshape(n_models, 16)
                    return g_w, g_b, None, None, None, None

            cls._cls = FirstLayer
        return cls._cls


def _augmented_weights(conv_w, conv_b):
    """(28, M * 16): the convolution weights as columns, the bias as the last row."""
    import torch

    n_models = conv_w.shape[0]
    return torch.cat(
        [conv_w.detach().reshape(n_models * 16, 27).t(), conv_b.detach().reshape(1, -1)]
    ).contiguous()


def forward_train(params: dict, buffers: dict, chunk_patches, member, drop, active):
    """Training logits (n, M, K) of the group's M models on one chunk.

    ``chunk_patches`` (n, 900, 28) of the chunk's rows; ``member`` (n, M) bool: a row is in a
    model's batch; ``drop`` (M, n, 16, 100) dropout masks, 1 kept and 0 dropped (0 outside a
    model's batch); ``active`` (M,) bool: models with rows in the chunk (their running
    batch-norm statistics are updated, as PyTorch's batch norm does in training).
    """
    import torch

    n = chunk_patches.shape[0]
    n_models = params["conv_w"].shape[0]
    mode = torch.sign(params["bn_g"].detach()).to(torch.int8).reshape(-1).contiguous()
    kept, s1, s2 = _FirstLayer.get().apply(
        params["conv_w"], params["conv_b"], chunk_patches, member, mode, drop
    )
    count = member.sum(0).to(torch.float32) * _POSITIONS
    safe = count.clamp_min(1.0)[:, None]
    mean = s1 / safe
    var = (s2 / safe - mean * mean).clamp_min(0.0)
    with torch.no_grad():
        on = active[:, None]
        unbiased = var * safe / (safe - 1).clamp_min(1.0)
        new_mean = (1 - _BN_MOMENTUM) * buffers["bn_mean"] + _BN_MOMENTUM * mean
        new_var = (1 - _BN_MOMENTUM) * buffers["bn_var"] + _BN_MOMENTUM * unbiased
        buffers["bn_mean"].copy_(torch.where(on, new_mean, buffers["bn_mean"]))
        buffers["bn_var"].copy_(torch.where(on, new_var, buffers["bn_var"]))
    scale = params["bn_g"] / torch.sqrt(var + _BN_EPS)  # (M, 16)
    shift = params["bn_b"] - mean * scale
    # The layers after the max pooling are linear up to the loss: dense(avgpool(dropout(
    # pooled * scale + shift))) = ((pooled * mask) . W' scale + mask . W' shift) / (1 - p),
    # with W' the dense weights spread over the 2 x 2 windows (/ 4). Two batched products over
    # the pooled maps instead of a pass per layer.
    k = params["fc_w"].shape[1]
    spread = params["fc_w"].reshape(n_models, k, 16, 5, 1, 5, 1).expand(-1, -1, -1, -1, 2, -1, 2)
    spread = spread.reshape(n_models, k, 16, 100) * 0.25
    w_scale = (spread * scale[:, None, :, None]).reshape(n_models, k, 1600)
    w_shift = (spread * shift[:, None, :, None]).reshape(n_models, k, 1600)
    kept = kept.reshape(n_models, n, 1600)
    logits = torch.bmm(kept, w_scale.transpose(1, 2)) + torch.bmm(
        drop.reshape(n_models, n, 1600), w_shift.transpose(1, 2)
    )
    logits = logits * (1.0 / (1.0 - _DROPOUT)) + params["fc_b"][:, None, :]
    return logits.transpose(0, 1)  # (n, M, K)


def dropout_masks(generators, member: np.ndarray):
    """(M, n, 16, 100) masks, 1 kept and 0 dropped: model m draws (its rows, 16, 10, 10) from
    its own generator, as a model trained alone draws them; 0 on other rows."""
    import torch

    keep = 1.0 - _DROPOUT
    n, n_models = member.shape
    mask = torch.empty((n_models, n, 16 * 100))
    for j, gen in enumerate(generators):
        rows = np.flatnonzero(member[:, j])
        draw = torch.rand((len(rows), 16 * 100), generator=gen) < keep
        if len(rows) == n:
            mask[j] = draw
        else:
            mask[j].zero_()
            if len(rows):
                mask[j, torch.from_numpy(rows)] = draw.to(mask.dtype)
    return mask.reshape(n_models, n, 16, 100)
