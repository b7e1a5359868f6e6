"""Which paper tables a configuration produces, and building each from the scores (docs/tables.md).

The evaluate rules need the tables' names when the workflow is parsed, so they come from the
config alone (`planned_tables`): an experiment entry of kind ``radius`` gives DSME-3D Table 6,
``blocks`` one grid x overlap table per (scheme, protocol) (Tables 7-10 for the objective and
non-objective schemes), ``lbp_variant`` CAS(ME)^2 Table 5 per scheme, and the fusion entries of a
data set Table 11. `build_table` turns a data set's concatenated scores into the `PaperTable`,
and `write_table_files` writes it as TSV, Markdown, LaTeX and HTML; `write_table_figures` draws
its pictures (heatmaps, the confusion matrix of the best cell) with their report captions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from microexp.evaluate import figures
from microexp.evaluate.captions import (
    block_heatmap_caption,
    confusion_matrix_caption,
    fold_spread_caption,
    fusion_curves_caption,
    radius_heatmap_caption,
)
from microexp.evaluate.casme2_tables import casme2_table5
from microexp.evaluate.dsme3d_tables import dsme3d_block_table, dsme3d_table6, dsme3d_table11
from microexp.evaluate.formatting import (
    PaperTable,
    TableContext,
    table_html,
    to_latex,
    to_markdown,
    to_tsv,
)
from microexp.evaluate.wording import BLOCK_TABLE_NUMBERS, DSME3D_CLASSIFICATIONS
from microexp.learn.entries import FusionEntry
from microexp.learn.specs import ExperimentSpec

__all__ = [
    "TablePlan",
    "build_table",
    "classification_label",
    "planned_tables",
    "read_scores",
    "write_table_figures",
    "write_table_files",
]

TABLE_SUFFIXES = ("tsv", "md", "tex", "html")


def classification_label(scheme: str) -> str:
    """The paper's name of a scheme (objective / non-objective, DSME-3D 4.3), else its own."""
    for label, name in DSME3D_CLASSIFICATIONS.items():
        if name == scheme:
            return label
    return scheme


@dataclass(frozen=True)
class TablePlan:
    """One table of a data set: ``table`` is its file stem under results/tables/{dataset}/;
    ``entries`` the classify / fusion entries whose scores fill it."""

    table: str
    dataset: str
    kind: str
    schemes: tuple[str, ...]
    protocols: tuple[str, ...]
    entries: tuple[str, ...]
    experiments: tuple[str, ...] = field(default=())

    def scheme_labels(self) -> dict[str, str]:
        """Column label -> scheme name, as the table builders take them."""
        return {classification_label(s): s for s in self.schemes}


def _ordered(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def planned_tables(
    classify: Mapping[str, Sequence[ExperimentSpec]],
    fusion: Mapping[str, FusionEntry],
) -> dict[str, dict[str, TablePlan]]:
    """data set -> table stem -> plan, from the parsed config entries (module docstring)."""
    plans: dict[str, dict[str, TablePlan]] = {}

    def add(plan: TablePlan) -> None:
        plans.setdefault(plan.dataset, {})[plan.table] = plan

    by_kind: dict[tuple[str, str], list[tuple[str, ExperimentSpec]]] = {}
    for entry, experiments in classify.items():
        for spec in experiments:
            by_kind.setdefault((spec.dataset, spec.kind or "other"), []).append((entry, spec))
    for (dataset, kind), members in by_kind.items():
        entries = _ordered([e for e, _ in members])
        schemes = _ordered([s.scheme.name for _, s in members])
        protocols = _ordered([p for _, s in members for p in s.protocols])
        if kind == "radius":
            add(TablePlan("dsme3d_table6_radius", dataset, kind, schemes, protocols, entries))
        elif kind == "blocks":
            for scheme in schemes:
                for protocol in protocols:
                    chosen = [
                        (e, s)
                        for e, s in members
                        if s.scheme.name == scheme and protocol in s.protocols
                    ]
                    if not chosen:
                        continue
                    label = classification_label(scheme)
                    number = BLOCK_TABLE_NUMBERS.get((label, protocol))
                    stem = f"table{number}" if number else "tables7-10"
                    name = f"dsme3d_{stem}_blocks_{label.replace('-', '_')}_{protocol}"
                    add(
                        TablePlan(
                            name,
                            dataset,
                            kind,
                            (scheme,),
                            (protocol,),
                            _ordered([e for e, _ in chosen]),
                            tuple(s.name for _, s in chosen),
                        )
                    )
        elif kind == "lbp_variant":
            for scheme in schemes:
                chosen = [(e, s) for e, s in members if s.scheme.name == scheme]
                protocols_here = _ordered([p for _, s in chosen for p in s.protocols])
                for protocol in protocols_here:
                    add(
                        TablePlan(
                            f"casme2_table5_{scheme}_{protocol}",
                            dataset,
                            kind,
                            (scheme,),
                            (protocol,),
                            _ordered([e for e, _ in chosen]),
                        )
                    )
    datasets = _ordered([f.dataset for f in fusion.values()])
    for dataset in datasets:
        members = [f for f in fusion.values() if f.dataset == dataset]
        add(
            TablePlan(
                "dsme3d_table11_fusion",
                dataset,
                "fusion",
                _ordered([s for f in members for s in f.schemes]),
                _ordered([p for f in members for p in f.protocols]),
                tuple(f.name for f in members),
            )
        )
    return plans


def read_scores(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate scores TSVs written by the classify / fusion rules."""
    frames = [pd.read_csv(p, sep="\t", keep_default_na=False, na_values=["NA", ""]) for p in paths]
    scores = pd.concat(frames, ignore_index=True)
    for column in ("scheme", "protocol", "kind", "metric", "aggregation", "descriptor", "fusion"):
        if column in scores.columns:
            scores[column] = scores[column].astype("string")
    return scores


def build_table(plan: TablePlan, scores: pd.DataFrame, context: TableContext) -> PaperTable:
    """The plan's PaperTable from a data set's scores (rows of other entries are ignored)."""
    mine = scores[scores["entry"].isin(list(plan.entries))]
    labels = plan.scheme_labels()
    if plan.kind == "radius":
        return dsme3d_table6(mine, context, schemes=labels, protocols=plan.protocols)
    if plan.kind == "blocks":
        (label,) = labels
        return dsme3d_block_table(
            mine,
            context,
            classification=label,
            protocol=plan.protocols[0],
            scheme=plan.schemes[0],
        )
    if plan.kind == "lbp_variant":
        return casme2_table5(mine, context, scheme=plan.schemes[0], protocol=plan.protocols[0])
    if plan.kind == "fusion":
        return dsme3d_table11(mine, context, schemes=labels, protocols=plan.protocols)
    raise ValueError(f"no table layout for kind {plan.kind!r}")


def write_table_files(table: PaperTable, stem: str | Path) -> dict[str, Path]:
    """``{stem}.tsv``, ``.md``, ``.tex`` and ``.html``."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    renderers = {
        "tsv": to_tsv,
        "md": to_markdown,
        "tex": to_latex,
        "html": table_html,
    }
    written = {}
    for suffix in TABLE_SUFFIXES:
        path = stem.with_name(f"{stem.name}.{suffix}")
        path.write_text(renderers[suffix](table), encoding="utf-8")
        written[suffix] = path
    return written


def _best_experiment(
    plan: TablePlan, scores: pd.DataFrame, metric: str = "accuracy"
) -> pd.Series | None:
    rows = scores[
        scores["entry"].isin(list(plan.entries))
        & (scores["metric"] == metric)
        & (scores["aggregation"] == "pooled")
        & scores["scheme"].isin(list(plan.schemes))
        & scores["protocol"].isin(list(plan.protocols))
    ]
    if plan.experiments:
        rows = rows[rows["experiment"].isin(list(plan.experiments))]
    if rows.empty:
        return None
    return rows.sort_values(["mean", "experiment"], ascending=[False, True]).iloc[0]


def write_table_figures(
    plan: TablePlan,
    table: PaperTable,
    scores: pd.DataFrame,
    prediction_files: Mapping[str, Mapping[str, str | Path]],
    folder: str | Path,
) -> dict[str, str]:
    """The table's pictures under ``folder`` (one PNG per name) and their RST captions by name:
    a heatmap of the values (grid x overlap, or radii per column) and the confusion matrix of
    the table's best setting, read from ``prediction_files[experiment][protocol]`` (the rule's
    inputs). Table 11's pictures are drawn by its fusion jobs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    captions: dict[str, str] = {}
    if plan.kind == "blocks":
        figures.write_block_heatmap(table, folder / "heatmap.png")
        captions["heatmap"] = block_heatmap_caption(table)
    elif plan.kind in ("radius", "lbp_variant"):
        figures.write_radius_heatmap(table, folder / "heatmap.png")
        captions["heatmap"] = radius_heatmap_caption(table)
    if plan.kind != "fusion":
        best = _best_experiment(plan, scores)
        if best is not None:
            path = prediction_files[str(best["experiment"])][str(best["protocol"])]
            predictions = pd.read_parquet(path)
            n_folds = int(predictions.groupby("repeat")["fold"].nunique().max())
            n_repeats = int(predictions["repeat"].nunique())
            classification = classification_label(str(best["scheme"]))
            figures.write_confusion_matrix(
                predictions,
                folder / "confusion.png",
                dataset=plan.dataset,
                classification=classification,
                protocol=str(best["protocol"]),
                n_folds=n_folds,
            )
            captions["confusion"] = confusion_matrix_caption(
                plan.dataset,
                classification,
                str(best["protocol"]),
                setting=f"the table's best setting, experiment {best['experiment']}",
                n_samples=int(best["n_samples"]),
                n_folds=n_folds,
                n_repeats=n_repeats,
            )
    return captions


def table_context(
    dataset: str, layout: str, failures: pd.DataFrame, notes: Sequence[str] = ()
) -> TableContext:
    """Header facts: the samples that failed a stage (counted once each) and where they are
    listed with their reasons."""
    n_failed = int(failures["sample"].nunique()) if len(failures) else 0
    return TableContext(
        dataset=dataset,
        layout=layout,
        n_excluded=n_failed,
        exclusion_list=f"results/tables/{dataset}/excluded_samples.html (and .tsv)",
        notes=tuple(notes),
    )


def scheme_notes(summaries: Mapping[str, Any], plan: TablePlan) -> list[str]:
    """One line per scheme on what the class scheme left out (small classes, unmapped
    labels), from the classify / fusion summaries of the plan's experiments."""
    lines: dict[str, str] = {}
    for summary in summaries.values():
        scheme = summary.get("scheme")
        if scheme not in plan.schemes or scheme in lines:
            continue
        dropped = summary.get("dropped_small_classes") or {}
        unmapped = summary.get("unmapped_labels") or {}
        parts = [f"classes {', '.join(summary.get('classes', []))}"]
        if dropped:
            parts.append(
                "dropped as too small: "
                + ", ".join(f"{k} ({v} samples)" for k, v in dropped.items())
            )
        if unmapped:
            parts.append(
                "labels outside the scheme: " + ", ".join(f"{k} ({v})" for k, v in unmapped.items())
            )
        lines[scheme] = f"Class scheme {scheme}: " + "; ".join(parts) + "."
    return list(lines.values())


def write_fusion_figures(
    entry: FusionEntry,
    runs: Mapping[tuple[str, str], Mapping[str, Any]],
    folder: str | Path,
) -> dict[str, str]:
    """Per (scheme, protocol) of a fusion entry: the fusion curves (metric against a, oracle a
    starred, nested a per outer fold), the confusion matrix of the fused predictions with the
    nested a for the descriptor whose nested accuracy is best, and the per-fold spread of
    LBP-TOP alone, each descriptor alone and each nested fusion. Returns captions by name."""
    from microexp.learn.metrics import per_repeat_scores

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    captions: dict[str, str] = {}
    for (scheme, protocol), by_descriptor in runs.items():
        classification = classification_label(scheme)
        stem = f"{scheme}_{protocol}"
        first = next(iter(by_descriptor.values()))
        predictions2d = first.outer2d
        n_folds = int(predictions2d.groupby("repeat")["fold"].nunique().max())
        n_repeats = int(predictions2d["repeat"].nunique())
        n_samples = int(predictions2d.groupby("repeat").size().iloc[0])
        figures.write_fusion_curves(
            {d: run.oracle for d, run in by_descriptor.items()},
            folder / f"curves_{stem}.png",
            dataset=entry.dataset,
            classification=classification,
            protocol=protocol,
            nested={d: run.nested for d, run in by_descriptor.items()},
            metric=entry.criterion,
            n_folds=n_folds,
        )
        captions[f"curves_{stem}"] = fusion_curves_caption(
            entry.dataset,
            classification,
            protocol,
            metric=entry.criterion,
            n_samples=n_samples,
            n_folds=n_folds,
            n_repeats=n_repeats,
        )
        accuracy = {
            d: float(per_repeat_scores(run.nested.predictions)["pooled_accuracy"].mean())
            for d, run in by_descriptor.items()
        }
        best = max(accuracy, key=lambda d: (accuracy[d], -list(accuracy).index(d)))
        figures.write_confusion_matrix(
            by_descriptor[best].nested.predictions,
            folder / f"confusion_{stem}.png",
            dataset=entry.dataset,
            classification=classification,
            protocol=protocol,
            n_folds=n_folds,
        )
        captions[f"confusion_{stem}"] = confusion_matrix_caption(
            entry.dataset,
            classification,
            protocol,
            setting=f"LBP-TOP + {best.upper()} fused with the nested a",
            n_samples=n_samples,
            n_folds=n_folds,
            n_repeats=n_repeats,
        )
        spread = {"LBP-TOP": predictions2d}
        for d, run in by_descriptor.items():
            spread[d.upper()] = run.outer3d
        for d, run in by_descriptor.items():
            spread[f"+{d.upper()} nested"] = run.nested.predictions
        figures.write_fold_spread(
            spread,
            folder / f"spread_{stem}.png",
            dataset=entry.dataset,
            classification=classification,
            protocol=protocol,
            n_folds=n_folds,
        )
        captions[f"spread_{stem}"] = fold_spread_caption(
            entry.dataset,
            classification,
            protocol,
            n_samples=n_samples,
            n_folds=n_folds,
            n_repeats=n_repeats,
        )
    return captions
