"""Evaluation figures (PNG) and the report's building blocks (docs/tables.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from microexp.evaluate.captions import block_heatmap_caption, fusion_curves_caption, table_caption
from microexp.evaluate.figures import (
    BEST_CELL_GID,
    best_cell,
    draw_heatmap,
    write_block_heatmap,
    write_confusion_matrix,
    write_fold_spread,
    write_fusion_curves,
    write_radius_heatmap,
)
from microexp.evaluate.tables import TableContext, dsme3d_block_table, dsme3d_table6
from microexp.failures import FailureRecord, read_failures, write_failure
from microexp.learn.fusion import alpha_grid, nested_fusion, oracle_fusion
from microexp.learn.protocols import kfold_splits, loso_splits, nested_splits
from microexp.report.html import (
    excluded_samples,
    excluded_samples_caption,
    excluded_samples_html,
    excluded_samples_markdown,
    write_excluded_samples,
)

from .test_paper_tables import block_scores, radius_scores

CLASSES = ["neg", "pos", "sur"]
CONTEXT = TableContext("synthetic", "synthetic", n_excluded=0)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000  # a drawn figure, not an empty canvas


def marked_cell(ax) -> tuple[int, int]:
    (patch,) = [p for p in ax.patches if p.get_gid() == BEST_CELL_GID]
    x, y = patch.get_xy()
    return round(y + 0.5), round(x + 0.5)


# --- heatmaps -----------------------------------------------------------------------------------


def test_heatmap_marks_the_argmax_and_skips_missing_cells() -> None:
    rng = np.random.default_rng(3)
    values = pd.DataFrame(rng.uniform(30, 70, (33, 7)))
    values.iloc[5, 6] = np.nan
    values.iloc[17, 2] = 88.0
    ax = Figure().add_subplot()
    assert draw_heatmap(ax, values, xlabel="overlap", ylabel="blocks") == (17, 2)
    assert marked_cell(ax) == (17, 2)
    assert len(ax.texts) == 33 * 7 - 1  # no number in the missing cell
    assert best_cell(np.full((2, 2), np.nan)) is None


def test_block_heatmap_from_a_table_marks_its_best_cell(tmp_path) -> None:
    table = dsme3d_block_table(block_scores(best=(6, 9, 25)), CONTEXT)
    i, j = best_cell(table.values)
    assert (table.values.index[i], table.values.columns[j]) == table.best[0] == ("6 x 9", 25)
    ax = Figure().add_subplot()
    draw_heatmap(ax, table.values, xlabel="", ylabel="")
    assert marked_cell(ax) == (i, j)
    path = write_block_heatmap(table, tmp_path / "figures" / "blocks.png")
    assert_png(path)
    caption = block_heatmap_caption(table)
    assert "synthetic" in caption and "pooled" in caption and "N = 60" in caption


def test_radius_heatmap_has_one_panel_per_column(tmp_path) -> None:
    table = dsme3d_table6(radius_scores(), CONTEXT)
    assert_png(write_radius_heatmap(table, tmp_path / "radius.png"))
    caption = table_caption(table)
    assert caption.startswith("**Recognition rate of LBP-TOP at different radii")
    assert "LOSO: leave one subject out" in caption


# --- prediction figures --------------------------------------------------------------------------


def prediction_table(split: pd.DataFrame, noise: float, rng) -> pd.DataFrame:
    y = split["label"].map({c: k for k, c in enumerate(CLASSES)}).to_numpy()
    p = 0.5 * np.eye(3)[y] + noise * rng.dirichlet(np.ones(3), len(y))
    p /= p.sum(axis=1, keepdims=True)
    table = split.copy()
    table["predicted"] = np.array(CLASSES)[p.argmax(axis=1)]
    for k, c in enumerate(CLASSES):
        table[f"p_{c}"] = p[:, k]
    return table


@pytest.fixture(scope="module")
def loso_world():
    rng = np.random.default_rng(7)
    subjects = [str(k) for k in range(5) for _ in range(8)]
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    labels = rng.choice(CLASSES, len(samples)).tolist()
    outer = loso_splits(samples, subjects, labels)
    inner = nested_splits(outer, "loso", seed=0)
    return rng, samples, subjects, labels, outer, inner


def test_fusion_curves_confusion_and_spread_are_written(tmp_path, loso_world) -> None:
    rng, samples, subjects, labels, outer, inner = loso_world
    outer2d, inner2d = prediction_table(outer, 1.2, rng), prediction_table(inner, 1.2, rng)
    oracle, nested = {}, {}
    for descriptor in ("si", "hk", "si+hk"):
        outer3d, inner3d = prediction_table(outer, 1.5, rng), prediction_table(inner, 1.5, rng)
        oracle[descriptor] = oracle_fusion(outer2d, outer3d, alpha_grid(0.1))
        nested[descriptor] = nested_fusion(outer2d, outer3d, inner2d, inner3d, alpha_grid(0.1))
    kwargs = {"dataset": "synthetic", "classification": "objective", "protocol": "loso"}
    assert_png(write_fusion_curves(oracle, tmp_path / "fusion.png", nested=nested, **kwargs))
    assert_png(write_confusion_matrix(outer2d, tmp_path / "confusion.png", **kwargs))
    spread = {"LBP-TOP": outer2d, "+ SI (oracle a)": oracle["si"].predictions}
    assert_png(write_fold_spread(spread, tmp_path / "spread.png", **kwargs))
    kfold = kfold_splits(samples, subjects, labels, seed=1, n_splits=4, n_repeats=3)
    repeated = prediction_table(kfold, 1.2, rng)
    kwargs["protocol"] = "kfold"
    assert_png(write_confusion_matrix(repeated, tmp_path / "cm_k.png", n_folds=4, **kwargs))
    caption = fusion_curves_caption("synthetic", "objective", "loso", n_samples=40)
    assert "oracle a" in caption and "nested a" in caption and "pooled" in caption


# --- excluded samples ----------------------------------------------------------------------------


def test_excluded_samples_table_lists_every_failure(tmp_path) -> None:
    records = [
        FailureRecord("synthetic", "3_2", "face2d", "no face found in frame 0"),
        FailureRecord("synthetic", "1_4", "ingest", "apex '/' not a frame", "sheet.xls"),
        FailureRecord("synthetic", "3_2", "cloud3d", "upstream stage face2d failed"),
        FailureRecord("synthetic", "2_1", "cloud3d", "ICP fitness 0.1 | below 0.3"),
    ]
    for record in records:
        write_failure(tmp_path / "failures" / record.stage / f"{record.sample}.json", record)
    failures = read_failures(tmp_path / "failures")
    table = excluded_samples(failures)
    assert list(table.columns) == ["sample", "stage", "reason", "file"]
    assert len(table) == 4
    assert table["stage"].tolist() == ["ingest", "face2d", "cloud3d", "cloud3d"]
    assert set(zip(table["sample"], table["stage"], strict=True)) == {
        (r.sample, r.stage) for r in records
    }
    markdown = excluded_samples_markdown(failures)
    for record in records:
        assert record.sample in markdown
    assert "4 failure record(s), 3 sample(s) excluded" in markdown
    assert "0.1 \\| below" in markdown  # a '|' in a reason does not break the table
    html = excluded_samples_html(failures)
    assert html.count("<tr>") == 5 and "&#x27;/&#x27;" in html
    assert "by stage: ingest 1, face2d 1, cloud3d 2" in excluded_samples_caption(failures, "x")
    paths = write_excluded_samples(failures, tmp_path / "excluded")
    assert len(pd.read_csv(paths["tsv"], sep="\t")) == 4
    empty = read_failures(tmp_path / "nothing")
    assert "No sample was excluded" in excluded_samples_markdown(empty)
    assert "No sample was excluded" in excluded_samples_html(empty)
