"""The table object (`PaperTable`) and its writers: TSV, Markdown, LaTeX and HTML.

Accuracies are printed in percent with two decimals, F1 with four; ``±`` is the standard deviation
over repeats (10-fold). Marks: bold = the best cell of our table (every cell tied with it),
dagger = the cell of the paper's published best setting (only on the paper's database).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

MISSING = "—"


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


@dataclass(frozen=True)
class TableContext:
    """What a table's header says beyond the scores: the dataset and its exclusions.

    ``n_excluded``: samples that failed a stage (docs/layout.md#failures), None if not
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


def index_frame(index: pd.Index) -> list[list[str]]:
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


def index_names(index: pd.Index) -> list[str]:
    return [str(n) if n is not None else "" for n in index.names]


def column_labels(columns: pd.Index) -> list[str]:
    if isinstance(columns, pd.MultiIndex):
        return [" / ".join(str(v) for v in key) for key in columns]
    return [str(c) for c in columns]


def to_markdown(table: PaperTable) -> str:
    """GitHub Markdown: title, header block as a list, the table (bold best, † paper's best)."""
    lines = [f"### {table.title}", ""]
    lines += [f"- {markdown_cell(line)}" for line in table.header]
    lines.append("")
    head = index_names(table.cells.index) + column_labels(table.cells.columns)
    lines.append("| " + " | ".join(markdown_cell(h) for h in head) + " |")
    n_index = table.cells.index.nlevels
    aligns = [":--"] * n_index + ["--:"] * table.cells.shape[1]
    lines.append("| " + " | ".join(aligns) + " |")
    labels = index_frame(table.cells.index)
    for i, label in enumerate(labels):
        row = [markdown_cell(v) for v in label]
        for j, text in enumerate(table.cells.iloc[i]):
            cell = markdown_cell(str(text))
            if (i, j) in table.dagger:
                cell += " †"
            if (i, j) in table.bold and text != MISSING:
                cell = f"**{cell}**"
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    if table.legend:
        lines.append("")
        lines += [f"_{markdown_cell(line)}_  " for line in table.legend]
    return "\n".join(lines) + "\n"


def markdown_cell(value: object) -> str:
    """Text as one Markdown table cell, kept literal: no line or cell breaks, no emphasis (reasons
    and labels quote file names and sample ids)."""
    text = str(value).replace("\n", " ")
    for ch in ("\\", "|", "*", "`"):
        text = text.replace(ch, "\\" + ch)
    return text


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
    "≥": r"$\geq$",
    "×": r"$\times$",
    # symbols pdflatex's UTF-8 input does not know (it stops with "Unicode character ... not
    # set up for use with LaTeX"): they can come with names from a configuration or a sheet
    "−": r"$-$",
    "≈": r"$\approx$",
    "≠": r"$\neq$",
    "∞": r"$\infty$",
    "∈": r"$\in$",
    **{
        letter: rf"$\{name}$"
        for letter, name in zip(
            "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ",
            "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho "
            "sigma tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi "
            "Omega".split(),
            strict=True,
        )
    },
}


def latex_text(text: Any) -> str:
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


# A table with more rows than this does not fit a page as a float with its notes (Tables 7-10:
# 33 grids); it becomes a longtable that breaks across pages.
LONGTABLE_ROWS = 24


def to_latex(table: PaperTable) -> str:
    """A booktabs ``table`` float (needs \\usepackage{booktabs}), or for tables of more than
    ``LONGTABLE_ROWS`` rows a ``longtable`` (also \\usepackage{longtable}) that breaks across
    pages; two-level column headers become \\multicolumn groups. Written by hand: pandas'
    to_latex needs jinja2, which is not a declared dependency."""
    cells = table.cells
    n_index = cells.index.nlevels
    spec = "l" * n_index + "r" * cells.shape[1]
    long = len(cells) > LONGTABLE_ROWS
    caption = [rf"\caption{{{latex_text(table.title)}}}", rf"\label{{tab:{table.name}}}"]
    lines = ["% " + table.title, *[f"% {line}" for line in table.header]]
    if long:
        lines += [r"\begingroup\small", rf"\begin{{longtable}}{{{spec}}}"]
        lines += [caption[0], caption[1] + r" \\", r"\toprule"]
    else:
        lines += [r"\begin{table}[htbp]", r"\centering", *caption, r"\small"]
        lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    names = [latex_text(n) for n in index_names(cells.index)]
    if isinstance(cells.columns, pd.MultiIndex) and cells.columns.nlevels == 2:
        groups: list[tuple[str, int]] = []
        for top, _ in cells.columns:
            if groups and groups[-1][0] == top:
                groups[-1] = (top, groups[-1][1] + 1)
            else:
                groups.append((top, 1))
        top_row = [""] * n_index + [
            rf"\multicolumn{{{span}}}{{c}}{{{latex_text(top)}}}" for top, span in groups
        ]
        lines.append(" & ".join(top_row) + r" \\")
        start = n_index + 1
        rules = []
        for _, span in groups:
            rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        lines.append(" ".join(rules))
        lines.append(" & ".join(names + [latex_text(c[1]) for c in cells.columns]) + r" \\")
    else:
        lines.append(
            " & ".join(names + [latex_text(c) for c in column_labels(cells.columns)]) + r" \\"
        )
    lines.append(r"\midrule")
    for i, label in enumerate(index_frame(cells.index)):
        row = [latex_text(v) for v in label]
        for j, text in enumerate(cells.iloc[i]):
            cell = latex_text(text)
            if (i, j) in table.bold and text != MISSING:
                cell = rf"\textbf{{{cell}}}"
            if (i, j) in table.dagger:
                cell += r"$^\dagger$"
            row.append(cell)
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{longtable}" if long else r"\end{tabular}"]
    notes = [*table.header, *table.legend]
    if notes:
        lines.append(r"\par\smallskip\footnotesize")
        lines.append(" \\\\\n".join(latex_text(n) for n in notes))
    lines.append(r"\par\endgroup" if long else r"\end{table}")
    return "\n".join(lines) + "\n"


def to_tsv(table: PaperTable) -> str:
    """The numbers, under '#' comment lines (title, header block, legend, index columns).

    Read back with `read_table_tsv`. Numbers keep full precision; missing cells are empty.
    """
    values = table.values.copy()
    if isinstance(values.columns, pd.MultiIndex):
        values.columns = column_labels(values.columns)
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


def percent_text(value: float) -> str:
    return MISSING if is_nan(value) else f"{value:.2f}"


def percent_pm_text(value: float, std: float) -> str:
    if is_nan(value):
        return MISSING
    return f"{value:.2f} ± {std:.2f}" if not is_nan(std) else f"{value:.2f}"


TABLE_STYLE = (
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
        f"</title>{TABLE_STYLE}</head><body><h3>{html.escape(table.title)}</h3>"
        f"<ul>{header}</ul><table><tr>{head}</tr>{''.join(rows)}</table><ul>{legend}</ul>"
        "</body></html>\n"
    )
