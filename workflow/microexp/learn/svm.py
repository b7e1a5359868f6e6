"""SVM with Platt-scaled class probabilities over a split table (docs/methods.md#svm; DSME-3D 4.3).

DSME-3D classifies with LIBSVM and fuses its class probabilities (Eq. 13), so the classifier is
LIBSVM's C-SVC through scikit-learn's ``SVC`` with ``probability=True``: one-vs-one SVMs, Platt
sigmoids fitted by LIBSVM's internal 5-fold cross-validation, pairwise coupling into multi-class
probabilities. The predicted class is the argmax of those probabilities, as LIBSVM's
``svm_predict_probability`` (``svmpredict -b 1``) does; ties go to the earlier class in the
scheme's order. CAS(ME)^2 section 3 used a polynomial kernel with gamma 0.1, degree 4, coef0 1.

Everything fitted is fitted on the training fold only: the feature scaling (``minmax`` to [0, 1]
or ``zscore``), ``gamma="scale"`` (1 / (n_features * variance of the scaled training features)),
the SVM and its Platt sigmoids. ``none`` and ``l2`` (each sample divided by its own Euclidean
norm) fit nothing, so for them one Gram matrix of all samples serves every fold.

Sharing work (``precompute=True``, the default): per fold the scaled training and test features
are multiplied once into Gram matrices (BLAS); every kernel the sweeps use (linear, poly,
rbf, sigmoid) is a function of those, and every parameter setting in a sweep that shares the
scaling reuses them, as ``SVC(kernel="precomputed")``. Without it, LIBSVM evaluates the kernel
itself, repeatedly across its one-vs-one and Platt sub-problems (~25-35x slower on a
373 x 5,000 problem, benchmarks/bench_classify.py). Both gave identical predictions in the tests
and the benchmark; probabilities agree to 1e-13..1e-4, since LIBSVM's solver sees kernel values
that differ in the last bits (a near-tie could in principle flip).

Deterministic: LIBSVM's Platt cross-validation is seeded per fold from the config seed, and the
Gram products run on one BLAS thread, since a threaded product changes the last bits with the
thread count (docs/layout.md#determinism-and-versions).

A training fold may lack a class (LOSO: a subject holds every sample of a rare class). Its
probability column is 0 in that fold; a training fold with a single class predicts it with
probability 1. Either way each row has a full set of ``p_<class>`` columns summing to 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from microexp.learn.protocols import Fold, check_splits, derive_seed, folds, group_columns

__all__ = [
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
]

KERNELS = ("linear", "poly", "rbf", "sigmoid")
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


class _GramCache:
    """Gram matrices per (fold, scaling); one matrix of all rows for scalings that fit nothing."""

    def __init__(self, features: np.ndarray) -> None:
        self.features = features
        self._global: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}

    def _whole(self, scaling: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        if scaling not in self._global:
            x = _l2_rows(self.features) if scaling == "l2" else self.features
            gram = x @ x.T
            # Row sums and squares give the training variance for gamma="scale" without the data.
            self._global[scaling] = (gram, np.diag(gram).copy(), x.sum(axis=1), x.shape[1])
        return self._global[scaling]

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
        x_train, x_test = scale_features(self.features[train], self.features[test], scaling)
        return _FoldGram(
            train=x_train @ x_train.T,
            test=x_test @ x_train.T,
            train_sqnorm=np.einsum("ij,ij->i", x_train, x_train),
            test_sqnorm=np.einsum("ij,ij->i", x_test, x_test),
            train_variance=float(x_train.var()),
            n_features=x_train.shape[1],
        )


# ---------------------------------------------------------------------------------------------
# Fitting one fold
# ---------------------------------------------------------------------------------------------


def _svc(params: SVMParams, gamma: float, random_state: int, precomputed: bool) -> SVC:
    return SVC(
        C=params.C,
        kernel="precomputed" if precomputed else params.kernel,
        gamma=gamma,
        degree=params.degree,
        coef0=params.coef0,
        probability=True,
        random_state=random_state,
        cache_size=500,
    )


def _fit_predict_proba(
    model_input: tuple[np.ndarray, np.ndarray],
    y_train: np.ndarray,
    n_classes: int,
    params: SVMParams,
    gamma: float,
    random_state: int,
    precomputed: bool,
) -> np.ndarray:
    """Class probabilities (n_test, n_classes) for class codes 0..n_classes-1."""
    train_input, test_input = model_input
    present = np.unique(y_train)
    probabilities = np.zeros((test_input.shape[0], n_classes))
    if len(present) == 1:
        # LIBSVM cannot train on one class; the only thing the fold has learnt is that class.
        probabilities[:, present[0]] = 1.0
        return probabilities
    model = _svc(params, gamma, random_state, precomputed)
    with warnings.catch_warnings():
        # sklearn 1.9 deprecates probability=True in favour of CalibratedClassifierCV, which is
        # one-vs-rest calibration, not LIBSVM's pairwise coupling that DSME-3D used (pinned).
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(train_input, y_train)
        fitted = model.predict_proba(test_input)
    # Classes absent from the training fold keep probability 0.
    probabilities[:, model.classes_] = fitted
    return probabilities


def _fold_probabilities(
    cache: _GramCache,
    fold: Fold,
    y_codes: np.ndarray,
    n_classes: int,
    params_list: Sequence[SVMParams],
    random_state: int,
    precompute: bool,
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
                model_input, y_train, n_classes, params, gamma, random_state, precompute
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
) -> list[pd.DataFrame]:
    """Out-of-fold predictions for several SVM settings on one feature matrix (docs/methods.md#svm).

    ``features`` (n_samples, n_features) has one row per id in ``samples``; ``splits`` is a split
    table (protocols.py; plain or nested) over a subset of those samples with a ``label`` column.
    ``classes`` fixes the class order (default: sorted labels). Settings sharing a scaling share
    each fold's Gram matrices. Returns one prediction table per setting, rows in split-table
    order: ``[outer_repeat, outer_fold,] sample, subject, repeat, fold, label, predicted,
    p_<class>...``. LIBSVM's Platt cross-validation is seeded per fold with
    ``derive_seed(seed, *fold key)``, so results do not depend on the order folds are run in.
    """
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
    cache = _GramCache(features[[position[s] for s in unique_samples]])
    row_of = splits["sample"].map(local).to_numpy(dtype=np.int64)

    y_rows = _codes_by_local_row(row_of, y_codes, len(unique_samples))
    probabilities = [np.full((len(splits), len(classes)), np.nan) for _ in params_list]
    # One BLAS thread: a multi-threaded matrix product changes the last bits of the Gram matrix
    # with the thread count, and the tables must be identical whatever --cores
    # (docs/layout.md#determinism-and-versions). Snakemake parallelises over jobs instead.
    with threadpool_limits(limits=1, user_api="blas"):
        for fold in folds(splits):
            _predict_fold(
                fold, row_of, cache, y_rows, classes, params_list, seed, precompute, probabilities
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
) -> pd.DataFrame:
    """Out-of-fold predictions of one SVM setting; see ``cross_validate_svm_sweep``."""
    return cross_validate_svm_sweep(
        features, samples, splits, [params], seed=seed, classes=classes, precompute=precompute
    )[0]
