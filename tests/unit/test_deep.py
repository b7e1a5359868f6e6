"""learn/deep/: the LOSO training of the Table 12 networks, one fold at a time and batched."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.learn import deep

CLASSES = ["negative", "positive", "surprise"]


def _problem(n_per_subject=(10, 7, 12, 9), seed=0, signal=60.0, shape=(3, 28, 28)):
    """Flow-like inputs where class c brightens a block of channel c (a learnable rule)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"s{k}" for k in range(len(n_per_subject))], n_per_subject)
    y = rng.integers(0, 3, len(groups))
    x = (128 + 25 * rng.standard_normal((len(groups), *shape))).astype(np.float32)
    for c in range(3):
        if len(shape) == 3:
            x[y == c, c, 6:22, 6:22] += signal
        else:  # a clip: class c brightens a block in the time slice c
            x[y == c, 0, 4 * c : 4 * c + 4, 4:12, 4:12] += signal
    return x, y, groups


def test_table_columns_rows_and_folds():
    x, y, groups = _problem()
    labels = np.array(CLASSES)[y]
    table = deep.fit_predict_loso(
        x,
        labels,
        groups,
        model="ststnet",
        epochs=2,
        seed=3,
        batch_size=8,
        learning_rate=1e-3,
        classes=CLASSES,
    )
    assert list(table.columns) == [
        "sample",
        "subject",
        "fold",
        "y_true",
        "y_pred",
        "p_negative",
        "p_positive",
        "p_surprise",
    ]
    assert table["sample"].tolist() == list(range(len(x)))
    assert table["subject"].tolist() == groups.tolist()
    # Folds number the subjects in first-seen order.
    assert table["fold"].tolist() == [int(g[1]) for g in groups]
    assert table["y_true"].tolist() == labels.tolist()
    p = table[["p_negative", "p_positive", "p_surprise"]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p >= 0).all()
    assert table["y_pred"].tolist() == [CLASSES[k] for k in p.argmax(axis=1)]


def _loso_sets(groups):
    order = list(dict.fromkeys(groups.tolist()))
    train = [np.flatnonzero(groups != s) for s in order]
    test = [np.flatnonzero(groups == s) for s in order]
    return train, test


@pytest.mark.parametrize(
    ("model", "way"),
    [
        ("ststnet", {"batched": False}),
        ("ststnet", {"batched": True}),
        ("ststnet", {"shared": True}),
        ("offapexnet", {"batched": False}),
        ("offapexnet", {"batched": True}),
    ],
)
def test_test_subject_never_influences_its_model(model, way):
    """Perturbing fold 0's test subject leaves fold 0's trained parameters bit-identical (while
    the other folds, which train on that subject, change)."""
    x, y, groups = _problem(n_per_subject=(6, 5, 7))
    train, test = _loso_sets(groups)
    kwargs = dict(model=model, epochs=3, batch_size=4, learning_rate=1e-3, shuffle_seed=1, **way)
    _, before = deep.train_predict(x, y, train, test, [11, 12, 13], return_params=True, **kwargs)
    x2 = x.copy()
    x2[test[0]] = np.random.default_rng(9).uniform(0, 255, x2[test[0]].shape)
    _, after = deep.train_predict(x2, y, train, test, [11, 12, 13], return_params=True, **kwargs)
    for name in before[0]:
        np.testing.assert_array_equal(before[0][name], after[0][name], err_msg=name)
    assert any(not np.array_equal(before[1][k], after[1][k]) for k in before[1])


@pytest.mark.parametrize("model", ["ststnet", "offapexnet", "stcnn3d"])
def test_batched_folds_equal_folds_trained_alone(model):
    """All folds trained as one batched model == each fold trained on its own (the CPU
    default, a separate implementation; up to float summation order). Unequal subjects and
    batch 4 give folds different step counts, so some batched steps update only some folds."""
    shape = (1, 8, 8, 8) if model == "stcnn3d" else (3, 28, 28)
    sizes = (4, 2, 6) if model == "offapexnet" else (6, 3, 9, 5)
    x, y, groups = _problem(n_per_subject=sizes, shape=shape)
    train, test = _loso_sets(groups)
    seeds = [21, 22, 23, 24][: len(sizes)]
    kwargs = dict(model=model, epochs=3, batch_size=4, learning_rate=1e-3, shuffle_seed=5)
    together, params = deep.train_predict(
        x, y, train, test, seeds, return_params=True, batched=True, **kwargs
    )
    for k in (1, 2):
        alone, alone_params = deep.train_predict(
            x, y, [train[k]], [test[k]], [seeds[k]], return_params=True, batched=False, **kwargs
        )
        np.testing.assert_allclose(alone[0], together[k], rtol=1e-4, atol=1e-6)
        for name in alone_params[0]:
            a, b = alone_params[0][name], params[k][name]
            # Adam divides by the root of the squared-gradient average, so a weight whose
            # gradient is only rounding residue (a dead unit) moves by ~lr per step whatever the
            # residue's size: a few such weights may differ by up to lr x steps; all others agree
            # to float precision. (STSTNet's conv bias feeds a batch norm that removes most of
            # its gradient: one of its 16 values may be such a weight.)
            off = ~np.isclose(a, b, rtol=1e-4, atol=1e-6)
            assert off.sum() <= max(1, off.size // 1000), (name, off.sum())
            assert np.abs(a - b).max() <= 1e-3 * 3 * 3, name


def test_models_per_chunk_does_not_change_results():
    x, y, groups = _problem(n_per_subject=(5, 4, 6))
    train, test = _loso_sets(groups)
    kwargs = dict(model="ststnet", epochs=2, batch_size=4, learning_rate=1e-3)
    one = deep.train_predict(
        x, y, train, test, [1, 2, 3], models_per_chunk=1, batched=True, **kwargs
    )
    three = deep.train_predict(
        x, y, train, test, [1, 2, 3], models_per_chunk=3, batched=True, **kwargs
    )
    for a, b in zip(one, three, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model", ["ststnet", "stcnn3d"])
def test_worker_count_does_not_change_results(model):
    """Each fold (stcnn3d) or group of folds (STSTNet: 10 folds, two groups) on one thread: 1
    or 3 in parallel give bit-identical models."""
    shape = (1, 8, 8, 8) if model == "stcnn3d" else (3, 28, 28)
    sizes = (5, 4, 6) if model == "stcnn3d" else (3, 2, 4, 3, 2, 3, 2, 4, 3, 2)
    x, y, groups = _problem(n_per_subject=sizes, shape=shape)
    train, test = _loso_sets(groups)
    kwargs = dict(model=model, epochs=2, batch_size=4, learning_rate=1e-3, return_params=True)
    seeds = list(range(1, len(train) + 1))
    one, p_one = deep.train_predict(x, y, train, test, seeds, n_threads=1, **kwargs)
    three, p_three = deep.train_predict(x, y, train, test, seeds, n_threads=3, **kwargs)
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(p_one, p_three, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "shape", "epochs"),
    [
        ("ststnet", (3, 28, 28), 40),
        ("offapexnet", (3, 28, 28), 10),
        ("stcnn3d", (1, 12, 16, 16), 25),
    ],
)
def test_learnable_problem_is_learned(model, shape, epochs):
    """A rule every subject shares (class c brightens a block of channel / time slice c) is
    learned: held-out-subject accuracy near 1, far above chance (1/3)."""
    sizes = (8, 8, 8) if model == "offapexnet" else (12, 12, 12, 12)
    x, y, groups = _problem(n_per_subject=sizes, seed=4, shape=shape)
    table = deep.fit_predict_loso(
        x,
        np.array(CLASSES)[y],
        groups,
        model=model,
        epochs=epochs,
        seed=0,
        batch_size=16,
        learning_rate=1e-3,
        classes=CLASSES,
    )
    assert (table["y_true"] == table["y_pred"]).mean() >= 0.9


def test_two_runs_are_identical():
    x, y, groups = _problem(n_per_subject=(5, 6, 4))
    kwargs = dict(model="ststnet", epochs=3, seed=7, batch_size=4, learning_rate=1e-3)
    a = deep.fit_predict_loso(x, y, groups, **kwargs)
    b = deep.fit_predict_loso(x, y, groups, **kwargs)
    assert a.equals(b)
    c = deep.fit_predict_loso(x, y, groups, **{**kwargs, "seed": 8})
    assert not a.equals(c)


def test_nested_loso_trains_inside_each_outer_fold():
    x, y, groups = _problem(n_per_subject=(4, 3, 5))
    table = deep.fit_predict_nested_loso(
        x, np.array(CLASSES)[y], groups, epochs=1, seed=1, batch_size=8, classes=CLASSES
    )
    for outer, subject in enumerate(["s0", "s1", "s2"]):
        rows = table[table["outer_fold"] == outer]
        # The inner predictions cover exactly the outer fold's training samples.
        assert sorted(rows["sample"]) == np.flatnonzero(groups != subject).tolist()
        assert subject not in set(rows["subject"])


def test_bad_inputs_are_refused():
    x, y, groups = _problem(n_per_subject=(3, 3))
    with pytest.raises(ValueError, match=r"\(N, 3, 28, 28\)"):
        deep.fit_predict_loso(x[:, :2], y, groups, epochs=1)
    with pytest.raises(ValueError, match="unknown model"):
        deep.fit_predict_loso(x, y, groups, model="resnet", epochs=1)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        deep.fit_predict_loso(bad, y, groups, epochs=1)
    with pytest.raises(ValueError, match="two subjects"):
        deep.fit_predict_loso(x, y, ["a"] * len(x), epochs=1)
    with pytest.raises(ValueError, match="not among the classes"):
        deep.fit_predict_loso(x, y.astype(str), groups, epochs=1, classes=["0", "1"])


def test_one_model_at_a_time_is_cpu_only():
    x, y, groups = _problem(n_per_subject=(3, 3))
    train, test = _loso_sets(groups)
    with pytest.raises(ValueError, match="batched=True"):
        deep.train_predict(x, y, train, test, [1, 2], epochs=1, device="cuda", batched=False)


@pytest.mark.parametrize("api", ["fit_predict_loso", "fit_predict_nested_loso"])
def test_inputs_and_labels_of_different_lengths_are_refused(api: str) -> None:
    """Both APIs check their inputs the same way, before any training."""
    inputs = np.zeros((6, 3, 28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match="6 inputs but 5 labels"):
        getattr(deep, api)(inputs, ["a", "b"] * 2 + ["a"], ["s1", "s2", "s3"] * 2, epochs=1)


# --------------------------------------------------------------------------------------------
# STSTNet's CPU default (learn/deep/shared.py) against STSTNet written with plain PyTorch layers.


def _reference_ststnet(params, buffers, x, drop=None, train=True):
    """STSTNet with PyTorch's own layers: conv (padding 2), ReLU, batch norm, max pooling 3 / 3
    / 1, dropout (given mask, already scaled), average pooling 2, dense."""
    import torch.nn.functional as F

    h = F.relu(F.conv2d(x, params["conv_w"], params["conv_b"], padding=2))
    h = F.batch_norm(
        h, buffers["bn_mean"], buffers["bn_var"], params["bn_g"], params["bn_b"],
        training=train, momentum=0.1, eps=1e-5,
    )  # fmt: skip
    h = F.max_pool2d(h, 3, 3, 1)
    if drop is not None:
        h = h * drop
    return F.linear(F.avg_pool2d(h, 2).flatten(1), params["fc_w"], params["fc_b"])


def _train_reference(x, y, rows, batches, seed, epochs, lr, n_classes=3):
    """One fold trained alone on the given mini-batches (its rows of each shared chunk) with
    torch.optim.Adam; initial weights and dropout masks drawn from its own generator as the
    package draws them."""
    import torch
    import torch.nn.functional as F

    from microexp.learn.deep.networks import _init_params

    gen = torch.Generator().manual_seed(seed)
    params = _init_params("ststnet", gen, n_classes, (3, 28, 28))
    for value in params.values():
        value.requires_grad_(True)
    buffers = {"bn_mean": torch.zeros(16), "bn_var": torch.ones(16)}
    optimiser = torch.optim.Adam(list(params.values()), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(epochs):
        for batch in batches:
            if len(batch) == 0:
                continue
            index = torch.from_numpy(batch)
            drop = (torch.rand((len(batch), 16, 10, 10), generator=gen) < 0.5).float() / 0.5
            logits = _reference_ststnet(params, buffers, xt[index], drop)
            optimiser.zero_grad()
            F.cross_entropy(logits, yt[index]).backward()
            optimiser.step()
    with torch.no_grad():
        prob = torch.softmax(_reference_ststnet(params, buffers, xt[rows], train=False), -1)
    state = {k: v.detach().numpy() for k, v in params.items()}
    state.update({k: v.numpy() for k, v in buffers.items()})
    return prob.numpy(), state


def test_shared_batches_equal_each_fold_trained_alone_with_plain_pytorch():
    """The CPU default for STSTNet (folds in groups on shared mini-batches, one first-layer
    product, compiled ReLU / statistics / pooling passes and their backward, masks per fold)
    trains each fold as plain PyTorch layers and torch.optim.Adam train it alone on its rows of
    each shared chunk. The chunks are the documented ones: the rows of the permutation drawn
    from ``shuffle_seed``, cut in runs of ``batch_size``; with batch 6 some chunks hold no row
    of a fold, which then skips the step."""
    x, y, groups = _problem(n_per_subject=(6, 3, 9, 5, 4))
    train, test = _loso_sets(groups)
    seeds, epochs, lr, batch = [21, 22, 23, 24, 25], 3, 1e-3, 6
    got, got_params = deep.train_predict(
        x, y, train, test, seeds, model="ststnet", epochs=epochs, batch_size=batch,
        learning_rate=lr, shuffle_seed=9, return_params=True, shared=True,
    )  # fmt: skip
    permutation = np.random.default_rng(9).permutation(len(x))
    chunks = [permutation[k : k + batch] for k in range(0, len(x), batch)]
    skipped = 0
    for k in range(len(train)):
        batches = [c[np.isin(c, train[k])] for c in chunks]
        skipped += sum(len(b) == 0 for b in batches)
        prob, state = _train_reference(x, y, test[k], batches, seeds[k], epochs, lr)
        np.testing.assert_allclose(got[k], prob, rtol=1e-4, atol=1e-5)
        for name, want in state.items():
            have = got_params[k][name]
            # As in the batched test: Adam moves a weight whose gradient is rounding residue
            # by ~lr per step; all others agree to float precision.
            off = ~np.isclose(have, want, rtol=1e-4, atol=1e-5)
            assert off.sum() <= max(1, off.size // 1000), (k, name, off.sum())
            assert np.abs(have - want).max() <= lr * epochs * len(chunks), (k, name)
    assert skipped > 0  # the case of a fold without rows in a chunk was exercised


@pytest.mark.parametrize("bn_sign", [1.0, -1.0, 0.0])
def test_shared_first_layer_gradients_equal_plain_pytorch(bn_sign):
    """One training step's logits and gradients of every parameter, for 3 models on 7 shared
    rows with per-model masks, equal plain PyTorch per model (batch statistics over the model's
    rows only). A negative or zero batch-norm scale on some channels exercises the pooling
    rule (the maximum of the normalised maps is then the minimum or the first value)."""
    import torch
    import torch.nn.functional as F

    from microexp.learn.deep.networks import _init_params
    from microexp.learn.deep.shared import dropout_masks, forward_train, patches

    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (7, 3, 28, 28)).astype(np.float32)
    member = np.ones((7, 3), dtype=bool)
    member[[1, 4], 0] = False
    member[6, 2] = False
    y = torch.from_numpy(rng.integers(0, 3, 7))
    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    drawn = [_init_params("ststnet", g, 3, (3, 28, 28)) for g in gens]
    for d in drawn:
        d["bn_g"][::3] *= bn_sign
        d["bn_b"] += 0.1
    stacked = {k: torch.stack([d[k] for d in drawn]).requires_grad_(True) for k in drawn[0]}
    buffers = {"bn_mean": torch.zeros(3, 16), "bn_var": torch.ones(3, 16)}
    drop = dropout_masks(gens, member)
    member_t = torch.from_numpy(member)
    logits = forward_train(
        stacked, buffers, torch.from_numpy(patches(x)), member_t, drop, member_t.any(0)
    )
    losses = F.cross_entropy(logits.reshape(-1, 3), y.repeat_interleave(3), reduction="none")
    losses = torch.where(member_t, losses.reshape(7, 3), torch.zeros(7, 3))
    (losses.sum(0) / member_t.sum(0)).sum().backward()
    for m in range(3):
        rows = torch.from_numpy(np.flatnonzero(member[:, m]))
        params = {k: v.detach().clone().requires_grad_(True) for k, v in drawn[m].items()}
        ref_buffers = {"bn_mean": torch.zeros(16), "bn_var": torch.ones(16)}
        mask = drop[m][rows].reshape(-1, 16, 10, 10) / 0.5
        want = _reference_ststnet(params, ref_buffers, torch.from_numpy(x)[rows], mask)
        np.testing.assert_allclose(
            logits[rows, m].detach().numpy(), want.detach().numpy(), rtol=1e-4, atol=1e-4
        )
        F.cross_entropy(want, y[rows]).backward()
        for name, value in params.items():
            scale = float(value.grad.abs().max()) + 1e-12
            np.testing.assert_allclose(
                stacked[name].grad[m].numpy() / scale, value.grad.numpy() / scale, atol=1e-4,
                err_msg=f"{name} of model {m}",
            )  # fmt: skip
        np.testing.assert_allclose(buffers["bn_mean"][m], ref_buffers["bn_mean"], rtol=1e-5)
        np.testing.assert_allclose(buffers["bn_var"][m], ref_buffers["bn_var"], rtol=1e-4)
