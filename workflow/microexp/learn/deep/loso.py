"""Leave-one-subject-out (and nested LOSO) predictions of the Table 12 networks: the API
(microexp.learn.deep's docstring)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from microexp.learn.deep.networks import PUBLISHED_TRAINING, _check_inputs, _check_model
from microexp.learn.deep.training import train_predict
from microexp.learn.protocols import derive_seed

__all__ = ["fit_predict_loso", "fit_predict_nested_loso"]


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


def _prepare(
    inputs: np.ndarray,
    labels: Sequence,
    groups: Sequence,
    model: str,
    classes: Sequence[str] | None,
) -> tuple[str, np.ndarray, np.ndarray, list[str], np.ndarray, list[str]]:
    """Checked inputs, encoded labels, subjects and the LOSO fold order of both APIs."""
    model = _check_model(model)
    x = _check_inputs(inputs, model)
    y, classes = _encode(labels, classes)
    if len(y) != len(x):
        raise ValueError(f"{len(x)} inputs but {len(y)} labels")
    subjects = _subjects(groups, len(x))
    return model, x, y, classes, subjects, _fold_order(subjects)


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
    model, x, y, classes, subjects, order = _prepare(inputs, labels, groups, model, classes)
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
    model, x, y, classes, subjects, order = _prepare(inputs, labels, groups, model, classes)
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
