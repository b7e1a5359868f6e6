"""Shared pieces of the table builders: picking the scores rows of a table, checking that each
cell has one row, marking the best cells and writing the header block (dataset, samples, protocol,
metric, published figures).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from microexp.evaluate import paper
from microexp.evaluate.formatting import TableContext
from microexp.evaluate.wording import describe_decision, describe_protocol, protocol_label

TIE = 1e-9

K = TypeVar("K", bound=Hashable)


def select_rows(
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


def check_unique_cells(rows: pd.DataFrame, keys: Sequence[str], what: str) -> None:
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


def best_cells(values: np.ndarray) -> list[tuple[int, int]]:
    """Every cell within TIE of the maximum (ties are all marked, not broken silently)."""
    if values.size == 0 or np.all(np.isnan(values)):
        return []
    best = np.nanmax(values)
    return [tuple(map(int, ij)) for ij in np.argwhere(values >= best - TIE)]


def layout_then_extra(layout: Sequence[K], present: Iterable[K]) -> list[K]:
    """Rows (or columns) of a table: the paper layout's own, in its order, then every other
    one the scores hold, sorted."""
    return list(layout) + sorted(set(present) - set(layout))


def best_of(values: pd.DataFrame) -> tuple[list[tuple[int, int]], tuple[tuple[Any, Any], ...]]:
    """The best cells of a whole table (``best_cells``) as positions and as (row, column)
    labels."""
    positions = best_cells(values.to_numpy())
    return positions, tuple((values.index[i], values.columns[j]) for i, j in positions)


def grid_header_and_legend(
    context: TableContext,
    rows: pd.DataFrame,
    metric_lines: Sequence[str],
    comparison: paper.PublishedComparison,
    paper_lines: Sequence[str],
    ours: str,
    legend: str,
    dagger_legend: str,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Header block and legend of a table with one best cell: without published figures to
    compare, the header says which cell is best here; with them, the legend explains the
    dagger that marks the paper's best."""
    header = header_lines(
        context, rows, ["classification", "protocol"], metric_lines, comparison, paper_lines
    )
    if not comparison.applies:
        return (*header, f"Best here: {ours}."), (legend,)
    return header, (legend, dagger_legend)


def samples_line(rows: pd.DataFrame, context: TableContext, by: Sequence[str]) -> str:
    """ "Samples used: ..." per group (they differ when a scheme drops classes)."""
    parts = []
    for key, group in rows.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        counts = sorted(set(int(n) for n in group["n_samples"]))
        n = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        label = " ".join(
            protocol_label(str(k), first_value(group, "n_folds")) if c == "protocol" else str(k)
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


def protocol_lines(rows: pd.DataFrame) -> list[str]:
    lines = []
    for protocol, group in rows.groupby("protocol", sort=False):
        n_folds = first_value(group, "n_folds")
        n_repeats = first_value(group, "n_repeats")
        lines.append(describe_protocol(str(protocol), n_folds, n_repeats))
    return lines


def decision_lines(rows: pd.DataFrame) -> list[str]:
    """One line per SVM decision rule the rows were scored with (none for older score files)."""
    if "decision" not in rows.columns:
        return []
    return [describe_decision(str(d)) for d in dict.fromkeys(rows["decision"].dropna())]


def first_value(rows: pd.DataFrame, column: str) -> Any:
    if column not in rows.columns or rows[column].isna().all():
        return None
    return rows[column].dropna().iloc[0]


def protocol_label_of(rows: pd.DataFrame, protocol: str) -> str:
    return protocol_label(protocol, first_value(rows[rows["protocol"] == protocol], "n_folds"))


def header_lines(
    context: TableContext,
    rows: pd.DataFrame,
    by: Sequence[str],
    metric_lines: Sequence[str],
    comparison: paper.PublishedComparison,
    paper_lines: Sequence[str],
) -> tuple[str, ...]:
    lines = [
        f"Dataset: {context.dataset} (layout {context.layout}).",
        samples_line(rows, context, by),
        *protocol_lines(rows),
        *decision_lines(rows),
        *metric_lines,
    ]
    lines += list(paper_lines) if comparison.applies else [comparison.note]
    lines += list(context.notes)
    return tuple(lines)


def with_classification(rows: pd.DataFrame, schemes: Mapping[str, str]) -> pd.DataFrame:
    by_scheme = {scheme: label for label, scheme in schemes.items()}
    rows = rows.copy()
    rows["classification"] = rows["scheme"].map(by_scheme)
    return rows


def table_subtitle(context: TableContext, parts: Sequence[str], n: str) -> str:
    return " — ".join([context.dataset, *parts, f"N = {n}"])


def n_text(rows: pd.DataFrame) -> str:
    counts = sorted(set(int(n) for n in rows["n_samples"]))
    if not counts:
        return "0"
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
