"""The evaluation figures as PNG files (docs/tables.md; docs/data-contracts.md).

- `write_block_heatmap`: accuracy over block grid x overlap (DSME-3D Tables 7-10), best marked;
- `write_radius_heatmap`: a radius table (DSME-3D Table 6, CAS(ME)^2 Table 5), one panel per
  column, Rx = Ry down and Rt across, best marked;
- `write_fusion_curves`: a metric against the fusion weight a (DSME-3D Eq. 13) for SI, HK,
  SI+HK, with the oracle a and the range of the nested a (docs/tables.md);
- `write_confusion_matrix`: counts and row-normalised rates;
- `write_fold_spread`: per-fold scores per setting (box + points) with the pooled figure, since
  per-fold and pooled scores differ (a known pitfall, docs/tables.md#published-figures).

Every title says dataset, protocol, metric and N. Figures are drawn on a bare
``matplotlib.figure.Figure`` with the Agg canvas, never through pyplot, so no global backend or
figure state is touched and parallel jobs cannot interfere. Jitter is seeded: same inputs, same
PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from microexp.evaluate.formatting import PaperTable
from microexp.evaluate.wording import DESCRIPTOR_LABELS, protocol_label
from microexp.learn.fusion import FusionResult
from microexp.learn.metrics import confusion_matrix, per_fold_scores, per_repeat_scores

__all__ = [
    "BEST_CELL_GID",
    "best_cell",
    "draw_heatmap",
    "figure_title",
    "write_block_heatmap",
    "write_confusion_matrix",
    "write_fold_spread",
    "write_fusion_curves",
    "write_radius_heatmap",
]

BEST_CELL_GID = "best-cell"  # the marker rectangle's gid, so tests can find what was drawn
_DPI = 120
_METRIC_NAMES = {"accuracy": "accuracy", "uf1": "UF1", "uar": "UAR"}


def figure_title(
    dataset: str,
    subject: str,
    protocol: str | None = None,
    metric: str | None = None,
    n_samples: int | str | None = None,
) -> str:
    """ "synthetic — objective, LOSO — accuracy — N = 64": what a reader needs at a glance."""
    parts = [dataset, subject]
    if protocol:
        parts.append(protocol)
    if metric:
        parts.append(metric)
    if n_samples is not None:
        parts.append(f"N = {n_samples}")
    return " — ".join(parts)


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=_DPI, format="png")
    return path


def best_cell(values: pd.DataFrame | np.ndarray) -> tuple[int, int] | None:
    """(row, column) position of the largest value, NaN ignored; the first in row-major order
    among ties (the tables mark every tied cell; a figure marks one). None if all NaN."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0 or np.all(np.isnan(array)):
        return None
    flat = int(np.nanargmax(array))
    return divmod(flat, array.shape[1])


def draw_heatmap(
    ax: Axes,
    values: pd.DataFrame,
    *,
    xlabel: str,
    ylabel: str,
    value_format: str = "{:.1f}",
    colorbar_label: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> tuple[int, int] | None:
    """Heatmap of ``values`` (rows down, columns across) with every cell's value written in it,
    not-run cells grey, and the best cell outlined (gid BEST_CELL_GID). Returns its position."""
    array = values.to_numpy(dtype=np.float64)
    masked = np.ma.masked_invalid(array)
    cmap = _colormap()
    image = ax.imshow(masked, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(array.shape[1]), [str(c) for c in values.columns])
    ax.set_yticks(range(array.shape[0]), [_label(i) for i in values.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    low, high = image.get_clim()
    fontsize = 7 if array.shape[0] > 15 else 9
    for i in range(array.shape[0]):
        for j in range(array.shape[1]):
            if np.isnan(array[i, j]):
                continue
            level = (array[i, j] - low) / (high - low) if high > low else 0.5
            ax.text(
                j,
                i,
                value_format.format(array[i, j]),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="black" if level > 0.6 else "white",
            )
    best = best_cell(array)
    if best is not None:
        i, j = best
        ax.add_patch(
            Rectangle(
                (j - 0.5, i - 0.5),
                1,
                1,
                fill=False,
                edgecolor="red",
                linewidth=2.5,
                gid=BEST_CELL_GID,
            )
        )
    if colorbar_label is not None:
        ax.figure.colorbar(image, ax=ax, label=colorbar_label, shrink=0.8)
    return best


def _colormap() -> Colormap:
    return colormaps["viridis"].with_extremes(bad="#dddddd")  # grey: settings not run


def _label(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def write_block_heatmap(table: PaperTable, path: str | Path, *, title: str | None = None) -> Path:
    """Accuracy (%) over block grid (rows) x overlap (columns) from a Tables 7-10 `PaperTable`
    (DSME-3D 4.3.1 (2)); the best cell outlined in red, the value in every cell."""
    values = table.values
    height = max(4.0, 0.28 * len(values) + 1.8)
    figure = Figure(figsize=(7.5, height), layout="constrained")
    ax = figure.add_subplot()
    best = draw_heatmap(
        ax,
        values,
        xlabel="overlap (pixels)",
        ylabel="block grid (rows x columns)",
        colorbar_label=f"{table.meta.get('metric', 'accuracy')} (%)",
    )
    heading = title or table.subtitle
    if best is not None:
        heading += f"\nbest {values.iloc[best]:.2f} % at {values.index[best[0]]}, overlap "
        heading += f"{values.columns[best[1]]} (red)"
    ax.set_title(heading, fontsize=10)
    return _save(figure, path)


def write_radius_heatmap(table: PaperTable, path: str | Path, *, title: str | None = None) -> Path:
    """A radius table (DSME-3D Table 6 or CAS(ME)^2 Table 5) as one heatmap per column:
    Rx = Ry down, Rt across, each panel's best outlined; one colour scale for all panels."""
    values = table.values
    if values.index.nlevels != 2:
        raise ValueError("a radius table has rows (Rx=Ry, Rt)")
    columns = list(values.columns)
    n = len(columns)
    ncols = min(n, 4)
    nrows = int(np.ceil(n / ncols))
    figure = Figure(figsize=(3.2 * ncols + 1.0, 3.0 * nrows + 1.0), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    finite = values.to_numpy(dtype=np.float64)
    vmin = float(np.nanmin(finite)) if np.isfinite(finite).any() else None
    vmax = float(np.nanmax(finite)) if np.isfinite(finite).any() else None
    names = values.index.names
    for k, column in enumerate(columns):
        ax = axes[k // ncols][k % ncols]
        panel = values[column].unstack(names[1])
        draw_heatmap(
            ax,
            panel,
            xlabel=str(names[1]),
            ylabel=str(names[0]),
            value_format="{:.2f}",
            vmin=vmin,
            vmax=vmax,
        )
        ax.set_title(_label(column), fontsize=9)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    figure.suptitle(
        (title or table.subtitle) + f"\n{table.meta.get('metric', 'accuracy')} (%), best "
        "of each panel in red",
        fontsize=10,
    )
    return _save(figure, path)


def write_fusion_curves(
    oracle: Mapping[str, FusionResult],
    path: str | Path,
    *,
    dataset: str,
    classification: str,
    protocol: str,
    nested: Mapping[str, FusionResult] | None = None,
    metric: str = "accuracy",
    n_folds: int | None = None,
) -> Path:
    """``metric`` against the fusion weight a (P = (1 - a) p2D + a p3D, DSME-3D Eq. 13) for each
    3D descriptor (keys: "si", "hk", "si+hk"); a = 0 is LBP-TOP alone, a = 1 the 3D descriptor
    alone. The curve is computed on the test predictions (so its maximum is the oracle a, a
    star); the nested a chosen per outer fold is drawn as a bar of its range with a tick per
    fold, below the curves. Band: ± std over repeats (10-fold)."""
    figure = Figure(figsize=(7.5, 5.0), layout="constrained")
    ax = figure.add_subplot()
    scale = 100.0 if metric == "accuracy" else 1.0
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    n_samples = None
    lows = []
    for k, (descriptor, result) in enumerate(oracle.items()):
        color = palette[k % len(palette)]
        curve = result.curve
        label = DESCRIPTOR_LABELS.get(descriptor, descriptor)
        y = scale * curve[metric].to_numpy()
        ax.plot(curve["a"], y, color=color, label=f"LBP-TOP + {label}")
        std = scale * curve[f"{metric}_std_over_repeats"].to_numpy()
        if np.isfinite(std).any():
            ax.fill_between(curve["a"], y - std, y + std, color=color, alpha=0.15, linewidth=0)
        a = float(result.alphas["a"].iloc[0])
        at = float(scale * curve.loc[np.isclose(curve["a"], a), metric].iloc[0])
        ax.plot([a], [at], marker="*", markersize=14, color=color, markeredgecolor="black")
        lows.append(float(np.nanmin(y)))
        n_samples = n_samples or int(result.predictions.groupby("repeat").size().iloc[0])
    if nested:
        bottom = min(lows) if lows else 0.0
        span = ax.get_ylim()[1] - ax.get_ylim()[0]
        for k, (descriptor, result) in enumerate(nested.items()):
            # the same colour as the descriptor's curve
            position = list(oracle).index(descriptor) if descriptor in oracle else k
            color = palette[position % len(palette)]
            alphas = result.alphas["a"].to_numpy(dtype=np.float64)
            level = bottom - (0.06 + 0.05 * k) * span
            ax.plot(
                [alphas.min(), alphas.max()], [level, level], color=color, linewidth=4, alpha=0.5
            )
            ax.plot(alphas, np.full_like(alphas, level), "|", color=color, markersize=10)
            ax.text(
                alphas.max() + 0.01,
                level,
                f"nested a ({DESCRIPTOR_LABELS.get(descriptor, descriptor)}): "
                f"{alphas.min():.2f}–{alphas.max():.2f}",
                va="center",
                fontsize=7,
                color=color,
            )
    ax.plot(
        [],
        [],
        marker="*",
        linestyle="none",
        color="grey",
        markeredgecolor="black",
        label="oracle a (best on the test predictions)",
    )
    if nested:
        ax.plot([], [], "|", color="grey", markersize=10, label="nested a per outer fold")
    ax.set_xlim(-0.02, 1.15 if nested else 1.02)
    ax.set_xlabel("fusion weight a   (0 = LBP-TOP alone, 1 = 3D alone)")
    unit = " (%)" if metric == "accuracy" else ""
    ax.set_ylabel(f"{_METRIC_NAMES.get(metric, metric)}{unit}, pooled over folds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(
        figure_title(
            dataset,
            f"{classification} 2D/3D fusion",
            protocol_label(protocol, n_folds),
            f"{_METRIC_NAMES.get(metric, metric)} (pooled)",
            n_samples,
        ),
        fontsize=10,
    )
    return _save(figure, path)


def write_confusion_matrix(
    predictions: pd.DataFrame,
    path: str | Path,
    *,
    dataset: str,
    classification: str,
    protocol: str,
    classes: Sequence[str] | None = None,
    n_folds: int | None = None,
) -> Path:
    """Counts (left) and row-normalised rates (right: recall on the diagonal) of out-of-fold
    predictions. With repeated k-fold every repeat's predictions are counted (metrics
    .confusion_matrix), which the title states."""
    if classes is None:
        probability = [c[2:] for c in predictions.columns if c.startswith("p_")]
        classes = probability or sorted(set(predictions["label"]) | set(predictions["predicted"]))
    classes = list(classes)
    counts = confusion_matrix(predictions["label"], predictions["predicted"], classes)
    rates = confusion_matrix(predictions["label"], predictions["predicted"], classes, "true")
    n_repeats = predictions["repeat"].nunique() if "repeat" in predictions else 1
    n_samples = len(predictions) // max(n_repeats, 1)
    size = 3.0 + 0.45 * len(classes)
    figure = Figure(figsize=(2 * size + 0.8, size + 0.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    for ax, table, fmt, what in (
        (
            left,
            counts,
            "{:.0f}",
            "counts" + (f" over {n_repeats} repeats" if n_repeats > 1 else ""),
        ),
        (right, 100 * rates, "{:.0f}", "row-normalised (% of true class)"),
    ):
        array = table.to_numpy(dtype=np.float64)
        image = ax.imshow(array, cmap="Blues", vmin=0)
        high = array.max() if array.size else 1.0
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(
                    j,
                    i,
                    fmt.format(array[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if high and array[i, j] > 0.6 * high else "black",
                )
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(what, fontsize=9)
        figure.colorbar(image, ax=ax, shrink=0.8)
    figure.suptitle(
        figure_title(
            dataset,
            f"{classification} confusion matrix",
            protocol_label(protocol, n_folds),
            None,
            n_samples,
        ),
        fontsize=10,
    )
    return _save(figure, path)


def write_fold_spread(
    predictions: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    dataset: str,
    classification: str,
    protocol: str,
    metric: str = "accuracy",
    n_folds: int | None = None,
    seed: int = 0,
) -> Path:
    """Per-fold ``metric`` of each setting (keys: setting labels) as a box with every fold as a
    point, and the pooled figure (MEGC convention, docs/methods.md#metrics; mean over repeats) as a
    red diamond: in LOSO a fold is one subject, and small folds scatter widely while the pooled
    figure does not."""
    labels = list(predictions)
    folds = [per_fold_scores(predictions[k])[metric].to_numpy(dtype=np.float64) for k in labels]
    pooled = [float(per_repeat_scores(predictions[k])[f"pooled_{metric}"].mean()) for k in labels]
    scale = 100.0 if metric == "accuracy" else 1.0
    figure = Figure(figsize=(max(5.0, 1.2 * len(labels) + 2.5), 4.8), layout="constrained")
    ax = figure.add_subplot()
    ax.boxplot([scale * f for f in folds], tick_labels=labels, showfliers=False, widths=0.5)
    rng = np.random.default_rng(seed)
    for k, values in enumerate(folds, start=1):
        jitter = rng.uniform(-0.15, 0.15, len(values))
        ax.plot(k + jitter, scale * values, "o", color="tab:blue", alpha=0.5, markersize=4)
    ax.plot(
        range(1, len(labels) + 1),
        [scale * p for p in pooled],
        "D",
        color="tab:red",
        markersize=8,
        label="pooled over folds (mean over repeats)",
    )
    ax.plot([], [], "o", color="tab:blue", alpha=0.5, label="one fold")
    unit = " (%)" if metric == "accuracy" else ""
    ax.set_ylabel(f"{_METRIC_NAMES.get(metric, metric)}{unit}")
    ax.tick_params(axis="x", labelrotation=30 if len(labels) > 4 else 0)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="best")
    n_samples = None
    if labels:
        first = predictions[labels[0]]
        n_samples = len(first) // max(first["repeat"].nunique(), 1)
    ax.set_title(
        figure_title(
            dataset,
            f"{classification} per-fold spread",
            protocol_label(protocol, n_folds),
            f"{_METRIC_NAMES.get(metric, metric)} per fold and pooled",
            n_samples,
        ),
        fontsize=10,
    )
    return _save(figure, path)
