"""Accuracy, UF1, UAR and confusion matrices of out-of-fold predictions (docs/methods.md#metrics).

DSME-3D 4.3 reports accuracy and F-score; the MEGC convention (docs/methods.md#metrics) is
UF1 = unweighted (macro) mean of per-class F1 and UAR = unweighted mean of per-class recall, both
computed on the predictions **pooled over all folds** of a repeat. Per-fold figures differ (a LOSO
fold often holds one or two classes of one subject) and are a known pitfall when mixed up, so both
are given and labelled: aggregation ``pooled`` or ``per_fold``.

Which classes a macro average runs over: the classes with at least one true sample in the
predictions being scored. Pooled over a repeat that is every class of the scheme (apply_scheme
drops empty and small classes). In a single fold it is the classes present in that fold's ground
truth: recall (and so F1) of a class without true samples is undefined, so it is left out rather
than counted as 0 or 1. A wrong prediction *of* such a class still lowers the recall of the true
class, and its F1 through that. For these classes this equals
``sklearn.metrics.f1_score(..., labels=<classes present in y_true>, average="macro",
zero_division=0)`` and ``recall_score`` likewise.

For repeated k-fold (10 x 10), each figure is computed per repeat and then reported as the mean
and the standard deviation across repeats (DSME-3D: "the average result of 10 times"). Standard
deviations use ddof = 1 (sample std) and are NaN with fewer than two values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "METRICS",
    "accuracy",
    "confusion_matrix",
    "per_class_scores",
    "per_fold_scores",
    "per_repeat_scores",
    "scores_from_confusion",
    "summarize_scores",
    "uar",
    "uf1",
]

METRICS = ("accuracy", "uf1", "uar")


def _arrays(y_true: Sequence, y_pred: Sequence) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=object)
    p = np.asarray(y_pred, dtype=object)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one length: {t.shape}, {p.shape}")
    if len(t) == 0:
        raise ValueError("no predictions to score")
    return t, p


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    """Fraction of samples predicted correctly."""
    t, p = _arrays(y_true, y_pred)
    return float(np.mean(t == p))


def per_class_scores(y_true: Sequence, y_pred: Sequence) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class with at least one true sample.

    Rows in sorted class order. Precision of a class never predicted is 0 (so is its F1).
    """
    t, p = _arrays(y_true, y_pred)
    classes = sorted(set(t.tolist()) | set(p.tolist()))
    counts = confusion_matrix(t, p, classes).to_numpy()
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    tp = np.diag(counts)
    present = support > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
    return pd.DataFrame(
        {
            "class": [c for c, keep in zip(classes, present, strict=True) if keep],
            "precision": precision[present],
            "recall": tp[present] / support[present],
            "f1": 2 * tp[present] / (support[present] + predicted[present]),
            "support": support[present],
        }
    )


def scores_from_confusion(counts: np.ndarray) -> dict[str, float]:
    """Accuracy, UF1 and UAR of a confusion matrix (rows true, columns predicted).

    The single definition every score here goes through: macro averages run over the rows with
    support > 0; per-class F1 = 2 TP / (support + predicted), which is 2PR / (P + R) and 0 when
    TP = 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    tp = np.diag(counts)
    present = support > 0
    if not present.any():
        raise ValueError("no predictions to score")
    return {
        "accuracy": float(tp.sum() / counts.sum()),
        "uf1": float(np.mean(2 * tp[present] / (support[present] + predicted[present]))),
        "uar": float(np.mean(tp[present] / support[present])),
    }


def _scores(y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
    t, p = _arrays(y_true, y_pred)
    classes = sorted(set(t.tolist()) | set(p.tolist()))
    return scores_from_confusion(_confusion_counts(t, p, classes))


def uf1(y_true: Sequence, y_pred: Sequence) -> float:
    """Unweighted F1: mean per-class F1 over classes present in ``y_true`` (MEGC UF1)."""
    return _scores(y_true, y_pred)["uf1"]


def uar(y_true: Sequence, y_pred: Sequence) -> float:
    """Unweighted average recall: mean per-class recall over classes present in ``y_true``."""
    return _scores(y_true, y_pred)["uar"]


def _run_columns(predictions: pd.DataFrame) -> list[str]:
    """What identifies one cross-validation run (nested inner tables carry the outer fold)."""
    return [c for c in ("outer_repeat", "outer_fold", "repeat") if c in predictions.columns]


def _class_codes(predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels and predictions as codes into the sorted union of both (hashed once per column;
    the classes sorted as ``_scores`` sorts them)."""
    if len(predictions) == 0:
        raise ValueError("no predictions to score")
    codes, uniques = [], []
    for column in ("label", "predicted"):
        column_codes, column_uniques = pd.factorize(predictions[column])
        if (column_codes < 0).any():
            raise ValueError(f"predictions have a missing {column}")
        codes.append(column_codes)
        uniques.append(list(np.asarray(column_uniques, dtype=object)))
    classes = sorted(set(uniques[0]) | set(uniques[1]))
    index = {c: k for k, c in enumerate(classes)}
    t, p = (
        np.array([index[u] for u in column_uniques], dtype=np.int64)[column_codes]
        for column_codes, column_uniques in zip(codes, uniques, strict=True)
    )
    return t, p, len(classes)


def _scores_of_rows(t: np.ndarray, p: np.ndarray, n_classes: int, rows: np.ndarray):
    """``_scores`` of the given rows from class codes: the confusion matrix over every class of
    the table. Classes absent from these rows' truth and predictions add rows and columns of
    zeros only, which ``scores_from_confusion`` leaves out (support 0), so the figures are
    those of the rows' own classes, bit for bit (same counts, same classes in the same order)."""
    cells = np.bincount(t[rows] * n_classes + p[rows], minlength=n_classes * n_classes)
    return scores_from_confusion(cells.reshape(n_classes, n_classes))


def per_fold_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy, UF1, UAR of every fold on its own: columns repeat, fold, n_samples, metrics."""
    return _per_fold_scores(predictions, *_class_codes(predictions))


def _per_fold_scores(
    predictions: pd.DataFrame, t: np.ndarray, p: np.ndarray, n_classes: int
) -> pd.DataFrame:
    keys = [*_run_columns(predictions), "fold"]
    # Row positions per fold (no sub-frame per fold: a sweep scores 133 folds per setting).
    positions = predictions.groupby(keys, sort=True).indices
    rows = []
    for key in sorted(positions):
        fold = positions[key]
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n_samples": len(fold),
                **_scores_of_rows(t, p, n_classes, fold),
            }
        )
    return pd.DataFrame(rows)


def _std(values: pd.Series | np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.std(values, ddof=1)) if len(values) >= 2 else float("nan")


def per_repeat_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per repeat: the pooled metrics and the per-fold means and stds
    (docs/methods.md#metrics).

    Columns: repeat, n_samples, n_folds, then for m in accuracy, uf1, uar: ``pooled_<m>`` (on all
    the repeat's predictions at once), ``per_fold_mean_<m>`` and ``per_fold_std_<m>``.
    """
    runs = _run_columns(predictions)
    t, p, n_classes = _class_codes(predictions)
    folds = _per_fold_scores(predictions, t, p, n_classes)
    # Which folds belong to which run: positions in the per-fold table (its rows are sorted by
    # run, then fold), without a boolean selection per run.
    fold_positions = folds.groupby(runs, sort=True).indices
    fold_metrics = {metric: folds[metric].to_numpy(dtype=np.float64) for metric in METRICS}
    positions = predictions.groupby(runs, sort=True).indices
    rows = []
    for key in sorted(positions):
        run = positions[key]
        run_folds = fold_positions[key]
        key = key if isinstance(key, tuple) else (key,)
        row = {
            **dict(zip(runs, key, strict=True)),
            "n_samples": len(run),
            "n_folds": len(run_folds),
        }
        for metric, value in _scores_of_rows(t, p, n_classes, run).items():
            row[f"pooled_{metric}"] = value
        for metric in METRICS:
            values = fold_metrics[metric][run_folds]
            # pandas' Series.mean without NaN: NumPy's sum over the count, as here.
            row[f"per_fold_mean_{metric}"] = float(values.sum() / len(values))
            row[f"per_fold_std_{metric}"] = _std(values)
        rows.append(row)
    return pd.DataFrame(rows)


def summarize_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """The figures a table reports: one row per (metric, aggregation).

    Columns: ``metric`` (accuracy, uf1, uar), ``aggregation`` (``pooled``: on predictions pooled
    over all folds of a repeat, the MEGC convention; ``per_fold``: mean over folds), ``mean``
    (over repeats), ``std_over_repeats`` (NaN for a single repeat, e.g. LOSO), ``mean_fold_std``
    (per_fold only: the spread across folds, averaged over repeats), ``n_repeats``,
    ``n_samples`` (predictions per repeat).
    """
    repeats = per_repeat_scores(predictions)
    rows = []
    for metric in METRICS:
        pooled = repeats[f"pooled_{metric}"]
        rows.append(
            {
                "metric": metric,
                "aggregation": "pooled",
                "mean": float(pooled.mean()),
                "std_over_repeats": _std(pooled),
                "mean_fold_std": float("nan"),
                "n_repeats": len(repeats),
                "n_samples": int(repeats["n_samples"].iloc[0]),
            }
        )
        fold_mean = repeats[f"per_fold_mean_{metric}"]
        rows.append(
            {
                "metric": metric,
                "aggregation": "per_fold",
                "mean": float(fold_mean.mean()),
                "std_over_repeats": _std(fold_mean),
                "mean_fold_std": float(repeats[f"per_fold_std_{metric}"].mean()),
                "n_repeats": len(repeats),
                "n_samples": int(repeats["n_samples"].iloc[0]),
            }
        )
    return pd.DataFrame(rows)


def confusion_matrix(
    y_true: Sequence,
    y_pred: Sequence,
    classes: Sequence[str],
    normalize: str | None = None,
) -> pd.DataFrame:
    """Counts of (true class, predicted class), rows true and columns predicted, in ``classes``
    order. ``normalize="true"`` divides each row by its support (rows of absent classes stay 0).

    For 10 x 10-fold, pass every repeat's predictions: each sample then counts once per repeat.
    """
    t, p = _arrays(y_true, y_pred)
    classes = list(classes)
    counts = _confusion_counts(t, p, classes)
    table = pd.DataFrame(
        counts, index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted")
    )
    if normalize == "true":
        support = counts.sum(axis=1, keepdims=True)
        return table.astype(np.float64) / np.where(support == 0, 1, support)
    if normalize is not None:
        raise ValueError(f"normalize must be None or 'true', got {normalize!r}")
    return table


def _confusion_counts(t: np.ndarray, p: np.ndarray, classes: list) -> np.ndarray:
    """(n_classes, n_classes) int64 counts of (true, predicted) in ``classes`` order."""
    index = {c: k for k, c in enumerate(classes)}
    unknown = (set(t.tolist()) | set(p.tolist())) - set(classes)
    if unknown:
        raise ValueError(f"labels {sorted(map(str, unknown))} are not in classes {classes}")
    counts = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(counts, ([index[x] for x in t], [index[x] for x in p]), 1)
    return counts
