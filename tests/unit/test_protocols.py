"""LOSO, repeated stratified k-fold, LOVO and nested split tables (DSME-3D 4.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from microexp.learn.protocols import (
    SPLIT_COLUMNS,
    check_splits,
    derive_seed,
    folds,
    kfold_splits,
    loso_splits,
    lovo_splits,
    make_splits,
    nested_splits,
)


def dataset(n_subjects: int = 7, per_subject: int = 9, seed: int = 0):
    rng = np.random.default_rng(seed)
    subjects = [f"sub{k:02d}" for k in range(n_subjects) for _ in range(per_subject)]
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    labels = rng.choice(["I", "II", "III"], size=len(samples), p=[0.5, 0.3, 0.2]).tolist()
    return samples, subjects, labels


def test_loso_never_shares_a_subject_between_train_and_test() -> None:
    samples, subjects, labels = dataset()
    splits = loso_splits(samples, subjects, labels)
    assert list(splits.columns) == SPLIT_COLUMNS
    check_splits(splits, "loso")
    all_folds = folds(splits)
    assert len(all_folds) == 7
    tested = np.concatenate([f.test for f in all_folds])
    assert sorted(tested.tolist()) == list(range(len(samples)))  # every sample once
    for fold in all_folds:
        train_subjects = set(splits.loc[fold.train, "subject"])
        test_subjects = set(splits.loc[fold.test, "subject"])
        assert len(test_subjects) == 1 and not train_subjects & test_subjects
        assert len(fold.train) + len(fold.test) == len(samples)


def test_lovo_tests_each_sample_alone() -> None:
    samples, subjects, labels = dataset(3, 4)
    splits = lovo_splits(samples, subjects, labels)
    assert [len(f.test) for f in folds(splits)] == [1] * 12
    assert splits["fold"].tolist() == list(range(12))


def test_ten_by_ten_fold_is_stratified_complete_and_different_per_repeat() -> None:
    samples, subjects, labels = dataset(10, 12)
    splits = kfold_splits(samples, subjects, labels, seed=7, n_splits=10, n_repeats=10)
    check_splits(splits)
    assert sorted(splits["repeat"].unique()) == list(range(10))
    for _, run in splits.groupby("repeat"):
        assert sorted(run["sample"]) == sorted(samples)  # each sample predicted once per repeat
        counts = pd.crosstab(run["fold"], run["label"])
        assert counts.shape == (10, 3)
        # Stratified: a class's count differs by at most one between folds.
        assert ((counts.max() - counts.min()) <= 1).all()
    assignments = [run["fold"].to_numpy() for _, run in splits.groupby("repeat")]
    for a in range(10):
        for b in range(a + 1, 10):
            assert not np.array_equal(assignments[a], assignments[b])


def test_splits_are_a_function_of_the_seed() -> None:
    samples, subjects, labels = dataset()
    first = make_splits("kfold", samples, subjects, labels, seed=3, n_repeats=2)
    again = make_splits("kfold", samples, subjects, labels, seed=3, n_repeats=2)
    other = make_splits("kfold", samples, subjects, labels, seed=4, n_repeats=2)
    pd.testing.assert_frame_equal(first, again)
    assert not first["fold"].equals(other["fold"])
    assert derive_seed(3, 0) == derive_seed(3, 0) != derive_seed(3, 1)
    assert 0 <= derive_seed(2**40, 5) < 2**31


def test_kfold_on_tiny_classes_lowers_the_fold_count() -> None:
    splits = kfold_splits(
        ["a", "b", "c", "d"],
        ["1", "1", "2", "2"],
        ["x", "x", "y", "y"],
        seed=0,
        n_splits=10,
        n_repeats=1,
    )
    assert splits["fold"].nunique() == 2


def test_nested_inner_splits_use_outer_training_rows_only() -> None:
    samples, subjects, labels = dataset(5, 6)
    outer = loso_splits(samples, subjects, labels)
    inner = nested_splits(outer, "loso", seed=1)
    for fold in folds(outer):
        repeat, f = fold.key
        rows = inner[(inner["outer_repeat"] == repeat) & (inner["outer_fold"] == f)]
        assert set(rows["sample"]) == set(outer.loc[fold.train, "sample"])
        assert not set(rows["subject"]) & set(outer.loc[fold.test, "subject"])
    check_splits(inner, "loso")
    # Inner folds are keyed by the outer fold too.
    assert len(folds(inner)) == 5 * 4
    kfold_inner = nested_splits(
        kfold_splits(samples, subjects, labels, seed=2, n_splits=3, n_repeats=2),
        "kfold",
        seed=2,
        n_splits=3,
    )
    assert set(kfold_inner["outer_repeat"]) == {0, 1}
    check_splits(kfold_inner)


def test_check_splits_catches_broken_tables() -> None:
    samples, subjects, labels = dataset(3, 3)
    splits = loso_splits(samples, subjects, labels)
    broken = splits.copy()
    broken.loc[0, "fold"] = 2  # subject 0 now in two folds
    with pytest.raises(ValueError, match="several folds"):
        check_splits(broken, "loso")
    with pytest.raises(ValueError, match="twice"):
        check_splits(pd.concat([splits, splits.iloc[:1]], ignore_index=True))
    with pytest.raises(ValueError, match="unknown protocol"):
        make_splits("holdout", samples, subjects, labels, seed=0)
    with pytest.raises(ValueError, match="unique"):
        loso_splits(["a", "a"], ["1", "2"], ["x", "y"])
