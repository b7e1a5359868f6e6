"""CAS(ME)^2 Table 5: LBP-TOP radii x neighbours x mapping on the 36 ROIs, under LOVO."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from microexp.evaluate import paper
from microexp.evaluate.cells import (
    best_of,
    check_unique_cells,
    grid_header_and_legend,
    layout_then_extra,
    n_text,
    protocol_label_of,
    select_rows,
    table_subtitle,
)
from microexp.evaluate.formatting import PaperTable, TableContext, percent_text
from microexp.evaluate.wording import DSME3D_RADII, METRIC_LABELS, describe_metric
from microexp.learn.scores import check_scores

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
    rows = select_rows(
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
    check_unique_cells(rows, ["rx", "rt", "p", "mapping"], "CAS(ME)^2 Table 5")

    radii = layout_then_extra(
        DSME3D_RADII, ((int(r), int(t)) for r, t in zip(rows["rx"], rows["rt"], strict=True))
    )
    variants = layout_then_extra(
        _CASME2_COLUMNS, ((str(m), int(p)) for m, p in zip(rows["mapping"], rows["p"], strict=True))
    )
    index = pd.MultiIndex.from_tuples(radii, names=["Rx=Ry", "Rt"])
    labels = [(_MAPPING_LABELS.get(m, m), f"P = {p}") for m, p in variants]
    values = pd.DataFrame(np.nan, index=index, columns=pd.MultiIndex.from_tuples(labels))
    for row in rows.itertuples(index=False):
        i = radii.index((int(row.rx), int(row.rt)))
        j = variants.index((str(row.mapping), int(row.p)))
        values.iloc[i, j] = 100 * row.mean
    best_positions, best = best_of(values)
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
    cells = values.map(percent_text)
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
        cells = pd.concat([cells, published.map(percent_text)], axis=1)
        best_paper = paper.casme2_table5_best()
        paper_lines.append(f"{best_paper.source}: {best_paper.describe()}; ours: {ours}.")
    header, legend = grid_header_and_legend(
        context,
        rows,
        [
            describe_metric(metric, aggregation),
            "Setting: LBP-TOP on 36 landmark ROIs after temporal interpolation to 120 frames, "
            "polynomial SVM (gamma 0.1, degree 4, coef0 1) (CAS(ME)^2 section 3) unless the "
            "run's config says otherwise.",
        ],
        comparison,
        paper_lines,
        ours,
        legend="bold: best of our cells (ties all marked); —: setting not run",
        dagger_legend="†: the paper's best setting",
    )
    metric_text = METRIC_LABELS[metric]
    label = protocol_label_of(rows, protocol)
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
        legend=legend,
        subtitle=table_subtitle(
            context,
            [f"LBP-TOP variants, {label}", f"{metric_text} ({aggregation})"],
            n_text(rows),
        ),
        meta={"metric": metric, "aggregation": aggregation, "dataset": context.dataset},
    )
