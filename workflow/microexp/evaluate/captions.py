"""X"""

from __future__ import annotations

from microexp.evaluate.formatting import PaperTable
from microexp.evaluate.wording import (
    describe_fusion,
    describe_metric,
    describe_protocol,
    protocol_label,
)


def rst_text(text: str) -> str:
    """Escape the RST inline markup characters (a sample id like ``1_1_`` must stay text)."""
    for ch in ("\\", "*", "`", "|", "_"):
        text = text.replace(ch, "\\" + ch)
    return text


def rst_bullets(lines: list[str]) -> str:
    return "\n".join(f"- {rst_text(line)}" for line in lines)


def table_caption(table: PaperTable) -> str:
    """RST caption of a paper table: its title, then its header block (dataset, samples used and
    excluded, protocol, metric, published figure or why none) and legend as a list."""
    return f"**{rst_text(table.title)}**\n\n{rst_bullets([*table.header, *table.legend])}\n"


def block_heatmap_caption(table: PaperTable) -> str:
    """RST caption of the grid x overlap heatmap drawn from a Tables 7-10 table."""
    meta = table.meta
    lines = [
        f"{table.subtitle}. Each cell is the {meta.get('metric', 'accuracy')} (%) of LBP-TOP "
        "with that block grid (rows) and block overlap in pixels (columns); the best cell is "
        "outlined in red; grey cells were not run.",
        *table.header[1:],
    ]
    return f"**Block grid x overlap ({rst_text(table.title)})**\n\n{rst_bullets(lines)}\n"


def radius_heatmap_caption(table: PaperTable) -> str:
    """RST caption of the radius heatmap drawn from DSME-3D Table 6 or CAS(ME)^2 Table 5."""
    lines = [
        f"{table.subtitle}. One panel per table column; Rx = Ry down, Rt across; each panel's "
        "best cell is outlined in red; all panels share one colour scale.",
        *table.header[1:],
    ]
    return f"**LBP-TOP radii ({rst_text(table.title)})**\n\n{rst_bullets(lines)}\n"


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
    """RST caption of the fusion-curve figure (DSME-3D Eq. 13; docs/tables.md)."""
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
    return f"**2D/3D fusion curves**\n\n{rst_bullets(lines)}\n"


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
    return f"**Confusion matrix**\n\n{rst_bullets(lines)}\n"


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
    """RST caption of the per-fold spread figure (pooled vs per-fold, docs/tables.md)."""
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
    return f"**Per-fold spread**\n\n{rst_bullets(lines)}\n"
