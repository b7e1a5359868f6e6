"""Accuracy, UF1, UAR pooled and per fold, confusion matrices (docs/methods.md#metrics, MEGC
convention)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, recall_score

from microexp.learn.metrics import (
    accuracy,
    confusion_matrix,
    per_class_scores,
    per_fold_scores,
    per_repeat_scores,
    scores_from_confusion,
    summarize_scores,
    uar,
    uf1,
)

TRUE = ["a", "a", "a", "b", "b", "c"]
PRED = ["a", "a", "b", "b", "c", "c"]


def test_hand_computed_example() -> None:
    # a: TP 2, support 3, predicted 2 -> F1 = 4/5; b: TP 1, 2, 2 -> 1/2; c: TP 1, 1, 2 -> 2/3.
    assert accuracy(TRUE, PRED) == pytest.approx(4 / 6)
    assert uf1(TRUE, PRED) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    assert uar(TRUE, PRED) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    scores = per_class_scores(TRUE, PRED)
    assert scores["class"].tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(scores["precision"], [1.0, 0.5, 0.5])
    assert scores["support"].tolist() == [3, 2, 1]
    matrix = confusion_matrix(TRUE, PRED, ["c", "b", "a"])
    assert matrix.to_numpy().tolist() == [[1, 0, 0], [1, 1, 0], [0, 1, 2]]
    assert matrix.index.name == "true" and matrix.columns.name == "predicted"
    normalised = confusion_matrix(TRUE, PRED, ["a", "b", "c"], normalize="true")
    np.testing.assert_allclose(normalised.to_numpy().sum(axis=1), 1.0)


def test_matches_sklearn_macro_scores_over_true_classes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.choice(list("abcd"), 30)
        p = rng.choice(list("abcde"), 30)
        present = sorted(set(t))
        assert uf1(t, p) == pytest.approx(
            f1_score(t, p, labels=present, average="macro", zero_division=0)
        )
        assert uar(t, p) == pytest.approx(recall_score(t, p, labels=present, average="macro"))


def test_a_class_absent_from_the_fold_is_left_out_of_the_average() -> None:
    # Only "a" has true samples; the wrong "b" prediction lowers a's recall, not a "b" F1 of 0.
    assert uf1(["a", "a"], ["a", "b"]) == pytest.approx(2 / 3)
    assert uar(["a", "a"], ["a", "b"]) == pytest.approx(1 / 2)
    assert scores_from_confusion(np.array([[1, 1], [0, 0]]))["uf1"] == pytest.approx(2 / 3)


def predictions(rows: list[tuple[int, int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["repeat", "fold", "label", "predicted"])


def test_pooled_and_per_fold_differ_and_are_labelled() -> None:
    # Fold 0: a a -> a a (perfect). Fold 1: b b c -> b c c.
    table = predictions(
        [(0, 0, "a", "a"), (0, 0, "a", "a"), (0, 1, "b", "b"), (0, 1, "b", "c"), (0, 1, "c", "c")]
    )
    folds = per_fold_scores(table)
    np.testing.assert_allclose(folds["accuracy"], [1.0, 2 / 3])
    np.testing.assert_allclose(folds["uf1"], [1.0, (2 / 3 + 2 / 3) / 2])
    repeat = per_repeat_scores(table).iloc[0]
    assert repeat["pooled_accuracy"] == pytest.approx(4 / 5)
    assert repeat["per_fold_mean_accuracy"] == pytest.approx((1 + 2 / 3) / 2)
    assert repeat["per_fold_std_accuracy"] == pytest.approx(np.std([1, 2 / 3], ddof=1))
    assert repeat["pooled_uf1"] == pytest.approx(uf1(table["label"], table["predicted"]))
    summary = summarize_scores(table).set_index(["metric", "aggregation"])
    assert summary.loc[("accuracy", "pooled"), "mean"] == pytest.approx(4 / 5)
    assert summary.loc[("accuracy", "per_fold"), "mean"] == pytest.approx(5 / 6)
    assert np.isnan(summary.loc[("accuracy", "pooled"), "std_over_repeats"])  # one repeat


def test_repeats_are_scored_separately_then_averaged() -> None:
    rows = []
    for repeat, correct in ((0, 4), (1, 2)):  # pooled accuracy 1.0 and 0.5
        for k in range(4):
            rows.append((repeat, k % 2, "a", "a" if k < correct else "b"))
    summary = summarize_scores(predictions(rows)).set_index(["metric", "aggregation"])
    assert summary.loc[("accuracy", "pooled"), "mean"] == pytest.approx(0.75)
    assert summary.loc[("accuracy", "pooled"), "std_over_repeats"] == pytest.approx(
        np.std([1.0, 0.5], ddof=1)
    )
    assert summary.loc[("accuracy", "pooled"), "n_repeats"] == 2
    assert summary.loc[("accuracy", "pooled"), "n_samples"] == 4


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="no predictions"):
        accuracy([], [])
    with pytest.raises(ValueError, match="not in classes"):
        confusion_matrix(["a"], ["z"], ["a"])
