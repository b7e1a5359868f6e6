"""Evaluation protocols as split tables: LOSO, repeated stratified k-fold, LOVO
(docs/methods.md#protocols).

DSME-3D 4.3 evaluates with leave-one-subject-out (LOSO) and 10-fold cross-validation, the latter
"the average result of 10 times" (10 repeats with different seeds); CAS(ME)^2 section 3 with
leave-one-video-out (LOVO: each sample is the test set once).

A split is a table with one row per (sample, repeat): columns ``sample, subject, label, repeat,
fold``. Row (s, r, f) means "in repeat r, sample s is tested in fold f"; fold f of repeat r trains
on every other row of repeat r. So a sample is predicted exactly once per repeat by construction,
and a test sample can never be in its own training set. The table is written as a file by the
workflow, so the folds used are part of the results. Splits depend only on sample ids, subjects,
labels and the seed, never on features.

Note on leakage: LOSO keeps every subject's samples in one fold, so no subject is in both training
and test. Stratified k-fold (as in DSME-3D) does *not* group by subject: samples of a subject are
spread over folds, which is why its figures are higher than LOSO (docs/tables.md#published-figures,
"subject leakage").

Nested splits (for the honest fusion weight, docs/methods.md#fusion) add ``outer_repeat,
outer_fold``: for each outer fold, an inner protocol on that fold's training rows only.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

__all__ = [
    "PROTOCOLS",
    "SPLIT_COLUMNS",
    "Fold",
    "check_splits",
    "default_inner_protocol",
    "derive_seed",
    "folds",
    "group_columns",
    "kfold_splits",
    "loso_splits",
    "lovo_splits",
    "make_splits",
    "nested_splits",
]

PROTOCOLS = ("loso", "kfold", "lovo")
SPLIT_COLUMNS = ["sample", "subject", "label", "repeat", "fold"]
_OUTER_COLUMNS = ["outer_repeat", "outer_fold"]


@dataclass(frozen=True)
class Fold:
    """One train/test partition; ``train`` and ``test`` are row positions in the split table."""

    key: tuple[int, ...]  # (repeat, fold), or (outer_repeat, outer_fold, repeat, fold)
    train: np.ndarray
    test: np.ndarray


@functools.lru_cache(maxsize=65536)  # a sweep asks again for every setting: once is enough
def derive_seed(seed: int, *path: int) -> int:
    """A 31-bit seed derived deterministically from the config seed and a path (e.g. a repeat).

    numpy's SeedSequence mixes the entropy so that seeds for neighbouring paths are unrelated,
    and the result fits the ``random_state`` of scikit-learn and LIBSVM.
    """
    state = np.random.SeedSequence([int(seed), *(int(p) for p in path)]).generate_state(1)
    return int(state[0] % (2**31 - 1))


def _frame(samples: Sequence[str], subjects: Sequence[str], labels: Sequence[str] | None):
    samples = [str(s) for s in samples]
    subjects = [str(s) for s in subjects]
    if len(samples) != len(subjects):
        raise ValueError(f"{len(samples)} samples but {len(subjects)} subjects")
    if len(set(samples)) != len(samples):
        raise ValueError("sample ids must be unique")
    if labels is None:
        labels = [pd.NA] * len(samples)
    labels = list(labels)
    if len(labels) != len(samples):
        raise ValueError(f"{len(samples)} samples but {len(labels)} labels")
    if any(pd.isna(label) for label in labels) and not all(pd.isna(x) for x in labels):
        raise ValueError("some labels are missing: apply the class scheme and drop them first")
    return pd.DataFrame(
        {
            "sample": pd.array(samples, dtype="string"),
            "subject": pd.array(subjects, dtype="string"),
            "label": pd.array([None if pd.isna(x) else str(x) for x in labels], dtype="string"),
        }
    )


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    table["repeat"] = table["repeat"].astype("int64")
    table["fold"] = table["fold"].astype("int64")
    return (
        table.sort_values(["repeat", "order"], kind="stable")
        .drop(columns="order")[SPLIT_COLUMNS]
        .reset_index(drop=True)
    )


def loso_splits(
    samples: Sequence[str], subjects: Sequence[str], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Leave one subject out: fold k tests every sample of the k-th subject (first-seen order)."""
    table = _frame(samples, subjects, labels)
    order = list(dict.fromkeys(table["subject"]))
    table["fold"] = table["subject"].map({s: k for k, s in enumerate(order)})
    table["repeat"] = 0
    table["order"] = np.arange(len(table))
    return _finish(table)


def lovo_splits(
    samples: Sequence[str], subjects: Sequence[str], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Leave one video (sample) out, as CAS(ME)^2 section 3: fold k tests the k-th sample only."""
    table = _frame(samples, subjects, labels)
    table["fold"] = np.arange(len(table))
    table["repeat"] = 0
    table["order"] = np.arange(len(table))
    return _finish(table)


def kfold_splits(
    samples: Sequence[str],
    subjects: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int,
    n_splits: int = 10,
    n_repeats: int = 10,
) -> pd.DataFrame:
    """Stratified k-fold, repeated with different shuffles (DSME-3D 4.3: 10 x 10-fold).

    Repeat r shuffles with ``derive_seed(seed, r)``, so repeats differ and the whole table is a
    function of (samples, labels, seed). Stratification is scikit-learn's StratifiedKFold; a class
    with fewer than ``n_splits`` samples is absent from some test folds (the scheme's
    ``min_class_size`` is there to prevent that). ``n_splits`` is lowered to the size of the
    largest class when that is smaller (tiny data sets), since no fold could be stratified
    otherwise.
    """
    table = _frame(samples, subjects, labels)
    if table["label"].isna().any():
        raise ValueError("stratified k-fold needs a label for every sample")
    y = table["label"].to_numpy(dtype=object)
    largest = int(table["label"].value_counts().max())
    n_splits = max(2, min(int(n_splits), largest, len(table)))
    parts = []
    for repeat in range(int(n_repeats)):
        splitter = StratifiedKFold(
            n_splits=n_splits, shuffle=True, random_state=derive_seed(seed, repeat)
        )
        fold = np.empty(len(table), dtype=np.int64)
        with warnings.catch_warnings():
            # "The least populated class in y has only k members": expected for small classes,
            # which apply_scheme already reports; the split is still valid.
            warnings.filterwarnings(
                "ignore", message="The least populated class", category=UserWarning
            )
            for k, (_, test) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
                fold[test] = k
        part = table.copy()
        part["repeat"] = repeat
        part["fold"] = fold
        part["order"] = np.arange(len(table))
        parts.append(part)
    return _finish(pd.concat(parts, ignore_index=True))


def make_splits(
    protocol: str,
    samples: Sequence[str],
    subjects: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int,
    n_splits: int = 10,
    n_repeats: int = 10,
) -> pd.DataFrame:
    """The split table of a protocol named in config: ``loso``, ``kfold`` or ``lovo``."""
    if protocol == "loso":
        return loso_splits(samples, subjects, labels)
    if protocol == "lovo":
        return lovo_splits(samples, subjects, labels)
    if protocol == "kfold":
        return kfold_splits(
            samples, subjects, labels, seed=seed, n_splits=n_splits, n_repeats=n_repeats
        )
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")


def default_inner_protocol(outer: str) -> str:
    """Inner protocol for nested selection: LOSO inside LOSO (so the chosen weight is judged on
    unseen subjects, as the outer figure is), k-fold inside k-fold, and k-fold inside LOVO (LOVO
    inside LOVO would be n^2 fits for the same information)."""
    return {"loso": "loso", "kfold": "kfold", "lovo": "kfold"}[outer]


def nested_splits(
    outer: pd.DataFrame,
    inner_protocol: str,
    *,
    seed: int,
    n_splits: int = 10,
) -> pd.DataFrame:
    """Inner splits of every outer training fold, built from that fold's training rows only.

    Returns the inner split table (one inner repeat, ``repeat`` = 0) of each outer (repeat, fold)
    with ``outer_repeat, outer_fold`` columns in front. Outer test samples never appear in their
    own outer fold's inner table, by construction. Inner k-fold shuffles with
    ``derive_seed(seed, outer_repeat, outer_fold)``.
    """
    check_splits(outer)
    parts = []
    for (repeat, fold), _ in outer.groupby(["repeat", "fold"], sort=True):
        rows = outer[(outer["repeat"] == repeat) & (outer["fold"] != fold)]
        inner = make_splits(
            inner_protocol,
            rows["sample"].tolist(),
            rows["subject"].tolist(),
            rows["label"].tolist(),
            seed=derive_seed(seed, int(repeat), int(fold)),
            n_splits=n_splits,
            n_repeats=1,
        )
        inner.insert(0, "outer_fold", int(fold))
        inner.insert(0, "outer_repeat", int(repeat))
        parts.append(inner)
    return pd.concat(parts, ignore_index=True)


def group_columns(splits: pd.DataFrame) -> list[str]:
    """Columns that identify one cross-validation run: repeat, and the outer fold if nested."""
    return [c for c in (*_OUTER_COLUMNS, "repeat") if c in splits.columns]


def folds(splits: pd.DataFrame) -> list[Fold]:
    """Every fold of a split table (plain or nested), in key order.

    A fold's training rows are the rows of the same run (same repeat, same outer fold) with a
    different fold number; its test rows are the rows with its fold number.
    """
    check_splits(splits)
    groups = group_columns(splits)
    result = []
    for key, rows in splits.groupby(groups, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        positions = rows.index.to_numpy()
        fold_of = rows["fold"].to_numpy()
        for f in np.unique(fold_of):
            result.append(
                Fold(
                    key=(*(int(k) for k in key), int(f)),
                    train=positions[fold_of != f],
                    test=positions[fold_of == f],
                )
            )
    return result


def check_splits(splits: pd.DataFrame, protocol: str | None = None) -> None:
    """Raise ValueError unless every sample is tested exactly once per run (and, for LOSO,
    every subject lies in exactly one fold). Use it on split tables read back from files."""
    missing = {"sample", "subject", "repeat", "fold"} - set(splits.columns)
    if missing:
        raise ValueError(f"split table lacks columns {sorted(missing)}")
    if not splits.index.equals(pd.RangeIndex(len(splits))):
        raise ValueError("split table must have a default RangeIndex (use reset_index)")
    groups = group_columns(splits)
    duplicated = splits.duplicated([*groups, "sample"])
    if duplicated.any():
        first = splits.loc[duplicated.idxmax()]
        raise ValueError(f"sample {first['sample']!r} appears twice in one repeat")
    if protocol == "loso":
        per_subject = splits.groupby([*groups, "subject"])["fold"].nunique()
        if (per_subject > 1).any():
            raise ValueError("LOSO split puts one subject in several folds")
        per_fold = splits.groupby([*groups, "fold"])["subject"].nunique()
        if (per_fold > 1).any():
            raise ValueError("LOSO split tests several subjects in one fold")
