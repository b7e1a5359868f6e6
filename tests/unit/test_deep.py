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


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("model", ["ststnet", "offapexnet"])
def test_test_subject_never_influences_its_model(model, batched):
    """Perturbing fold 0's test subject leaves fold 0's trained parameters bit-identical (while
    the other folds, which train on that subject, change)."""
    x, y, groups = _problem(n_per_subject=(6, 5, 7))
    train, test = _loso_sets(groups)
    kwargs = dict(
        model=model, epochs=3, batch_size=4, learning_rate=1e-3, shuffle_seed=1, batched=batched
    )
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
    """One fold at a time, each on one thread: 1 or 3 folds in parallel give bit-identical
    models."""
    shape = (1, 8, 8, 8) if model == "stcnn3d" else (3, 28, 28)
    x, y, groups = _problem(n_per_subject=(5, 4, 6), shape=shape)
    train, test = _loso_sets(groups)
    kwargs = dict(model=model, epochs=2, batch_size=4, learning_rate=1e-3, return_params=True)
    one, p_one = deep.train_predict(x, y, train, test, [1, 2, 3], n_threads=1, **kwargs)
    three, p_three = deep.train_predict(x, y, train, test, [1, 2, 3], n_threads=3, **kwargs)
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
