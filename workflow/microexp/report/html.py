"""Building blocks of the report: the excluded-samples table and the captions (SPEC.md 6-8).

ARCHITECTURE.md principle 5: a bad sample is never silently dropped, so the report lists every
failure record (`microexp.failures.read_failures`) with its stage, reason and file. Captions are
reStructuredText, as Snakemake's ``--report`` reads them; each says what was computed and how:
protocol, metric, pooled vs per-fold figures, oracle vs nested fusion weight. The wording of
protocols, metrics and fusion weights is shared with the tables' header blocks
(`microexp.evaluate.tables`), so a table and its caption cannot disagree.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from microexp.evaluate import paper
from microexp.evaluate.tables import (
    PaperTable,
    describe_fusion,
    describe_metric,
    describe_protocol,
    protocol_label,
)

__all__ = [
    "EXCLUDED_COLUMNS",
    "STAGE_ORDER",
    "block_heatmap_caption",
    "confusion_matrix_caption",
    "excluded_samples",
    "excluded_samples_caption",
    "excluded_samples_html",
    "excluded_samples_markdown",
    "field_context_markdown",
    "fold_spread_caption",
    "fusion_curves_caption",
    "radius_heatmap_caption",
    "table_caption",
    "write_excluded_samples",
]

EXCLUDED_COLUMNS = ["sample", "stage", "reason", "file"]
# Pipeline order (SPEC.md 1), so a sample's first failure reads first. Unknown stages follow.
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
    columns = (["dataset"] if multi else []) + EXCLUDED_COLUMNS
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
        cells = [_md_cell(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(value: object) -> str:
    """Reasons quote file contents; keep them literal (no table breaks, no emphasis)."""
    text = str(value).replace("\n", " ")
    for ch in ("\\", "|", "*", "`"):
        text = text.replace(ch, "\\" + ch)
    return text


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
        return _rst(f"{dataset}: {_NONE_EXCLUDED}") + "\n"
    per_stage = table.groupby("stage", sort=False)["sample"].nunique()
    stages = ", ".join(f"{stage} {count}" for stage, count in per_stage.items())
    text = (
        f"Samples of {dataset} excluded from the tables: {table['sample'].nunique()} "
        f"(by stage: {stages}). A sample that fails a per-sample stage is recorded with the "
        "stage, the reason and the file, skipped downstream, and counted in every table's "
        "header; it is never dropped silently."
    )
    return _rst(text) + "\n"


# ---------------------------------------------------------------------------------------------
# Captions (reStructuredText)
# ---------------------------------------------------------------------------------------------


def _rst(text: str) -> str:
    """Escape the RST inline markup characters (a sample id like ``1_1_`` must stay text)."""
    for ch in ("\\", "*", "`", "|", "_"):
        text = text.replace(ch, "\\" + ch)
    return text


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {_rst(line)}" for line in lines)


def table_caption(table: PaperTable) -> str:
    """RST caption of a paper table: its title, then its header block (dataset, samples used and
    excluded, protocol, metric, published figure or why none) and legend as a list."""
    return f"**{_rst(table.title)}**\n\n{_bullets([*table.header, *table.legend])}\n"


def block_heatmap_caption(table: PaperTable) -> str:
    """RST caption of the grid x overlap heatmap drawn from a Tables 7-10 table."""
    meta = table.meta
    lines = [
        f"{table.subtitle}. Each cell is the {meta.get('metric', 'accuracy')} (%) of LBP-TOP "
        "with that block grid (rows) and block overlap in pixels (columns); the best cell is "
        "outlined in red; grey cells were not run.",
        *table.header[1:],
    ]
    return f"**Block grid x overlap ({_rst(table.title)})**\n\n{_bullets(lines)}\n"


def radius_heatmap_caption(table: PaperTable) -> str:
    """RST caption of the radius heatmap drawn from DSME-3D Table 6 or CAS(ME)^2 Table 5."""
    lines = [
        f"{table.subtitle}. One panel per table column; Rx = Ry down, Rt across; each panel's "
        "best cell is outlined in red; all panels share one colour scale.",
        *table.header[1:],
    ]
    return f"**LBP-TOP radii ({_rst(table.title)})**\n\n{_bullets(lines)}\n"


def fusion_curves_caption(
    dataset: str,
    classification: str,
    protocol: str,
    *,
    metric: str = "accuracy",
    n_samples: int | None = None,
    n_folds: int | None = None,
    n_repeats: int | None = None,
    nested: bool = True,
) -> str:
    """RST caption of the fusion-curve figure (DSME-3D Eq. 13; SPEC.md 6)."""
    n = f", N = {n_samples}" if n_samples is not None else ""
    lines = [
        f"{dataset}, {classification} classification, {protocol_label(protocol, n_folds)}{n}: "
        f"{metric} of the fused prediction P = (1 - a) p2D + a p3D against the weight a, for "
        "LBP-TOP fused with SI, HK and SI+HK. a = 0 is LBP-TOP alone, a = 1 the 3D descriptor "
        "alone. The curves are scored on the test predictions, so their maximum (star) is the "
        "oracle a.",
        describe_metric(metric, "pooled"),
        describe_protocol(protocol, n_folds, n_repeats),
        describe_fusion("oracle"),
    ]
    if nested:
        lines.append(
            describe_fusion("nested") + " Bars below the curves: the range of the nested a, "
            "one tick per outer fold."
        )
    return f"**2D/3D fusion curves**\n\n{_bullets(lines)}\n"


def confusion_matrix_caption(
    dataset: str,
    classification: str,
    protocol: str,
    *,
    setting: str = "",
    n_samples: int | None = None,
    n_folds: int | None = None,
    n_repeats: int = 1,
) -> str:
    """RST caption of a confusion matrix (counts and row-normalised)."""
    over = (
        f" Counts add up every repeat's predictions ({n_repeats} per sample)."
        if n_repeats > 1
        else " Each sample is counted once."
    )
    n = f", N = {n_samples}" if n_samples is not None else ""
    what = f" ({setting})" if setting else ""
    lines = [
        f"{dataset}, {classification} classification{what}, "
        f"{protocol_label(protocol, n_folds)}{n}: out-of-fold predictions, true class in rows, "
        "predicted class in columns; left counts, right each row divided by its class size "
        f"(the diagonal is the per-class recall, whose mean is the UAR).{over}",
        describe_protocol(protocol, n_folds, n_repeats),
    ]
    return f"**Confusion matrix**\n\n{_bullets(lines)}\n"


def fold_spread_caption(
    dataset: str,
    classification: str,
    protocol: str,
    *,
    metric: str = "accuracy",
    n_samples: int | None = None,
    n_folds: int | None = None,
    n_repeats: int | None = None,
) -> str:
    """RST caption of the per-fold spread figure (pooled vs per-fold, SPEC.md 6 and 8)."""
    n = f", N = {n_samples}" if n_samples is not None else ""
    lines = [
        f"{dataset}, {classification} classification, {protocol_label(protocol, n_folds)}{n}: "
        f"the {metric} of every fold on its own (points; box = quartiles) and the figure on the "
        "predictions pooled over all folds (red diamond). The tables report the pooled figure; "
        "per-fold means differ, most under LOSO where a fold is one subject's few samples.",
        describe_metric(metric, "per_fold"),
        describe_metric(metric, "pooled"),
        describe_protocol(protocol, n_folds, n_repeats),
    ]
    return f"**Per-fold spread**\n\n{_bullets(lines)}\n"


def field_context_markdown() -> str:
    """SPEC.md 8 as a Markdown section: reference figures from the field, for context only."""
    table = paper.reference_figures_table()
    lines = [
        "Reference figures from the field (SPEC.md 8), for context, not for tuning; they are "
        "for other databases and protocols than the tables above.",
        "",
        "| source | method | classes | protocol | UF1 | UAR | accuracy (%) |",
        "| --- | --- | --- | --- | --: | --: | --: |",
    ]
    for row in table.itertuples(index=False):
        numbers = [
            "" if pd.isna(v) else (f"{v:.2f}" if name == "accuracy" else f"{v:.4f}")
            for name, v in (("uf1", row.uf1), ("uar", row.uar), ("accuracy", row.accuracy))
        ]
        lines.append(
            f"| {row.source} | {row.method} | {row.classes} | {row.protocol} | "
            + " | ".join(numbers)
            + " |"
        )
    lines += [
        "",
        "Known pitfalls: choosing the best epoch or parameter on the test fold (the paper's "
        "fusion weight is such an oracle; the nested a is not), mixing per-fold and pooled F1, "
        "subject leakage between folds (stratified k-fold does not group by subject).",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Tables as HTML (the report shows the .html version of every table)
# ---------------------------------------------------------------------------------------------

_TABLE_STYLE = (
    "<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
    "td.label{text-align:left}ul{padding-left:1.2em}</style>"
)


def table_html(table: PaperTable) -> str:
    """A paper table as a stand-alone HTML page: title, header block (dataset, samples used and
    excluded, protocol, metric, published figure or why none), the cells (bold: our best;
    dagger: the paper's best setting) and the legend."""
    cells = table.cells
    names = [str(n) if n is not None else "" for n in cells.index.names]
    if isinstance(cells.columns, pd.MultiIndex):
        columns = [" / ".join(str(v) for v in key) for key in cells.columns]
    else:
        columns = [str(c) for c in cells.columns]
    rows = []
    for i, key in enumerate(cells.index):
        key = key if isinstance(key, tuple) else (key,)
        label = "".join(f'<td class="label">{html.escape(str(v))}</td>' for v in key)
        values = []
        for j, text in enumerate(cells.iloc[i]):
            cell = html.escape(str(text))
            if (i, j) in table.dagger:
                cell += " †"
            if (i, j) in table.bold:
                cell = f"<b>{cell}</b>"
            values.append(f"<td>{cell}</td>")
        rows.append(f"<tr>{label}{''.join(values)}</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in [*names, *columns])
    header = "".join(f"<li>{html.escape(line)}</li>" for line in table.header)
    legend = "".join(f"<li><i>{html.escape(line)}</i></li>" for line in table.legend)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(table.title)}'
        f"</title>{_TABLE_STYLE}</head><body><h3>{html.escape(table.title)}</h3>"
        f"<ul>{header}</ul><table><tr>{head}</tr>{''.join(rows)}</table><ul>{legend}</ul>"
        "</body></html>\n"
    )
