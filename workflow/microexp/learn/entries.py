"""Config entries of the classify and fusion rules, and the files they write (docs/tables.md).

``config["experiments"]`` holds classification entries: one experiment or a sweep each
(experiments.py); an entry is one job of the ``classify_<entry>`` rule, so the work a sweep shares
(feature files opened once, splits and Gram matrices shared) stays inside one job. An entry with
``settings_per_job: n`` is split into chunks of n experiments (`classify_chunks`), one job each
(``classify_<entry>_chunk<k>``), and a merge job (`merge_entry_chunks`) writes the entry's
files exactly as one job would have: experiments do not depend on each other's presence.
``config["fusion"]`` holds fusion entries (`FusionEntry`): LBP-TOP fused with each curvature
descriptor, per class scheme and protocol, with the oracle a and the nested a (DSME-3D Table 11,
Eq. 13); one job for all its (scheme, protocol) pairs (``fusion_<entry>_all``) or, with
``split_jobs: true``, one per pair (`FusionEntry.part_jobs`,
``fusion_<entry>_<scheme>_<protocol>``, chunk k of the entry's chunk files in that order), and
``fusion_<entry>`` joining their files with `merge_entry_chunks`.

Files (docs/data-contracts.md; the rules give every path, this module derives none):

- ``results/{dataset}/predictions/{experiment}/{protocol}.parquet``: out-of-fold predictions,
  one row per (repeat, sample): sample, subject, repeat, fold, label, predicted, p_<class>...
- ``results/{dataset}/scores/{entry}.tsv``: the scores rows of every experiment of the entry
  (microexp.evaluate.tables schema, plus ``experiment`` and ``entry``);
- ``results/{dataset}/scores/{entry}.excluded.tsv``: experiment, sample, stage, reason for
  every sample an experiment left out;
- ``results/{dataset}/scores/chunks/{entry}/{k}.tsv`` (``.excluded.tsv``, ``.json``): the same
  three files of chunk k of a chunked entry or of part k of a fusion entry;
- ``results/{dataset}/fusion/{entry}/{scheme}/{protocol}/``: the 2D and 3D predictions on the
  fusion's common samples (``lbptop.parquet``, ``<descriptor>.parquet``), the fused predictions
  (``<descriptor>.oracle.parquet``, ``<descriptor>.nested.parquet``), the weights chosen
  (``<descriptor>.alphas.tsv``) and the curves (``<descriptor>.curve.tsv``: score against a on
  the test predictions; ``<descriptor>.inner_curve.tsv``: per outer fold on its inner folds),
  and ``figures/`` (the part's PNGs and ``captions.json``, copied into the report's folder).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from microexp.features.sample import CurvatureSetting, LbptopSetting
from microexp.learn.experiments import fusion_inputs, run_fusion, run_sweep
from microexp.learn.fusion import NestedFusionRun, alpha_grid
from microexp.learn.matrices import FeatureFiles
from microexp.learn.scores import fusion_scores, setting_scores
from microexp.learn.specs import (
    CURVATURE_DESCRIPTORS,
    DEFAULT_EXPRESSION_TYPES,
    ExperimentSpec,
    experiments_from_config,
    required_settings,
)

__all__ = [
    "FusionEntry",
    "classify_chunks",
    "classify_entries",
    "descriptor_label",
    "entries_needing_depth",
    "feature_settings",
    "fusion_entries",
    "lbptop_batches",
    "merge_entry_chunks",
    "run_classify_entry",
    "run_fusion_entry",
]

log = logging.getLogger(__name__)

_FUSION_KEYS = {
    "dataset",
    "schemes",
    "min_class_size",
    "expression_types",
    "protocols",
    "kfold",
    "seed",
    "lbptop",
    "svm_2d",
    "curvature",
    "svm_3d",
    "alpha_step",
    "criterion",
    "inner_n_splits",
    "split_jobs",
}


def descriptor_label(descriptor: str) -> str:
    """A descriptor in a file name: ``si+hk`` -> ``si-hk``."""
    return descriptor.replace("+", "-")


def classify_entries(config: Mapping[str, Any]) -> dict[str, list[ExperimentSpec]]:
    """``config["experiments"]`` -> entry name -> its experiments (a sweep expanded), each
    checked against the configured data sets. Experiment names are unique over all entries."""
    schemes = config.get("class_schemes") or {}
    result: dict[str, list[ExperimentSpec]] = {}
    seen: dict[str, str] = {}
    for entry, spec in (config.get("experiments") or {}).items():
        spec = {k: v for k, v in spec.items() if k != "settings_per_job"}
        experiments = list(
            experiments_from_config({entry: spec}, schemes=schemes, seed=config["seed"]).values()
        )
        if len({e.dataset for e in experiments}) != 1:
            raise ValueError(f"experiment entry {entry!r}: one data set per entry (one job)")
        for experiment in experiments:
            _check_dataset(config, f"experiment {experiment.name}", experiment.dataset)
            if experiment.name in seen:
                raise ValueError(
                    f"experiment {experiment.name!r} comes from entries {seen[experiment.name]!r} "
                    f"and {entry!r}; rename one entry"
                )
            seen[experiment.name] = entry
        result[entry] = experiments
    return result


def classify_chunks(config: Mapping[str, Any]) -> dict[str, list[list[ExperimentSpec]]]:
    """Entry -> its experiments in chunks (config order), one job each: an entry's
    ``settings_per_job: n`` cuts it into consecutive chunks of n experiments; without it (or
    with no more than n experiments) the entry is one chunk."""
    chunks: dict[str, list[list[ExperimentSpec]]] = {}
    for entry, experiments in classify_entries(config).items():
        size = (config["experiments"][entry] or {}).get("settings_per_job")
        if size is not None and (isinstance(size, bool) or int(size) != size or size < 1):
            raise ValueError(f"experiment entry {entry!r}: settings_per_job must be >= 1")
        size = int(size) if size else len(experiments)
        chunks[entry] = [experiments[k : k + size] for k in range(0, len(experiments), size)]
    return chunks


def _check_dataset(config: Mapping[str, Any], what: str, dataset: str) -> None:
    if dataset not in config["datasets"]:
        raise ValueError(
            f"{what}: dataset {dataset!r} is not under `datasets:` ({sorted(config['datasets'])})"
        )


@dataclass(frozen=True)
class FusionEntry:
    """One fusion study (DSME-3D Table 11): per scheme, the 2D experiment (LBP-TOP blocks) and
    one 3D experiment per curvature descriptor, evaluated on their common samples per protocol;
    a on ``alphas``; the nested a chosen by ``criterion`` on ``inner_n_splits`` inner folds."""

    name: str
    dataset: str
    experiments2d: tuple[ExperimentSpec, ...]
    experiments3d: tuple[tuple[ExperimentSpec, ...], ...]  # per scheme, per descriptor
    descriptors: tuple[str, ...]
    protocols: tuple[str, ...]
    alphas: tuple[float, ...]
    criterion: str
    inner_n_splits: int
    split_jobs: bool = False  # one job per (scheme, protocol) (`parts`); results are the same

    @classmethod
    def from_config(
        cls, name: str, spec: Mapping[str, Any], config: Mapping[str, Any]
    ) -> FusionEntry:
        unknown = set(spec) - _FUSION_KEYS
        if unknown:
            raise ValueError(f"fusion {name!r}: unknown keys {sorted(unknown)}")
        for key in ("dataset", "schemes", "lbptop", "curvature"):
            if key not in spec:
                raise ValueError(f"fusion {name!r}: `{key}` is required")
        _check_dataset(config, f"fusion {name}", spec["dataset"])
        curvature = dict(spec["curvature"])
        descriptors = tuple(curvature.pop("descriptors", CURVATURE_DESCRIPTORS))
        if not descriptors or set(descriptors) - set(CURVATURE_DESCRIPTORS):
            raise ValueError(f"fusion {name!r}: descriptors must be from {CURVATURE_DESCRIPTORS}")
        common = {
            "dataset": spec["dataset"],
            "expression_types": spec.get("expression_types", list(DEFAULT_EXPRESSION_TYPES)),
            "protocols": spec.get("protocols", ["loso"]),
            "kind": "fusion",
            "decision": "probability",  # Eq. 13 fuses class probabilities
        }
        for key in ("min_class_size", "kfold", "seed"):
            if key in spec:
                common[key] = spec[key]
        schemes = config.get("class_schemes") or {}
        specs2d, specs3d = [], []
        for scheme in spec["schemes"]:
            label = scheme if isinstance(scheme, str) else scheme.get("name", "scheme")
            specs2d.append(
                ExperimentSpec.from_config(
                    f"{name}__{label}_lbptop",
                    {**common, "scheme": scheme, "feature": {"lbptop": spec["lbptop"]},
                     "svm": spec.get("svm_2d") or {}},
                    schemes=schemes,
                    seed=config["seed"],
                )
            )  # fmt: skip
            specs3d.append(
                tuple(
                    ExperimentSpec.from_config(
                        f"{name}__{label}_{descriptor_label(d)}",
                        {**common, "scheme": scheme,
                         "feature": {"curvature": {**curvature, "descriptor": d}},
                         "svm": spec.get("svm_3d") or {}},
                        schemes=schemes,
                        seed=config["seed"],
                    )
                    for d in descriptors
                )
            )  # fmt: skip
        names = [s.scheme.name for s in specs2d]
        if len(set(names)) != len(names):
            raise ValueError(f"fusion {name!r}: a scheme is listed twice")
        criterion = str(spec.get("criterion", "accuracy"))
        if criterion not in ("accuracy", "uf1", "uar"):
            raise ValueError(f"fusion {name!r}: criterion must be accuracy, uf1 or uar")
        return cls(
            name=name,
            dataset=str(spec["dataset"]),
            experiments2d=tuple(specs2d),
            experiments3d=tuple(specs3d),
            descriptors=descriptors,
            protocols=specs2d[0].protocols,
            alphas=tuple(float(a) for a in alpha_grid(float(spec.get("alpha_step", 0.05)))),
            criterion=criterion,
            inner_n_splits=int(spec.get("inner_n_splits", 10)),
            split_jobs=bool(spec.get("split_jobs", False)),
        )

    @property
    def schemes(self) -> list[str]:
        return [s.scheme.name for s in self.experiments2d]

    def parts(self) -> list[tuple[str, str]]:
        """The entry's (scheme, protocol) pairs in the order its files list them. No pair
        shares a computation with another (the LBP-TOP memo is per scheme and split), so with
        ``split_jobs`` each is a job of its own (``fusion_<entry>_<scheme>_<protocol>``);
        ``fusion_<entry>`` joins the jobs' files either way."""
        return [(scheme, protocol) for scheme in self.schemes for protocol in self.protocols]

    def part_jobs(self) -> list[list[tuple[str, str]]]:
        """The pairs of each job: one job for all (the default: a small entry would pay each
        job's start-up and feature reading again) or, with ``split_jobs``, one per pair."""
        return [[part] for part in self.parts()] if self.split_jobs else [self.parts()]

    def experiments(self) -> list[ExperimentSpec]:
        """Every 2D and 3D experiment of the entry (for the feature settings they read)."""
        return [*self.experiments2d, *(s for group in self.experiments3d for s in group)]

    def as_config(self) -> dict[str, Any]:
        """JSON-able identity of the entry (a rule's params carry it)."""
        return {
            "experiments": [s.as_config() for s in self.experiments()],
            "descriptors": list(self.descriptors),
            "alphas": list(self.alphas),
            "criterion": self.criterion,
            "inner_n_splits": self.inner_n_splits,
        }


def fusion_entries(config: Mapping[str, Any]) -> dict[str, FusionEntry]:
    """``config["fusion"]`` -> entry name -> FusionEntry."""
    return {
        name: FusionEntry.from_config(name, spec, config)
        for name, spec in (config.get("fusion") or {}).items()
    }


def entries_needing_depth(
    classify: Mapping[str, list[ExperimentSpec]],
    fusion: Mapping[str, FusionEntry],
    datasets_without_depth: set[str] | frozenset[str],
) -> dict[str, list[str]]:
    """Data set -> the classify and fusion entries that need depth (a curvature feature, or a
    2D + 3D fusion) but name a data set without depth (`microexp.io.samples.has_depth`).
    The workflow skips them, with one log line per data set."""
    skipped: dict[str, list[str]] = {}
    for name, experiments in classify.items():
        dataset = experiments[0].dataset
        if dataset in datasets_without_depth and any(
            e.feature.source[0] == "curvature" for e in experiments
        ):
            skipped.setdefault(dataset, []).append(name)
    for name, entry in fusion.items():
        if entry.dataset in datasets_without_depth:
            skipped.setdefault(entry.dataset, []).append(name)
    return skipped


def feature_settings(
    config: Mapping[str, Any],
) -> tuple[dict[str, LbptopSetting], dict[str, CurvatureSetting]]:
    """Every LBP-TOP and curvature setting to compute, by folder name: those listed under
    ``features:`` and those the experiments and fusion entries read (so a sweep over radii
    needs no second list to keep in step)."""
    lbptop = {s.name: s for s in map(LbptopSetting.from_config, config["features"]["lbptop"])}
    curvature = {
        s.name: s for s in map(CurvatureSetting.from_config, config["features"]["curvature"])
    }
    experiments = [e for group in classify_entries(config).values() for e in group]
    experiments += [e for f in fusion_entries(config).values() for e in f.experiments()]
    required = required_settings(experiments)
    lbptop.update({k: v for k, v in required["lbptop"].items() if k not in lbptop})
    curvature.update({k: v for k, v in required["curvature"].items() if k not in curvature})
    return lbptop, curvature


def lbptop_batches(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Entry -> the LBP-TOP settings only that classify entry reads (not listed under
    ``features:``, not read by another entry), when there are two or more: a sweep over radii
    or neighbours (DSME-3D Table 6, CAS(ME)^2 Table 5). The features rules compute such a
    batch in one job per sample: each setting is a ~50 ms code pass, far less than a job's
    start-up, and no other result depends on the batch, so adding a value to the sweep reruns
    nothing but the batch and the entry."""
    listed = {s.name for s in map(LbptopSetting.from_config, config["features"]["lbptop"])}
    readers: dict[str, set[str]] = {}
    entries = classify_entries(config)
    for entry, experiments in entries.items():
        for name in required_settings(experiments)["lbptop"]:
            readers.setdefault(name, set()).add(entry)
    for fusion in fusion_entries(config).values():
        for name in required_settings(fusion.experiments())["lbptop"]:
            readers.setdefault(name, set()).add(f"fusion:{fusion.name}")
    batches: dict[str, list[str]] = {}
    for entry, experiments in entries.items():
        own = [
            name
            for name in required_settings(experiments)["lbptop"]
            if name not in listed and readers[name] == {entry}
        ]
        if len(own) >= 2:
            batches[entry] = own
    return batches


# ---------------------------------------------------------------------------------------------
# Running an entry
# ---------------------------------------------------------------------------------------------


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(path, index=False)


def _excluded_rows(name: str, scheme: str, excluded: pd.DataFrame) -> pd.DataFrame:
    table = excluded.copy()
    table.insert(0, "scheme", scheme)
    table.insert(0, "experiment", name)
    return table


def _label_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("scheme", "classes", "counts", "dropped_small_classes", "unmapped_labels")
    return {k: report[k] for k in keys if k in report} | {"n_used": int(report["n_kept"])}


def run_classify_entry(
    entry: str,
    experiments: Sequence[ExperimentSpec],
    *,
    samples_tsv: str | Path | pd.DataFrame,
    feature_files: FeatureFiles,
    prediction_files: Mapping[str, Mapping[str, str | Path]],
    scores_path: str | Path,
    excluded_path: str | Path,
    summary_path: str | Path,
) -> pd.DataFrame:
    """Run an entry's (or one chunk's) experiments (``run_sweep``: shared feature reads, splits
    and Gram matrices), write every prediction table to ``prediction_files[experiment]
    [protocol]``, the scores, the excluded samples and a summary of each experiment's classes;
    returns the scores. ``feature_files``: source key -> sample -> file (matrices.py)."""
    runs = run_sweep(experiments, samples_tsv=samples_tsv, feature_files=feature_files)
    scores, excluded, summary = [], [], {}
    for spec in experiments:
        run = runs[spec.name]
        for protocol, predictions in run.predictions.items():
            _write_parquet(predictions, Path(prediction_files[spec.name][protocol]))
            scores.append(
                setting_scores(
                    predictions,
                    kind=spec.kind or "other",
                    scheme=spec.scheme.name,
                    protocol=protocol,
                    dataset=spec.dataset,
                    entry=entry,
                    **spec.score_columns(),
                )
            )
        excluded.append(_excluded_rows(spec.name, spec.scheme.name, run.excluded))
        summary[spec.name] = _label_summary(run.label_report)
    return _write_entry_tables(scores, excluded, summary, scores_path, excluded_path, summary_path)


def merge_entry_chunks(
    chunk_scores: Sequence[str | Path],
    chunk_excluded: Sequence[str | Path],
    chunk_summaries: Sequence[str | Path],
    *,
    scores_path: str | Path,
    excluded_path: str | Path,
    summary_path: str | Path,
) -> int:
    """Join the chunks' files (in chunk order) into the entry's three files, byte for byte what
    one job writes: each TSV's header once, then every chunk's rows as written; the summaries'
    keys merged (the JSON is written with sorted keys). Chunks whose headers differ are a
    configuration error. Returns the number of scores rows."""
    rows = 0
    for sources, target in ((chunk_scores, scores_path), (chunk_excluded, excluded_path)):
        header, lines = None, []
        for source in sources:
            text = Path(source).read_text().splitlines(keepends=True)
            if not text:
                raise ValueError(f"{source}: empty chunk file (no header)")
            if header is not None and text[0] != header:
                raise ValueError(f"{source}: columns differ from the first chunk's")
            header = text[0]
            lines += text[1:]
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text("".join([header or "", *lines]))
        if target == scores_path:
            rows = len(lines)
    summary: dict[str, Any] = {}
    for source in chunk_summaries:
        part = json.loads(Path(source).read_text())
        twice = set(part) & set(summary)
        if twice:
            raise ValueError(f"{source}: experiments {sorted(twice)} are in two chunks")
        summary.update(part)
    Path(summary_path).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return rows


def _write_entry_tables(
    scores: list[pd.DataFrame],
    excluded: list[pd.DataFrame],
    summary: Mapping[str, Any],
    scores_path: str | Path,
    excluded_path: str | Path,
    summary_path: str | Path,
) -> pd.DataFrame:
    table = pd.concat(scores, ignore_index=True)
    Path(scores_path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(scores_path, sep="\t", index=False, na_rep="NA")
    pd.concat(excluded, ignore_index=True).to_csv(excluded_path, sep="\t", index=False, na_rep="NA")
    Path(summary_path).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return table


def _fusion_setting(spec2d: ExperimentSpec) -> dict[str, Any]:
    """The 2D block setting's columns on every fusion row (Table 11 groups by it)."""
    columns = spec2d.feature.columns()
    keep = ("lbptop_setting", "rx", "ry", "rt", "p", "mapping", "grid_rows", "grid_cols")
    return {k: columns[k] for k in (*keep, "overlap")}


def _write_fusion_files(run: NestedFusionRun, folder: Path, descriptor: str) -> None:
    label = descriptor_label(descriptor)
    _write_parquet(run.outer2d, folder / "lbptop.parquet")
    _write_parquet(run.outer3d, folder / f"{label}.parquet")
    for result in (run.oracle, run.nested):
        _write_parquet(result.predictions, folder / f"{label}.{result.kind}.parquet")
    alphas = pd.concat(
        [r.alphas.assign(fusion=r.kind) for r in (run.oracle, run.nested)], ignore_index=True
    )
    alphas.to_csv(folder / f"{label}.alphas.tsv", sep="\t", index=False)
    run.oracle.curve.to_csv(folder / f"{label}.curve.tsv", sep="\t", index=False)
    run.nested.curve.to_csv(folder / f"{label}.inner_curve.tsv", sep="\t", index=False)


def run_fusion_entry(
    entry: FusionEntry,
    *,
    samples_tsv: str | Path | pd.DataFrame,
    feature_files: FeatureFiles,
    out_dir: str | Path,
    scores_path: str | Path,
    excluded_path: str | Path,
    summary_path: str | Path,
    parts: Sequence[tuple[str, str]] | None = None,
) -> tuple[pd.DataFrame, dict[tuple[str, str], dict[str, NestedFusionRun]]]:
    """Every (scheme, protocol, descriptor) fusion of an entry (docs/methods.md#fusion): the 2D and
    3D SVMs on the common samples, the oracle a and the nested a; writes the files of the module
    docstring and the scores rows (kind ``fusion``: LBP-TOP alone, each descriptor alone, each
    fusion with its a). Returns the scores and the runs by (scheme, protocol).

    ``parts``: only these (scheme, protocol) pairs of ``entry.parts()`` (a split entry's job,
    `FusionEntry.part_jobs`; the workflow joins the jobs' files with ``merge_entry_chunks``:
    the rows of the whole entry, byte for byte, since each pair's computation is independent
    of the others)."""
    if parts is not None:
        unknown = set(parts) - set(entry.parts())
        if unknown:
            raise ValueError(f"fusion {entry.name}: no (scheme, protocol) {sorted(unknown)}")
    scores, excluded, summary = [], [], {}
    runs: dict[tuple[str, str], dict[str, NestedFusionRun]] = {}
    # LBP-TOP's outer and inner predictions, computed once for all descriptors that keep the
    # same samples (nested_fusion_cv's memo; results as if each were run on its own).
    memo: dict[str, pd.DataFrame] = {}
    matrices: dict[tuple, Any] = {}  # each feature matrix read once (fusion_inputs)
    for spec2d, specs3d in zip(entry.experiments2d, entry.experiments3d, strict=True):
        scheme = spec2d.scheme.name
        setting = _fusion_setting(spec2d)
        for protocol in entry.protocols:
            if parts is not None and (scheme, protocol) not in parts:
                continue
            folder = Path(out_dir) / scheme / protocol
            folder.mkdir(parents=True, exist_ok=True)
            runs[(scheme, protocol)] = {}
            for k, spec3d in enumerate(specs3d):
                descriptor = spec3d.feature.descriptor
                log.info(
                    "fusion %s: %s, %s, LBP-TOP + %s", entry.name, scheme, protocol, descriptor
                )
                inputs = fusion_inputs(
                    spec2d,
                    spec3d,
                    protocol,
                    samples_tsv=samples_tsv,
                    feature_files=feature_files,
                    matrix_cache=matrices,
                )
                run = run_fusion(
                    inputs,
                    entry.alphas,
                    criterion=entry.criterion,
                    inner_n_splits=entry.inner_n_splits,
                    memo=memo,
                )
                runs[(scheme, protocol)][descriptor] = run
                _write_fusion_files(run, folder, descriptor)
                identity = {"scheme": scheme, "protocol": protocol, "dataset": entry.dataset}
                extra = {"entry": entry.name, **setting}
                if k == 0:  # LBP-TOP alone: the same on every descriptor's common samples
                    scores.append(
                        setting_scores(run.outer2d, kind="fusion", descriptor="lbptop",
                                       fusion="none", experiment=spec2d.name, **identity, **extra)
                    )  # fmt: skip
                scores.append(
                    setting_scores(run.outer3d, kind="fusion", descriptor=descriptor,
                                   fusion="none", experiment=spec3d.name, **identity, **extra)
                )  # fmt: skip
                for result in (run.oracle, run.nested):
                    scores.append(
                        fusion_scores(result, descriptor=descriptor, experiment=spec3d.name,
                                      **identity, **extra)
                    )  # fmt: skip
                name = f"{spec3d.name}/{protocol}"
                excluded.append(_excluded_rows(name, scheme, inputs.excluded))
                summary[name] = _label_summary(inputs.label_report)
    table = _write_entry_tables(scores, excluded, summary, scores_path, excluded_path, summary_path)
    return table, runs
