"""Experiments: from a config entry and the per-sample feature files to predictions (SPEC.md 6-7).

An experiment is one cell of a paper table: a data set, a class scheme, the expression types it
uses, one feature (an LBP-TOP block grid / overlap, the CAS(ME)^2 ROIs, or a curvature
descriptor), one SVM setting and the protocols it is evaluated with. It sits in config under
``experiments:`` as a plain mapping; a **sweep** is the same mapping plus a ``sweep:`` block and
expands to one experiment per combination (DSME-3D Tables 6-10, CAS(ME)^2 Table 5)::

    experiments:
      blocks_objective:                   # -> blocks_objective__g3x3_o0 ... __g8x10_o30 (231)
        dataset: synthetic
        scheme: objective                 # a DEFAULT_CLASS_SCHEMES name or an inline mapping
        min_class_size: 10                # optional: overrides the scheme's minimum
        expression_types: [micro]         # default: micro only (SPEC.md 2.3)
        feature:
          lbptop: {setting: r1-1-4_p8-8-8_u2_nearest, grid: [5, 5], overlap: 0}
        svm: {kernel: linear, C: 1, scaling: minmax}      # SVMParams.from_config
        protocols: [loso, kfold]          # loso, kfold (10 x 10, seeded), lovo
        kfold: {n_splits: 10, n_repeats: 10}              # optional
        seed: 20261122                    # optional: the config's seed by default
        kind: blocks                      # optional: the tables' `kind` column
        sweep:
          grid: dsme3d                    # DSME3D_GRIDS (33), or a list of [rows, cols]
          overlap: dsme3d                 # DSME3D_OVERLAPS (0..30 px), or a list

Features (one of): ``lbptop: {setting, grid, overlap}``; ``lbptop_rois: {setting}`` (the 36
CAS(ME)^2 ROIs from the first frame's aligned landmarks, SPEC.md 5.1); ``curvature: {setting,
descriptor: si | hk | si+hk}`` (SPEC.md 5.2; si+hk is [si, hk]). A ``setting`` is either the
folder name of a feature setting (``r1-1-4_p8-8-8_u2_nearest``; ``rc6_rs15_...``) or its
parameters as a mapping (``{radii: [1, 1, 4], neighbors: [8, 8, 8], mapping: u2}``), the same
mapping ``config["features"]`` takes; every setting an experiment reads must be computed by the
features rules (``required_settings`` lists them).

Sweep keys are dotted paths: a path starting with an experiment key (``scheme``, ``svm.C``,
``feature.lbptop.grid``) sets that key; any other path is inside the feature's mapping
(``grid``, ``overlap``, ``descriptor``, ``setting``, ``setting.radii``, ``setting.neighbors``,
``setting.mapping``). The product of all sweep lists is taken in key order. Shorthands:
``grid: dsme3d``, ``overlap: dsme3d`` (DSME-3D Tables 7-10) and ``setting.radii: dsme3d``
(Rx = Ry in 1..4, Rt in 2..4: DSME-3D Table 6, CAS(ME)^2 Table 5). An expanded experiment is
named ``<sweep name>__<label>_<label>...`` with one label per sweep key made from the value
(``g5x5``, ``o10``, ``r1-1-4``, ``p4-4-4``, ``u2``, ``si-hk``, ...): stable (adding a value to a
list never renames the others) and path-safe (``[A-Za-z0-9._-]``).

Which samples an experiment uses, in this order, each exclusion recorded with its stage and
reason (ARCHITECTURE.md principle 5): the expression types (stage ``expression_type``), the
feature files (a failure marker excludes the sample with the marker's stage and reason; stage
``feature_matrix`` for non-finite values), then the class scheme applied to the samples that
have features, so ``min_class_size`` counts usable samples (stage ``class_scheme``).

Sweeps are affordable because the work that does not depend on the swept value is done once:
``feature_matrices`` opens each per-sample file once for every feature read from it (all grid /
overlap variants of a code setting, all three curvature descriptors); ``run_sweep`` builds the
splits once per (samples, labels, protocol, seed) and hands experiments that differ only in the
SVM setting to ``cross_validate_svm_sweep`` together, which shares each fold's Gram matrices.
Scaling, gamma, the SVM and its Platt sigmoids are fitted inside each training fold (svm.py).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from microexp.face2d.stage import load_face2d
from microexp.failures import FailureRecord, upstream_failure
from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
    IntegralHistograms,
    block_feature_variants,
    load_integral,
)
from microexp.features.rois import roi_features, roi_masks
from microexp.features.sample import CurvatureSetting, LbptopSetting
from microexp.learn.classes import DEFAULT_CLASS_SCHEMES, ClassScheme, apply_scheme, class_scheme
from microexp.learn.fusion import NestedFusionRun, nested_fusion_cv
from microexp.learn.protocols import PROTOCOLS, make_splits
from microexp.learn.svm import SVMParams, cross_validate_svm, cross_validate_svm_sweep

__all__ = [
    "CURVATURE_DESCRIPTORS",
    "DEFAULT_EXPRESSION_TYPES",
    "DSME3D_RADII",
    "EXCLUDED_COLUMNS",
    "FEATURE_KINDS",
    "CurvatureFeature",
    "ExperimentData",
    "ExperimentRun",
    "ExperimentSpec",
    "FeatureMatrix",
    "FeatureSpec",
    "FusionInputs",
    "LbptopBlocks",
    "LbptopRois",
    "curvature_setting",
    "expand_sweep",
    "experiment_labels",
    "experiments_from_config",
    "feature_matrices",
    "feature_matrix",
    "feature_paths",
    "feature_spec",
    "fusion_inputs",
    "fusion_predictions",
    "lbptop_setting",
    "load_experiment",
    "read_samples_tsv",
    "required_settings",
    "run_experiment",
    "run_fusion",
    "run_sweep",
    "select_expression_types",
]

log = logging.getLogger(__name__)

FEATURE_KINDS = ("lbptop", "lbptop_rois", "curvature")
CURVATURE_DESCRIPTORS = ("si", "hk", "si+hk")
EXPRESSION_TYPES = ("micro", "macro")
DEFAULT_EXPRESSION_TYPES: tuple[str, ...] = ("micro",)
EXCLUDED_COLUMNS = ["sample", "stage", "reason"]
# DSME-3D Table 6 and CAS(ME)^2 Table 5 rows: Rx = Ry in 1..4, Rt in 2..4 (the same pairs as
# microexp.evaluate.tables.DSME3D_RADII, written as (Rx, Ry, Rt) triples for settings).
DSME3D_RADII: tuple[tuple[int, int, int], ...] = tuple(
    (r, r, t) for r in range(1, 5) for t in range(2, 5)
)

_EXPERIMENT_KEYS = (
    "name",
    "dataset",
    "scheme",
    "min_class_size",
    "expression_types",
    "feature",
    "svm",
    "protocols",
    "kfold",
    "seed",
    "kind",
    "sweep",
)
_SHORTHANDS: dict[tuple[str, str], tuple[Any, ...]] = {
    ("grid", "dsme3d"): DSME3D_GRIDS,
    ("overlap", "dsme3d"): DSME3D_OVERLAPS,
    ("radii", "dsme3d"): DSME3D_RADII,
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CURVATURE_NAME = re.compile(r"^rc([^_]+)_rs([^_]+)_eh([^_]+)_ek([^_]+)_d([^_]+)_m(\d+)$")


# ---------------------------------------------------------------------------------------------
# Feature settings and feature specs
# ---------------------------------------------------------------------------------------------


def lbptop_setting(value: str | Mapping[str, Any] | LbptopSetting) -> LbptopSetting:
    """An LBP-TOP code setting from its folder name or its parameters (SPEC.md 5.1).

    The name is parsed back into parameters so that tables get rx, ry, rt, P and the mapping
    without a second source of truth; a name that does not round-trip is an error.
    """
    if isinstance(value, LbptopSetting):
        return value
    if isinstance(value, Mapping):
        return LbptopSetting.from_config(value)
    return LbptopSetting.from_name(str(value))


def curvature_setting(value: str | Mapping[str, Any] | CurvatureSetting) -> CurvatureSetting:
    """A curvature setting from its folder name or its parameters (SPEC.md 5.2)."""
    if isinstance(value, CurvatureSetting):
        return value
    if isinstance(value, Mapping):
        return CurvatureSetting.from_config(value)
    match = _CURVATURE_NAME.match(str(value))
    if match is None:
        raise ValueError(
            f"{value!r} is not a curvature setting name like rc6_rs15_eh0.01_ek0.0001_d5_m20; "
            "give the parameters as a mapping instead"
        )
    rc, rs, eh, ek, disc, minimum = match.groups()
    setting = CurvatureSetting(
        radius_curv_mm=float(rc),
        radius_sphere_mm=float(rs),
        eps_H=float(eh),
        eps_K=float(ek),
        weight_disc_px=float(disc),
        min_sphere_vertices=int(minimum),
    )
    if setting.name != value:
        raise ValueError(f"curvature setting name {value!r} does not round-trip ({setting.name})")
    return setting


def _lbptop_columns(setting: LbptopSetting) -> dict[str, Any]:
    """The tables' LBP-TOP columns (microexp.evaluate.tables schema)."""
    rx, ry, rt = setting.radii
    pxy, pxt, pyt = setting.neighbors
    return {
        "lbptop_setting": setting.name,
        "rx": rx,
        "ry": ry,
        "rt": rt,
        "p": pxy if pxy == pxt == pyt else None,
        "pxy": pxy,
        "pxt": pxt,
        "pyt": pyt,
        "mapping": setting.mapping,
        "interpolation": setting.interpolation,
        "tim_frames": setting.tim_frames,
    }


@dataclass(frozen=True)
class LbptopBlocks:
    """LBP-TOP histograms of a rows x cols block grid with overlapping blocks (SPEC.md 5.1)."""

    setting: LbptopSetting
    grid: tuple[int, int] = (5, 5)
    overlap: int = 0

    kind = "lbptop"

    def __post_init__(self) -> None:
        grid = tuple(self.grid)
        if len(grid) != 2 or any(int(g) != g or g < 1 for g in grid):
            raise ValueError(f"grid must be [rows, cols] of positive integers, got {self.grid!r}")
        if int(self.overlap) != self.overlap or self.overlap < 0:
            raise ValueError(f"overlap must be a whole number of pixels >= 0: {self.overlap!r}")
        object.__setattr__(self, "grid", (int(grid[0]), int(grid[1])))
        object.__setattr__(self, "overlap", int(self.overlap))

    @property
    def source(self) -> tuple[str, str]:
        return ("lbptop", self.setting.name)

    @property
    def name(self) -> str:
        return f"lbptop-{self.setting.name}-g{self.grid[0]}x{self.grid[1]}-o{self.overlap}"

    def as_config(self) -> dict[str, Any]:
        return {
            "lbptop": {
                "setting": self.setting.name,
                "grid": list(self.grid),
                "overlap": self.overlap,
            }
        }

    def columns(self) -> dict[str, Any]:
        return {
            "descriptor": "lbptop",
            **_lbptop_columns(self.setting),
            "grid_rows": self.grid[0],
            "grid_cols": self.grid[1],
            "overlap": self.overlap,
        }


@dataclass(frozen=True)
class LbptopRois:
    """LBP-TOP histograms of the 36 CAS(ME)^2 ROIs of the first frame's landmarks (SPEC 5.1)."""

    setting: LbptopSetting

    kind = "lbptop_rois"

    @property
    def source(self) -> tuple[str, str]:
        return ("lbptop", self.setting.name)

    @property
    def name(self) -> str:
        return f"lbptop-{self.setting.name}-rois36"

    def as_config(self) -> dict[str, Any]:
        return {"lbptop_rois": {"setting": self.setting.name}}

    def columns(self) -> dict[str, Any]:
        return {"descriptor": "lbptop", **_lbptop_columns(self.setting), "rois": 36}


@dataclass(frozen=True)
class CurvatureFeature:
    """Weighted SI and / or HK histograms of the 23 landmarks at onset and apex (SPEC.md 5.2)."""

    setting: CurvatureSetting
    descriptor: str = "si+hk"

    kind = "curvature"

    def __post_init__(self) -> None:
        if self.descriptor not in CURVATURE_DESCRIPTORS:
            raise ValueError(f"descriptor {self.descriptor!r} not in {CURVATURE_DESCRIPTORS}")

    @property
    def source(self) -> tuple[str, str]:
        return ("curvature", self.setting.name)

    @property
    def name(self) -> str:
        return f"curvature-{self.setting.name}-{_path_safe(self.descriptor)}"

    def as_config(self) -> dict[str, Any]:
        return {"curvature": {"setting": self.setting.name, "descriptor": self.descriptor}}

    def columns(self) -> dict[str, Any]:
        return {
            "descriptor": self.descriptor,
            "curvature_setting": self.setting.name,
            **{f"curvature_{k}": v for k, v in asdict(self.setting).items()},
        }


FeatureSpec = LbptopBlocks | LbptopRois | CurvatureFeature


def feature_spec(spec: Mapping[str, Any] | FeatureSpec) -> FeatureSpec:
    """A feature from config: a mapping with exactly one of ``lbptop``, ``lbptop_rois``,
    ``curvature`` (module docstring)."""
    if isinstance(spec, LbptopBlocks | LbptopRois | CurvatureFeature):
        return spec
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ValueError(f"feature must map exactly one of {FEATURE_KINDS} to its options")
    ((kind, options),) = spec.items()
    options = dict(options or {})
    if "setting" not in options:
        raise ValueError(f"feature {kind!r} needs a `setting`")
    allowed = {"lbptop": {"setting", "grid", "overlap"}, "lbptop_rois": {"setting"}}
    allowed["curvature"] = {"setting", "descriptor"}
    if kind not in allowed:
        raise ValueError(f"unknown feature kind {kind!r}; expected one of {FEATURE_KINDS}")
    unknown = set(options) - allowed[kind]
    if unknown:
        raise ValueError(f"feature {kind!r}: unknown keys {sorted(unknown)}")
    if kind == "lbptop":
        return LbptopBlocks(
            lbptop_setting(options["setting"]),
            tuple(options.get("grid", (5, 5))),
            options.get("overlap", 0),
        )
    if kind == "lbptop_rois":
        return LbptopRois(lbptop_setting(options["setting"]))
    return CurvatureFeature(
        curvature_setting(options["setting"]), str(options.get("descriptor", "si+hk"))
    )


# ---------------------------------------------------------------------------------------------
# Experiment specs and sweeps
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment (module docstring): what is classified, how, and evaluated how."""

    name: str
    dataset: str
    scheme: ClassScheme
    feature: FeatureSpec
    svm: SVMParams
    seed: int
    protocols: tuple[str, ...] = ("loso",)
    expression_types: tuple[str, ...] = DEFAULT_EXPRESSION_TYPES
    kfold_splits: int = 10
    kfold_repeats: int = 10
    kind: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"experiment name {self.name!r} is not path-safe ([A-Za-z0-9._-])")
        if not self.protocols or len(set(self.protocols)) != len(self.protocols):
            raise ValueError(f"{self.name}: protocols must be a non-empty list without repeats")
        for protocol in self.protocols:
            if protocol not in PROTOCOLS:
                raise ValueError(f"{self.name}: unknown protocol {protocol!r} ({PROTOCOLS})")
        bad = [t for t in self.expression_types if t not in EXPRESSION_TYPES]
        if not self.expression_types or bad:
            raise ValueError(f"{self.name}: expression_types must be from {EXPRESSION_TYPES}")
        if self.kfold_splits < 2 or self.kfold_repeats < 1:
            raise ValueError(f"{self.name}: kfold needs n_splits >= 2 and n_repeats >= 1")

    @classmethod
    def from_config(
        cls,
        name: str,
        spec: Mapping[str, Any],
        *,
        schemes: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int | None = None,
    ) -> ExperimentSpec:
        """Build from a config mapping (no ``sweep`` key; see ``expand_sweep``). ``schemes``:
        named class schemes that add to / override DEFAULT_CLASS_SCHEMES; ``seed``: the
        config's seed, used when the entry has none."""
        unknown = set(spec) - set(_EXPERIMENT_KEYS)
        if unknown:
            raise ValueError(f"experiment {name!r}: unknown keys {sorted(unknown)}")
        if "sweep" in spec:
            raise ValueError(f"experiment {name!r} is a sweep: use expand_sweep")
        for key in ("dataset", "scheme", "feature"):
            if key not in spec:
                raise ValueError(f"experiment {name!r}: `{key}` is required")
        if spec.get("seed", seed) is None:
            raise ValueError(f"experiment {name!r}: no seed (give `seed` or the config's seed)")
        kfold = dict(spec.get("kfold") or {})
        if set(kfold) - {"n_splits", "n_repeats"}:
            raise ValueError(f"experiment {name!r}: kfold takes n_splits and n_repeats")
        protocols = spec.get("protocols", ["loso"])
        types = spec.get("expression_types", list(DEFAULT_EXPRESSION_TYPES))
        return cls(
            name=str(name),
            dataset=str(spec["dataset"]),
            scheme=_scheme(spec["scheme"], spec.get("min_class_size"), schemes),
            feature=feature_spec(spec["feature"]),
            svm=SVMParams.from_config(spec.get("svm") or {}),
            seed=int(spec.get("seed", seed)),
            protocols=tuple([protocols] if isinstance(protocols, str) else protocols),
            expression_types=tuple([types] if isinstance(types, str) else types),
            kfold_splits=int(kfold.get("n_splits", 10)),
            kfold_repeats=int(kfold.get("n_repeats", 10)),
            kind=None if spec.get("kind") is None else str(spec["kind"]),
        )

    def as_config(self) -> dict[str, Any]:
        """A plain, JSON-able mapping that ``from_config`` turns back into this spec (a rule's
        params can carry it, so that a changed experiment reruns exactly its jobs)."""
        return {
            "dataset": self.dataset,
            "scheme": {
                "name": self.scheme.name,
                "source": self.scheme.source,
                "classes": {k: list(v) for k, v in self.scheme.classes.items()},
                "min_class_size": self.scheme.min_class_size,
            },
            "expression_types": list(self.expression_types),
            "feature": self.feature.as_config(),
            "svm": asdict(self.svm),
            "protocols": list(self.protocols),
            "kfold": {"n_splits": self.kfold_splits, "n_repeats": self.kfold_repeats},
            "seed": self.seed,
            "kind": self.kind,
        }

    def score_columns(self) -> dict[str, Any]:
        """The experiment's identity for a scores table (microexp.evaluate.tables schema):
        ``experiment``, the feature's columns (rx, ry, rt, p, mapping, grid_rows, grid_cols,
        overlap, descriptor, ...) and the SVM's (kernel, C, gamma, degree, coef0, scaling)."""
        svm = asdict(self.svm)
        svm["gamma"] = str(svm["gamma"])  # a number or "scale": one column type
        return {"experiment": self.name, **self.feature.columns(), **svm}


def _scheme(
    value: str | Mapping[str, Any],
    min_class_size: int | None,
    schemes: Mapping[str, Mapping[str, Any]] | None,
) -> ClassScheme:
    """A named scheme (config's ``schemes`` first, then DEFAULT_CLASS_SCHEMES) or an inline one;
    an experiment's ``min_class_size`` overrides the scheme's."""
    known = {**DEFAULT_CLASS_SCHEMES, **(schemes or {})}
    if isinstance(value, str):
        if value not in known:
            raise ValueError(f"unknown class scheme {value!r}; known: {sorted(known)}")
        mapping, name = dict(known[value]), value
    else:
        mapping = dict(value)
        name = str(mapping.get("name", "inline"))
    if min_class_size is not None:
        mapping["min_class_size"] = int(min_class_size)
    mapping["name"] = mapping.get("name", name)
    return class_scheme(mapping, name)


def _path_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _sweep_label(path: Sequence[str], value: Any, spec: ExperimentSpec) -> str:
    """The name part of one swept value: short, in the field's notation, path-safe."""
    last = path[-1]
    if last == "grid":
        return f"g{int(value[0])}x{int(value[1])}"
    if last == "overlap":
        return f"o{int(value)}"
    if last == "setting":
        return spec.feature.setting.name
    if last == "radii":
        return "r" + "-".join(str(int(v)) for v in value)
    if last == "neighbors":
        return "p" + "-".join(str(int(v)) for v in value)
    if last == "tim_frames":
        return "tim-none" if value is None else f"tim{int(value)}"
    if last == "scheme":
        return spec.scheme.name
    if last in ("descriptor", "mapping", "interpolation", "kernel", "scaling"):
        return _path_safe(str(value))
    if isinstance(value, Mapping):
        raise ValueError(f"sweep key {'.'.join(path)!r}: give a label-able value, not a mapping")
    if isinstance(value, list | tuple):
        return _path_safe(last + "-".join(_number(v) for v in value))
    return _path_safe(f"{last}{_number(value)}")


def _setting_as_mapping(kind: str, value: Any) -> dict[str, Any]:
    """A setting name opened into its parameters, so a sweep can vary one of them."""
    if isinstance(value, Mapping):
        return dict(value)
    if kind == "curvature":
        return asdict(curvature_setting(value))
    return lbptop_setting(value).to_config()


def _set_path(spec: dict[str, Any], path: Sequence[str], value: Any) -> None:
    """Set a sweep key (module docstring: experiment key path, or a path in the feature)."""
    feature = spec.get("feature")
    if not isinstance(feature, Mapping) or len(feature) != 1:
        raise ValueError("a sweep needs `feature` with exactly one kind")
    kind = next(iter(feature))
    if path[0] in _EXPERIMENT_KEYS:
        node = spec
    else:
        spec["feature"] = {kind: dict(feature[kind] or {})}
        node = spec["feature"][kind]
    for key in path[:-1]:
        child = node.get(key)
        if key == "setting":
            child = _setting_as_mapping(kind, child)
        elif child is None:
            child = {}
        elif isinstance(child, Mapping):
            child = dict(child)
        else:
            raise ValueError(f"sweep key {'.'.join(path)!r}: {key!r} is not a mapping")
        node[key] = child
        node = child
    node[path[-1]] = value


def _sweep_values(key: str, values: Any) -> list[Any]:
    last = key.split(".")[-1]
    if isinstance(values, str):
        if (last, values) not in _SHORTHANDS:
            raise ValueError(f"sweep {key!r}: {values!r} is not a list or a known shorthand")
        return [list(v) if isinstance(v, tuple) else v for v in _SHORTHANDS[(last, values)]]
    if not isinstance(values, Sequence) or not values:
        raise ValueError(f"sweep {key!r} must be a non-empty list")
    return list(values)


def expand_sweep(
    spec: Mapping[str, Any],
    name: str | None = None,
    *,
    schemes: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int | None = None,
) -> list[ExperimentSpec]:
    """Every experiment of a sweep (module docstring), in product order of the sweep lists.

    ``name`` defaults to the spec's ``name``. A spec without ``sweep`` gives one experiment
    named ``name``. Raises ValueError when two combinations would share a name.
    """
    name = str(name if name is not None else spec.get("name", ""))
    if not _NAME.match(name):
        raise ValueError(f"sweep name {name!r} is not path-safe ([A-Za-z0-9._-])")
    base = {k: copy.deepcopy(v) for k, v in spec.items() if k not in ("sweep", "name")}
    sweep = spec.get("sweep")
    if not sweep:
        return [ExperimentSpec.from_config(name, base, schemes=schemes, seed=seed)]
    keys = list(sweep)
    paths = [key.split(".") for key in keys]
    value_lists = [_sweep_values(key, sweep[key]) for key in keys]
    experiments = []
    for combination in itertools.product(*value_lists):
        entry = copy.deepcopy(base)
        for path, value in zip(paths, combination, strict=True):
            _set_path(entry, path, copy.deepcopy(value))
        draft = ExperimentSpec.from_config(name, entry, schemes=schemes, seed=seed)
        labels = [
            _sweep_label(path, value, draft) for path, value in zip(paths, combination, strict=True)
        ]
        experiments.append(
            ExperimentSpec.from_config(
                f"{name}__{'_'.join(labels)}", entry, schemes=schemes, seed=seed
            )
        )
    _check_unique([e.name for e in experiments])
    return experiments


def experiments_from_config(
    experiments: Mapping[str, Mapping[str, Any]],
    *,
    schemes: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int | None = None,
) -> dict[str, ExperimentSpec]:
    """``config["experiments"]`` (name -> experiment or sweep) -> every experiment by name."""
    result: dict[str, ExperimentSpec] = {}
    for name, spec in experiments.items():
        for experiment in expand_sweep(spec, name, schemes=schemes, seed=seed):
            if experiment.name in result:
                raise ValueError(f"two experiments are named {experiment.name!r}")
            result[experiment.name] = experiment
    return result


def _check_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two experiments are named {name!r}")
        seen.add(name)


def required_settings(
    experiments: Iterable[ExperimentSpec],
) -> dict[str, dict[str, LbptopSetting | CurvatureSetting]]:
    """The feature settings the experiments read, by folder: ``{"lbptop": {name: setting},
    "curvature": {name: setting}}`` -- the features rules must compute each of them."""
    result: dict[str, dict[str, LbptopSetting | CurvatureSetting]] = {
        "lbptop": {},
        "curvature": {},
    }
    for experiment in experiments:
        folder, name = experiment.feature.source
        result[folder][name] = experiment.feature.setting
    return result


# ---------------------------------------------------------------------------------------------
# Samples, expression types, labels
# ---------------------------------------------------------------------------------------------

_TEXT_COLUMNS = (
    "dataset",
    "subject",
    "sample",
    "video",
    "expression_type",
    "type_by_rule",
    "aus",
    "aus_raw",
    "objective_class",
    "emotion",
    "source",
)


def read_samples_tsv(path: str | Path) -> pd.DataFrame:
    """``results/{dataset}/samples.tsv`` as written by ingest (``NA`` marks a missing value);
    text columns stay text (objective class "1" is not the number 1, subject "01" not 1)."""
    header = pd.read_csv(path, sep="\t", nrows=0).columns
    dtypes = {c: "string" for c in _TEXT_COLUMNS if c in header}
    return pd.read_csv(path, sep="\t", dtype=dtypes, keep_default_na=False, na_values=["NA", ""])


def _sheet(samples_tsv: str | Path | pd.DataFrame) -> pd.DataFrame:
    table = samples_tsv if isinstance(samples_tsv, pd.DataFrame) else read_samples_tsv(samples_tsv)
    for column in ("sample", "subject", "expression_type"):
        if column not in table.columns:
            raise ValueError(f"sample sheet lacks the column {column!r}")
    if table["sample"].duplicated().any():
        raise ValueError("sample sheet has duplicate sample ids")
    table = table.copy()
    table["sample"] = table["sample"].astype("string")
    return table.set_index("sample", drop=False).rename_axis(index="sample_id")


def _excluded(rows: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=EXCLUDED_COLUMNS).astype("string")


def select_expression_types(
    samples_tsv: str | Path | pd.DataFrame,
    expression_types: Sequence[str] = DEFAULT_EXPRESSION_TYPES,
) -> tuple[list[str], pd.DataFrame]:
    """The sheet's samples of the given expression types (sheet order) and the others with
    their reason (stage ``expression_type``). SPEC.md 2.3: the sheet's type, else the rule's."""
    sheet = _sheet(samples_tsv)
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
    return [str(s) for s in sheet["sample"][keep]], _excluded(reasons)


def experiment_labels(
    samples_tsv: str | Path | pd.DataFrame,
    scheme: str | Mapping[str, Any] | ClassScheme,
    expression_types: Sequence[str] = DEFAULT_EXPRESSION_TYPES,
    *,
    samples: Sequence[str] | None = None,
) -> tuple[pd.Series, pd.Series, dict[str, Any]]:
    """Class labels of the samples an experiment can use (SPEC.md 6, class schemes).

    ``samples`` restricts the sheet (e.g. to the samples with features), so that the scheme's
    ``min_class_size`` counts usable samples; rows follow ``samples`` (else the sheet). Returns
    ``labels`` (class per kept sample, indexed by sample), ``subjects`` (same index) and the
    ``apply_scheme`` report extended with ``expression_types``, ``n_candidates`` and
    ``excluded``: one {sample, stage, reason} record per sample left out (expression type or
    class scheme).
    """
    sheet = _sheet(samples_tsv)
    if samples is not None:
        samples = [str(s) for s in samples]
        missing = [s for s in samples if s not in sheet.index]
        if missing:
            raise ValueError(f"{len(missing)} samples are not in the sheet, e.g. {missing[:3]}")
        sheet = sheet.loc[samples]
    scheme = _scheme(scheme, None, None) if isinstance(scheme, str) else class_scheme(scheme)
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
    excluded = pd.concat([type_excluded, _excluded(scheme_rows)], ignore_index=True)
    report = {
        **report,
        "expression_types": list(expression_types),
        "n_candidates": len(sheet),
        "excluded": excluded.to_dict("records"),
    }
    return labels, subjects.rename("subject"), report


# ---------------------------------------------------------------------------------------------
# Feature matrices
# ---------------------------------------------------------------------------------------------


class FeatureMatrix(NamedTuple):
    """Rows of ``features`` follow ``samples`` (the kept ones); ``excluded`` has one row per
    sample left out: sample, stage, reason."""

    features: np.ndarray
    samples: list[str]
    excluded: pd.DataFrame


def _source_path(results_dir: str | Path, dataset: str, source: tuple[str, str], sample: str):
    folder, setting = source
    return Path(results_dir) / dataset / "features" / folder / setting / f"{sample}.npz"


def _face2d_path(results_dir: str | Path, dataset: str, sample: str) -> Path:
    return Path(results_dir) / dataset / "face2d" / f"{sample}.npz"


def feature_paths(
    results_dir: str | Path, dataset: str, samples: Sequence[str], feature: FeatureSpec
) -> list[Path]:
    """Every per-sample file a feature reads (a rule's inputs): the feature setting's file and,
    for the ROIs, the face2d file whose first-frame landmarks place them."""
    paths = [_source_path(results_dir, dataset, feature.source, s) for s in samples]
    if isinstance(feature, LbptopRois):
        paths += [_face2d_path(results_dir, dataset, s) for s in samples]
    return paths


def _failure(path: Path) -> FailureRecord | None:
    if not path.exists():
        # A missing file is a workflow bug (the rule did not ask for it), not a bad sample.
        raise FileNotFoundError(f"{path}: missing; is its feature setting in config?")
    return upstream_failure(path)


def _lbptop_vectors(
    integral: IntegralHistograms, members: Sequence[FeatureSpec], face2d: Path
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
    results_dir: str | Path,
    dataset: str,
    samples: Sequence[str],
    features: Sequence[FeatureSpec],
    *,
    dtype: type = np.float64,
) -> list[FeatureMatrix]:
    """One FeatureMatrix per feature (same order), opening each per-sample file once.

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
            path = _source_path(results_dir, dataset, source, sample)
            face2d = _face2d_path(results_dir, dataset, sample)
            failure = _failure(path)
            if failure is None and any(isinstance(features[m], LbptopRois) for m in members):
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
            FeatureMatrix(_stack(rows[k], kept[k], feature), kept[k], _excluded(excluded[k]))
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
    results_dir: str | Path,
    dataset: str,
    samples: Sequence[str],
    feature: FeatureSpec | Mapping[str, Any],
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """(X, kept samples, excluded: sample, stage, reason) of one feature; see
    ``feature_matrices``."""
    return tuple(feature_matrices(results_dir, dataset, samples, [feature_spec(feature)])[0])


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
) -> pd.DataFrame:
    """Out-of-fold predictions of one experiment under one protocol (SPEC.md 6).

    ``make_splits`` (unless ``splits`` is given) then ``cross_validate_svm``: rows of
    ``features`` follow ``samples``; ``subjects`` and ``labels`` follow ``samples`` too, or are
    Series indexed by sample. ``classes`` fixes the ``p_<class>`` order (the scheme's).
    """
    samples = [str(s) for s in samples]
    subjects = _aligned(subjects, samples, "subjects")
    labels = _aligned(labels, samples, "labels")
    if splits is None:
        splits = make_splits(
            protocol, samples, subjects, labels, seed=seed, n_splits=n_splits, n_repeats=n_repeats
        )
    return cross_validate_svm(
        features, samples, splits, svm_params, seed=seed, classes=classes, precompute=precompute
    )


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


def _sheet_path(results_dir: str | Path, dataset: str, samples_tsv: Any) -> Any:
    return samples_tsv if samples_tsv is not None else Path(results_dir) / dataset / "samples.tsv"


def _experiment_data(
    sheet: pd.DataFrame,
    spec: ExperimentSpec,
    matrix: FeatureMatrix,
    type_excluded: pd.DataFrame,
    typed: set[str],
) -> ExperimentData:
    """Restrict a feature matrix to an experiment's samples and label them."""
    rows = [k for k, s in enumerate(matrix.samples) if s in typed]
    kept = [matrix.samples[k] for k in rows]
    labels, subjects, report = experiment_labels(
        sheet, spec.scheme, spec.expression_types, samples=kept
    )
    position = {s: k for k, s in enumerate(matrix.samples)}
    used = [str(s) for s in labels.index]
    feature_excluded = matrix.excluded[matrix.excluded["sample"].isin(typed)]
    excluded = pd.concat(
        [type_excluded, feature_excluded, _excluded(_records(report))],
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


def _records(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["sample"], r["stage"], r["reason"]) for r in report["excluded"]]


def load_experiment(
    results_dir: str | Path,
    spec: ExperimentSpec,
    *,
    samples_tsv: str | Path | pd.DataFrame | None = None,
) -> ExperimentData:
    """An experiment's feature matrix and labels, every excluded sample with its reason:
    expression type, then feature failures, then the class scheme (module docstring)."""
    sheet = _sheet(_sheet_path(results_dir, spec.dataset, samples_tsv)).reset_index(drop=True)
    typed, type_excluded = select_expression_types(sheet, spec.expression_types)
    (matrix,) = feature_matrices(results_dir, spec.dataset, typed, [spec.feature])
    return _experiment_data(sheet, spec, matrix, type_excluded, set(typed))


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
    results_dir: str | Path,
    experiments: Sequence[ExperimentSpec],
    *,
    samples_tsv: str | Path | pd.DataFrame | None = None,
    features_per_pass: int | None = None,
    precompute: bool = True,
) -> dict[str, ExperimentRun]:
    """Run many experiments of one data set, sharing what they have in common (SPEC.md 7).

    Per data set, the sample sheet is read once and the distinct features are loaded by
    ``feature_matrices`` (each file opened once per pass; ``features_per_pass`` bounds how
    many feature matrices are held at once, at the price of re-opening files per pass). Splits
    are built once per (samples, labels, protocol, seed, k-fold sizes), so every grid / overlap
    variant of a setting is evaluated on the same folds; experiments that differ only in the
    SVM setting go through one ``cross_validate_svm_sweep`` (shared Gram matrices). Results
    are identical to running each experiment alone (``run_experiment``). ``samples_tsv``
    defaults to ``results/{dataset}/samples.tsv``. Returns the runs by experiment name.
    """
    _check_unique([e.name for e in experiments])
    runs: dict[str, ExperimentRun] = {}
    for dataset in dict.fromkeys(e.dataset for e in experiments):
        members = [e for e in experiments if e.dataset == dataset]
        sheet = _sheet(_sheet_path(results_dir, dataset, samples_tsv)).reset_index(drop=True)
        runs.update(
            _run_dataset(results_dir, dataset, sheet, members, features_per_pass, precompute)
        )
    return {e.name: runs[e.name] for e in experiments}


def _run_dataset(
    results_dir: str | Path,
    dataset: str,
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
    runs: dict[str, ExperimentRun] = {}
    for start in range(0, len(distinct), per_pass):
        chunk = distinct[start : start + per_pass]
        matrices = feature_matrices(results_dir, dataset, candidates, chunk)
        for k, feature in enumerate(chunk):
            matrix, matrices[k] = matrices[k], None  # release each matrix once it is used
            users = [e for e in experiments if e.feature == feature]
            log.info("%s: %d experiment(s), %d samples", feature.name, len(users), len(matrix[1]))
            runs.update(_run_feature(sheet, users, matrix, typed, split_cache, precompute))
            del matrix
    return runs


def _run_feature(
    sheet: pd.DataFrame,
    experiments: Sequence[ExperimentSpec],
    matrix: FeatureMatrix,
    typed: Mapping[tuple[str, ...], tuple[list[str], pd.DataFrame]],
    split_cache: dict[tuple, pd.DataFrame],
    precompute: bool,
) -> dict[str, ExperimentRun]:
    """Every experiment on one feature matrix: grouped by (data, protocol) so that SVM
    settings share folds and Gram matrices."""
    data_cache: dict[str, ExperimentData] = {}
    groups: dict[tuple, list[ExperimentSpec]] = {}
    runs: dict[str, ExperimentRun] = {}
    for spec in experiments:
        key = json.dumps(
            [spec.as_config()["scheme"], spec.expression_types, spec.seed], sort_keys=True
        )
        if key not in data_cache:
            samples, type_excluded = typed[spec.expression_types]
            data_cache[key] = _experiment_data(sheet, spec, matrix, type_excluded, set(samples))
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
            groups.setdefault((key, split_key), []).append(spec)
    for (key, split_key), members in groups.items():
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
        )
        for spec, table in zip(members, tables, strict=True):
            runs[spec.name].predictions[protocol] = table
    return runs


# ---------------------------------------------------------------------------------------------
# Fusion inputs
# ---------------------------------------------------------------------------------------------


@dataclass
class FusionInputs:
    """A 2D and a 3D experiment on one set of samples and one split (SPEC.md 6, fusion).

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
    results_dir: str | Path,
    spec2d: ExperimentSpec,
    spec3d: ExperimentSpec,
    protocol: str,
    *,
    samples_tsv: str | Path | pd.DataFrame | None = None,
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
    expression types, seed and k-fold sizes.
    """
    for attribute in ("dataset", "expression_types", "seed", "kfold_splits", "kfold_repeats"):
        if getattr(spec2d, attribute) != getattr(spec3d, attribute):
            raise ValueError(f"fusion of {spec2d.name} and {spec3d.name}: {attribute} differs")
    if spec2d.as_config()["scheme"] != spec3d.as_config()["scheme"]:
        raise ValueError(f"fusion of {spec2d.name} and {spec3d.name}: class schemes differ")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    path = _sheet_path(results_dir, spec2d.dataset, samples_tsv)
    sheet = _sheet(path).reset_index(drop=True)
    typed, type_excluded = select_expression_types(sheet, spec2d.expression_types)
    matrix2d, matrix3d = feature_matrices(
        results_dir, spec2d.dataset, typed, [spec2d.feature, spec3d.feature]
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
        [type_excluded, matrix2d.excluded, matrix3d.excluded, _excluded(_records(report))],
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
) -> NestedFusionRun:
    """Both fusion figures (oracle a and nested a, SPEC.md 6) via ``nested_fusion_cv``; its
    ``outer2d`` / ``outer3d`` equal ``fusion_predictions(inputs)``."""
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
    )
