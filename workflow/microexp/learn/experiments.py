"""Running experiments: from feature matrices to out-of-fold predictions (docs/tables.md).

An experiment is specified in the config language of `microexp.learn.specs` and its data are
assembled by `microexp.learn.matrices`; this module runs it under its protocols, alone
(``run_experiment``) or many at once (``run_sweep``), and prepares the inputs of 2D/3D fusion.

Sweeps are affordable because the work that does not depend on the swept value is done once:
``feature_matrices`` opens each per-sample file once for every feature read from it (all grid /
overlap variants of a code setting, all three curvature descriptors); ``run_sweep`` builds the
splits once per (samples, labels, protocol, seed) and hands experiments that differ only in the
SVM setting to ``cross_validate_svm_sweep`` together, which shares each fold's Gram matrices.
Scaling, gamma, the SVM and its Platt sigmoids are fitted inside each training fold (svm.py).
An experiment decides by LIBSVM's vote unless it says ``decision: probability``; fusion always
uses probabilities (Eq. 13 fuses them).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from microexp.learn.fusion import NestedFusionRun, nested_fusion_cv
from microexp.learn.matrices import (
    ExperimentData,
    FeatureFiles,
    FeatureMatrix,
    excluded_records,
    excluded_table,
    experiment_data,
    experiment_labels,
    feature_matrices,
    sample_sheet,
    select_expression_types,
)
from microexp.learn.protocols import PROTOCOLS, make_splits
from microexp.learn.specs import (
    ExperimentSpec,
    FeatureSpec,
    check_unique_names,
)
from microexp.learn.svm import SVMParams, cross_validate_svm, cross_validate_svm_sweep

__all__ = [
    "ExperimentRun",
    "FusionInputs",
    "fusion_inputs",
    "fusion_predictions",
    "run_experiment",
    "run_fusion",
    "run_sweep",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Running experiments
# ---------------------------------------------------------------------------------------------


def _aligned(values: Sequence[str] | pd.Series, samples: Sequence[str], what: str) -> list[str]:
    """Values per sample: a Series indexed by sample is reindexed (so order cannot slip),
    anything else must already follow ``samples``."""
    if isinstance(values, pd.Series) and set(map(str, samples)) <= set(map(str, values.index)):
        values = values.copy()
        values.index = values.index.map(str)
        return [str(v) for v in values.loc[[str(s) for s in samples]]]
    values = [str(v) for v in values]
    if len(values) != len(samples):
        raise ValueError(f"{len(samples)} samples but {len(values)} {what}")
    return values


def run_experiment(
    features: np.ndarray,
    samples: Sequence[str],
    subjects: Sequence[str] | pd.Series,
    labels: Sequence[str] | pd.Series,
    svm_params: SVMParams,
    protocol: str,
    *,
    seed: int,
    classes: Sequence[str] | None = None,
    n_splits: int = 10,
    n_repeats: int = 10,
    splits: pd.DataFrame | None = None,
    precompute: bool = True,
    decision: str = "vote",
) -> pd.DataFrame:
    """Out-of-fold predictions of one experiment under one protocol (docs/methods.md#protocols).

    ``make_splits`` (unless ``splits`` is given) then ``cross_validate_svm``: rows of
    ``features`` follow ``samples``; ``subjects`` and ``labels`` follow ``samples`` too, or are
    Series indexed by sample. ``classes`` fixes the ``p_<class>`` order (the scheme's);
    ``decision`` as an experiment's (``vote`` by default, svm.py).
    """
    samples = [str(s) for s in samples]
    subjects = _aligned(subjects, samples, "subjects")
    labels = _aligned(labels, samples, "labels")
    if splits is None:
        splits = make_splits(
            protocol, samples, subjects, labels, seed=seed, n_splits=n_splits, n_repeats=n_repeats
        )
    return cross_validate_svm(
        features,
        samples,
        splits,
        svm_params,
        seed=seed,
        classes=classes,
        precompute=precompute,
        decision=decision,
    )


@dataclass
class ExperimentRun:
    """An experiment's results: ``predictions`` and ``splits`` per protocol."""

    spec: ExperimentSpec
    samples: list[str]
    classes: list[str]
    excluded: pd.DataFrame
    label_report: dict[str, Any]
    splits: dict[str, pd.DataFrame] = field(default_factory=dict)
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)


def _check_usable(spec: ExperimentSpec, data: ExperimentData) -> None:
    if len(data.classes) < 2:
        raise ValueError(
            f"experiment {spec.name}: {len(data.samples)} usable samples in classes "
            f"{data.classes}; a classifier needs two classes (class counts "
            f"{data.label_report['counts']}, dropped small classes "
            f"{data.label_report['dropped_small_classes']}, {len(data.excluded)} excluded)"
        )


def run_sweep(
    experiments: Sequence[ExperimentSpec],
    *,
    samples_tsv: str | Path | pd.DataFrame,
    feature_files: FeatureFiles,
    features_per_pass: int | None = None,
    precompute: bool = True,
) -> dict[str, ExperimentRun]:
    """Run many experiments of one data set, sharing what they have in common (docs/tables.md).

    The sample sheet ``samples_tsv`` is read once and the distinct features are loaded by
    ``feature_matrices`` from ``feature_files`` (source key -> sample -> file, matrices.py; each
    file opened once per pass; ``features_per_pass`` bounds how many feature matrices are held
    at once, at the price of re-opening files per pass). Splits are built once per (samples,
    labels, protocol, seed, k-fold sizes), so every grid / overlap variant of a setting is
    evaluated on the same folds; experiments that differ only in the SVM setting go through one
    ``cross_validate_svm_sweep`` (shared Gram matrices). Results are identical to running each
    experiment alone (``run_experiment``), so any split of a sweep into parts gives the same
    predictions. Returns the runs by experiment name.
    """
    check_unique_names([e.name for e in experiments])
    datasets = list(dict.fromkeys(e.dataset for e in experiments))
    if len(datasets) != 1:
        raise ValueError(f"run_sweep runs the experiments of one data set, got {datasets}")
    sheet = sample_sheet(samples_tsv).reset_index(drop=True)
    runs = _run_dataset(feature_files, sheet, experiments, features_per_pass, precompute)
    return {e.name: runs[e.name] for e in experiments}


def _run_dataset(
    feature_files: FeatureFiles,
    sheet: pd.DataFrame,
    experiments: Sequence[ExperimentSpec],
    features_per_pass: int | None,
    precompute: bool,
) -> dict[str, ExperimentRun]:
    # Sheet order everywhere: the row order decides the folds (LOSO numbering, k-fold shuffles).
    typed = {
        types: select_expression_types(sheet, types)
        for types in dict.fromkeys(e.expression_types for e in experiments)
    }
    wanted = {s for samples, _ in typed.values() for s in samples}
    candidates = [str(s) for s in sheet["sample"] if str(s) in wanted]
    distinct = list(dict.fromkeys(e.feature for e in experiments))
    per_pass = features_per_pass or len(distinct)
    split_cache: dict[tuple, pd.DataFrame] = {}
    label_cache: dict[tuple, Any] = {}
    runs: dict[str, ExperimentRun] = {}
    for start in range(0, len(distinct), per_pass):
        chunk = distinct[start : start + per_pass]
        matrices = feature_matrices(feature_files, candidates, chunk)
        for k, feature in enumerate(chunk):
            matrix, matrices[k] = matrices[k], None  # release each matrix once it is used
            users = [e for e in experiments if e.feature == feature]
            log.info("%s: %d experiment(s), %d samples", feature.name, len(users), len(matrix[1]))
            runs.update(
                _run_feature(sheet, users, matrix, typed, split_cache, label_cache, precompute)
            )
            del matrix
    return runs


def _run_feature(
    sheet: pd.DataFrame,
    experiments: Sequence[ExperimentSpec],
    matrix: FeatureMatrix,
    typed: Mapping[tuple[str, ...], tuple[list[str], pd.DataFrame]],
    split_cache: dict[tuple, pd.DataFrame],
    label_cache: dict[tuple, Any],
    precompute: bool,
) -> dict[str, ExperimentRun]:
    """Every experiment on one feature matrix: grouped by (data, protocol) so that SVM
    settings share folds and Gram matrices; labels and splits are shared across features
    (``label_cache``, ``split_cache``)."""
    data_cache: dict[str, ExperimentData] = {}
    groups: dict[tuple, list[ExperimentSpec]] = {}
    runs: dict[str, ExperimentRun] = {}
    for spec in experiments:
        key = json.dumps(
            [spec.as_config()["scheme"], spec.expression_types, spec.seed], sort_keys=True
        )
        if key not in data_cache:
            samples, type_excluded = typed[spec.expression_types]
            data_cache[key] = experiment_data(
                sheet, spec, matrix, type_excluded, set(samples), label_cache
            )
        data = data_cache[key]
        _check_usable(spec, data)
        runs[spec.name] = ExperimentRun(
            spec, data.samples, data.classes, data.excluded, data.label_report
        )
        for protocol in spec.protocols:
            sizes = (spec.kfold_splits, spec.kfold_repeats) if protocol == "kfold" else ()
            split_key = (protocol, spec.seed, sizes, tuple(data.samples), tuple(data.labels))
            if split_key not in split_cache:
                split_cache[split_key] = make_splits(
                    protocol,
                    data.samples,
                    data.subjects,
                    data.labels,
                    seed=spec.seed,
                    n_splits=spec.kfold_splits,
                    n_repeats=spec.kfold_repeats,
                )
            runs[spec.name].splits[protocol] = split_cache[split_key]
            groups.setdefault((key, split_key, spec.decision), []).append(spec)
    for (key, split_key, decision), members in groups.items():
        data = data_cache[key]
        protocol = split_key[0]
        tables = cross_validate_svm_sweep(
            data.features,
            data.samples,
            split_cache[split_key],
            [spec.svm for spec in members],
            seed=members[0].seed,
            classes=data.classes,
            precompute=precompute,
            decision=decision,
        )
        for spec, table in zip(members, tables, strict=True):
            runs[spec.name].predictions[protocol] = table
    return runs


# ---------------------------------------------------------------------------------------------
# Fusion inputs
# ---------------------------------------------------------------------------------------------


@dataclass
class FusionInputs:
    """A 2D and a 3D experiment on one set of samples and one split (docs/methods.md#fusion).

    Rows of ``features2d`` and ``features3d`` follow ``samples``: the samples kept by BOTH
    feature matrices (the intersection), labelled by the scheme applied to that intersection.
    """

    protocol: str
    seed: int
    samples: list[str]
    subjects: list[str]
    labels: list[str]
    classes: list[str]
    features2d: np.ndarray
    features3d: np.ndarray
    svm2d: SVMParams
    svm3d: SVMParams
    splits: pd.DataFrame
    excluded: pd.DataFrame
    label_report: dict[str, Any]


def fusion_inputs(
    spec2d: ExperimentSpec,
    spec3d: ExperimentSpec,
    protocol: str,
    *,
    samples_tsv: str | Path | pd.DataFrame,
    feature_files: FeatureFiles,
    matrix_cache: dict[tuple, FeatureMatrix] | None = None,
) -> FusionInputs:
    """The 2D and 3D feature matrices of two experiments on their common samples, and one split.

    DSME-3D Eq. 13 fuses the class probabilities of one sample from both modalities, so both
    classifiers must see the same samples in the same folds. The samples are those of the
    experiments' expression types kept by **both** feature matrices (a sample that failed in
    either modality is excluded, with that modality's stage and reason); the class scheme is
    applied to this intersection and the split is built on it. When both experiments keep the
    same samples, the fusion's 2D and 3D predictions equal the experiments' own predictions;
    when they do not, a = 0 / a = 1 of the fusion curve can differ from the standalone figures
    (fewer samples, other folds). The two experiments must agree on data set, scheme,
    expression types, seed and k-fold sizes. ``matrix_cache`` (optional, one per sample sheet and
    feature files) keeps each feature matrix read, so that LBP-TOP is read once for all the
    descriptors it is fused with.
    """
    for attribute in ("dataset", "expression_types", "seed", "kfold_splits", "kfold_repeats"):
        if getattr(spec2d, attribute) != getattr(spec3d, attribute):
            raise ValueError(f"fusion of {spec2d.name} and {spec3d.name}: {attribute} differs")
    if spec2d.as_config()["scheme"] != spec3d.as_config()["scheme"]:
        raise ValueError(f"fusion of {spec2d.name} and {spec3d.name}: class schemes differ")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    sheet = sample_sheet(samples_tsv).reset_index(drop=True)
    typed, type_excluded = select_expression_types(sheet, spec2d.expression_types)
    matrix2d, matrix3d = _cached_matrices(
        feature_files, typed, [spec2d.feature, spec3d.feature], matrix_cache
    )
    both = set(matrix3d.samples)
    common = [s for s in matrix2d.samples if s in both]
    labels, subjects, report = experiment_labels(
        sheet, spec2d.scheme, spec2d.expression_types, samples=common
    )
    used = [str(s) for s in labels.index]
    rows2d = {s: k for k, s in enumerate(matrix2d.samples)}
    rows3d = {s: k for k, s in enumerate(matrix3d.samples)}
    excluded = pd.concat(
        [
            type_excluded,
            matrix2d.excluded,
            matrix3d.excluded,
            excluded_table(excluded_records(report)),
        ],
        ignore_index=True,
    ).drop_duplicates(ignore_index=True)  # an upstream (face2d) failure shows in both
    if len(report["classes"]) < 2:
        raise ValueError(
            f"fusion of {spec2d.name} and {spec3d.name}: classes {report['classes']} on "
            f"{len(used)} common samples; a classifier needs two"
        )
    subject_list = [str(s) for s in subjects]
    label_list = [str(v) for v in labels]
    splits = make_splits(
        protocol,
        used,
        subject_list,
        label_list,
        seed=spec2d.seed,
        n_splits=spec2d.kfold_splits,
        n_repeats=spec2d.kfold_repeats,
    )
    return FusionInputs(
        protocol=protocol,
        seed=spec2d.seed,
        samples=used,
        subjects=subject_list,
        labels=label_list,
        classes=list(report["classes"]),
        features2d=matrix2d.features[[rows2d[s] for s in used]],
        features3d=matrix3d.features[[rows3d[s] for s in used]],
        svm2d=spec2d.svm,
        svm3d=spec3d.svm,
        splits=splits,
        excluded=excluded,
        label_report=report,
    )


def _cached_matrices(
    feature_files: FeatureFiles,
    samples: Sequence[str],
    features: Sequence[FeatureSpec],
    cache: dict[tuple, FeatureMatrix] | None,
) -> list[FeatureMatrix]:
    """``feature_matrices(feature_files, samples, features)``, each matrix read once per cache
    (keyed by feature and samples; each matrix is computed on its own, so reading one alone
    gives the same matrix)."""
    if cache is None:
        return feature_matrices(feature_files, samples, features)
    keys = [(feature, tuple(samples)) for feature in features]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        loaded = feature_matrices(feature_files, samples, [feature for feature, _ in missing])
        cache.update(zip(missing, loaded, strict=True))
    return [cache[k] for k in keys]


def fusion_predictions(
    inputs: FusionInputs, *, precompute: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 2D and 3D out-of-fold predictions on the fusion's split, row-aligned: the inputs of
    ``oracle_fusion`` / ``fusion_curve``."""
    return tuple(
        cross_validate_svm(
            features,
            inputs.samples,
            inputs.splits,
            params,
            seed=inputs.seed,
            classes=inputs.classes,
            precompute=precompute,
        )
        for features, params in (
            (inputs.features2d, inputs.svm2d),
            (inputs.features3d, inputs.svm3d),
        )
    )


def run_fusion(
    inputs: FusionInputs,
    alphas: Sequence[float],
    *,
    criterion: str = "accuracy",
    inner_protocol: str | None = None,
    inner_n_splits: int = 10,
    precompute: bool = True,
    memo: dict[str, pd.DataFrame] | None = None,
) -> NestedFusionRun:
    """Both fusion figures (oracle a and nested a, docs/methods.md#fusion) via ``nested_fusion_cv``;
    its ``outer2d`` / ``outer3d`` equal ``fusion_predictions(inputs)``. ``memo``: prediction
    tables shared across calls (``nested_fusion_cv``)."""
    return nested_fusion_cv(
        inputs.features2d,
        inputs.features3d,
        inputs.samples,
        inputs.splits,
        inputs.svm2d,
        inputs.svm3d,
        alphas,
        seed=inputs.seed,
        classes=inputs.classes,
        outer_protocol=inputs.protocol,
        inner_protocol=inner_protocol,
        inner_n_splits=inner_n_splits,
        criterion=criterion,
        precompute=precompute,
        memo=memo,
    )
