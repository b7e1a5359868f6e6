"""SVM out-of-fold predictions: precomputed = direct, nothing fitted on test
(docs/methods.md#svm)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from microexp.learn.protocols import kfold_splits, loso_splits, nested_splits
from microexp.learn.svm import (
    PREDICTION_COLUMNS,
    SVMParams,
    classes_of,
    cross_validate_svm,
    cross_validate_svm_sweep,
    probability_columns,
    scale_features,
)

CLASSES = ["I", "II", "III"]


def problem(n_subjects: int = 6, per_subject: int = 8, n_features: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    subjects = [f"{k}" for k in range(n_subjects) for _ in range(per_subject)]
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    y = rng.integers(0, 3, len(samples))
    features = rng.random((len(samples), n_features))
    features[:, :3] += 0.8 * np.eye(3)[y]  # a learnable signal
    return samples, subjects, [CLASSES[k] for k in y], features


@pytest.mark.parametrize(
    "params",
    [
        SVMParams(kernel="poly", gamma=0.1, degree=4, coef0=1.0),  # CAS(ME)^2 section 3
        SVMParams(kernel="rbf", gamma="scale", scaling="minmax"),
        SVMParams(kernel="rbf", gamma="scale", scaling="none", C=10.0),
        SVMParams(kernel="linear", scaling="zscore", C=0.5),
        SVMParams(kernel="linear", scaling="l2"),
        SVMParams(kernel="sigmoid", gamma="auto", coef0=0.0, scaling="zscore"),
    ],
)
def test_precomputed_kernel_gives_the_direct_predictions(params: SVMParams) -> None:
    samples, subjects, labels, features = problem()
    splits = loso_splits(samples, subjects, labels)
    direct = cross_validate_svm(features, samples, splits, params, seed=1, precompute=False)
    shared = cross_validate_svm(features, samples, splits, params, seed=1, precompute=True)
    columns = probability_columns(CLASSES)
    assert (direct["predicted"] == shared["predicted"]).all()
    # Probabilities agree to rounding (LIBSVM sees kernel values that differ in the last bits).
    np.testing.assert_allclose(direct[columns], shared[columns], atol=5e-3)


def test_prediction_table_schema_and_probabilities() -> None:
    samples, subjects, labels, features = problem()
    splits = kfold_splits(samples, subjects, labels, seed=2, n_splits=4, n_repeats=2)
    params = SVMParams(kernel="linear")
    table = cross_validate_svm(features, samples, splits, params, seed=3, classes=CLASSES)
    assert list(table.columns) == [*PREDICTION_COLUMNS, "p_I", "p_II", "p_III"]
    assert classes_of(table) == CLASSES
    assert len(table) == 2 * len(samples)
    probabilities = table[probability_columns(CLASSES)].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (table["predicted"] == np.array(CLASSES)[probabilities.argmax(axis=1)]).all()
    pd.testing.assert_frame_equal(
        table[["sample", "repeat", "fold", "label"]], splits[["sample", "repeat", "fold", "label"]]
    )
    # With a learnable signal the SVM is well above chance (1/3). (Platt probabilities from 36
    # training samples are rough: an rbf SVM at C = 1 is near chance here, as in sklearn itself.)
    assert (table["predicted"] == table["label"]).mean() > 0.6
    again = cross_validate_svm(features, samples, splits, params, seed=3, classes=CLASSES)
    pd.testing.assert_frame_equal(table, again)


def test_a_class_absent_from_training_still_gets_a_full_probability_row() -> None:
    samples, subjects, labels, features = problem()
    labels = list(labels)
    for k, s in enumerate(subjects):  # subject 0 holds every sample of class III
        if s == "0":
            labels[k] = "III"
        elif labels[k] == "III":
            labels[k] = "I"
    splits = loso_splits(samples, subjects, labels)
    table = cross_validate_svm(features, samples, splits, SVMParams(), seed=0, classes=CLASSES)
    held_out = table[table["subject"] == "0"]
    assert (held_out["p_III"] == 0).all()
    np.testing.assert_allclose(held_out[probability_columns(CLASSES)].sum(axis=1), 1.0)
    assert (held_out["predicted"] != "III").all()


def test_a_single_class_training_fold_predicts_that_class() -> None:
    samples = ["a", "b", "c", "d"]
    splits = loso_splits(samples, ["1", "1", "2", "3"], ["I", "I", "II", "II"])
    features = np.arange(8, dtype=float).reshape(4, 2)
    table = cross_validate_svm(features, samples, splits, SVMParams(), seed=0, classes=CLASSES)
    # Fold of subject 1 trains on c, d (class II only).
    assert table.loc[table["subject"] == "1", "p_II"].tolist() == [1.0, 1.0]
    assert table.loc[table["subject"] == "1", "predicted"].tolist() == ["II", "II"]


@pytest.mark.parametrize("precompute", [True, False])
def test_nothing_is_fitted_on_the_test_fold(precompute: bool) -> None:
    """A test sample's probabilities must not depend on the other test samples of its fold:
    scaling, gamma="scale" and the SVM are fitted on training rows only."""
    samples, subjects, labels, features = problem()
    splits = loso_splits(samples, subjects, labels)
    params = SVMParams(kernel="rbf", gamma="scale", scaling="zscore")
    before = cross_validate_svm(features, samples, splits, params, seed=0, precompute=precompute)
    fold0 = [k for k, s in enumerate(subjects) if s == "0"]
    changed = features.copy()
    changed[fold0[1:]] *= 50.0  # wild values in every other test sample of fold 0
    after = cross_validate_svm(changed, samples, splits, params, seed=0, precompute=precompute)
    row = before.index[before["sample"] == samples[fold0[0]]]
    columns = probability_columns(CLASSES)
    np.testing.assert_array_equal(before.loc[row, columns], after.loc[row, columns])


def test_scaling_uses_training_statistics() -> None:
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    test = np.array([[4.0, 7.0]])
    scaled_train, scaled_test = scale_features(train, test, "minmax")
    np.testing.assert_array_equal(scaled_train, [[0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(scaled_test, [[2.0, 2.0]])  # constant feature: range 1
    _, z_test = scale_features(train, test, "zscore")
    np.testing.assert_array_equal(z_test, [[3.0, 2.0]])


def test_results_do_not_depend_on_the_blas_thread_count() -> None:
    samples, subjects, labels, features = problem(n_features=400)
    splits = loso_splits(samples, subjects, labels)
    params = SVMParams(kernel="rbf", scaling="zscore")
    tables = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            tables.append(cross_validate_svm(features, samples, splits, params, seed=0))
    pd.testing.assert_frame_equal(*tables)


def test_sweep_shares_grams_and_matches_single_runs() -> None:
    samples, subjects, labels, features = problem(4, 6)
    splits = loso_splits(samples, subjects, labels)
    settings = [SVMParams(kernel="rbf", C=c, gamma=g) for c in (1.0, 10.0) for g in (0.5, "scale")]
    swept = cross_validate_svm_sweep(features, samples, splits, settings, seed=4)
    for params, table in zip(settings, swept, strict=True):
        pd.testing.assert_frame_equal(
            table, cross_validate_svm(features, samples, splits, params, seed=4)
        )


def test_nested_split_tables_are_predicted_per_outer_fold() -> None:
    samples, subjects, labels, features = problem(4, 6)
    inner = nested_splits(loso_splits(samples, subjects, labels), "loso", seed=0)
    table = cross_validate_svm(features, samples, inner, SVMParams(), seed=0, classes=CLASSES)
    assert list(table.columns[:2]) == ["outer_repeat", "outer_fold"]
    assert len(table) == len(inner) == 4 * 18


def test_config_parsing_and_input_checks() -> None:
    params = SVMParams.from_config(
        {"kernel": "poly", "C": "1", "gamma": 0.1, "degree": 4, "coef0": 1}
    )
    assert params == SVMParams(kernel="poly", C=1.0, gamma=0.1, degree=4, coef0=1.0)
    with pytest.raises(ValueError, match="unknown SVM keys"):
        SVMParams.from_config({"kernal": "rbf"})
    with pytest.raises(ValueError, match="kernel"):
        SVMParams(kernel="precomputed")
    samples, subjects, labels, features = problem(2, 4)
    splits = loso_splits(samples, subjects, labels)
    with pytest.raises(ValueError, match="no features"):
        cross_validate_svm(features[:-1], samples[:-1], splits, SVMParams(), seed=0)
    with pytest.raises(ValueError, match="not among the classes"):
        cross_validate_svm(features, samples, splits, SVMParams(), seed=0, classes=["I"])
    bad = features.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cross_validate_svm(bad, samples, splits, SVMParams(), seed=0)


# ------------------------------------------------------------------ vote vs probability


def _fold_by_fold(features, samples, splits, params, seed, classes, probability):
    """The computation written out plainly with scikit-learn, fold by fold: min-max scaling on
    the training rows, the fold's own Gram product, ``SVC(kernel="precomputed")`` seeded with
    ``derive_seed(seed, *fold key)``; Platt probabilities or LIBSVM's own ``predict``."""
    import warnings

    from sklearn.svm import SVC

    from microexp.learn.protocols import derive_seed, folds

    row = {s: k for k, s in enumerate(samples)}
    x = features[[row[s] for s in splits["sample"]]]
    y = splits["label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
    predicted = np.empty(len(splits), dtype=object)
    probabilities = np.zeros((len(splits), len(classes)))
    for fold in folds(splits):
        train, test = x[fold.train], x[fold.test]
        low = train.min(axis=0)
        span = train.max(axis=0) - low
        span[span == 0] = 1.0
        train, test = (train - low) / span, (test - low) / span
        model = SVC(
            C=params.C,
            kernel="precomputed",
            probability=probability,
            random_state=derive_seed(seed, *fold.key),
            cache_size=500,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(train @ train.T, y[fold.train])
            if probability:
                p = model.predict_proba(test @ train.T)
                probabilities[np.ix_(fold.test, model.classes_)] = p
                codes = probabilities[fold.test].argmax(axis=1)
            else:
                codes = model.predict(test @ train.T)
        predicted[fold.test] = [classes[k] for k in codes]
    return predicted, probabilities


def test_probability_decision_is_the_platt_computation_bit_for_bit() -> None:
    """``decision="probability"`` (fusion; classify version 1 for every experiment) is exactly
    the fold-by-fold Platt computation: same predictions, same probabilities to the bit."""
    samples, subjects, labels, features = problem(n_features=60)
    params = SVMParams(kernel="linear", C=1.0, scaling="minmax")
    for splits in (
        loso_splits(samples, subjects, labels),
        kfold_splits(samples, subjects, labels, seed=4, n_splits=4, n_repeats=2),
    ):
        table = cross_validate_svm(
            features, samples, splits, params, seed=7, classes=CLASSES, decision="probability"
        )
        predicted, probabilities = _fold_by_fold(
            features, samples, splits, params, 7, CLASSES, probability=True
        )
        assert table["predicted"].tolist() == predicted.tolist()
        np.testing.assert_array_equal(table[probability_columns(CLASSES)], probabilities)


def test_vote_decision_is_libsvm_predict() -> None:
    """``decision="vote"`` predicts what LIBSVM's own ``predict`` (one-vs-one vote) does, and the
    ``p_<class>`` columns are vote shares: k(k-1)/2 votes per row, summing to 1."""
    samples, subjects, labels, features = problem(n_subjects=8, n_features=60, seed=3)
    params = SVMParams(kernel="linear", C=1.0, scaling="minmax")
    splits = kfold_splits(samples, subjects, labels, seed=4, n_splits=4, n_repeats=2)
    table = cross_validate_svm(
        features, samples, splits, params, seed=7, classes=CLASSES, decision="vote"
    )
    predicted, _ = _fold_by_fold(features, samples, splits, params, 7, CLASSES, probability=False)
    assert table["predicted"].tolist() == predicted.tolist()
    shares = table[probability_columns(CLASSES)].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(shares * 3, np.round(shares * 3))  # 3 pairs among 3 classes


def test_vote_shares_count_pairwise_wins() -> None:
    from microexp.learn.svm import vote_shares

    # 3 classes, pairs (0, 1), (0, 2), (1, 2); positive -> the pair's first class.
    values = np.array([[1.0, 1.0, -1.0], [-1.0, 1.0, 1.0], [1.0, -1.0, 1.0]])
    np.testing.assert_array_equal(
        vote_shares(values, 3) * 3, [[2, 0, 1], [1, 2, 0], [1, 1, 1]]
    )  # the tie (1, 1, 1) goes to class 0 by argmax, as LIBSVM's first maximum


@pytest.mark.parametrize("nested", [False, True])
def test_shared_minmax_gram_equals_each_folds_own_product(nested: bool) -> None:
    """The min-max Gram matrix of all rows, updated per fold, equals each fold's own product of
    the fold-scaled features (to rounding), with ties at the extremes and constant features;
    in a nested split the outer test rows are outside every inner training fold."""
    from microexp.learn.protocols import folds
    from microexp.learn.svm import _GramCache

    samples, subjects, labels, features = problem(n_features=30)
    features = np.round(features * 4) / 4  # ties at the minimum and maximum
    features[:, 0] = 0.5  # constant
    features[:6, 1] = 9.0  # one subject holds the maximum: its fold changes the range
    features[:, 2] = 0.0
    features[:6, 2] = 0.25  # constant on that fold's training rows: range 1 > the global 0.25
    splits = loso_splits(samples, subjects, labels)
    if nested:
        splits = nested_splits(splits, "loso", seed=0)
    row = {s: k for k, s in enumerate(dict.fromkeys(splits["sample"]))}
    x = features[[{s: k for k, s in enumerate(samples)}[s] for s in row]]
    rows = splits["sample"].map(row).to_numpy()
    cache = _GramCache(x, share_minmax=True)
    cache._MAX_UPDATE_SHARE = 1.0  # always the update, never the fallback
    for fold in folds(splits):
        train, test = rows[fold.train], rows[fold.test]
        shared = cache.fold(train, test, "minmax")
        x_train, x_test = scale_features(x[train], x[test], "minmax")
        np.testing.assert_allclose(shared.train, x_train @ x_train.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(shared.test, x_test @ x_train.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(shared.train_variance, x_train.var(), rtol=1e-12)
        np.testing.assert_allclose(shared.test_sqnorm, (x_test**2).sum(axis=1), rtol=0, atol=1e-12)


def test_fold_update_helpers_compare_and_copy_exactly() -> None:
    """The compiled helpers of the min-max fold update: extreme counts are the sums of the
    comparison masks, column extremes NumPy's min / max over the rows, on ties, a constant
    column and an unsorted row subset."""
    from microexp.learn.svm import _column_extremes, _extreme_counts

    rng = np.random.default_rng(3)
    x = np.round(rng.random((23, 37)) * 3) / 3  # many ties at 0 and 1
    x[:, 5] = 0.25
    low, high = x.min(axis=0), x.max(axis=0)
    rows = rng.permutation(23)[:9]
    counts = _extreme_counts(x, rows, low, high)
    np.testing.assert_array_equal(counts[0], (x[rows] == low).sum(axis=0))
    np.testing.assert_array_equal(counts[1], (x[rows] == high).sum(axis=0))
    assert counts[0][5] == counts[1][5] == 9
    columns = np.array([0, 5, 17, 18, 36])
    by_feature = np.ascontiguousarray(x.T)
    fold_low, fold_high = _column_extremes(by_feature, columns, rows)
    np.testing.assert_array_equal(fold_low, x[rows][:, columns].min(axis=0))
    np.testing.assert_array_equal(fold_high, x[rows][:, columns].max(axis=0))


# ------------------------------------------------------------------ LIBSVM called directly


@pytest.mark.parametrize("present", [(0, 1), (1, 3, 4), (0, 1, 2, 3, 4)])
@pytest.mark.parametrize("probability", [False, True])
def test_direct_libsvm_calls_are_svc_bit_for_bit(present: tuple, probability: bool) -> None:
    """The fold's SVM is LIBSVM called with the arguments ``SVC(kernel="precomputed").fit``
    passes: the same model (support, dual coefficients, intercepts), the same decision values
    (LIBSVM's sign: sklearn flips the binary one) or Platt probabilities, to the bit, and the
    vote predicts what ``SVC.predict`` does. Class codes with gaps (a class absent from the
    training fold) map as sklearn maps them."""
    from sklearn.svm import SVC

    from microexp.learn.svm import _libsvm_fit, _libsvm_predict, _svc, vote_shares

    rng = np.random.default_rng(len(present) + 10 * probability)
    y = np.array(present)[rng.integers(0, len(present), 70)]
    y[: len(present)] = present  # every class present
    x = rng.random((70, 25)) + 0.3 * np.eye(5)[y].repeat(5, axis=1)
    kernel_train = x[:55] @ x[:55].T
    kernel_test = x[55:] @ x[:55].T
    params = SVMParams(kernel="linear", C=2.0)
    model = _svc(params, 0.0, 1234, True, probability)
    fitted = _libsvm_fit(kernel_train, y[:55], model, probability)
    values = _libsvm_predict(fitted, kernel_test, model, probability)
    reference = SVC(
        C=2.0,
        kernel="precomputed",
        probability=probability,
        random_state=1234,
        cache_size=500,
        decision_function_shape="ovo",
    )
    with pytest.warns(FutureWarning):  # sklearn 1.9 deprecates the probability argument
        reference.fit(kernel_train, y[:55])
    np.testing.assert_array_equal(fitted.classes, reference.classes_)
    np.testing.assert_array_equal(fitted.support, reference.support_)
    np.testing.assert_array_equal(fitted.dual_coef, reference._dual_coef_)
    np.testing.assert_array_equal(fitted.intercept, reference._intercept_)
    if probability:
        np.testing.assert_array_equal(values, reference.predict_proba(kernel_test))
    else:
        expected = reference.decision_function(kernel_test).reshape(len(kernel_test), -1)
        if len(present) == 2:
            expected = -expected
        np.testing.assert_array_equal(values, expected)
        shares = vote_shares(values, len(present))
        np.testing.assert_array_equal(
            fitted.classes[shares.argmax(axis=1)], reference.predict(kernel_test)
        )


@pytest.mark.parametrize(
    "params",
    [SVMParams(kernel="linear", C=1.0), SVMParams(kernel="poly", gamma=0.1, degree=3, coef0=1.0)],
)
def test_vote_tables_are_svc_on_each_folds_kernel(params: SVMParams) -> None:
    """Fold by fold, a vote sweep's predictions and vote shares are those of
    ``SVC(kernel="precomputed")`` fitted on the same fold kernel (the shared min-max Gram
    matrix): LIBSVM's decision values through sklearn, its vote (``SVC.predict``)."""
    from sklearn.svm import SVC

    from microexp.learn.protocols import derive_seed, folds
    from microexp.learn.svm import _GramCache, _resolve_gamma, kernel_from_gram, vote_shares

    samples, subjects, labels, features = problem(n_subjects=7, n_features=50, seed=5)
    for splits in (
        loso_splits(samples, subjects, labels),
        kfold_splits(samples, subjects, labels, seed=3, n_splits=5, n_repeats=2),
    ):
        table = cross_validate_svm(
            features, samples, splits, params, seed=9, classes=CLASSES, decision="vote"
        )
        order = list(dict.fromkeys(splits["sample"]))
        x = features[[samples.index(s) for s in order]]
        rows = splits["sample"].map({s: k for k, s in enumerate(order)}).to_numpy()
        y = splits["label"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy()
        cache = _GramCache(x, share_minmax=True)
        for fold in folds(splits):
            g = cache.fold(rows[fold.train], rows[fold.test], "minmax")
            gamma = _resolve_gamma(params, g.n_features, g.train_variance)
            model = SVC(
                C=params.C,
                kernel="precomputed",
                random_state=derive_seed(9, *fold.key),
                cache_size=500,
                decision_function_shape="ovo",
            ).fit(
                kernel_from_gram(g.train, params, gamma, g.train_sqnorm, g.train_sqnorm),
                y[fold.train],
            )
            kernel_test = kernel_from_gram(g.test, params, gamma, g.test_sqnorm, g.train_sqnorm)
            values = model.decision_function(kernel_test).reshape(len(fold.test), -1)
            if len(model.classes_) == 2:
                values = -values
            shares = np.zeros((len(fold.test), len(CLASSES)))
            shares[:, model.classes_] = vote_shares(values, len(model.classes_))
            np.testing.assert_array_equal(
                table.iloc[fold.test][probability_columns(CLASSES)].to_numpy(), shares
            )
            assert table.iloc[fold.test]["predicted"].tolist() == [
                CLASSES[k] for k in model.predict(kernel_test)
            ]
