"""The DSME-3D tables: Table 6 (LBP-TOP radii), Tables 7-10 (block grid x overlap, one per
classification x protocol) and Table 11 (2D/3D probability fusion, oracle and nested a).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from microexp.evaluate import paper
from microexp.evaluate.cells import (
    best_cells,
    best_of,
    check_unique_cells,
    grid_header_and_legend,
    header_lines,
    layout_then_extra,
    n_text,
    protocol_label_of,
    select_rows,
    table_subtitle,
    with_classification,
)
from microexp.evaluate.formatting import (
    MISSING,
    PaperTable,
    TableContext,
    is_nan,
    percent_pm_text,
    percent_text,
)
from microexp.evaluate.wording import (
    BLOCK_TABLE_NUMBERS,
    DESCRIPTOR_LABELS,
    DSME3D_CLASSIFICATIONS,
    DSME3D_RADII,
    METRIC_LABELS,
    describe_fusion,
    describe_metric,
    grid_label,
)
from microexp.features.blocks import DSME3D_GRIDS, DSME3D_OVERLAPS
from microexp.learn.scores import check_scores


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
    rows = select_rows(
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
    rows = with_classification(rows[rows["rx"] == rows["ry"]], schemes)
    check_unique_cells(rows, ["scheme", "protocol", "rx", "rt"], "Table 6")

    radii = layout_then_extra(
        DSME3D_RADII, ((int(r), int(t)) for r, t in zip(rows["rx"], rows["rt"], strict=True))
    )
    index = pd.MultiIndex.from_tuples(radii, names=["Rx=Ry", "Rt"])
    column_keys = [
        (label, protocol)
        for label in schemes
        for protocol in protocols
        if ((rows["classification"] == label) & (rows["protocol"] == protocol)).any()
    ]
    columns = pd.MultiIndex.from_tuples(
        [(label, protocol_label_of(rows, protocol)) for label, protocol in column_keys],
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
            [percent_pm_text(v, s) for v, s in zip(vr, sr, strict=True)]
            for vr, sr in zip(values.to_numpy(), stds.to_numpy(), strict=True)
        ],
        index=index,
        columns=columns,
    )
    bold, best = set(), []
    for j in range(values.shape[1]):
        for i, _ in best_cells(values.iloc[:, [j]].to_numpy()):
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
                    f"{figure.source}, {protocol_label_of(rows, protocol)}: {figure.describe()}; "
                    f"ours: {'; '.join(ours) or 'not run'}."
                )
    header = header_lines(
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
    metric_text = METRIC_LABELS[metric]
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
        subtitle=table_subtitle(
            context, ["LBP-TOP radii", f"{metric_text} ({aggregation})"], n_text(rows)
        ),
        meta={"metric": metric, "aggregation": aggregation, "dataset": context.dataset},
    )


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
    rows = select_rows(
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
    check_unique_cells(rows, ["grid_rows", "grid_cols", "overlap"], "block table")

    grid_list = layout_then_extra(
        grids, ((int(r), int(c)) for r, c in zip(rows["grid_rows"], rows["grid_cols"], strict=True))
    )
    overlap_list = layout_then_extra(overlaps, (int(o) for o in rows["overlap"]))
    index = pd.Index([grid_label(r, c) for r, c in grid_list], name="blocks")
    columns = pd.Index(overlap_list, name="overlap")
    values = pd.DataFrame(np.nan, index=index, columns=columns)
    for row in rows.itertuples(index=False):
        i = grid_list.index((int(row.grid_rows), int(row.grid_cols)))
        j = overlap_list.index(int(row.overlap))
        values.iloc[i, j] = 100 * row.mean
    cells = values.map(percent_text)
    best_positions, best = best_of(values)

    number = BLOCK_TABLE_NUMBERS.get((classification, protocol))
    table_name = f"Table {number}" if number else "Tables 7-10"
    comparison = paper.published_for_layout(context.layout, paper.DSME3D)
    dagger, paper_lines = set(), []
    label = protocol_label_of(rows, protocol)
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
    header, legend = grid_header_and_legend(
        context,
        rows,
        [
            describe_metric(metric, aggregation),
            "Rows: block grid (rows x columns of the face crop); columns: overlap of adjacent "
            "blocks in pixels (docs/methods.md#lbp-top).",
        ],
        comparison,
        paper_lines,
        ours,
        legend="bold: best cell (ties all marked); —: setting not run",
        dagger_legend="†: the paper's best block grid and overlap",
    )
    metric_text = METRIC_LABELS[metric]
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
        legend=legend,
        subtitle=table_subtitle(
            context, [f"{classification}, {label}", f"{metric_text} ({aggregation})"], n_text(rows)
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
    name = DESCRIPTOR_LABELS.get(descriptor, descriptor)
    if descriptor == "lbptop":
        return "LBP-TOP (2D alone)"
    return f"LBP-TOP + {name}" if fused else f"{name} (3D alone)"


def _alpha_range(median: float, low: float, high: float) -> str:
    if is_nan(median):
        return MISSING
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
    rows = select_rows(
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
    rows = with_classification(rows, schemes)
    for column in ("a", "a_min", "a_max"):
        if column not in rows.columns:
            rows[column] = np.nan
    keys = ["scheme", "protocol", "grid_rows", "grid_cols", "overlap", "descriptor", "fusion"]
    check_unique_cells(rows, [*keys, "metric"], "Table 11")

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
                            protocol_label_of(rows, protocol),
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
            percent_pm_text(record[0], record[1]),
            _f1(record[2]),
            _alpha_range(record[3], record[3], record[3]),
            percent_pm_text(record[4], record[5]),
            _f1(record[6]),
            _alpha_range(record[7], record[8], record[9]),
        ]
        if comparison.applies:
            row += [percent_text(record[10]), _f1(record[11])]
        cell_rows.append(row)
    cells = pd.DataFrame(cell_rows, index=index, columns=pd.MultiIndex.from_tuples(cell_columns))

    bold, best = set(), []
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        for value_column, cell_j in (("oracle accuracy (%)", 0), ("nested accuracy (%)", 3)):
            column = values[value_column].to_numpy()[members][:, None]
            for k, _ in best_cells(column):
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
                        f"DSME-3D Table 11, {label} {protocol_label_of(rows, protocol)} "
                        f"({setting}, oracle a): {text}."
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
    header = header_lines(
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
        subtitle=table_subtitle(
            context, ["2D/3D fusion", f"accuracy ({aggregation})"], n_text(rows)
        ),
        meta={"aggregation": aggregation, "f1_metric": f1_metric, "dataset": context.dataset},
    )


def _published_fusion_text(figure: paper.PublishedFigure) -> str:
    """ "LBP-TOP + SI 67.97 %", "LBP-TOP alone 65.76 % [derived: ...]"."""
    if figure.descriptor == "lbptop":
        name = "LBP-TOP alone"
    elif figure.descriptor:
        name = f"LBP-TOP + {DESCRIPTOR_LABELS.get(figure.descriptor, figure.descriptor)}"
    else:
        name = "fusion"
    note = f" [{figure.note}]" if figure.note else ""
    return f"{name} {figure.format_value()}{note}"


def _f1(value: float) -> str:
    return MISSING if is_nan(value) else f"{value:.4f}"


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
