"""The paper tables from a long scores table, written as TSV, Markdown and LaTeX (SPEC.md 6-7).

Layouts follow the papers: DSME-3D Table 6 (LBP-TOP radii), Tables 7-10 (33 block grids x 7
overlaps, one table per classification x protocol), Table 11 (fusion of LBP-TOP with SI, HK,
SI+HK, with the oracle a *and* the nested a, SPEC.md 6) and CAS(ME)^2 Table 5 (radii x P x
mapping under LOVO). Every table carries a header block: dataset, samples used and excluded (with
a pointer to the exclusion list), protocol, metric definition (pooled vs per-fold mean), and the
published figure beside ours when the dataset is the paper's own (SPEC.md 7; `paper.py`), or a
note that the published figures are for the real database.

Scores input schema (one row per experiment setting x protocol x metric x aggregation; the
evaluate rule builds it by running ``summarize_scores`` per setting, e.g. with `setting_scores`
and `fusion_scores` below, and concatenating):

=================== ========= =====================================================================
column              type      meaning
=================== ========= =====================================================================
dataset             str       key of ``config["datasets"]`` (optional)
kind                str       the study the setting belongs to, one of `KINDS`: ``radius`` (DSME-3D
                              Table 6), ``blocks`` (Tables 7-10), ``fusion`` (Table 11),
                              ``lbp_variant`` (CAS(ME)^2 Table 5)
scheme              str       class scheme name in config (``objective``, ``emotion_dsme3d``, ...)
protocol            str       ``loso``, ``kfold`` or ``lovo``
metric              str       ``accuracy``, ``uf1`` or ``uar`` (fractions in [0, 1])
aggregation         str       ``pooled`` (over all folds of a repeat) or ``per_fold`` (fold mean)
mean                float     over repeats
std_over_repeats    float     NaN for a single run (LOSO, LOVO)
mean_fold_std       float     per_fold only, else NaN
n_repeats           int       runs of the protocol (10 for 10 x 10-fold, 1 for LOSO)
n_samples           int       predictions per repeat = samples used
n_folds             int       folds per repeat (optional; labels "10-fold")
rx, ry, rt          int       LBP-TOP radii (kinds radius, lbp_variant; blocks/fusion optional)
p                   int       LBP neighbours, the same on XY, XT, YT (lbp_variant)
mapping             str       ``u2`` (uniform) or ``basic`` (lbp_variant)
grid_rows/grid_cols int       block grid (blocks, fusion)
overlap             int       block overlap in pixels (blocks, fusion)
descriptor          str       ``lbptop``, ``si``, ``hk``, ``si+hk`` (fusion: the 3D descriptor
                              fused with LBP-TOP; ``lbptop`` = 2D alone)
fusion              str       ``none``, ``oracle`` or ``nested`` (fusion)
a, a_min, a_max     float     fusion weight: oracle -> the one a; nested -> median, min, max of the
                              per-outer-fold a (fusion; NaN when fusion is ``none``)
=================== ========= =====================================================================

Other columns (kernel, curvature radius, ...) may be present; a table filters on them with
``where`` when two rows would fill one cell (that is an error, never a silent choice).

Accuracies are printed in percent with two decimals, F1 with four; ``±`` is the standard deviation
over repeats (10-fold). Marks: bold = the best cell of our table (every cell tied with it),
dagger = the cell of the paper's published best setting (only on the paper's database).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from microexp.evaluate import paper
from microexp.evaluate.metrics import summarize_scores
from microexp.features.blocks import DSME3D_GRIDS, DSME3D_OVERLAPS
from microexp.learn.fusion import FusionResult

__all__ = [
    "DSME3D_CLASSIFICATIONS",
    "DSME3D_RADII",
    "KINDS",
    "SCORE_COLUMNS",
    "PaperTable",
    "TableContext",
    "casme2_table5",
    "check_scores",
    "describe_fusion",
    "describe_metric",
    "describe_protocol",
    "dsme3d_block_table",
    "dsme3d_block_tables",
    "dsme3d_table6",
    "dsme3d_table11",
    "fusion_scores",
    "grid_label",
    "protocol_label",
    "read_table_tsv",
    "setting_scores",
    "to_latex",
    "to_markdown",
    "to_tsv",
    "write_table",
]

SCORE_COLUMNS = (
    "kind",
    "scheme",
    "protocol",
    "metric",
    "aggregation",
    "mean",
    "std_over_repeats",
    "n_repeats",
    "n_samples",
)
KINDS = {
    "radius": "LBP-TOP radii (DSME-3D Table 6)",
    "blocks": "LBP-TOP block grid x overlap (DSME-3D Tables 7-10)",
    "fusion": "2D/3D probability fusion (DSME-3D Table 11)",
    "lbp_variant": "LBP-TOP radii x P x mapping (CAS(ME)^2 Table 5)",
    "other": "an experiment outside the paper tables (scores and predictions only)",
}
# Table label -> scheme name in config (DSME-3D 4.3: objective = FACS classes I-VII,
# non-objective = emotions without sadness). Order = column order of Table 6.
DSME3D_CLASSIFICATIONS: dict[str, str] = {
    "objective": "objective",
    "non-objective": "emotion_dsme3d",
}
# DSME-3D Table 6 and CAS(ME)^2 Table 5 rows: Rx = Ry in 1..4, Rt in 2..4.
DSME3D_RADII: tuple[tuple[int, int], ...] = tuple((r, t) for r in range(1, 5) for t in range(2, 5))
# (classification, protocol) -> DSME-3D table number (captions of Tables 7-10).
_BLOCK_TABLE_NUMBERS = {
    ("objective", "loso"): 7,
    ("objective", "kfold"): 8,
    ("non-objective", "loso"): 9,
    ("non-objective", "kfold"): 10,
}
_DESCRIPTOR_LABELS = {"lbptop": "LBP-TOP", "si": "SI", "hk": "HK", "si+hk": "SI+HK"}
_METRIC_LABELS = {"accuracy": "accuracy", "uf1": "F1 (UF1)", "uar": "UAR"}
_MISSING = "—"
_TIE = 1e-9


# ---------------------------------------------------------------------------------------------
# Building the scores table
# ---------------------------------------------------------------------------------------------


def setting_scores(
    predictions: pd.DataFrame,
    *,
    kind: str,
    scheme: str,
    protocol: str,
    dataset: str | None = None,
    **setting: Any,
) -> pd.DataFrame:
    """The scores rows of one setting: ``summarize_scores(predictions)`` (SPEC.md 6: pooled and
    per-fold accuracy, UF1, UAR) with the setting's identity and parameters as columns.

    ``setting``: the parameters in the schema's column names (rx=1, ry=1, rt=4, grid_rows=5, ...).
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} not in {sorted(KINDS)}")
    summary = summarize_scores(predictions)
    n_folds = int(predictions.groupby("repeat")["fold"].nunique().max())
    identity = {"dataset": dataset, "kind": kind, "scheme": scheme, "protocol": protocol}
    for column, value in reversed([*identity.items(), *setting.items()]):
        summary.insert(0, column, value)
    summary["n_folds"] = n_folds
    return summary


def fusion_scores(
    result: FusionResult,
    *,
    scheme: str,
    protocol: str,
    descriptor: str,
    dataset: str | None = None,
    **setting: Any,
) -> pd.DataFrame:
    """Scores rows of a fusion figure (kind ``fusion``, fusion = ``result.kind``): the fused
    predictions' scores with the weight: the oracle's single a, or the nested a's median and
    range over outer folds (``result.alphas``)."""
    rows = setting_scores(
        result.predictions,
        kind="fusion",
        scheme=scheme,
        protocol=protocol,
        dataset=dataset,
        descriptor=descriptor,
        fusion=result.kind,
        **setting,
    )
    alphas = result.alphas["a"].to_numpy(dtype=np.float64)
    rows["a"] = float(np.median(alphas))
    rows["a_min"] = float(alphas.min())
    rows["a_max"] = float(alphas.max())
    return rows


def check_scores(scores: pd.DataFrame, setting_columns: Iterable[str] = ()) -> None:
    """Raise ValueError naming the columns a table needs and the scores lack."""
    missing = [c for c in (*SCORE_COLUMNS, *setting_columns) if c not in scores.columns]
    if missing:
        raise ValueError(f"scores table lacks columns {missing} (schema: microexp.evaluate.tables)")


# ---------------------------------------------------------------------------------------------
# Words: protocols, metrics, fusion weights (shared with the report's captions)
# ---------------------------------------------------------------------------------------------


def protocol_label(protocol: str, n_folds: int | None = None) -> str:
    """ "LOSO", "LOVO", "10-fold" (k from the scores; "k-fold" when unknown)."""
    if protocol == "kfold":
        return f"{int(n_folds)}-fold" if n_folds and not _nan(n_folds) else "k-fold"
    return protocol.upper()


def describe_protocol(
    protocol: str, n_folds: int | None = None, n_repeats: int | None = None
) -> str:
    """One sentence on how a protocol tests (SPEC.md 6; DSME-3D 4.3; CAS(ME)^2 section 3)."""
    if protocol == "loso":
        return (
            "LOSO: leave one subject out; each subject's samples form the test fold once "
            "(one run, no subject in both training and test)."
        )
    if protocol == "lovo":
        return "LOVO: leave one video out; each sample is the test set once (one run)."
    if protocol == "kfold":
        k = f"{int(n_folds)}-fold" if n_folds and not _nan(n_folds) else "k-fold"
        runs = f"{int(n_repeats)} times" if n_repeats and not _nan(n_repeats) else "repeatedly"
        return (
            f"{k}: stratified {k} cross-validation repeated {runs} with different seeds; a figure "
            "is the mean over repeats (± its standard deviation). Folds are not grouped by "
            "subject, so a subject's samples can be in training and test (SPEC.md 8)."
        )
    raise ValueError(f"unknown protocol {protocol!r}")


def describe_metric(metric: str, aggregation: str) -> str:
    """What a figure is: the metric and whether it is pooled over folds or a mean of folds."""
    what = {
        "accuracy": "Accuracy (%): correct / all predictions",
        "uf1": "F1 = UF1: unweighted mean over classes of the per-class F1",
        "uar": "UAR: unweighted mean over classes of the per-class recall",
    }
    if metric not in what:
        raise ValueError(f"unknown metric {metric!r}")
    if aggregation == "pooled":
        how = (
            "computed on the out-of-fold predictions pooled over all folds of a repeat "
            "(MEGC convention), then averaged over repeats"
        )
    elif aggregation == "per_fold":
        how = (
            "computed on each fold on its own and averaged over the folds (per-fold mean), "
            "then over repeats"
        )
    else:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    return f"{what[metric]}, {how}."


def describe_fusion(kind: str) -> str:
    """Oracle vs nested fusion weight (SPEC.md 6; DSME-3D Eq. 13, 4.3.2)."""
    if kind == "oracle":
        return (
            "oracle a: one weight a in P = (1 - a) p2D + a p3D for the whole protocol, the one "
            "with the best accuracy on the test predictions, as the paper reports ('only the "
            "optimal fusion results are shown'); optimistic, since a has seen the test labels."
        )
    if kind == "nested":
        return (
            "nested a: a chosen for every outer fold by an inner cross-validation on that fold's "
            "training samples only, then applied to its test samples; an honest estimate. The "
            "a shown is the range (and median) over outer folds."
        )
    raise ValueError(f"unknown fusion kind {kind!r}")


def grid_label(rows: int, cols: int) -> str:
    """ "3 x 10" as the paper writes a block grid."""
    return f"{int(rows)} x {int(cols)}"


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# ---------------------------------------------------------------------------------------------
# The table object and its writers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableContext:
    """What a table's header says beyond the scores: the dataset and its exclusions.

    ``n_excluded``: samples that failed a stage (ARCHITECTURE.md principle 5), None if not
    counted; ``exclusion_list``: where they are listed with reasons (e.g. the report section or
    ``results/{dataset}/excluded.tsv``); ``notes``: further lines (e.g. classes a scheme drops).
    """

    dataset: str
    layout: str
    n_excluded: int | None = None
    exclusion_list: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaperTable:
    """A paper table: ``values`` (numbers, written to TSV; accuracies in %), ``cells`` (the
    formatted text of the Markdown and LaTeX versions, same rows), ``bold`` and ``dagger`` (cell
    positions (row, column) in ``cells``), ``best`` ((row label, column label) of the best value
    in ``values``), the header block and a legend. ``subtitle`` is for figure titles: dataset,
    classification, protocol, metric, N."""

    name: str
    title: str
    header: tuple[str, ...]
    values: pd.DataFrame
    cells: pd.DataFrame
    bold: frozenset[tuple[int, int]] = frozenset()
    dagger: frozenset[tuple[int, int]] = frozenset()
    best: tuple[tuple[Any, Any], ...] = ()
    legend: tuple[str, ...] = ()
    subtitle: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _index_frame(index: pd.Index) -> list[list[str]]:
    """Row label columns, consecutive repeats blanked as in a printed table."""
    if isinstance(index, pd.MultiIndex):
        rows = [[str(v) for v in key] for key in index]
    else:
        rows = [[str(v)] for v in index]
    shown = []
    previous: list[str] = []
    for row in rows:
        out = []
        for level, value in enumerate(row):
            same_prefix = previous[: level + 1] == row[: level + 1]
            out.append("" if same_prefix and level < len(row) - 1 else value)
        shown.append(out)
        previous = row
    return shown


def _index_names(index: pd.Index) -> list[str]:
    return [str(n) if n is not None else "" for n in index.names]


def _column_labels(columns: pd.Index) -> list[str]:
    if isinstance(columns, pd.MultiIndex):
        return [" / ".join(str(v) for v in key) for key in columns]
    return [str(c) for c in columns]


def to_markdown(table: PaperTable) -> str:
    """GitHub Markdown: title, header block as a list, the table (bold best, † paper's best)."""
    lines = [f"### {table.title}", ""]
    lines += [f"- {_md(line)}" for line in table.header]
    lines.append("")
    head = _index_names(table.cells.index) + _column_labels(table.cells.columns)
    lines.append("| " + " | ".join(_md(h) for h in head) + " |")
    n_index = table.cells.index.nlevels
    aligns = [":--"] * n_index + ["--:"] * table.cells.shape[1]
    lines.append("| " + " | ".join(aligns) + " |")
    labels = _index_frame(table.cells.index)
    for i, label in enumerate(labels):
        row = [_md(v) for v in label]
        for j, text in enumerate(table.cells.iloc[i]):
            cell = _md(str(text))
            if (i, j) in table.dagger:
                cell += " †"
            if (i, j) in table.bold and text != _MISSING:
                cell = f"**{cell}**"
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    if table.legend:
        lines.append("")
        lines += [f"_{_md(line)}_  " for line in table.legend]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "±": r"$\pm$",
    "–": "--",
    "—": "---",
    "†": r"$^\dagger$",
    "≤": r"$\leq$",
    "×": r"$\times$",
}


def _tex(text: Any) -> str:
    """Escape LaTeX specials; a caret before a letter or digit is a superscript, so
    "CAS(ME)^2" becomes CAS(ME)$^{2}$."""
    text = str(text)
    out = []
    k = 0
    while k < len(text):
        ch = text[k]
        if ch == "^" and k + 1 < len(text) and text[k + 1].isalnum():
            out.append(f"$^{{{text[k + 1]}}}$")
            k += 2
            continue
        out.append(r"\textasciicircum{}" if ch == "^" else _LATEX_SPECIAL.get(ch, ch))
        k += 1
    return "".join(out)


def to_latex(table: PaperTable) -> str:
    """A booktabs ``table`` (needs \\usepackage{booktabs}); two-level column headers become
    \\multicolumn groups. Written by hand: pandas' to_latex needs jinja2, which is not a
    declared dependency."""
    cells = table.cells
    n_index = cells.index.nlevels
    spec = "l" * n_index + "r" * cells.shape[1]
    lines = [
        "% " + table.title,
        *[f"% {line}" for line in table.header],
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{_tex(table.title)}}}",
        rf"\label{{tab:{table.name}}}",
        r"\small",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    names = [_tex(n) for n in _index_names(cells.index)]
    if isinstance(cells.columns, pd.MultiIndex) and cells.columns.nlevels == 2:
        groups: list[tuple[str, int]] = []
        for top, _ in cells.columns:
            if groups and groups[-1][0] == top:
                groups[-1] = (top, groups[-1][1] + 1)
            else:
                groups.append((top, 1))
        top_row = [""] * n_index + [
            rf"\multicolumn{{{span}}}{{c}}{{{_tex(top)}}}" for top, span in groups
        ]
        lines.append(" & ".join(top_row) + r" \\")
        start = n_index + 1
        rules = []
        for _, span in groups:
            rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        lines.append(" ".join(rules))
        lines.append(" & ".join(names + [_tex(c[1]) for c in cells.columns]) + r" \\")
    else:
        lines.append(" & ".join(names + [_tex(c) for c in _column_labels(cells.columns)]) + r" \\")
    lines.append(r"\midrule")
    for i, label in enumerate(_index_frame(cells.index)):
        row = [_tex(v) for v in label]
        for j, text in enumerate(cells.iloc[i]):
            cell = _tex(text)
            if (i, j) in table.bold and text != _MISSING:
                cell = rf"\textbf{{{cell}}}"
            if (i, j) in table.dagger:
                cell += r"$^\dagger$"
            row.append(cell)
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = [*table.header, *table.legend]
    if notes:
        lines.append(r"\par\smallskip\footnotesize")
        lines.append(" \\\\\n".join(_tex(n) for n in notes))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def to_tsv(table: PaperTable) -> str:
    """The numbers, under '#' comment lines (title, header block, legend, index columns).

    Read back with `read_table_tsv`. Numbers keep full precision; missing cells are empty.
    """
    values = table.values.copy()
    if isinstance(values.columns, pd.MultiIndex):
        values.columns = _column_labels(values.columns)
    comments = [
        table.title,
        *table.header,
        *table.legend,
        f"index columns: {values.index.nlevels}",
    ]
    text = "".join(f"# {line}\n" for line in comments)
    return text + values.to_csv(sep="\t", float_format="%.10g", lineterminator="\n")


def read_table_tsv(path: str | Path) -> pd.DataFrame:
    """A table written by `write_table` back as a DataFrame (row labels as the index)."""
    n_index = 1
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            match = re.match(r"# index columns: (\d+)", line)
            if match:
                n_index = int(match.group(1))
    return pd.read_csv(path, sep="\t", comment="#", index_col=list(range(n_index)))


def write_table(table: PaperTable, folder: str | Path) -> dict[str, Path]:
    """Write ``{name}.tsv``, ``{name}.md`` and ``{name}.tex`` under ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for suffix, render in (("tsv", to_tsv), ("md", to_markdown), ("tex", to_latex)):
        path = folder / f"{table.name}.{suffix}"
        path.write_text(render(table), encoding="utf-8")
        written[suffix] = path
    return written


# ---------------------------------------------------------------------------------------------
# Shared pieces of the builders
# ---------------------------------------------------------------------------------------------


def _select(
    scores: pd.DataFrame,
    *,
    kind: str,
    schemes: Sequence[str] | None,
    protocols: Sequence[str] | None,
    metrics: Sequence[str],
    aggregation: str,
    where: Mapping[str, Any] | None,
) -> pd.DataFrame:
    mask = (scores["kind"] == kind) & scores["metric"].isin(list(metrics))
    mask &= scores["aggregation"] == aggregation
    if schemes is not None:
        mask &= scores["scheme"].isin(list(schemes))
    if protocols is not None:
        mask &= scores["protocol"].isin(list(protocols))
    for column, value in (where or {}).items():
        if column not in scores.columns:
            raise ValueError(f"where: scores have no column {column!r}")
        mask &= scores[column] == value
    return scores[mask].copy()


def _unique_cells(rows: pd.DataFrame, keys: Sequence[str], what: str) -> None:
    """Two scores rows for one cell is a configuration question, never resolved silently."""
    duplicated = rows.duplicated(list(keys), keep=False)
    if duplicated.any():
        clash = rows[duplicated]
        varying = [
            c
            for c in rows.columns
            if c not in (*keys, "mean", "std_over_repeats", "mean_fold_std")
            and clash[c].astype(object).nunique(dropna=False) > 1
        ]
        raise ValueError(
            f"{what}: several scores rows for one cell (keys {list(keys)}); they differ in "
            f"{varying or 'nothing'}; pass where={{...}} to pick one setting"
        )


def _percent(value: float) -> str:
    return _MISSING if _nan(value) else f"{value:.2f}"


def _percent_pm(value: float, std: float) -> str:
    if _nan(value):
        return _MISSING
    return f"{value:.2f} ± {std:.2f}" if not _nan(std) else f"{value:.2f}"


def _best_positions(values: np.ndarray) -> list[tuple[int, int]]:
    """Every cell within _TIE of the maximum (ties are all marked, not broken silently)."""
    if values.size == 0 or np.all(np.isnan(values)):
        return []
    best = np.nanmax(values)
    return [tuple(map(int, ij)) for ij in np.argwhere(values >= best - _TIE)]


def _samples_line(rows: pd.DataFrame, context: TableContext, by: Sequence[str]) -> str:
    """ "Samples used: ..." per group (they differ when a scheme drops classes)."""
    parts = []
    for key, group in rows.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        counts = sorted(set(int(n) for n in group["n_samples"]))
        n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        label = " ".join(
            protocol_label(str(k), _first(group, "n_folds")) if c == "protocol" else str(k)
            for c, k in zip(by, key, strict=True)
        )
        parts.append(f"{label}: {n}" if label else n)
    used = "Samples used (predictions per run): " + ("; ".join(parts) or "none") + "."
    if context.n_excluded is None:
        excluded = "Samples excluded: not counted here"
    else:
        excluded = f"Samples excluded: {context.n_excluded} (failed a stage)"
    if context.exclusion_list:
        excluded += f"; each is listed with its reason in {context.exclusion_list}"
    return f"{used} {excluded}."


def _protocol_lines(rows: pd.DataFrame) -> list[str]:
    lines = []
    for protocol, group in rows.groupby("protocol", sort=False):
        n_folds = _first(group, "n_folds")
        n_repeats = _first(group, "n_repeats")
        lines.append(describe_protocol(str(protocol), n_folds, n_repeats))
    return lines


def _first(rows: pd.DataFrame, column: str) -> Any:
    if column not in rows.columns or rows[column].isna().all():
        return None
    return rows[column].dropna().iloc[0]


def _label_of(rows: pd.DataFrame, protocol: str) -> str:
    return protocol_label(protocol, _first(rows[rows["protocol"] == protocol], "n_folds"))


def _header(
    context: TableContext,
    rows: pd.DataFrame,
    by: Sequence[str],
    metric_lines: Sequence[str],
    comparison: paper.PublishedComparison,
    paper_lines: Sequence[str],
) -> tuple[str, ...]:
    lines = [
        f"Dataset: {context.dataset} (layout {context.layout}).",
        _samples_line(rows, context, by),
        *_protocol_lines(rows),
        *metric_lines,
    ]
    lines += list(paper_lines) if comparison.applies else [comparison.note]
    lines += list(context.notes)
    return tuple(lines)


def _with_labels(rows: pd.DataFrame, schemes: Mapping[str, str]) -> pd.DataFrame:
    by_scheme = {scheme: label for label, scheme in schemes.items()}
    rows = rows.copy()
    rows["classification"] = rows["scheme"].map(by_scheme)
    return rows


def _subtitle(context: TableContext, parts: Sequence[str], n: str) -> str:
    return " — ".join([context.dataset, *parts, f"N = {n}"])


def _n_text(rows: pd.DataFrame) -> str:
    counts = sorted(set(int(n) for n in rows["n_samples"]))
    if not counts:
        return "0"
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


# ---------------------------------------------------------------------------------------------
# DSME-3D Table 6: radii
# ---------------------------------------------------------------------------------------------


def dsme3d_table6(
    scores: pd.DataFrame,
    context: TableContext,
    *,
    schemes: Mapping[str, str] = DSME3D_CLASSIFICATIONS,
    protocols: Sequence[str] = ("loso", "kfold"),
    metric: str = "accuracy",
    aggregation: str = "pooled",
    kind: str = "radius",
    where: Mapping[str, Any] | None = None,
) -> PaperTable:
    """DSME-3D Table 6 (4.3.1 (1)): LBP-TOP at 5 x 5 blocks, overlap 0, P = 8, 8, 8, radii
    Rx = Ry in 1..4 x Rt in 2..4 (12 rows); columns (objective | non-objective) x (LOSO |
    10-fold); cells the metric in %. ``schemes``: column label -> scheme name. Bold: best per
    column; dagger: the paper's best radii per protocol (not separated by classification in the
    text), on the DSME-3D layout only. Settings with Rx != Ry are not part of the layout.
    """
    check_scores(scores, ("rx", "ry", "rt"))
    rows = _select(
        scores,
        kind=kind,
        schemes=list(schemes.values()),
        protocols=protocols,
        metrics=[metric],
        aggregation=aggregation,
        where=where,
    )
    if rows.empty:
        raise ValueError(f"no scores of kind {kind!r} for schemes {list(schemes.values())}")
    rows = _with_labels(rows[rows["rx"] == rows["ry"]], schemes)
    _unique_cells(rows, ["scheme", "protocol", "rx", "rt"], "Table 6")

    radii = list(DSME3D_RADII) + sorted(
        {(int(r), int(t)) for r, t in zip(rows["rx"], rows["rt"], strict=True)} - set(DSME3D_RADII)
    )
    index = pd.MultiIndex.from_tuples(radii, names=["Rx=Ry", "Rt"])
    column_keys = [
        (label, protocol)
        for label in schemes
        for protocol in protocols
        if ((rows["classification"] == label) & (rows["protocol"] == protocol)).any()
    ]
    columns = pd.MultiIndex.from_tuples(
        [(label, _label_of(rows, protocol)) for label, protocol in column_keys],
        names=["classification", "protocol"],
    )
    values = pd.DataFrame(np.nan, index=index, columns=columns)
    stds = values.copy()
    for j, (label, protocol) in enumerate(column_keys):
        part = rows[(rows["classification"] == label) & (rows["protocol"] == protocol)]
        for row in part.itertuples(index=False):
            i = radii.index((int(row.rx), int(row.rt)))
            values.iloc[i, j] = 100 * row.mean
            stds.iloc[i, j] = 100 * row.std_over_repeats
    cells = pd.DataFrame(
        [
            [_percent_pm(v, s) for v, s in zip(vr, sr, strict=True)]
            for vr, sr in zip(values.to_numpy(), stds.to_numpy(), strict=True)
        ],
        index=index,
        columns=columns,
    )
    bold, best = set(), []
    for j in range(values.shape[1]):
        for i, _ in _best_positions(values.iloc[:, [j]].to_numpy()):
            bold.add((i, j))
            best.append((values.index[i], values.columns[j]))

    comparison = paper.published_for_layout(context.layout, paper.DSME3D)
    dagger, paper_lines = set(), []
    if comparison.applies:
        for protocol in protocols:
            for figure in paper.find_published(table="Table 6", protocol=protocol):
                ours = []
                key = (int(figure.params["rx"]), int(figure.params["rt"]))
                for j, (label, col_protocol) in enumerate(column_keys):
                    if col_protocol != protocol:
                        continue
                    if key in radii:
                        dagger.add((radii.index(key), j))
                    column = values.iloc[:, j]
                    if column.notna().any():
                        r, t = column.idxmax()
                        ours.append(
                            f"{label} {column.max():.2f} % at "
                            + paper.format_setting({"rx": r, "ry": r, "rt": t})
                        )
                paper_lines.append(
                    f"{figure.source}, {_label_of(rows, protocol)}: {figure.describe()}; "
                    f"ours: {'; '.join(ours) or 'not run'}."
                )
    header = _header(
        context,
        rows,
        ["classification", "protocol"],
        [
            describe_metric(metric, aggregation),
            "Setting: 5 x 5 blocks, overlap 0, P = 8 on XY, XT, YT (DSME-3D Table 6) unless "
            "the run's config says otherwise.",
        ],
        comparison,
        paper_lines,
    )
    legend = ["bold: best of the column (ties all marked)"]
    if comparison.applies:
        legend.append("†: the radii the paper names as best for that protocol")
    metric_text = _METRIC_LABELS[metric]
    return PaperTable(
        name="dsme3d_table6_radii",
        title=f"Recognition rate of LBP-TOP at different radii ({metric_text}, %) — DSME-3D "
        "Table 6 layout",
        header=header,
        values=values,
        cells=cells,
        bold=frozenset(bold),
        dagger=frozenset(dagger),
        best=tuple(best),
        legend=tuple(legend),
        subtitle=_subtitle(
            context, ["LBP-TOP radii", f"{metric_text} ({aggregation})"], _n_text(rows)
        ),
        meta={"metric": metric, "aggregation": aggregation, "dataset": context.dataset},
    )


# ---------------------------------------------------------------------------------------------
# DSME-3D Tables 7-10: block grid x overlap
# ---------------------------------------------------------------------------------------------


def dsme3d_block_table(
    scores: pd.DataFrame,
    context: TableContext,
    *,
    classification: str = "objective",
    protocol: str = "loso",
    scheme: str | None = None,
    metric: str = "accuracy",
    aggregation: str = "pooled",
    grids: Sequence[tuple[int, int]] = DSME3D_GRIDS,
    overlaps: Sequence[int] = DSME3D_OVERLAPS,
    kind: str = "blocks",
    where: Mapping[str, Any] | None = None,
) -> PaperTable:
    """DSME-3D Table 7, 8, 9 or 10 (4.3.1 (2)): rows the 33 block grids ("3 x 3" .. "8 x 10"),
    columns the overlaps 0..30 px, cells the metric in %; one table per (classification,
    protocol): objective LOSO = 7, objective 10-fold = 8, non-objective LOSO = 9,
    non-objective 10-fold = 10. ``scheme`` defaults to DSME3D_CLASSIFICATIONS[classification].
    Grids or overlaps in the scores beyond ``grids``/``overlaps`` are appended; cells not run are
    empty. Bold: the best cell; dagger: the paper's best (grid, overlap), DSME-3D layout only.
    """
    check_scores(scores, ("grid_rows", "grid_cols", "overlap"))
    scheme = scheme or DSME3D_CLASSIFICATIONS[classification]
    rows = _select(
        scores,
        kind=kind,
        schemes=[scheme],
        protocols=[protocol],
        metrics=[metric],
        aggregation=aggregation,
        where=where,
    )
    if rows.empty:
        raise ValueError(f"no scores of kind {kind!r} for scheme {scheme!r}, protocol {protocol!r}")
    rows["classification"] = classification
    _unique_cells(rows, ["grid_rows", "grid_cols", "overlap"], "block table")

    present = {(int(r), int(c)) for r, c in zip(rows["grid_rows"], rows["grid_cols"], strict=True)}
    grid_list = list(grids) + sorted(present - set(grids))
    overlap_list = list(overlaps) + sorted({int(o) for o in rows["overlap"]} - set(overlaps))
    index = pd.Index([grid_label(r, c) for r, c in grid_list], name="blocks")
    columns = pd.Index(overlap_list, name="overlap")
    values = pd.DataFrame(np.nan, index=index, columns=columns)
    for row in rows.itertuples(index=False):
        i = grid_list.index((int(row.grid_rows), int(row.grid_cols)))
        j = overlap_list.index(int(row.overlap))
        values.iloc[i, j] = 100 * row.mean
    cells = values.map(_percent)
    best_positions = _best_positions(values.to_numpy())
    best = tuple((values.index[i], values.columns[j]) for i, j in best_positions)

    number = _BLOCK_TABLE_NUMBERS.get((classification, protocol))
    table_name = f"Table {number}" if number else "Tables 7-10"
    comparison = paper.published_for_layout(context.layout, paper.DSME3D)
    dagger, paper_lines = set(), []
    label = _label_of(rows, protocol)
    ours = "not run"
    if best_positions:
        i, j = best_positions[0]
        r, c = grid_list[i]
        ours = f"{values.iloc[i, j]:.2f} % ({grid_label(r, c)}, overlap {overlap_list[j]})"
    if comparison.applies:
        for figure in paper.find_published(
            table=table_name, scheme=classification, protocol=protocol, best_only=True
        ):
            key = (figure.params["grid_rows"], figure.params["grid_cols"])
            if key in grid_list and figure.params["overlap"] in overlap_list:
                dagger.add((grid_list.index(key), overlap_list.index(figure.params["overlap"])))
            paper_lines.append(f"{figure.source}: {figure.describe()}; ours: {ours}.")
    header = _header(
        context,
        rows,
        ["classification", "protocol"],
        [
            describe_metric(metric, aggregation),
            "Rows: block grid (rows x columns of the face crop); columns: overlap of adjacent "
            "blocks in pixels (SPEC.md 5.1).",
        ],
        comparison,
        paper_lines,
    )
    if not comparison.applies:
        header = (*header, f"Best here: {ours}.")
    legend = ["bold: best cell (ties all marked); —: setting not run"]
    if comparison.applies:
        legend.append("†: the paper's best block grid and overlap")
    metric_text = _METRIC_LABELS[metric]
    suffix = {"loso": "loso", "kfold": "kfold", "lovo": "lovo"}.get(protocol, protocol)
    return PaperTable(
        name=f"dsme3d_table{number or 'x'}_blocks_{classification.replace('-', '_')}_{suffix}",
        title=f"Recognition rate of LBP-TOP, {label}, {classification} classification "
        f"({metric_text}, %) — DSME-3D {table_name} layout",
        header=header,
        values=values,
        cells=cells,
        bold=frozenset(best_positions),
        dagger=frozenset(dagger),
        best=best,
        legend=tuple(legend),
        subtitle=_subtitle(
            context, [f"{classification}, {label}", f"{metric_text} ({aggregation})"], _n_text(rows)
        ),
        meta={
            "metric": metric,
            "aggregation": aggregation,
            "classification": classification,
            "protocol": protocol,
            "dataset": context.dataset,
        },
    )


def dsme3d_block_tables(
    scores: pd.DataFrame,
    context: TableContext,
    *,
    schemes: Mapping[str, str] = DSME3D_CLASSIFICATIONS,
    protocols: Sequence[str] = ("loso", "kfold"),
    **options: Any,
) -> list[PaperTable]:
    """Tables 7-10 for every (classification, protocol) the scores hold (others are skipped)."""
    kind = options.get("kind", "blocks")
    tables = []
    for classification, scheme in schemes.items():
        for protocol in protocols:
            held = (
                (scores["kind"] == kind)
                & (scores["scheme"] == scheme)
                & (scores["protocol"] == protocol)
            )
            if held.any():
                tables.append(
                    dsme3d_block_table(
                        scores,
                        context,
                        classification=classification,
                        protocol=protocol,
                        scheme=scheme,
                        **options,
                    )
                )
    return tables


# ---------------------------------------------------------------------------------------------
# DSME-3D Table 11: fusion
# ---------------------------------------------------------------------------------------------

_FUSION_VALUE_COLUMNS = [
    "oracle accuracy (%)",
    "oracle accuracy std",
    "oracle F1",
    "oracle a",
    "nested accuracy (%)",
    "nested accuracy std",
    "nested F1",
    "nested a median",
    "nested a min",
    "nested a max",
    "paper accuracy (%)",
    "paper F1",
]


def _descriptor_label(descriptor: str, fused: bool) -> str:
    name = _DESCRIPTOR_LABELS.get(descriptor, descriptor)
    if descriptor == "lbptop":
        return "LBP-TOP (2D alone)"
    return f"LBP-TOP + {name}" if fused else f"{name} (3D alone)"


def _alpha_range(median: float, low: float, high: float) -> str:
    if _nan(median):
        return _MISSING
    if abs(high - low) < 1e-12:
        return f"{median:.2f}"
    return f"{low:.2f}–{high:.2f} (median {median:.2f})"


def dsme3d_table11(
    scores: pd.DataFrame,
    context: TableContext,
    *,
    schemes: Mapping[str, str] = DSME3D_CLASSIFICATIONS,
    protocols: Sequence[str] = ("loso", "kfold"),
    f1_metric: str = "uf1",
    aggregation: str = "pooled",
    kind: str = "fusion",
    where: Mapping[str, Any] | None = None,
) -> PaperTable:
    """DSME-3D Table 11 (4.3.2): LBP-TOP fused with SI, HK and SI+HK (Eq. 13).

    Rows: (classification, protocol, block setting, descriptor): LBP-TOP alone, then each fusion
    (and a 3D descriptor alone when the scores hold one). Columns: accuracy (%) and F1 (UF1 by
    default) at the **oracle a** (the paper's way) and at the **nested a** (chosen inside the
    training folds), each with the a used, then the paper's figure at that setting on the DSME-3D
    layout. Unfused rows have no weight: their figure appears under both. Bold: the best accuracy
    of a (classification, protocol, block setting) group, per column.
    """
    check_scores(scores, ("descriptor", "fusion", "grid_rows", "grid_cols", "overlap"))
    rows = _select(
        scores,
        kind=kind,
        schemes=list(schemes.values()),
        protocols=protocols,
        metrics=["accuracy", f1_metric],
        aggregation=aggregation,
        where=where,
    )
    if rows.empty:
        raise ValueError(f"no scores of kind {kind!r}")
    rows = _with_labels(rows, schemes)
    for column in ("a", "a_min", "a_max"):
        if column not in rows.columns:
            rows[column] = np.nan
    keys = ["scheme", "protocol", "grid_rows", "grid_cols", "overlap", "descriptor", "fusion"]
    _unique_cells(rows, [*keys, "metric"], "Table 11")

    comparison = paper.published_for_layout(context.layout, paper.DSME3D)
    order = {d: k for k, d in enumerate(["lbptop", "si", "hk", "si+hk"])}
    records, labels, groups = [], [], []
    for label in schemes:
        for protocol in protocols:
            part = rows[(rows["classification"] == label) & (rows["protocol"] == protocol)]
            settings = sorted(
                {
                    (int(r), int(c), int(o))
                    for r, c, o in zip(
                        part["grid_rows"], part["grid_cols"], part["overlap"], strict=True
                    )
                }
            )
            for grid in settings:
                here = part[
                    (part["grid_rows"] == grid[0])
                    & (part["grid_cols"] == grid[1])
                    & (part["overlap"] == grid[2])
                ]
                entries = sorted(
                    {
                        (d, f != "none")
                        for d, f in zip(here["descriptor"], here["fusion"], strict=True)
                    },
                    key=lambda e: (e[1], order.get(e[0], len(order)), e[0]),
                )
                for descriptor, fused in entries:
                    records.append(
                        _fusion_record(
                            here, descriptor, fused, f1_metric, label, protocol, grid, comparison
                        )
                    )
                    labels.append(
                        (
                            label,
                            _label_of(rows, protocol),
                            f"{grid_label(grid[0], grid[1])}, overlap {grid[2]}",
                            _descriptor_label(descriptor, fused),
                        )
                    )
                    groups.append((label, protocol, grid))
    index = pd.MultiIndex.from_tuples(
        labels, names=["classification", "protocol", "blocks", "descriptor"]
    )
    values = pd.DataFrame(records, index=index, columns=_FUSION_VALUE_COLUMNS)
    if not comparison.applies:
        values = values.drop(columns=["paper accuracy (%)", "paper F1"])

    cell_columns = [("oracle a", "accuracy (%)"), ("oracle a", "F1"), ("oracle a", "a")]
    cell_columns += [("nested a", "accuracy (%)"), ("nested a", "F1"), ("nested a", "a")]
    if comparison.applies:
        cell_columns += [("paper", "accuracy (%)"), ("paper", "F1")]
    cell_rows = []
    for record in records:
        row = [
            _percent_pm(record[0], record[1]),
            _f1(record[2]),
            _alpha_range(record[3], record[3], record[3]),
            _percent_pm(record[4], record[5]),
            _f1(record[6]),
            _alpha_range(record[7], record[8], record[9]),
        ]
        if comparison.applies:
            row += [_percent(record[10]), _f1(record[11])]
        cell_rows.append(row)
    cells = pd.DataFrame(cell_rows, index=index, columns=pd.MultiIndex.from_tuples(cell_columns))

    bold, best = set(), []
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        for value_column, cell_j in (("oracle accuracy (%)", 0), ("nested accuracy (%)", 3)):
            column = values[value_column].to_numpy()[members][:, None]
            for k, _ in _best_positions(column):
                bold.add((members[k], cell_j))
                best.append((values.index[members[k]], value_column))

    paper_lines = []
    if comparison.applies:
        for label in schemes:
            for protocol in protocols:
                figures = [
                    f
                    for f in paper.find_published(table="Table 11", scheme=label, protocol=protocol)
                ]
                if figures:
                    text = "; ".join(_published_fusion_text(f) for f in figures)
                    setting = paper.format_setting(figures[0].params)
                    paper_lines.append(
                        f"DSME-3D Table 11, {label} {_label_of(rows, protocol)} ({setting}, "
                        f"oracle a): {text}."
                    )
    metric_lines = [
        describe_metric("accuracy", aggregation),
        describe_metric(f1_metric, aggregation),
        "Fusion: P = (1 - a) p2D + a p3D of the SVMs' Platt probabilities (DSME-3D Eq. 13), "
        "predicted class = argmax P.",
        describe_fusion("oracle"),
        describe_fusion("nested"),
        "A descriptor without fusion has no weight: its figure is shown under both.",
    ]
    header = _header(
        context, rows, ["classification", "protocol"], metric_lines, comparison, paper_lines
    )
    return PaperTable(
        name="dsme3d_table11_fusion",
        title="Fusion of LBP-TOP with 3D features (oracle a and nested a) — DSME-3D Table 11 "
        "layout",
        header=header,
        values=values,
        cells=cells,
        bold=frozenset(bold),
        best=tuple(best),
        legend=("bold: best accuracy of its block setting, per column",),
        subtitle=_subtitle(context, ["2D/3D fusion", f"accuracy ({aggregation})"], _n_text(rows)),
        meta={"aggregation": aggregation, "f1_metric": f1_metric, "dataset": context.dataset},
    )


def _published_fusion_text(figure: paper.PublishedFigure) -> str:
    """ "LBP-TOP + SI 67.97 %", "LBP-TOP alone 65.76 % [derived: ...]"."""
    if figure.descriptor == "lbptop":
        name = "LBP-TOP alone"
    elif figure.descriptor:
        name = f"LBP-TOP + {_DESCRIPTOR_LABELS.get(figure.descriptor, figure.descriptor)}"
    else:
        name = "fusion"
    note = f" [{figure.note}]" if figure.note else ""
    return f"{name} {figure.format_value()}{note}"


def _f1(value: float) -> str:
    return _MISSING if _nan(value) else f"{value:.4f}"


def _fusion_record(
    here: pd.DataFrame,
    descriptor: str,
    fused: bool,
    f1_metric: str,
    classification: str,
    protocol: str,
    grid: tuple[int, int, int],
    comparison: paper.PublishedComparison,
) -> list[float]:
    """One Table 11 row of numbers in _FUSION_VALUE_COLUMNS order."""
    mine = here[here["descriptor"] == descriptor]
    mine = mine[mine["fusion"] != "none"] if fused else mine[mine["fusion"] == "none"]

    def figure(fusion: str, metric: str) -> pd.Series | None:
        if fused:
            hit = mine[(mine["fusion"] == fusion) & (mine["metric"] == metric)]
        else:
            hit = mine[mine["metric"] == metric]
        return None if hit.empty else hit.iloc[0]

    record: list[float] = []
    for fusion in ("oracle", "nested"):
        accuracy, f1 = figure(fusion, "accuracy"), figure(fusion, f1_metric)
        record += [
            np.nan if accuracy is None else 100 * accuracy["mean"],
            np.nan if accuracy is None else 100 * accuracy["std_over_repeats"],
            np.nan if f1 is None else f1["mean"],
        ]
        weight = accuracy if accuracy is not None else f1
        if fusion == "oracle":
            record.append(np.nan if weight is None or not fused else float(weight["a"]))
        else:
            record += [
                np.nan if weight is None or not fused else float(weight[column])
                for column in ("a", "a_min", "a_max")
            ]
    published = {"accuracy": np.nan, "f1": np.nan}
    if comparison.applies:
        for f in paper.find_published(
            table="Table 11",
            scheme=classification,
            protocol=protocol,
            descriptor=descriptor,
            fusion="oracle" if fused else "none",
        ):
            params = f.params
            if (params["grid_rows"], params["grid_cols"], params["overlap"]) == grid:
                published[f.metric] = f.value
    return [*record, published["accuracy"], published["f1"]]


# ---------------------------------------------------------------------------------------------
# CAS(ME)^2 Table 5: radii x P x mapping, LOVO
# ---------------------------------------------------------------------------------------------

_CASME2_COLUMNS = (("basic", 4), ("basic", 8), ("u2", 4), ("u2", 8))
_MAPPING_LABELS = {"basic": "basic LBP", "u2": "uniform pattern"}


def casme2_table5(
    scores: pd.DataFrame,
    context: TableContext,
    *,
    scheme: str | None = None,
    protocol: str = "lovo",
    metric: str = "accuracy",
    aggregation: str = "pooled",
    kind: str = "lbp_variant",
    where: Mapping[str, Any] | None = None,
) -> PaperTable:
    """CAS(ME)^2 Table 5 (section 3): LBP-TOP on 36 ROIs after TIM to 120 frames, polynomial
    SVM, LOVO. Rows Rx = Ry in 1..4 x Rt in 2..4; columns basic / uniform x P = 4 / 8 (P the same
    on XY, XT, YT); cells the metric in %. On the CAS(ME)^2 layout the paper's four columns follow
    ours and its best cell (75.66 % at 1, 1, 3, P = 4, uniform) gets a dagger. ``scheme``: the
    one class scheme in the scores unless given.
    """
    check_scores(scores, ("rx", "ry", "rt", "p", "mapping"))
    rows = _select(
        scores,
        kind=kind,
        schemes=None if scheme is None else [scheme],
        protocols=[protocol],
        metrics=[metric],
        aggregation=aggregation,
        where=where,
    )
    if rows.empty:
        raise ValueError(f"no scores of kind {kind!r} for protocol {protocol!r}")
    if rows["scheme"].nunique() > 1:
        raise ValueError(f"scores hold schemes {sorted(rows['scheme'].unique())}; pass scheme=")
    rows = rows[rows["rx"] == rows["ry"]].copy()
    rows["classification"] = rows["scheme"]
    _unique_cells(rows, ["rx", "rt", "p", "mapping"], "CAS(ME)^2 Table 5")

    radii = list(DSME3D_RADII) + sorted(
        {(int(r), int(t)) for r, t in zip(rows["rx"], rows["rt"], strict=True)} - set(DSME3D_RADII)
    )
    variants = list(_CASME2_COLUMNS) + sorted(
        {(str(m), int(p)) for m, p in zip(rows["mapping"], rows["p"], strict=True)}
        - set(_CASME2_COLUMNS)
    )
    index = pd.MultiIndex.from_tuples(radii, names=["Rx=Ry", "Rt"])
    labels = [(_MAPPING_LABELS.get(m, m), f"P = {p}") for m, p in variants]
    values = pd.DataFrame(np.nan, index=index, columns=pd.MultiIndex.from_tuples(labels))
    for row in rows.itertuples(index=False):
        i = radii.index((int(row.rx), int(row.rt)))
        j = variants.index((str(row.mapping), int(row.p)))
        values.iloc[i, j] = 100 * row.mean
    best_positions = _best_positions(values.to_numpy())
    best = tuple((values.index[i], values.columns[j]) for i, j in best_positions)
    ours = "not run"
    if best_positions:
        i, j = best_positions[0]
        ours = (
            f"{values.iloc[i, j]:.2f} % ("
            + paper.format_setting(
                {
                    "rx": radii[i][0],
                    "ry": radii[i][0],
                    "rt": radii[i][1],
                    "p": variants[j][1],
                    "mapping": variants[j][0],
                }
            )
            + ")"
        )

    comparison = paper.published_for_layout(context.layout, paper.CASME2)
    cells = values.map(_percent)
    dagger, paper_lines = set(), []
    if comparison.applies:
        published = pd.DataFrame(
            np.nan,
            index=index,
            columns=pd.MultiIndex.from_tuples([(f"paper {a}", b) for a, b in labels]),
        )
        for figure in paper.CASME2_TABLE5:
            params = figure.params
            key, variant = (params["rx"], params["rt"]), (params["mapping"], params["p"])
            if key in radii and variant in variants:
                published.iloc[radii.index(key), variants.index(variant)] = figure.value
                if figure.is_best:
                    dagger.add((radii.index(key), variants.index(variant)))
        values = pd.concat([values, published], axis=1)
        cells = pd.concat([cells, published.map(_percent)], axis=1)
        best_paper = paper.casme2_table5_best()
        paper_lines.append(f"{best_paper.source}: {best_paper.describe()}; ours: {ours}.")
    header = _header(
        context,
        rows,
        ["classification", "protocol"],
        [
            describe_metric(metric, aggregation),
            "Setting: LBP-TOP on 36 landmark ROIs after temporal interpolation to 120 frames, "
            "polynomial SVM (gamma 0.1, degree 4, coef0 1) (CAS(ME)^2 section 3) unless the "
            "run's config says otherwise.",
        ],
        comparison,
        paper_lines,
    )
    if not comparison.applies:
        header = (*header, f"Best here: {ours}.")
    legend = ["bold: best of our cells (ties all marked); —: setting not run"]
    if comparison.applies:
        legend.append("†: the paper's best setting")
    metric_text = _METRIC_LABELS[metric]
    label = _label_of(rows, protocol)
    values.columns = pd.MultiIndex.from_tuples(list(values.columns))
    return PaperTable(
        name="casme2_table5_lbp_variants",
        title=f"Recognition with LBP-TOP under {label} ({metric_text}, %) — CAS(ME)^2 Table 5 "
        "layout",
        header=header,
        values=values,
        cells=cells,
        bold=frozenset(best_positions),
        dagger=frozenset(dagger),
        best=best,
        legend=tuple(legend),
        subtitle=_subtitle(
            context,
            [f"LBP-TOP variants, {label}", f"{metric_text} ({aggregation})"],
            _n_text(rows),
        ),
        meta={"metric": metric, "aggregation": aggregation, "dataset": context.dataset},
    )
