"""2D/3D probability fusion with an oracle and a nested choice of the weight
(docs/methods.md#fusion).

DSME-3D Eq. 13 (section 4.3): P = (1 - a) p2D + a p3D, a in [0, 1], "fixed for all samples in each
classification"; the predicted class is the argmax of P. a = 0 is 2D alone, a = 1 is 3D alone.
DSME-3D reports, per table cell, the best a on the test results (4.3.2: "only the optimal fusion
results are shown"). That figure is reproduced here, labelled **oracle a**, and next to it the
honest figure, **nested a**:

- oracle: one a for the whole protocol, the one that maximises the criterion (accuracy by
  default; pooled over all folds of a repeat, then averaged over repeats) on the test predictions.
  It has seen the test labels, so it is optimistic.
- nested: for every outer fold, a is chosen by an inner cross-validation on that fold's training
  samples only (protocols.nested_splits): the 2D and 3D SVMs are trained and tested inside the
  outer training set, their inner out-of-fold probabilities are fused for every a on the grid, and
  the best a by the same criterion (pooled over the inner folds) is applied to the outer fold's
  test predictions. Nothing of the outer test fold enters the choice: `nested_fusion` checks that
  each outer fold's inner predictions cover exactly its training samples.

Tie rules (documented and tested): among weights whose score is within 1e-12 of the best, the
smallest a wins (the least departure from the 2D baseline, and deterministic); in the argmax of P
the earlier class in the scheme's order wins.

Prediction tables are those of svm.py; fused tables have the same columns (``p_<class>`` then
holds P) plus ``a``.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from microexp.learn.metrics import METRICS, scores_from_confusion
from microexp.learn.protocols import default_inner_protocol, nested_splits
from microexp.learn.svm import (
    SVMParams,
    classes_of,
    cross_validate_svm,
    probability_columns,
)

__all__ = [
    "TIE_TOLERANCE",
    "FusionResult",
    "NestedFusionRun",
    "alpha_grid",
    "fuse_predictions",
    "fuse_probabilities",
    "fusion_curve",
    "nested_fusion",
    "nested_fusion_cv",
    "oracle_fusion",
    "select_alpha",
]

TIE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class FusionResult:
    """A fusion figure. ``alphas``: the weight used per outer (repeat, fold), with the score that
    chose it; ``predictions``: fused out-of-fold predictions; ``curve``: score against a (oracle:
    on the test predictions; nested: per outer fold on its inner predictions, long form)."""

    kind: str  # "oracle" or "nested"
    criterion: str
    alphas: pd.DataFrame
    predictions: pd.DataFrame
    curve: pd.DataFrame


def alpha_grid(step: float = 0.05) -> np.ndarray:
    """0, step, ..., 1 (rounded, so 0.15 is 0.15 in files)."""
    count = round(1.0 / step)
    if count < 1 or not np.isclose(count * step, 1.0):
        raise ValueError(f"step {step} must divide 1")
    return np.round(np.linspace(0.0, 1.0, count + 1), 10)


def fuse_probabilities(p2d: np.ndarray, p3d: np.ndarray, a: float | np.ndarray) -> np.ndarray:
    """P = (1 - a) p2D + a p3D (DSME-3D Eq. 13); ``a`` a scalar or one weight per row."""
    a = np.asarray(a, dtype=np.float64)
    if np.any((a < 0) | (a > 1)):
        raise ValueError("fusion weight a must lie in [0, 1]")
    if a.ndim == 1:
        a = a[:, None]
    return (1.0 - a) * p2d + a * p3d


def select_alpha(alphas: Sequence[float], scores: Sequence[float]) -> float:
    """The a with the highest score; ties (within TIE_TOLERANCE) go to the smallest a."""
    alphas = np.asarray(alphas, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    best = scores.max()
    tied = alphas[scores >= best - TIE_TOLERANCE]
    return float(tied.min())


def _paired(pred2d: pd.DataFrame, pred3d: pd.DataFrame):
    """Row-align a 2D and a 3D prediction table of the same split; return the shared columns,
    the two probability matrices and the class order."""
    classes = classes_of(pred2d)
    if classes_of(pred3d) != classes:
        raise ValueError(f"2D classes {classes} differ from 3D classes {classes_of(pred3d)}")
    keys = [c for c in ("outer_repeat", "outer_fold", "repeat", "sample") if c in pred2d.columns]
    if len(pred2d) != len(pred3d):
        raise ValueError("2D and 3D predictions have different numbers of rows")
    columns = probability_columns(classes)
    right = pred3d[[*keys, "fold", "label", *columns]]
    merged = pred2d.merge(right, on=keys, how="left", suffixes=("", "_3d"), validate="1:1")
    if merged["label_3d"].isna().any():
        raise ValueError("2D and 3D predictions do not cover the same (repeat, sample) rows")
    if not (merged["fold"] == merged["fold_3d"]).all():
        raise ValueError("2D and 3D predictions come from different splits")
    if not (merged["label"] == merged["label_3d"]).all():
        raise ValueError("2D and 3D predictions disagree on true labels")
    base = merged[[c for c in pred2d.columns if not c.startswith("p_") and c != "predicted"]]
    return (
        base.reset_index(drop=True),
        merged[columns].to_numpy(dtype=np.float64),
        merged[[f"{c}_3d" for c in columns]].to_numpy(dtype=np.float64),
        classes,
    )


def _run_ids(base: pd.DataFrame, run_columns: Sequence[str]) -> np.ndarray:
    if not run_columns:
        return np.zeros(len(base), dtype=np.int64)
    return base.groupby(list(run_columns), sort=True).ngroup().to_numpy()


def _curve(
    y: np.ndarray, p2d: np.ndarray, p3d: np.ndarray, runs: np.ndarray, alphas: np.ndarray
) -> pd.DataFrame:
    """Per a: each metric pooled within a run (repeat), then mean and std over runs."""
    n_classes = p2d.shape[1]
    n_runs = int(runs.max()) + 1
    rows = []
    for a in alphas:
        predicted = fuse_probabilities(p2d, p3d, a).argmax(axis=1)
        flat = (runs * n_classes + y) * n_classes + predicted
        counts = np.bincount(flat, minlength=n_runs * n_classes * n_classes).reshape(
            n_runs, n_classes, n_classes
        )
        per_run = [scores_from_confusion(c) for c in counts if c.sum() > 0]
        row = {"a": float(a)}
        for metric in METRICS:
            values = np.array([s[metric] for s in per_run])
            row[metric] = float(values.mean())
            row[f"{metric}_std_over_repeats"] = (
                float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def fuse_predictions(
    pred2d: pd.DataFrame, pred3d: pd.DataFrame, a: float | pd.DataFrame
) -> pd.DataFrame:
    """Fused prediction table. ``a``: one weight, or a table (repeat, fold, a) of weights per
    outer fold, as ``FusionResult.alphas``."""
    base, p2d, p3d, classes = _paired(pred2d, pred3d)
    if isinstance(a, pd.DataFrame):
        weights = base[["repeat", "fold"]].merge(
            a[["repeat", "fold", "a"]], on=["repeat", "fold"], how="left", validate="m:1"
        )["a"]
        if weights.isna().any():
            raise ValueError("no fusion weight for some (repeat, fold)")
        row_a = weights.to_numpy(dtype=np.float64)
    else:
        row_a = np.full(len(base), float(a))
    fused = fuse_probabilities(p2d, p3d, row_a)
    table = base.copy()
    table["predicted"] = pd.array([classes[k] for k in fused.argmax(axis=1)], dtype="string")
    for column, values in zip(probability_columns(classes), fused.T, strict=True):
        table[column] = values
    table["a"] = row_a
    return table


def fusion_curve(
    pred2d: pd.DataFrame, pred3d: pd.DataFrame, alphas: Sequence[float]
) -> pd.DataFrame:
    """Accuracy, UF1, UAR of the fused predictions for every a (pooled per repeat, mean and std
    over repeats): the fusion curve figure, and what the oracle maximises."""
    base, p2d, p3d, classes = _paired(pred2d, pred3d)
    code = {c: k for k, c in enumerate(classes)}
    y = base["label"].map(code).to_numpy(dtype=np.int64)
    runs = _run_ids(base, [c for c in ("outer_repeat", "outer_fold", "repeat") if c in base])
    return _curve(y, p2d, p3d, runs, np.asarray(alphas, dtype=np.float64))


def oracle_fusion(
    pred2d: pd.DataFrame,
    pred3d: pd.DataFrame,
    alphas: Sequence[float],
    criterion: str = "accuracy",
) -> FusionResult:
    """The paper's figure, labelled "oracle a": one a chosen on the pooled test predictions."""
    _check_criterion(criterion)
    curve = fusion_curve(pred2d, pred3d, alphas)
    a = select_alpha(curve["a"], curve[criterion])
    predictions = fuse_predictions(pred2d, pred3d, a)
    folds = predictions[["repeat", "fold"]].drop_duplicates().sort_values(["repeat", "fold"])
    table = folds.assign(
        a=a, score=float(curve.loc[curve["a"] == a, criterion].iloc[0]), criterion=criterion
    ).reset_index(drop=True)
    return FusionResult("oracle", criterion, table, predictions, curve)


def nested_fusion(
    outer2d: pd.DataFrame,
    outer3d: pd.DataFrame,
    inner2d: pd.DataFrame,
    inner3d: pd.DataFrame,
    alphas: Sequence[float],
    criterion: str = "accuracy",
) -> FusionResult:
    """The honest figure, labelled "nested a": a chosen per outer fold on inner predictions.

    ``outer2d/outer3d``: prediction tables of the outer split. ``inner2d/inner3d``: prediction
    tables of ``nested_splits(outer split)`` (columns outer_repeat, outer_fold, ...), i.e. the
    inner out-of-fold probabilities on each outer fold's training samples. For outer fold
    (r, f), a = argmax over the grid of the criterion on the inner predictions of (r, f) pooled
    over their inner folds (ties: smallest a); the outer test rows of (r, f) are fused with it.
    Raises ValueError if an outer fold's inner predictions are not exactly its training samples.
    """
    _check_criterion(criterion)
    alphas = np.asarray(alphas, dtype=np.float64)
    base, p2d, p3d, classes = _paired(inner2d, inner3d)
    code = {c: k for k, c in enumerate(classes)}
    y = base["label"].map(code).to_numpy(dtype=np.int64)
    outer_keys = base[["outer_repeat", "outer_fold"]].to_numpy()

    chosen, curves = [], []
    outer_folds = outer2d[["repeat", "fold"]].drop_duplicates().sort_values(["repeat", "fold"])
    for repeat, fold in outer_folds.itertuples(index=False):
        rows = (outer_keys[:, 0] == repeat) & (outer_keys[:, 1] == fold)
        training = outer2d.loc[(outer2d["repeat"] == repeat) & (outer2d["fold"] != fold), "sample"]
        inner_samples = base.loc[rows, "sample"]
        if set(inner_samples) != set(training) or inner_samples.duplicated().any():
            raise ValueError(
                f"inner predictions of outer fold (repeat {repeat}, fold {fold}) are not exactly "
                "its training samples"
            )
        inner_runs = _run_ids(base[rows], ["repeat"])
        curve = _curve(y[rows], p2d[rows], p3d[rows], inner_runs, alphas)
        a = select_alpha(curve["a"], curve[criterion])
        chosen.append(
            {
                "repeat": int(repeat),
                "fold": int(fold),
                "a": a,
                "score": float(curve.loc[curve["a"] == a, criterion].iloc[0]),
                "criterion": criterion,
                "n_inner_samples": int(rows.sum()),
            }
        )
        curves.append(curve.assign(repeat=int(repeat), fold=int(fold)))
    table = pd.DataFrame(chosen)
    predictions = fuse_predictions(outer2d, outer3d, table)
    curve = pd.concat(curves, ignore_index=True)
    curve = curve[["repeat", "fold", *[c for c in curve.columns if c not in ("repeat", "fold")]]]
    return FusionResult("nested", criterion, table, predictions, curve)


@dataclass(frozen=True)
class NestedFusionRun:
    """Everything `nested_fusion_cv` computed, so the workflow can write each as a file."""

    outer2d: pd.DataFrame
    outer3d: pd.DataFrame
    inner_splits: pd.DataFrame
    inner2d: pd.DataFrame
    inner3d: pd.DataFrame
    nested: FusionResult
    oracle: FusionResult


def nested_fusion_cv(
    features2d: np.ndarray,
    features3d: np.ndarray,
    samples: Sequence[str],
    outer_splits: pd.DataFrame,
    params2d: SVMParams,
    params3d: SVMParams,
    alphas: Sequence[float],
    *,
    seed: int,
    classes: Sequence[str] | None = None,
    outer_protocol: str = "loso",
    inner_protocol: str | None = None,
    inner_n_splits: int = 10,
    criterion: str = "accuracy",
    precompute: bool = True,
    memo: MutableMapping[str, pd.DataFrame] | None = None,
) -> NestedFusionRun:
    """From two feature matrices and an outer split to both fusion figures (docs/methods.md#fusion).

    Runs the 2D and 3D SVMs on the outer split and on the nested inner splits
    (``inner_protocol`` defaults to protocols.default_inner_protocol(outer_protocol)), then
    ``nested_fusion`` and ``oracle_fusion``. Rows of both feature matrices follow ``samples``.
    The workflow may instead run each step as its own rule with the functions used here.

    ``memo`` (optional, e.g. one per fusion entry) keeps each prediction table under a digest of
    everything it is computed from (features, samples, split table, SVM setting, seed, classes):
    the LBP-TOP side of LBP-TOP + si, + hk and + si+hk is the same computation whenever the
    descriptors keep the same samples, so it runs once. The SVMs are deterministic, so a table
    from the memo is the table a new run would give.
    """
    inner_protocol = inner_protocol or default_inner_protocol(outer_protocol)
    inner = nested_splits(outer_splits, inner_protocol, seed=seed, n_splits=inner_n_splits)
    classes = list(classes) if classes is not None else sorted(outer_splits["label"].unique())
    runs = {}
    for name, features, params in (("2d", features2d, params2d), ("3d", features3d, params3d)):
        for part, splits in (("outer", outer_splits), ("inner", inner)):
            key = _prediction_key(features, samples, splits, params, seed, classes, precompute)
            if memo is None or key not in memo:
                table = cross_validate_svm(
                    features,
                    samples,
                    splits,
                    params,
                    seed=seed,
                    classes=classes,
                    precompute=precompute,
                )
                if memo is not None:
                    memo[key] = table
            else:
                table = memo[key].copy()
            runs[f"{part}{name}"] = table
    return NestedFusionRun(
        outer2d=runs["outer2d"],
        outer3d=runs["outer3d"],
        inner_splits=inner,
        inner2d=runs["inner2d"],
        inner3d=runs["inner3d"],
        nested=nested_fusion(
            runs["outer2d"], runs["outer3d"], runs["inner2d"], runs["inner3d"], alphas, criterion
        ),
        oracle=oracle_fusion(runs["outer2d"], runs["outer3d"], alphas, criterion),
    )


def _prediction_key(
    features: np.ndarray,
    samples: Sequence[str],
    splits: pd.DataFrame,
    params: SVMParams,
    seed: int,
    classes: Sequence[str],
    precompute: bool,
) -> str:
    """A digest of everything ``cross_validate_svm`` reads: the feature values and shape, the
    sample ids, the split table (values and column names), the SVM setting, seed, class order."""
    features = np.ascontiguousarray(features, dtype=np.float64)
    digest = hashlib.sha256()
    digest.update(repr((features.shape, list(samples), list(splits.columns))).encode())
    digest.update(features.tobytes())
    digest.update(pd.util.hash_pandas_object(splits, index=False).to_numpy().tobytes())
    digest.update(repr((params, int(seed), list(classes), bool(precompute))).encode())
    return digest.hexdigest()


def _check_criterion(criterion: str) -> None:
    if criterion not in METRICS:
        raise ValueError(f"criterion {criterion!r} not in {METRICS}")
