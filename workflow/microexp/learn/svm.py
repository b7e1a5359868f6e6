"""SVM over a split table: LIBSVM's vote or Platt-scaled probabilities (docs/methods.md#svm).

DSME-3D classifies with LIBSVM (Sec. 4.2) and fuses class probabilities (Eq. 13), so the
classifier is LIBSVM's C-SVC through scikit-learn's ``SVC``: one-vs-one SVMs. Two ways to decide:

- ``decision="vote"``: LIBSVM's own prediction (``svmpredict`` without ``-b``): each pairwise SVM
  votes, the class with most votes wins, ties to the earlier class in the scheme's order. The
  paper's accuracy tables (DSME-3D Tables 6-10) use no probability, and LIBSVM predicts by
  vote unless asked for probabilities, so this is what the paper's setting implies. The
  ``p_<class>`` columns then hold each class's share of the pairwise votes (they sum to 1).
- ``decision="probability"``: ``probability=True``: Platt sigmoids fitted by LIBSVM's internal
  5-fold cross-validation (six fits per fold instead of one), pairwise coupling into class
  probabilities, the argmax predicts (``svmpredict -b 1``; ties to the earlier class). Fusion
  (Eq. 13) needs these probabilities; an experiment can ask for them (``decision:
  probability``), which is what versions up to ``classify: 1`` did for every experiment.

Everything fitted is fitted on the training fold only: the feature scaling (``minmax`` to [0, 1]
or ``zscore``), ``gamma="scale"`` (1 / (n_features * variance of the scaled training features)),
the SVM and its Platt sigmoids. ``none`` and ``l2`` (each sample divided by its own Euclidean
norm) fit nothing, so for them one Gram matrix of all samples serves every fold.

Sharing work (``precompute=True``, the default): the scaled features are multiplied into Gram
matrices (BLAS); every kernel the sweeps use (linear, poly, rbf, sigmoid) is a function of those,
and every parameter setting in a sweep that shares the scaling reuses them, as
``SVC(kernel="precomputed")``. With votes, one ``minmax`` Gram matrix of all samples (scaled by
the minimum and range over all samples) serves every fold: a training fold's minimum and range
differ from those only in the features whose extreme value lies outside the training fold, and
the fold's Gram matrix is that matrix with those features' products replaced (exact algebra; it
agrees with the fold's own product to ~1e-14 relative). LIBSVM's solver stops at a tolerance of
1e-3, so such last-bit differences move decision values by up to about that much: a vote can
flip only for a sample that near a pairwise boundary. Platt's inner fits amplify them to
probability differences up to ~1e-2, so ``decision="probability"`` keeps each fold's own product
and gives the same numbers, bit for bit, as before votes existed (classify version 1).
With a precomputed kernel, LIBSVM is called through scikit-learn's compiled wrapper
(``sklearn.svm._libsvm``, scikit-learn pinned) with exactly the arguments ``SVC.fit`` and
``SVC.decision_function`` / ``predict_proba`` pass it, skipping their input validation and
copies (as costly as the solver on a sweep's folds): the same models and values, bit for bit
(tested against ``SVC`` fold by fold). The min-max fold update finds the changed features and
their fold extremes in compiled loops that only compare and count (no masks of the whole
matrix), and does the same arithmetic in the same order as before, so the fold Gram matrices
are bit for bit those of ``versions: classify: 2``.
Without precomputation, LIBSVM evaluates the kernel itself, repeatedly across its one-vs-one and
Platt sub-problems (~25-35x slower on a 373 x 5,000 problem, benchmarks/bench_classify.py);
predictions were identical in the tests and the benchmark.

Deterministic: LIBSVM's Platt cross-validation is seeded per fold from the config seed, and the
Gram products run on one BLAS thread, since a threaded product changes the last bits with the
thread count (docs/layout.md#determinism-and-versions).

A training fold may lack a class (LOSO: a subject holds every sample of a rare class). Its
``p_<class>`` column is 0 in that fold; a training fold with a single class predicts it with
probability (vote share) 1. Either way each row has a full set of ``p_<class>`` columns summing
to 1.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from numba import njit
from sklearn.svm import SVC, _libsvm
from threadpoolctl import threadpool_limits

from microexp.learn.protocols import Fold, check_splits, derive_seed, folds, group_columns

__all__ = [
    "DECISIONS",
    "KERNELS",
    "PREDICTION_COLUMNS",
    "SCALINGS",
    "SVMParams",
    "classes_of",
    "cross_validate_svm",
    "cross_validate_svm_sweep",
    "kernel_from_gram",
    "probability_columns",
    "scale_features",
    "vote_shares",
]

KERNELS = ("linear", "poly", "rbf", "sigmoid")
DECISIONS = ("vote", "probability")
SCALINGS = ("none", "l2", "minmax", "zscore")
PREDICTION_COLUMNS = ["sample", "subject", "repeat", "fold", "label", "predicted"]
_FOLD_INDEPENDENT = ("none", "l2")


@dataclass(frozen=True)
class SVMParams:
    """One SVM setting from config. ``gamma``: a number, ``"scale"`` or ``"auto"`` (sklearn's
    meanings, resolved on the training fold). Choice: ``minmax`` scaling by default, the LIBSVM
    guide's advice; DSME-3D does not say what it used."""

    kernel: str = "rbf"
    C: float = 1.0
    gamma: float | str = "scale"
    degree: int = 3
    coef0: float = 0.0
    scaling: str = "minmax"

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel {self.kernel!r} not in {KERNELS}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling {self.scaling!r} not in {SCALINGS}")
        if isinstance(self.gamma, str) and self.gamma not in ("scale", "auto"):
            raise ValueError(f"gamma {self.gamma!r}: a number, 'scale' or 'auto'")
        if self.C <= 0:
            raise ValueError("C must be > 0")

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> SVMParams:
        """Build from a config mapping; unknown keys are an error (typos must not pass)."""
        known = {f.name for f in fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown SVM keys {sorted(unknown)}; known: {sorted(known)}")
        values = dict(spec)
        for name, kind in (("C", float), ("degree", int), ("coef0", float)):
            if name in values:
                values[name] = kind(values[name])
        if "gamma" in values and not isinstance(values["gamma"], str):
            values["gamma"] = float(values["gamma"])
        return cls(**values)


# ---------------------------------------------------------------------------------------------
# Scaling and kernels
# ---------------------------------------------------------------------------------------------


def scale_features(
    train: np.ndarray, test: np.ndarray, scaling: str
) -> tuple[np.ndarray, np.ndarray]:
    """Scale training and test features with statistics of the training features only.

    A feature constant on the training fold is mapped to 0 (its range / deviation is taken as 1),
    so test values of such a feature keep their offset from the training value.
    """
    train = np.asarray(train, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    if scaling == "none":
        return train, test
    if scaling == "l2":
        return _l2_rows(train), _l2_rows(test)
    if scaling == "minmax":
        low = train.min(axis=0)
        span = train.max(axis=0) - low
        span[span == 0] = 1.0
        return (train - low) / span, (test - low) / span
    if scaling == "zscore":
        mean = train.mean(axis=0)
        std = train.std(axis=0)
        std[std == 0] = 1.0
        return (train - mean) / std, (test - mean) / std
    raise ValueError(f"scaling {scaling!r} not in {SCALINGS}")


def _l2_rows(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return x / norm


def _resolve_gamma(params: SVMParams, n_features: int, train_variance: float) -> float:
    """gamma as a number; "scale" uses the variance of all scaled training values (sklearn)."""
    if params.gamma == "scale":
        return 1.0 / (n_features * train_variance) if train_variance > 0 else 1.0
    if params.gamma == "auto":
        return 1.0 / n_features
    return float(params.gamma)


def kernel_from_gram(
    gram: np.ndarray,
    params: SVMParams,
    gamma: float,
    sqnorm_rows: np.ndarray | None = None,
    sqnorm_cols: np.ndarray | None = None,
) -> np.ndarray:
    """LIBSVM's kernel values from inner products ``gram[i, j] = <x_i, z_j>``.

    linear <x, z>; poly (gamma <x, z> + coef0)^degree; rbf exp(-gamma |x - z|^2) with
    |x - z|^2 = |x|^2 + |z|^2 - 2 <x, z> (clipped at 0 against rounding); sigmoid
    tanh(gamma <x, z> + coef0).
    """
    if params.kernel == "linear":
        return gram
    if params.kernel == "poly":
        return (gamma * gram + params.coef0) ** params.degree
    if params.kernel == "sigmoid":
        return np.tanh(gamma * gram + params.coef0)
    if sqnorm_rows is None or sqnorm_cols is None:
        raise ValueError("the rbf kernel needs the squared norms of both sides")
    distance = sqnorm_rows[:, None] + sqnorm_cols[None, :] - 2.0 * gram
    return np.exp(-gamma * np.maximum(distance, 0.0))


@dataclass(frozen=True)
class _FoldGram:
    """Inner products of one fold's scaled features: what every kernel setting needs."""

    train: np.ndarray  # (n_train, n_train)
    test: np.ndarray  # (n_test, n_train)
    train_sqnorm: np.ndarray
    test_sqnorm: np.ndarray
    train_variance: float
    n_features: int


@dataclass(frozen=True)
class _MinmaxWhole:
    """Min-max scaling over all rows: the Gram matrix and row sums of the scaled features, each
    feature's minimum, maximum and range (1 for a constant feature, as ``scale_features``), on
    how many rows each feature takes its minimum and maximum (-1 for a constant feature: no fold
    changes it), and feature-major copies of the raw and scaled features (a fold reads a few
    features' values over all rows from contiguous memory)."""

    gram: np.ndarray  # (n_rows, n_rows)
    rowsum: np.ndarray
    low: np.ndarray
    high: np.ndarray
    span: np.ndarray
    n_low: np.ndarray
    n_high: np.ndarray
    by_feature: np.ndarray  # (n_features, n_rows)
    scaled_by_feature: np.ndarray


class _GramCache:
    """Gram matrices per (fold, scaling): one matrix of all rows for the scalings that fit nothing
    (``none``, ``l2``) and for ``minmax`` (updated per fold, module docstring); ``zscore``
    changes every feature in every fold, so its products are per fold."""

    # Above this share of features changed by a fold, the fold's own product is cheaper.
    _MAX_UPDATE_SHARE = 0.5

    def __init__(self, features: np.ndarray, *, share_minmax: bool = False) -> None:
        self.features = features
        self.share_minmax = share_minmax
        self._global: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}
        self._minmax: _MinmaxWhole | None = None

    def _whole(self, scaling: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        if scaling not in self._global:
            x = _l2_rows(self.features) if scaling == "l2" else self.features
            gram = x @ x.T
            # Row sums and squares give the training variance for gamma="scale" without the data.
            self._global[scaling] = (gram, np.diag(gram).copy(), x.sum(axis=1), x.shape[1])
        return self._global[scaling]

    def _minmax_whole(self) -> _MinmaxWhole:
        """The all-rows min-max scaling and its Gram matrix, computed once (module docstring)."""
        if self._minmax is None:
            x = self.features
            low = x.min(axis=0)
            high = x.max(axis=0)
            span = high - low
            # A constant feature: no fold can change it (its range stays 1, as scale_features).
            constant = span == 0
            span[constant] = 1.0
            scaled = (x - low) / span
            n_low, n_high = _extreme_counts(x, np.arange(len(x)), low, high)
            n_low[constant] = n_high[constant] = -1
            self._minmax = _MinmaxWhole(
                gram=scaled @ scaled.T,
                rowsum=scaled.sum(axis=1),
                low=low,
                high=high,
                span=span,
                n_low=n_low,
                n_high=n_high,
                by_feature=np.ascontiguousarray(x.T),
                scaled_by_feature=np.ascontiguousarray(scaled.T),
            )
        return self._minmax

    def fold(self, train: np.ndarray, test: np.ndarray, scaling: str) -> _FoldGram:
        if scaling in _FOLD_INDEPENDENT:
            gram, sqnorm, rowsum, d = self._whole(scaling)
            n = len(train) * d
            variance = sqnorm[train].sum() / n - (rowsum[train].sum() / n) ** 2
            return _FoldGram(
                train=gram[np.ix_(train, train)],
                test=gram[np.ix_(test, train)],
                train_sqnorm=sqnorm[train],
                test_sqnorm=sqnorm[test],
                train_variance=float(max(variance, 0.0)),
                n_features=d,
            )
        if scaling == "minmax" and self.share_minmax:
            shared = self._minmax_fold(train, test)
            if shared is not None:
                return shared
        x_train, x_test = scale_features(self.features[train], self.features[test], scaling)
        return _FoldGram(
            train=x_train @ x_train.T,
            test=x_test @ x_train.T,
            train_sqnorm=np.einsum("ij,ij->i", x_train, x_train),
            test_sqnorm=np.einsum("ij,ij->i", x_test, x_test),
            train_variance=float(x_train.var()),
            n_features=x_train.shape[1],
        )

    def _minmax_fold(self, train: np.ndarray, test: np.ndarray) -> _FoldGram | None:
        """The fold's min-max Gram matrices from the all-rows one (module docstring), or None
        when the fold changes so many features that its own product is cheaper.

        A changed feature's fold-scaled values are an affine map of its all-rows ones,
        z' = a z + b with a = global range / fold range and b = (global min - fold min) /
        fold range, so the fold's Gram matrix is G + Z diag(a^2 - 1) Z^T + u 1^T + 1 u^T + c 1 1^T
        with u = Z (a b) and c = sum(b^2), over the changed features only: one product.
        Which features change is counted on the rows outside the training fold (few), the fold's
        extremes are taken over the changed features only (compiled loops that compare and
        count only), and their columns are gathered from feature-major copies (contiguous
        rows); every product, sum and quotient is the NumPy / BLAS call it always was, on arrays
        of the same layout, so the fold Gram matrices are bit for bit those of ``versions:
        classify: 2``."""
        whole = self._minmax_whole()
        n_rows, n_features = self.features.shape
        # A training minimum / range differs from the global one exactly where every row that
        # holds the global minimum (maximum) lies outside the training fold; there, recompute.
        outside = np.ones(n_rows, dtype=bool)
        outside[train] = False
        out_low, out_high = _extreme_counts(
            self.features, np.flatnonzero(outside), whole.low, whole.high
        )
        columns = np.flatnonzero((out_low == whole.n_low) | (out_high == whole.n_high))
        if len(columns) > self._MAX_UPDATE_SHARE * n_features:
            return None
        fold_low, fold_high = _column_extremes(whole.by_feature, columns, train)
        fold_span = fold_high - fold_low
        fold_span[fold_span == 0] = 1.0
        rows = np.concatenate([train, test])
        rowsum = whole.rowsum[rows]
        products = {1.0: _NO_MATRIX, -1.0: _NO_MATRIX}
        u, c = _NO_VECTOR, 0.0
        if len(columns):
            a = whole.span[columns] / fold_span
            b = (whole.low[columns] - fold_low) / fold_span
            # a >= 1, except where the training rows are constant (fold range taken as 1):
            # both signs as symmetric products.
            weight = a * a - 1.0
            # (rows, changed features), C order: the layout the products below always had
            # (whole rows copied first: streaming reads, then the gather in cache).
            z = np.ascontiguousarray(whole.scaled_by_feature[columns][:, rows].T)
            for sign, part in ((1.0, weight > 0), (-1.0, weight < 0)):
                if part.all():
                    weighted = z * np.sqrt(sign * weight)
                elif part.any():
                    weighted = z[:, part] * np.sqrt(sign * weight[part])
                else:
                    continue
                products[sign] = weighted @ weighted.T
            u = z @ (a * b)
            c = float(b @ b)
            rowsum += z @ (a - 1.0) + b.sum()
        n_train = len(train)
        kernel_train = np.empty((n_train, n_train))
        kernel_test = np.empty((len(test), n_train))
        sqnorm = np.empty(len(rows))
        _assemble_fold_gram(
            whole.gram, rows, products[1.0], products[-1.0], u, c, kernel_train, kernel_test, sqnorm
        )
        count = n_train * n_features
        variance = sqnorm[:n_train].sum() / count - (rowsum[:n_train].sum() / count) ** 2
        return _FoldGram(
            train=kernel_train,
            test=kernel_test,
            train_sqnorm=sqnorm[:n_train],
            test_sqnorm=sqnorm[n_train:],
            train_variance=float(max(variance, 0.0)),
            n_features=n_features,
        )


_NO_MATRIX = np.empty((0, 0))
_NO_VECTOR = np.empty(0)


@njit(cache=True, nogil=True)
def _extreme_counts(x, rows, low, high):
    """On how many of ``rows`` each feature (column of ``x``) equals its ``low`` / ``high``
    value: whole numbers, the same as summing the comparison masks."""
    n_low = np.zeros(x.shape[1], dtype=np.int64)
    n_high = np.zeros(x.shape[1], dtype=np.int64)
    for r in rows:
        for f in range(x.shape[1]):
            value = x[r, f]
            if value == low[f]:
                n_low[f] += 1
            if value == high[f]:
                n_high[f] += 1
    return n_low, n_high


@njit(cache=True, nogil=True)
def _column_extremes(by_feature, columns, rows):
    """Minimum and maximum of each of ``columns`` (rows of the feature-major ``by_feature``)
    over ``rows`` (at least one): comparisons only, so the values are exactly NumPy's ``min`` /
    ``max`` of finite features."""
    low = np.empty(len(columns))
    high = np.empty(len(columns))
    for j in range(len(columns)):
        values = by_feature[columns[j]]
        smallest = largest = values[rows[0]]
        for r in rows[1:]:
            value = values[r]
            if value < smallest:
                smallest = value
            if value > largest:
                largest = value
        low[j] = smallest
        high[j] = largest
    return low, high


@njit(cache=True, nogil=True)
def _assemble_fold_gram(gram, rows, positive, negative, u, c, kernel_train, kernel_test, sqnorm):
    """The fold's Gram entries ((G + P+) - P-) + ((u_i + u_j) + c) over rows ``rows`` (training
    rows first), each term only if given (empty when not): the training block, the test rows
    against the training rows, and every row's diagonal entry, in one pass. The additions are
    those of the whole-matrix NumPy expressions, in the same order, so the values are the
    same to the bit (numba without fastmath reassociates nothing)."""
    n_train = kernel_train.shape[0]
    has_positive = positive.shape[0] > 0
    has_negative = negative.shape[0] > 0
    has_shift = u.shape[0] > 0
    for i in range(rows.shape[0]):
        for j in range(n_train + 1):
            if j == n_train:
                if i < n_train:
                    break
                j = i  # a test row's own entry, for its squared norm
            value = gram[rows[i], rows[j]]
            if has_positive:
                value = value + positive[i, j]
            if has_negative:
                value = value - negative[i, j]
            if has_shift:
                value = value + ((u[i] + u[j]) + c)
            if j == i:
                sqnorm[i] = value
            if j < n_train:
                if i < n_train:
                    kernel_train[i, j] = value
                else:
                    kernel_test[i - n_train, j] = value


# ---------------------------------------------------------------------------------------------
# Fitting one fold
# ---------------------------------------------------------------------------------------------


def _svc(
    params: SVMParams, gamma: float, random_state: int, precomputed: bool, probability: bool
) -> SVC:
    return SVC(
        C=params.C,
        kernel="precomputed" if precomputed else params.kernel,
        gamma=gamma,
        degree=params.degree,
        coef0=params.coef0,
        probability=probability,
        random_state=random_state,
        cache_size=500,
        decision_function_shape="ovo",
    )


@functools.cache
def _pair_indicators(n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_pairs, n_classes) indicators of each pair's first and second class, LIBSVM's order."""
    first, second = np.triu_indices(n_classes, k=1)
    eye = np.eye(n_classes)
    return eye[first], eye[second]


def vote_shares(decision_values: np.ndarray, n_classes: int) -> np.ndarray:
    """Each class's share of the one-vs-one votes (n_test, n_classes) from LIBSVM's pairwise
    decision values, pairs (0, 1), (0, 2), ..., (1, 2), ... as LIBSVM orders them: a positive
    value is a vote for the first class of the pair (LIBSVM ``svm_predict_values``)."""
    decision_values = np.asarray(decision_values, dtype=np.float64).reshape(
        len(decision_values), -1
    )
    firsts, seconds = _pair_indicators(n_classes)
    if decision_values.shape[1] != len(firsts):
        raise ValueError(
            f"{decision_values.shape[1]} decision values per row; {n_classes} classes have "
            f"{len(firsts)} pairs"
        )
    wins = (decision_values > 0).astype(np.float64)
    # Vote counts as products with the pairs' class indicators: whole numbers, exact.
    votes = wins @ firsts + (1.0 - wins) @ seconds
    return votes / len(firsts)


@dataclass(frozen=True)
class _FittedSVM:
    """What ``SVC(kernel="precomputed").fit`` keeps of LIBSVM's model: the classes present (in
    LIBSVM's label order, sorted) and the arrays its prediction functions take."""

    classes: np.ndarray
    support: np.ndarray
    support_vectors: np.ndarray
    n_support: np.ndarray
    dual_coef: np.ndarray
    intercept: np.ndarray
    prob_a: np.ndarray
    prob_b: np.ndarray


def _libsvm_fit(kernel: np.ndarray, y: np.ndarray, model: SVC, probability: bool) -> _FittedSVM:
    """LIBSVM's training on a precomputed kernel with exactly the arguments ``model.fit``
    would hand it (scikit-learn 1.9.1's ``BaseLibSVM.fit`` / ``_dense_fit``, pinned): labels
    encoded as the index among the sorted classes present, unit sample and class weights, the
    random seed drawn from ``model.random_state`` as ``fit`` draws it. Calling the compiled
    routine directly skips ``fit``'s input validation, parameter checks and copies, which cost
    as much as the solver on sweep-sized folds (docs/methods.md#svm); the model is the same
    (tested against ``SVC`` fold by fold)."""
    classes, codes = np.unique(y, return_inverse=True)
    seed = np.random.RandomState(model.random_state).randint(np.iinfo("i").max)
    _libsvm.set_verbosity_wrap(0)
    model_arrays = _libsvm.fit(
        np.ascontiguousarray(kernel, dtype=np.float64),
        codes.astype(np.float64),
        svm_type=0,  # C-SVC
        sample_weight=np.empty(0),
        class_weight=np.ones(len(classes)),
        kernel="precomputed",
        C=model.C,
        nu=model.nu,
        probability=int(probability),
        degree=model.degree,
        shrinking=int(model.shrinking),
        tol=model.tol,
        cache_size=model.cache_size,
        coef0=model.coef0,
        gamma=0.0,  # unused by a precomputed kernel; what fit passes
        epsilon=model.epsilon,
        max_iter=model.max_iter,
        random_seed=seed,
    )
    support, support_vectors, n_support, dual_coef, intercept, prob_a, prob_b = model_arrays[:7]
    if not (np.isfinite(intercept).all() and np.isfinite(dual_coef).all()):
        raise ValueError("LIBSVM's dual coefficients or intercepts are not finite")
    return _FittedSVM(
        classes, support, support_vectors, n_support, dual_coef, intercept, prob_a, prob_b
    )


def _libsvm_predict(
    fitted: _FittedSVM, kernel: np.ndarray, model: SVC, probability: bool
) -> np.ndarray:
    """LIBSVM's pairwise decision values (its own sign: positive votes for the pair's first
    class) or Platt-coupled class probabilities of the test rows of a precomputed kernel
    (n_test, n_train), as ``SVC.decision_function`` / ``predict_proba`` compute them."""
    predict = _libsvm.predict_proba if probability else _libsvm.decision_function
    return predict(
        np.ascontiguousarray(kernel, dtype=np.float64),
        fitted.support,
        fitted.support_vectors,
        fitted.n_support,
        fitted.dual_coef,
        fitted.intercept,
        fitted.prob_a,
        fitted.prob_b,
        svm_type=0,
        kernel="precomputed",
        degree=model.degree,
        cache_size=model.cache_size,
        coef0=model.coef0,
        gamma=0.0,
    )


def _fit_predict_proba(
    model_input: tuple[np.ndarray, np.ndarray],
    y_train: np.ndarray,
    n_classes: int,
    params: SVMParams,
    gamma: float,
    random_state: int,
    precomputed: bool,
    decision: str = "probability",
) -> np.ndarray:
    """Class probabilities or vote shares (n_test, n_classes) for class codes 0..n_classes-1;
    the argmax (first on ties) is LIBSVM's prediction either way."""
    train_input, test_input = model_input
    present = np.unique(y_train)
    probabilities = np.zeros((test_input.shape[0], n_classes))
    if len(present) == 1:
        # LIBSVM cannot train on one class; the only thing the fold has learnt is that class.
        probabilities[:, present[0]] = 1.0
        return probabilities
    probability = decision == "probability"
    model = _svc(params, gamma, random_state, precomputed, probability)
    if precomputed:
        fitted = _libsvm_fit(train_input, y_train, model, probability)
        values = _libsvm_predict(fitted, test_input, model, probability)
        classes = fitted.classes
    else:
        with warnings.catch_warnings():
            # sklearn 1.9 deprecates probability=True in favour of CalibratedClassifierCV, which
            # is one-vs-rest calibration, not LIBSVM's pairwise coupling that DSME-3D used.
            warnings.simplefilter("ignore", FutureWarning)
            model.fit(train_input, y_train)
            if probability:
                values = model.predict_proba(test_input)
            else:
                values = model.decision_function(test_input).reshape(len(test_input), -1)
                if len(model.classes_) == 2:
                    values = -values  # sklearn flips LIBSVM's binary sign (positive: 2nd class)
        classes = model.classes_
    # Classes absent from the training fold keep probability 0.
    probabilities[:, classes] = values if probability else vote_shares(values, len(classes))
    return probabilities


def _fold_probabilities(
    cache: _GramCache,
    fold: Fold,
    y_codes: np.ndarray,
    n_classes: int,
    params_list: Sequence[SVMParams],
    random_state: int,
    precompute: bool,
    decision: str = "probability",
) -> list[np.ndarray]:
    y_train = y_codes[fold.train]
    results = []
    grams: dict[str, _FoldGram] = {}
    scaled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for params in params_list:
        if precompute:
            if params.scaling not in grams:
                grams[params.scaling] = cache.fold(fold.train, fold.test, params.scaling)
            g = grams[params.scaling]
            gamma = _resolve_gamma(params, g.n_features, g.train_variance)
            model_input = (
                kernel_from_gram(g.train, params, gamma, g.train_sqnorm, g.train_sqnorm),
                kernel_from_gram(g.test, params, gamma, g.test_sqnorm, g.train_sqnorm),
            )
        else:
            if params.scaling not in scaled:
                scaled[params.scaling] = scale_features(
                    cache.features[fold.train], cache.features[fold.test], params.scaling
                )
            model_input = scaled[params.scaling]
            x_train = model_input[0]
            gamma = _resolve_gamma(params, x_train.shape[1], float(x_train.var()))
        results.append(
            _fit_predict_proba(
                model_input, y_train, n_classes, params, gamma, random_state, precompute, decision
            )
        )
    return results


# ---------------------------------------------------------------------------------------------
# Cross-validation over a split table
# ---------------------------------------------------------------------------------------------


def probability_columns(classes: Sequence[str]) -> list[str]:
    """``p_<class>`` column names in class order."""
    return [f"p_{c}" for c in classes]


def classes_of(predictions: pd.DataFrame) -> list[str]:
    """The class order of a prediction table, read from its ``p_<class>`` columns."""
    return [c[2:] for c in predictions.columns if c.startswith("p_")]


def cross_validate_svm_sweep(
    features: np.ndarray,
    samples: Sequence[str],
    splits: pd.DataFrame,
    params_list: Sequence[SVMParams],
    *,
    seed: int,
    classes: Sequence[str] | None = None,
    precompute: bool = True,
    decision: str = "probability",
) -> list[pd.DataFrame]:
    """Out-of-fold predictions for several SVM settings on one feature matrix (docs/methods.md#svm).

    ``features`` (n_samples, n_features) has one row per id in ``samples``; ``splits`` is a split
    table (protocols.py; plain or nested) over a subset of those samples with a ``label`` column.
    ``classes`` fixes the class order (default: sorted labels). Settings sharing a scaling share
    each fold's Gram matrices. Returns one prediction table per setting, rows in split-table
    order: ``[outer_repeat, outer_fold,] sample, subject, repeat, fold, label, predicted,
    p_<class>...``: probabilities (``decision="probability"``, the default for library callers,
    as fusion needs) or vote shares (``"vote"``, module docstring). LIBSVM's Platt
    cross-validation is seeded per fold with ``derive_seed(seed, *fold key)``, so results do not
    depend on the order folds are run in.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r} not in {DECISIONS}")
    check_splits(splits)
    if splits["label"].isna().any():
        raise ValueError("split table has samples without a label")
    classes = list(classes) if classes is not None else sorted(splits["label"].unique())
    unknown = set(splits["label"]) - set(classes)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the classes {classes}")
    code = {c: k for k, c in enumerate(classes)}
    y_codes = splits["label"].map(code).to_numpy(dtype=np.int64)

    position = {str(s): k for k, s in enumerate(samples)}
    if len(position) != len(samples):
        raise ValueError("feature sample ids must be unique")
    missing = [s for s in splits["sample"].unique() if s not in position]
    if missing:
        raise ValueError(f"{len(missing)} split samples have no features, e.g. {missing[:3]}")
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] != len(position):
        raise ValueError(f"features must be (len(samples), n_features), got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or infinity")

    # Restrict to the rows the splits use, in split-table order; fold positions index this matrix
    # in the nested case as well (a sample then has several rows, one per outer fold).
    unique_samples = list(dict.fromkeys(splits["sample"]))
    local = {s: k for k, s in enumerate(unique_samples)}
    # The shared min-max Gram matrix (module docstring) for votes only: Platt's inner fits turn
    # last-bit kernel differences into probability differences up to ~1e-2 (LIBSVM stops at a
    # tolerance of 1e-3), so probabilities keep each fold's own product, bit for bit as before.
    cache = _GramCache(
        features[[position[s] for s in unique_samples]], share_minmax=decision == "vote"
    )
    row_of = splits["sample"].map(local).to_numpy(dtype=np.int64)

    y_rows = _codes_by_local_row(row_of, y_codes, len(unique_samples))
    probabilities = [np.full((len(splits), len(classes)), np.nan) for _ in params_list]
    # One BLAS thread: a multi-threaded matrix product changes the last bits of the Gram matrix
    # with the thread count, and the tables must be identical whatever --cores
    # (docs/layout.md#determinism-and-versions). Snakemake parallelises over jobs instead.
    with threadpool_limits(limits=1, user_api="blas"):
        for fold in folds(splits):
            _predict_fold(
                fold,
                row_of,
                cache,
                y_rows,
                classes,
                params_list,
                seed,
                precompute,
                probabilities,
                decision,
            )

    base = splits[[*group_columns(splits)[:-1], "sample", "subject", "repeat", "fold", "label"]]
    tables = []
    for table_probabilities in probabilities:
        table = base.reset_index(drop=True).copy()
        table["predicted"] = pd.array(
            [classes[k] for k in table_probabilities.argmax(axis=1)], dtype="string"
        )
        for column, values in zip(probability_columns(classes), table_probabilities.T, strict=True):
            table[column] = values
        tables.append(table)
    return tables


def _predict_fold(
    fold: Fold,
    row_of: np.ndarray,
    cache: _GramCache,
    y_rows: np.ndarray,
    classes: Sequence[str],
    params_list: Sequence[SVMParams],
    seed: int,
    precompute: bool,
    probabilities: list[np.ndarray],
    decision: str,
) -> None:
    """Fit every setting on one fold and write its test rows into ``probabilities``."""
    local_fold = Fold(key=fold.key, train=row_of[fold.train], test=row_of[fold.test])
    per_setting = _fold_probabilities(
        cache,
        local_fold,
        y_rows,
        len(classes),
        params_list,
        derive_seed(seed, *fold.key),
        precompute,
        decision,
    )
    for target, fold_probabilities in zip(probabilities, per_setting, strict=True):
        target[fold.test] = fold_probabilities


def _codes_by_local_row(row_of: np.ndarray, y_codes: np.ndarray, n_rows: int) -> np.ndarray:
    """Class code per feature row. A sample's label is the same in every row of the split table
    (it is the sample's label), so the mapping is well defined."""
    codes = np.full(n_rows, -1, dtype=np.int64)
    codes[row_of] = y_codes
    if not np.array_equal(codes[row_of], y_codes):
        raise ValueError("a sample has different labels in different rows of the split table")
    return codes


def cross_validate_svm(
    features: np.ndarray,
    samples: Sequence[str],
    splits: pd.DataFrame,
    params: SVMParams,
    *,
    seed: int,
    classes: Sequence[str] | None = None,
    precompute: bool = True,
    decision: str = "probability",
) -> pd.DataFrame:
    """Out-of-fold predictions of one SVM setting; see ``cross_validate_svm_sweep``."""
    return cross_validate_svm_sweep(
        features,
        samples,
        splits,
        [params],
        seed=seed,
        classes=classes,
        precompute=precompute,
        decision=decision,
    )[0]
