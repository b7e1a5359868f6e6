"""evaluate/table12.py: prediction tables for fusion, fused scores by hand, the table's gains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from microexp.evaluate.formatting import TableContext
from microexp.evaluate.table12 import deep_prediction_table, dsme3d_table12, table12_scores

CLASSES = ["negative", "positive"]


def _deep_table(p_positive, folds, outer=None):
    y = ["negative", "positive", "negative", "positive"]
    p = np.asarray(p_positive, dtype=float)
    table = pd.DataFrame(
        {
            "sample": [0, 1, 2, 3],
            "subject": ["a", "a", "b", "b"],
            "fold": folds,
            "y_true": y,
            "y_pred": np.where(p > 0.5, "positive", "negative"),
            "p_negative": 1 - p,
            "p_positive": p,
        }
    )
    if outer is not None:
        table.insert(0, "outer_fold", outer)
    return table


def test_deep_prediction_table_has_the_svm_form():
    out = deep_prediction_table(_deep_table([0.2, 0.9, 0.6, 0.7], [0, 0, 1, 1]), list("wxyz"))
    assert out.columns.tolist() == [
        "sample", "subject", "repeat", "fold", "label", "predicted", "p_negative", "p_positive"
    ]  # fmt: skip
    assert out["sample"].tolist() == list("wxyz")
    assert out["label"].tolist() == ["negative", "positive", "negative", "positive"]
    assert out["predicted"].tolist() == ["negative", "positive", "positive", "positive"]


def test_fused_scores_by_hand():
    """2D alone gets sample y wrong (negative, p_positive 0.6); the 3D probabilities get every
    sample right, and a = 0.25 already fixes y (0.75 x 0.6 + 0.25 x 0.1 = 0.475): the oracle
    picks it (the smallest a of the best), accuracy 100 % (gain +25 points)."""
    samples = list("wxyz")
    outer2d = deep_prediction_table(_deep_table([0.2, 0.9, 0.6, 0.7], [0, 0, 1, 1]), samples)
    outer3d = deep_prediction_table(_deep_table([0.1, 0.8, 0.1, 0.8], [0, 0, 1, 1]), samples)
    # Inner predictions: outer fold 0 (subject a) trains on b only, whose inner fold is 0.
    inner = deep_prediction_table(
        _deep_table([0.2, 0.9, 0.6, 0.7], [0, 0, 0, 0], [1, 1, 0, 0]), samples
    )
    inner3d = deep_prediction_table(
        _deep_table([0.1, 0.8, 0.1, 0.8], [0, 0, 0, 0], [1, 1, 0, 0]), samples
    )
    scores, fused = table12_scores(
        "ststnet", outer2d, inner, {"si": outer3d}, {"si": inner3d}, [0.0, 0.25, 0.5, 1.0]
    )
    alone = scores[scores["fusion"] == "none"].iloc[0]
    assert alone["accuracy"] == pytest.approx(75.0)
    oracle = scores[scores["fusion"] == "oracle"].iloc[0]
    assert oracle["accuracy"] == pytest.approx(100.0) and oracle["a"] == 0.25
    # Nested: a chosen on each outer fold's inner predictions (the other subject): for outer
    # fold 1 (subject b) the inner rows are a's, which 2D already gets right -> a = 0, so y
    # stays wrong.
    nested = scores[scores["fusion"] == "nested"].iloc[0]
    assert nested["accuracy"] == pytest.approx(75.0)
    assert set(fused) == {"si/oracle", "si/nested"}

    table = dsme3d_table12(scores.assign(n_samples=4), TableContext("dsme3d", "dsme3d", 0))
    values = table.values
    assert values.loc[("STSTNet", "SI", "oracle a"), "gain (points)"] == pytest.approx(25.0)
    assert values.loc[("STSTNet", "SI", "oracle a"), "paper gain (points)"] == pytest.approx(4.68)
    assert np.isnan(values.loc[("STSTNet", "SI", "nested a"), "paper gain (points)"])
    synthetic = dsme3d_table12(scores.assign(n_samples=4), TableContext("s", "synthetic", 0))
    assert synthetic.values["paper gain (points)"].isna().all()
    assert any("none is shown beside them" in line for line in synthetic.header)
