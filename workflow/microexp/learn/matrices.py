"""Feature-matrix assembly: the samples an experiment uses, their labels and features.

Which samples an experiment uses, in this order, each exclusion recorded with its stage and
reason (docs/layout.md#failures): the expression types (stage ``expression_type``), the
feature files (a failure marker excludes the sample with the marker's stage and reason; stage
``feature_matrix`` for non-finite values), then the class scheme applied to the samples that
have features, so ``min_class_size`` counts usable samples (stage ``class_scheme``).

``feature_matrices`` opens each per-sample file once for every feature read from it (all grid /
overlap variants of a code setting, all three curvature descriptors).

Paths come from the caller (the rules own the ``results/`` layout, docs/layout.md): a
`FeatureFiles` mapping, source key -> sample -> file, where a source key is
``lbptop/<setting>`` or ``curvature/<setting>`` (``source_key``) and ``face2d`` holds the face2d
files the ROIs are placed from.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from microexp.face2d.result import load_face2d
from microexp.failures import EXCLUDED_COLUMNS, FailureRecord, upstream_failure
from microexp.features.blocks import (
    IntegralHistograms,
    block_feature_variants,
    load_integral,
)
from microexp.features.rois import roi_features, roi_masks
from microexp.io.samples import read_samples_tsv
from microexp.learn.classes import ClassScheme, apply_scheme, class_scheme
from microexp.learn.specs import (
    DEFAULT_EXPRESSION_TYPES,
    ExperimentSpec,
    FeatureSpec,
    LbptopBlocks,
    LbptopRois,
    feature_spec,
    resolve_scheme,
)

__all__ = [
    "EXCLUDED_COLUMNS",
    "FACE2D",
    "ExperimentData",
    "FeatureFiles",
    "FeatureMatrix",
    "experiment_labels",
    "feature_matrices",
    "feature_matrix",
    "load_experiment",
    "select_expression_types",
    "source_key",
]

FACE2D = "face2d"
FeatureFiles = Mapping[str, Mapping[str, "str | Path"]]


def sample_sheet(samples_tsv: str | Path | pd.DataFrame) -> pd.DataFrame:
    table = samples_tsv if isinstance(samples_tsv, pd.DataFrame) else read_samples_tsv(samples_tsv)
    for column in ("sample", "subject", "expression_type"):
        if column not in table.columns:
            raise ValueError(f"sample sheet lacks the column {column!r}")
    if table["sample"].duplicated().any():
        raise ValueError("sample sheet has duplicate sample ids")
    table = table.copy()
    table["sample"] = table["sample"].astype("string")
    return table.set_index("sample", drop=False).rename_axis(index="sample_id")


def excluded_table(rows: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    rows = list(rows)
    if not rows:
        # A sweep asks for one per feature (231 per LBP-TOP setting); a copy of the empty table
        # is the same frame at a twentieth of pandas' construction cost.
        return _empty_excluded_table().copy()
    return pd.DataFrame(rows, columns=EXCLUDED_COLUMNS).astype("string")


@functools.cache
def _empty_excluded_table() -> pd.DataFrame:
    return pd.DataFrame([], columns=EXCLUDED_COLUMNS).astype("string")


def select_expression_types(
    samples_tsv: str | Path | pd.DataFrame,
    expression_types: Sequence[str] = DEFAULT_EXPRESSION_TYPES,
) -> tuple[list[str], pd.DataFrame]:
    """The sheet's samples of the given expression types (sheet order) and the others with
    their reason (stage ``expression_type``): the sheet's type, else the rule's
    (docs/methods.md#micro-vs-macro)."""
    sheet = sample_sheet(samples_tsv)
    wanted = {t.lower() for t in expression_types}
    types = sheet["expression_type"].str.strip().str.lower()
    keep = types.isin(wanted).fillna(False).to_numpy(dtype=bool)
    reasons = [
        (
            str(s),
            "expression_type",
            "no expression type"
            if pd.isna(t)
            else f"{t}-expression; the experiment uses {'+'.join(expression_types)}",
        )
        for s, t, k in zip(sheet["sample"], types, keep, strict=True)
        if not k
    ]
    return [str(s) for s in sheet["sample"][keep]], excluded_table(reasons)


def experiment_labels(
    samples_tsv: str | Path | pd.DataFrame,
    scheme: str | Mapping[str, Any] | ClassScheme,
    expression_types: Sequence[str] = DEFAULT_EXPRESSION_TYPES,
    *,
    samples: Sequence[str] | None = None,
) -> tuple[pd.Series, pd.Series, dict[str, Any]]:
    """Class labels of the samples an experiment can use (docs/methods.md#class-schemes).

    ``samples`` restricts the sheet (e.g. to the samples with features), so that the scheme's
    ``min_class_size`` counts usable samples; rows follow ``samples`` (else the sheet). Returns
    ``labels`` (class per kept sample, indexed by sample), ``subjects`` (same index) and the
    ``apply_scheme`` report extended with ``expression_types``, ``n_candidates`` and
    ``excluded``: one {sample, stage, reason} record per sample left out (expression type or
    class scheme).
    """
    sheet = sample_sheet(samples_tsv)
    if samples is not None:
        samples = [str(s) for s in samples]
        missing = [s for s in samples if s not in sheet.index]
        if missing:
            raise ValueError(f"{len(missing)} samples are not in the sheet, e.g. {missing[:3]}")
        sheet = sheet.loc[samples]
    scheme = resolve_scheme(scheme, None, None) if isinstance(scheme, str) else class_scheme(scheme)
    if scheme.source not in sheet.columns:
        raise ValueError(f"class scheme {scheme.name!r} reads the missing column {scheme.source!r}")
    typed, type_excluded = select_expression_types(sheet.reset_index(drop=True), expression_types)
    source = sheet.loc[typed, scheme.source]
    source.index = pd.Index(typed, name="sample")
    classes, report = apply_scheme(source, scheme)
    labels = classes.dropna().astype(str).rename("label")
    subjects = sheet.loc[list(labels.index), "subject"].astype(str)
    subjects.index = labels.index
    scheme_rows = [(s, "class_scheme", r) for s, r in report["dropped_samples"].items()]
    excluded = pd.concat([type_excluded, excluded_table(scheme_rows)], ignore_index=True)
    report = {
        **report,
        "expression_types": list(expression_types),
        "n_candidates": len(sheet),
        "excluded": excluded.to_dict("records"),
    }
    return labels, subjects.rename("subject"), report


class FeatureMatrix(NamedTuple):
    """Rows of ``features`` follow ``samples`` (the kept ones); ``excluded`` has one row per
    sample left out: sample, stage, reason."""

    features: np.ndarray
    samples: list[str]
    excluded: pd.DataFrame


def source_key(source: tuple[str, str]) -> str:
    """A feature's key in `FeatureFiles`: ``lbptop/<setting>`` or ``curvature/<setting>``."""
    folder, setting = source
    return f"{folder}/{setting}"


def _file(files: FeatureFiles, key: str, sample: str) -> Path:
    try:
        return Path(files[key][sample])
    except KeyError:
        # A workflow bug (the rule did not pass the file), not a bad sample.
        raise FileNotFoundError(
            f"{key} file of sample {sample!r}: missing from the files given; is its feature "
            "setting in config?"
        ) from None


def _failure(path: Path) -> FailureRecord | None:
    if not path.exists():
        # A missing file is a workflow bug (the rule did not ask for it), not a bad sample.
        raise FileNotFoundError(f"{path}: missing; is its feature setting in config?")
    return upstream_failure(path)


def _lbptop_vectors(
    integral: IntegralHistograms, members: Sequence[FeatureSpec], face2d: Path | None
) -> list[np.ndarray]:
    """Every member's vector from one loaded integral: block variants batched per grid."""
    overlaps: dict[tuple[int, int], list[int]] = {}
    for member in members:
        if isinstance(member, LbptopBlocks):
            overlaps.setdefault(member.grid, [])
            if member.overlap not in overlaps[member.grid]:
                overlaps[member.grid].append(member.overlap)
    variants: dict[tuple[tuple[int, int], int], np.ndarray] = {}
    for grid, grid_overlaps in overlaps.items():
        variants.update(block_feature_variants(integral, [grid], grid_overlaps))
    vectors, masks = [], None
    for member in members:
        if isinstance(member, LbptopBlocks):
            vectors.append(variants[(member.grid, member.overlap)])
        else:
            if masks is None:
                # CAS(ME)^2 section 3: ROIs from the landmarks of the clip's first frame; TIM
                # resamples time only, so the crop's landmarks still place them.
                landmarks = load_face2d(face2d).aligned_landmarks[0]
                masks = roi_masks(landmarks, integral.crop_shape)
            vectors.append(roi_features(integral, masks))
    return vectors


def _curvature_vectors(path: Path, members: Sequence[FeatureSpec]) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        parts = {"si": np.asarray(data["si"]), "hk": np.asarray(data["hk"])}
    parts["si+hk"] = np.concatenate([parts["si"], parts["hk"]])
    return [parts[member.descriptor] for member in members]


def feature_matrices(
    files: FeatureFiles,
    samples: Sequence[str],
    features: Sequence[FeatureSpec],
    *,
    dtype: type = np.float64,
) -> list[FeatureMatrix]:
    """One FeatureMatrix per feature (same order), opening each per-sample file once; ``files``:
    source key -> sample -> file (module docstring).

    Features reading the same file (every grid / overlap / ROI variant of an LBP-TOP setting,
    every descriptor of a curvature setting) are computed from one load: the 231 DSME-3D
    block variants are one ``block_feature_variants`` batch per grid. Failure markers exclude
    the sample with the marker's stage and reason (for the ROIs the face2d file's marker too);
    a vector with NaN or infinity excludes it (stage ``feature_matrix``); vectors of different
    lengths within a feature raise ValueError (a configuration error, not a bad sample).
    Memory: n_samples x the sum of the feature lengths (the 231 DSME-3D variants of a u2
    setting are 1.6 M values, 12.6 MB per sample in float64).
    """
    features = [feature_spec(f) for f in features]
    groups: dict[tuple[str, str], list[int]] = {}
    for k, feature in enumerate(features):
        groups.setdefault(feature.source, []).append(k)
    rows: list[list[np.ndarray]] = [[] for _ in features]
    kept: list[list[str]] = [[] for _ in features]
    excluded: list[list[tuple[str, str, str]]] = [[] for _ in features]
    for sample in (str(s) for s in samples):
        for source, members in groups.items():
            path = _file(files, source_key(source), sample)
            rois = any(isinstance(features[m], LbptopRois) for m in members)
            face2d = _file(files, FACE2D, sample) if rois else None
            failure = _failure(path)
            if failure is None and face2d is not None:
                failure = _failure(face2d)
            if failure is not None:
                for m in members:
                    excluded[m].append((sample, failure.stage, failure.reason))
                continue
            specs = [features[m] for m in members]
            if source[0] == "lbptop":
                vectors = _lbptop_vectors(load_integral(path), specs, face2d)
            else:
                vectors = _curvature_vectors(path, specs)
            for m, vector in zip(members, vectors, strict=True):
                vector = np.asarray(vector, dtype=dtype).ravel()
                if not np.isfinite(vector).all():
                    reason = f"{features[m].name}: NaN or infinite values in {path.name}"
                    excluded[m].append((sample, "feature_matrix", reason))
                    continue
                rows[m].append(vector)
                kept[m].append(sample)
    matrices = []
    for k, feature in enumerate(features):
        matrices.append(
            FeatureMatrix(_stack(rows[k], kept[k], feature), kept[k], excluded_table(excluded[k]))
        )
        rows[k] = []  # free the row vectors now: stacking them all first would double the peak
    return matrices


def _stack(rows: list[np.ndarray], samples: list[str], feature: FeatureSpec) -> np.ndarray:
    if not rows:
        return np.empty((0, 0))
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        first = {len(r): s for r, s in zip(rows, samples, strict=True)}
        detail = ", ".join(f"{n} (e.g. {s})" for n, s in sorted(first.items()))
        raise ValueError(f"{feature.name}: feature vectors have different lengths: {detail}")
    return np.stack(rows)


def feature_matrix(
    files: FeatureFiles,
    samples: Sequence[str],
    feature: FeatureSpec | Mapping[str, Any],
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """(X, kept samples, excluded: sample, stage, reason) of one feature; see
    ``feature_matrices``."""
    return tuple(feature_matrices(files, samples, [feature_spec(feature)])[0])


@dataclass
class ExperimentData:
    """What an experiment classifies: rows of ``features`` follow ``samples``."""

    features: np.ndarray
    samples: list[str]
    subjects: list[str]
    labels: list[str]
    classes: list[str]
    excluded: pd.DataFrame
    label_report: dict[str, Any]


def experiment_data(
    sheet: pd.DataFrame,
    spec: ExperimentSpec,
    matrix: FeatureMatrix,
    type_excluded: pd.DataFrame,
    typed: set[str],
    label_cache: dict[tuple, tuple[pd.Series, pd.Series, dict[str, Any]]] | None = None,
) -> ExperimentData:
    """Restrict a feature matrix to an experiment's samples and label them. ``label_cache``
    (one per sheet) keeps ``experiment_labels`` per (scheme, expression types, samples kept):
    a sweep's variants of one feature keep the same samples, so they are labelled once."""
    rows = [k for k, s in enumerate(matrix.samples) if s in typed]
    kept = [matrix.samples[k] for k in rows]
    key = (
        json.dumps(spec.as_config()["scheme"], sort_keys=True),
        tuple(spec.expression_types),
        tuple(kept),
    )
    if label_cache is None or key not in label_cache:
        labelled = experiment_labels(sheet, spec.scheme, spec.expression_types, samples=kept)
        if label_cache is not None:
            label_cache[key] = labelled
    else:
        labelled = label_cache[key]
    labels, subjects, report = labelled
    report = copy.deepcopy(report)  # each run owns its report
    position = {s: k for k, s in enumerate(matrix.samples)}
    used = [str(s) for s in labels.index]
    feature_excluded = matrix.excluded[matrix.excluded["sample"].isin(typed)]
    excluded = pd.concat(
        [type_excluded, feature_excluded, excluded_table(excluded_records(report))],
        ignore_index=True,
    )
    if used == matrix.samples:
        features = matrix.features  # no copy: a sweep holds many large matrices
    else:
        features = matrix.features[[position[s] for s in used]] if used else np.empty((0, 0))
    return ExperimentData(
        features=features,
        samples=used,
        subjects=[str(s) for s in subjects],
        labels=[str(v) for v in labels],
        classes=list(report["classes"]),
        excluded=excluded,
        label_report=report,
    )


def excluded_records(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["sample"], r["stage"], r["reason"]) for r in report["excluded"]]


def load_experiment(
    spec: ExperimentSpec,
    *,
    samples_tsv: str | Path | pd.DataFrame,
    feature_files: FeatureFiles,
) -> ExperimentData:
    """An experiment's feature matrix and labels, every excluded sample with its reason:
    expression type, then feature failures, then the class scheme (module docstring)."""
    sheet = sample_sheet(samples_tsv).reset_index(drop=True)
    typed, type_excluded = select_expression_types(sheet, spec.expression_types)
    (matrix,) = feature_matrices(feature_files, typed, [spec.feature])
    return experiment_data(sheet, spec, matrix, type_excluded, set(typed))
