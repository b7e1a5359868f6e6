"""The excluded-samples list of the report (docs/tables.md).

A bad sample is never silently dropped, so the report lists every failure record
(`microexp.failures.read_failures`) with its stage, reason and file, and every sample an experiment
left out (`microexp.report.exclusions`). The captions of the tables and figures are written by the
evaluate stage (`microexp.evaluate.captions`), in the same words as the tables' header blocks.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from microexp.evaluate.captions import rst_text
from microexp.evaluate.formatting import markdown_cell
from microexp.failures import EXCLUDED_COLUMNS

__all__ = [
    "EXCLUSION_LIST_COLUMNS",
    "STAGE_ORDER",
    "excluded_samples",
    "excluded_samples_caption",
    "excluded_samples_html",
    "excluded_samples_markdown",
    "write_excluded_samples",
]

# An experiment's exclusion columns plus the file a failure record points to.
EXCLUSION_LIST_COLUMNS = [*EXCLUDED_COLUMNS, "file"]
# Pipeline order (docs/layout.md), so a sample's first failure reads first. Unknown stages follow.
STAGE_ORDER = ("synthetic", "ingest", "face2d", "cloud3d", "features", "classify", "evaluate")
_NONE_EXCLUDED = "No sample was excluded: every sample passed every stage."


# ---------------------------------------------------------------------------------------------
# Excluded samples
# ---------------------------------------------------------------------------------------------


def excluded_samples(failures: pd.DataFrame) -> pd.DataFrame:
    """One row per failure record: sample, stage, reason, file (``dataset`` first when the
    records span several datasets), in pipeline stage order then sample order. Every record is
    kept: a sample that failed at two stages appears twice."""
    multi = "dataset" in failures.columns and failures["dataset"].nunique() > 1
    columns = (["dataset"] if multi else []) + EXCLUSION_LIST_COLUMNS
    table = failures.reindex(columns=columns).copy()
    table["file"] = table["file"].where(table["file"].notna(), "")
    rank = {stage: k for k, stage in enumerate(STAGE_ORDER)}
    order = pd.DataFrame(
        {
            "dataset": table["dataset"].astype(str) if multi else "",
            "stage_rank": table["stage"].map(lambda s: rank.get(s, len(rank))),
            "stage": table["stage"].astype(str),
            "sample": table["sample"].astype(str),
        },
        index=table.index,
    )
    order = order.sort_values(["dataset", "stage_rank", "stage", "sample"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def excluded_samples_markdown(failures: pd.DataFrame) -> str:
    """The excluded samples as a Markdown table (or a sentence saying none was excluded)."""
    table = excluded_samples(failures)
    if table.empty:
        return _NONE_EXCLUDED + "\n"
    lines = [
        f"{len(table)} failure record(s), {table['sample'].nunique()} sample(s) excluded:",
        "",
        "| " + " | ".join(table.columns) + " |",
        "| " + " | ".join(["---"] * len(table.columns)) + " |",
    ]
    for row in table.itertuples(index=False):
        cells = [markdown_cell(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def excluded_samples_html(failures: pd.DataFrame) -> str:
    """The excluded samples as an HTML table (text escaped), or a paragraph if none."""
    table = excluded_samples(failures)
    if table.empty:
        return f"<p>{html.escape(_NONE_EXCLUDED)}</p>\n"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>\n"
        for row in table.itertuples(index=False)
    )
    summary = f"{len(table)} failure record(s), {table['sample'].nunique()} sample(s) excluded"
    return (
        f'<table class="excluded-samples">\n<caption>{html.escape(summary)}</caption>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"
    )


def write_excluded_samples(failures: pd.DataFrame, stem: str | Path) -> dict[str, Path]:
    """Write ``{stem}.tsv``, ``{stem}.md`` and ``{stem}.html``; the TSV is the list the tables'
    headers point to."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = {suffix: stem.with_name(f"{stem.name}.{suffix}") for suffix in ("tsv", "md", "html")}
    excluded_samples(failures).to_csv(paths["tsv"], sep="\t", index=False, lineterminator="\n")
    paths["md"].write_text(excluded_samples_markdown(failures), encoding="utf-8")
    paths["html"].write_text(excluded_samples_html(failures), encoding="utf-8")
    return paths


def excluded_samples_caption(failures: pd.DataFrame, dataset: str) -> str:
    """RST caption of the excluded-samples list: how many, at which stages, and why it exists."""
    table = excluded_samples(failures)
    if table.empty:
        return rst_text(f"{dataset}: {_NONE_EXCLUDED}") + "\n"
    per_stage = table.groupby("stage", sort=False)["sample"].nunique()
    stages = ", ".join(f"{stage} {count}" for stage, count in per_stage.items())
    text = (
        f"Samples of {dataset} excluded from the tables: {table['sample'].nunique()} "
        f"(by stage: {stages}). A sample that fails a per-sample stage is recorded with the "
        "stage, the reason and the file, skipped downstream, and counted in every table's "
        "header; it is never dropped silently."
    )
    return rst_text(text) + "\n"
