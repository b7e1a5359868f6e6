"""2D/3D probability fusion: Eq. 13, oracle a and nested a (docs/methods.md#fusion, DSME-3D 4.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from microexp.learn.fusion import (
    alpha_grid,
    fuse_predictions,
    fuse_probabilities,
    fusion_curve,
    nested_fusion,
    nested_fusion_cv,
    oracle_fusion,
    select_alpha,
)
from microexp.learn.protocols import loso_splits, nested_splits
from microexp.learn.svm import SVMParams

CLASSES = ["neg", "pos", "sur"]
ALPHAS = alpha_grid(0.05)


def test_eq13_and_grid() -> None:
    p2d = np.array([[0.6, 0.4, 0.0]])
    p3d = np.array([[0.0, 0.2, 0.8]])
    np.testing.assert_allclose(fuse_probabilities(p2d, p3d, 0.25), [[0.45, 0.35, 0.2]])
    assert len(ALPHAS) == 21 and ALPHAS[3] == 0.15 and ALPHAS[-1] == 1.0
    with pytest.raises(ValueError):
        alpha_grid(0.3)
    with pytest.raises(ValueError):
        fuse_probabilities(p2d, p3d, 1.5)


def test_ties_go_to_the_smallest_a() -> None:
    assert select_alpha([0.0, 0.5, 1.0], [0.7, 0.8, 0.8]) == 0.5
    assert select_alpha([0.0, 0.5, 1.0], [0.8, 0.8, 0.8]) == 0.0


def one_hot(codes: np.ndarray) -> np.ndarray:
    return np.eye(len(CLASSES))[codes]


def prediction_table(frame: pd.DataFrame, probabilities: np.ndarray) -> pd.DataFrame:
    table = frame.copy()
    table["predicted"] = np.array(CLASSES)[probabilities.argmax(axis=1)]
    for k, c in enumerate(CLASSES):
        table[f"p_{c}"] = probabilities[:, k]
    return table


def planted(seed: int = 0):
    """Outer and inner prediction tables where 3D is perfect on outer test rows only.

    2D is right 70 % of the time everywhere. 3D is a confident guess of a random class on the
    inner (training) rows and a perfect one-hot on the outer test rows: the signal exists only in
    test data."""
    rng = np.random.default_rng(seed)
    subjects = [f"{k}" for k in range(6) for _ in range(10)]
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    labels = rng.choice(CLASSES, len(samples)).tolist()
    outer = loso_splits(samples, subjects, labels)
    inner = nested_splits(outer, "loso", seed=seed)

    def two_d(frame: pd.DataFrame) -> np.ndarray:
        y = frame["label"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy()
        right = rng.random(len(y)) < 0.7
        codes = np.where(right, y, (y + rng.integers(1, 3, len(y))) % 3)
        return 0.6 * one_hot(codes) + 0.4 / 3

    y_outer = outer["label"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy()
    outer2d = prediction_table(outer, two_d(outer))
    outer3d = prediction_table(outer, one_hot(y_outer))
    inner2d = prediction_table(inner, two_d(inner))
    inner3d = prediction_table(inner, one_hot(rng.integers(0, 3, len(inner))))
    return outer2d, outer3d, inner2d, inner3d


def test_nested_a_cannot_see_a_signal_that_exists_only_in_test_data() -> None:
    outer2d, outer3d, inner2d, inner3d = planted()
    oracle = oracle_fusion(outer2d, outer3d, ALPHAS)
    nested = nested_fusion(outer2d, outer3d, inner2d, inner3d, ALPHAS)
    oracle_accuracy = (oracle.predictions["predicted"] == oracle.predictions["label"]).mean()
    nested_accuracy = (nested.predictions["predicted"] == nested.predictions["label"]).mean()
    two_d_accuracy = (outer2d["predicted"] == outer2d["label"]).mean()
    # The oracle exploits the test-only signal; the smallest a that makes 3D decide wins.
    assert oracle_accuracy == 1.0
    assert oracle.alphas["a"].nunique() == 1 and 0.3 <= oracle.alphas["a"].iloc[0] <= 0.5
    # Nested a is chosen on training behaviour, where 3D is a guess: every fold keeps 2D alone
    # (a = 0: up to a ~ 0.37 the fused predictions equal 2D's, and ties go to the smallest a).
    assert len(nested.alphas) == 6
    assert (nested.alphas["a"] == 0.0).all()
    assert nested_accuracy == two_d_accuracy < 0.9
    assert nested.kind == "nested" and oracle.kind == "oracle"
    assert set(nested.curve.columns) >= {"repeat", "fold", "a", "accuracy", "uf1", "uar"}
    # Each outer fold's test rows were fused with that fold's own a.
    merged = nested.predictions.merge(nested.alphas, on=["repeat", "fold"], suffixes=("", "_f"))
    assert (merged["a"] == merged["a_f"]).all()


def test_nested_fusion_refuses_inner_predictions_that_touch_the_outer_test_fold() -> None:
    outer2d, outer3d, inner2d, inner3d = planted()
    leaked = inner2d.copy()
    first = (leaked["outer_repeat"] == 0) & (leaked["outer_fold"] == 0)
    test_sample = outer2d.loc[outer2d["fold"] == 0, "sample"].iloc[0]
    leaked.loc[first.idxmax(), "sample"] = test_sample
    leaked3d = inner3d.copy()
    leaked3d.loc[first.idxmax(), "sample"] = test_sample
    with pytest.raises(ValueError, match="not exactly its training samples"):
        nested_fusion(outer2d, outer3d, leaked, leaked3d, ALPHAS)


def test_fused_tables_and_the_end_points_of_the_curve() -> None:
    outer2d, outer3d, _, _ = planted()
    only2d = fuse_predictions(outer2d, outer3d, 0.0)
    only3d = fuse_predictions(outer2d, outer3d, 1.0)
    assert (only2d["predicted"] == outer2d["predicted"]).all()
    assert (only3d["predicted"] == outer3d["predicted"]).all()
    assert list(only2d.columns) == [*outer2d.columns, "a"]
    curve = fusion_curve(outer2d, outer3d, ALPHAS)
    assert curve["accuracy"].iloc[0] == pytest.approx(
        (outer2d["predicted"] == outer2d["label"]).mean()
    )
    assert curve["accuracy"].iloc[-1] == 1.0
    with pytest.raises(ValueError, match="classes"):
        fuse_predictions(outer2d, outer3d.rename(columns={"p_neg": "p_negative"}), 0.5)


def test_argmax_ties_go_to_the_earlier_class() -> None:
    frame = pd.DataFrame(
        {"sample": ["x"], "subject": ["1"], "repeat": [0], "fold": [0], "label": ["pos"]}
    )
    two = prediction_table(frame, np.array([[0.0, 1.0, 0.0]]))
    three = prediction_table(frame, np.array([[0.0, 0.0, 1.0]]))
    assert fuse_predictions(two, three, 0.5)["predicted"].iloc[0] == "pos"


def test_nested_fusion_from_features_end_to_end() -> None:
    rng = np.random.default_rng(1)
    subjects = [f"{k}" for k in range(4) for _ in range(8)]
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    y = rng.integers(0, 3, len(samples))
    features2d = rng.random((len(samples), 12)) + 0.6 * np.eye(12)[y]
    features3d = rng.random((len(samples), 6)) + 0.3 * np.eye(6)[y]
    outer = loso_splits(samples, subjects, [CLASSES[k] for k in y])
    params = SVMParams(kernel="linear")
    run = nested_fusion_cv(
        features2d,
        features3d,
        samples,
        outer,
        params,
        params,
        alpha_grid(0.25),
        seed=3,
        classes=CLASSES,
    )
    assert len(run.nested.alphas) == 4 and set(run.nested.alphas["a"]) <= set(alpha_grid(0.25))
    assert len(run.nested.predictions) == len(samples)
    assert set(run.inner_splits["outer_fold"]) == {0, 1, 2, 3}
    again = nested_fusion_cv(
        features2d,
        features3d,
        samples,
        outer,
        params,
        params,
        alpha_grid(0.25),
        seed=3,
        classes=CLASSES,
    )
    pd.testing.assert_frame_equal(run.nested.predictions, again.nested.predictions)
    pd.testing.assert_frame_equal(run.oracle.alphas, again.oracle.alphas)
