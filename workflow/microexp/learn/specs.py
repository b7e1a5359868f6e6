"""The experiment config language: feature settings, feature specs, experiments and sweeps.

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
        expression_types: [micro]         # default: micro only (docs/methods.md#micro-vs-macro)
        feature:
          lbptop: {setting: r1-1-4_p8-8-8_u2_nearest, grid: [5, 5], overlap: 0}
        svm: {kernel: linear, C: 1, scaling: minmax}      # SVMParams.from_config
        decision: vote                    # optional: vote (default) or probability (svm.py)
        protocols: [loso, kfold]          # loso, kfold (10 x 10, seeded), lovo
        kfold: {n_splits: 10, n_repeats: 10}              # optional
        seed: 20261122                    # optional: the config's seed by default
        kind: blocks                      # optional: the tables' `kind` column
        sweep:
          grid: dsme3d                    # DSME3D_GRIDS (33), or a list of [rows, cols]
          overlap: dsme3d                 # DSME3D_OVERLAPS (0..30 px), or a list

Features (one of): ``lbptop: {setting, grid, overlap}``; ``lbptop_rois: {setting}`` (the 36
CAS(ME)^2 ROIs from the first frame's aligned landmarks); ``curvature: {setting,
descriptor: si | hk | si+hk}`` (docs/methods.md#curvature; si+hk is [si, hk]). A ``setting`` is
either the folder name of a feature setting (``r1-1-4_p8-8-8_u2_nearest``; ``rc6_rs15_...``) or its
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
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
)
from microexp.features.sample import CurvatureSetting, LbptopSetting
from microexp.learn.classes import DEFAULT_CLASS_SCHEMES, ClassScheme, class_scheme
from microexp.learn.protocols import PROTOCOLS
from microexp.learn.svm import DECISIONS, SVMParams

__all__ = [
    "CURVATURE_DESCRIPTORS",
    "DEFAULT_EXPRESSION_TYPES",
    "DSME3D_RADII",
    "FEATURE_KINDS",
    "CurvatureFeature",
    "ExperimentSpec",
    "FeatureSpec",
    "LbptopBlocks",
    "LbptopRois",
    "curvature_setting",
    "expand_sweep",
    "experiments_from_config",
    "feature_spec",
    "lbptop_setting",
    "required_settings",
]


FEATURE_KINDS = ("lbptop", "lbptop_rois", "curvature")


CURVATURE_DESCRIPTORS = ("si", "hk", "si+hk")


EXPRESSION_TYPES = ("micro", "macro")


DEFAULT_EXPRESSION_TYPES: tuple[str, ...] = ("micro",)


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
    "decision",
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


def lbptop_setting(value: str | Mapping[str, Any] | LbptopSetting) -> LbptopSetting:
    """An LBP-TOP code setting from its folder name or its parameters (docs/methods.md#lbp-top).

    The name is parsed back into parameters so that tables get rx, ry, rt, P and the mapping
    without a second source of truth; a name that does not round-trip is an error.
    """
    if isinstance(value, LbptopSetting):
        return value
    if isinstance(value, Mapping):
        return LbptopSetting.from_config(value)
    return LbptopSetting.from_name(str(value))


def curvature_setting(value: str | Mapping[str, Any] | CurvatureSetting) -> CurvatureSetting:
    """A curvature setting from its folder name or its parameters (docs/methods.md#curvature)."""
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
    """LBP-TOP histograms of a rows x cols block grid with overlapping blocks
    (docs/methods.md#lbp-top)."""

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
    """LBP-TOP histograms of the 36 CAS(ME)^2 ROIs of the first frame's landmarks
    (docs/methods.md#rois-and-tim)."""

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
    """Weighted SI and / or HK histograms of the 23 landmarks at onset and apex
    (docs/methods.md#curvature)."""

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
    # LIBSVM's one-vs-one vote (its default prediction; DSME-3D Tables 6-10 use no probability)
    # or the argmax of Platt probabilities (microexp.learn.svm).
    decision: str = "vote"

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
        if self.decision not in DECISIONS:
            raise ValueError(f"{self.name}: decision {self.decision!r} not in {DECISIONS}")

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
            scheme=resolve_scheme(spec["scheme"], spec.get("min_class_size"), schemes),
            feature=feature_spec(spec["feature"]),
            svm=SVMParams.from_config(spec.get("svm") or {}),
            seed=int(spec.get("seed", seed)),
            protocols=tuple([protocols] if isinstance(protocols, str) else protocols),
            expression_types=tuple([types] if isinstance(types, str) else types),
            kfold_splits=int(kfold.get("n_splits", 10)),
            kfold_repeats=int(kfold.get("n_repeats", 10)),
            kind=None if spec.get("kind") is None else str(spec["kind"]),
            decision=str(spec.get("decision", "vote")),
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
            "decision": self.decision,
        }

    def score_columns(self) -> dict[str, Any]:
        """The experiment's identity for a scores table (microexp.evaluate.tables schema):
        ``experiment``, the feature's columns (rx, ry, rt, p, mapping, grid_rows, grid_cols,
        overlap, descriptor, ...), the SVM's (kernel, C, gamma, degree, coef0, scaling) and
        ``decision`` (vote or probability)."""
        svm = asdict(self.svm)
        svm["gamma"] = str(svm["gamma"])  # a number or "scale": one column type
        return {"experiment": self.name, **self.feature.columns(), **svm, "decision": self.decision}


def resolve_scheme(
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
    if last in ("descriptor", "mapping", "interpolation", "kernel", "scaling", "decision"):
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
    check_unique_names([e.name for e in experiments])
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


def check_unique_names(names: Sequence[str]) -> None:
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
