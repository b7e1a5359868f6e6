"""Paper tables from hand-made scores (docs/tables.md; DSME-3D Tables 6-11, CAS(ME)^2 Table 5)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from microexp.evaluate import paper
from microexp.evaluate.tables import (
    TableContext,
    casme2_table5,
    dsme3d_block_table,
    dsme3d_block_tables,
    dsme3d_table6,
    dsme3d_table11,
    fusion_scores,
    read_table_tsv,
    setting_scores,
    to_latex,
    to_markdown,
    write_table,
)
from microexp.features.blocks import DSME3D_GRIDS, DSME3D_OVERLAPS
from microexp.learn.fusion import alpha_grid, oracle_fusion
from microexp.learn.metrics import summarize_scores
from microexp.learn.protocols import loso_splits

SCHEMES = {"objective": "objective", "non-objective": "emotion_dsme3d"}
SYNTHETIC = TableContext("synthetic", "synthetic", n_excluded=2, exclusion_list="excluded.tsv")
DSME3D = TableContext("dsme3d", "dsme3d", n_excluded=0)


def score_rows(kind: str, scheme: str, protocol: str, accuracy: float, **setting) -> list[dict]:
    """The six rows summarize_scores gives one setting (accuracy, uf1, uar x pooled, per_fold)."""
    kfold = protocol == "kfold"
    rows = []
    for metric, value in (("accuracy", accuracy), ("uf1", accuracy - 0.2), ("uar", accuracy - 0.1)):
        for aggregation, shift in (("pooled", 0.0), ("per_fold", -0.05)):
            rows.append(
                {
                    "dataset": "x",
                    "kind": kind,
                    "scheme": scheme,
                    "protocol": protocol,
                    "metric": metric,
                    "aggregation": aggregation,
                    "mean": value + shift,
                    "std_over_repeats": 0.01 if kfold else np.nan,
                    "mean_fold_std": 0.1 if aggregation == "per_fold" else np.nan,
                    "n_repeats": 10 if kfold else 1,
                    "n_samples": 60 if scheme == "objective" else 50,
                    "n_folds": 10 if kfold else 8,
                    **setting,
                }
            )
    return rows


def block_scores(best: tuple[int, int, int] = (4, 6, 10)) -> pd.DataFrame:
    """Every grid x overlap; accuracy 0.40 + a small unique ramp, and 0.90 at ``best``."""
    rows = []
    for scheme in SCHEMES.values():
        for protocol in ("loso", "kfold"):
            for k, (r, c) in enumerate(DSME3D_GRIDS):
                for j, o in enumerate(DSME3D_OVERLAPS):
                    value = 0.90 if (r, c, o) == best else 0.40 + 0.001 * k + 0.0001 * j
                    rows += score_rows(
                        "blocks", scheme, protocol, value, grid_rows=r, grid_cols=c, overlap=o
                    )
    return pd.DataFrame(rows)


def radius_scores() -> pd.DataFrame:
    rows = []
    for scheme in SCHEMES.values():
        for protocol in ("loso", "kfold"):
            for r in range(1, 5):
                for t in range(2, 5):
                    # best at (3, 2) under LOSO, (4, 4) under 10-fold
                    top = (3, 2) if protocol == "loso" else (4, 4)
                    value = 0.8 if (r, t) == top else 0.3 + 0.01 * r + 0.001 * t
                    rows += score_rows("radius", scheme, protocol, value, rx=r, ry=r, rt=t)
    return pd.DataFrame(rows)


def fusion_frame(grid=(7, 9, 30)) -> pd.DataFrame:
    rows = []
    for scheme in SCHEMES.values():
        for protocol in ("loso", "kfold"):
            common = {"grid_rows": grid[0], "grid_cols": grid[1], "overlap": grid[2]}
            base = score_rows("fusion", scheme, protocol, 0.5, descriptor="lbptop", fusion="none")
            rows += [{**r, **common, "a": np.nan, "a_min": np.nan, "a_max": np.nan} for r in base]
            for k, descriptor in enumerate(("si", "hk", "si+hk")):
                for fusion, gain, a, low, high in (
                    ("oracle", 0.05, 0.4, 0.4, 0.4),
                    ("nested", 0.02, 0.35, 0.2, 0.6),
                ):
                    value = 0.5 + gain + 0.01 * k
                    rows += [
                        {**r, **common, "a": a, "a_min": low, "a_max": high}
                        for r in score_rows(
                            "fusion", scheme, protocol, value, descriptor=descriptor, fusion=fusion
                        )
                    ]
    return pd.DataFrame(rows)


def casme2_scores() -> pd.DataFrame:
    rows = []
    for r in range(1, 5):
        for t in range(2, 5):
            for p in (4, 8):
                for mapping in ("basic", "u2"):
                    value = 0.95 if (r, t, p, mapping) == (2, 4, 8, "basic") else 0.5 + 0.01 * r
                    rows += score_rows(
                        "lbp_variant", "four", "lovo", value, rx=r, ry=r, rt=t, p=p, mapping=mapping
                    )
    return pd.DataFrame(rows)


# --- Tables 7-10 ---------------------------------------------------------------------------------


def test_block_table_has_the_paper_layout_and_marks_the_best_cell(tmp_path) -> None:
    table = dsme3d_block_table(block_scores(), SYNTHETIC, classification="objective")
    assert table.values.shape == (33, 7)
    assert table.values.index[0] == "3 x 3" and table.values.index[-1] == "8 x 10"
    assert list(table.values.index).count("3 x 10") == 1
    assert list(table.values.columns) == [0, 5, 10, 15, 20, 25, 30]
    assert table.best == (("4 x 6", 10),)
    i, j = list(table.values.index).index("4 x 6"), 2
    assert table.bold == frozenset({(i, j)})
    assert table.values.iloc[i, j] == pytest.approx(90.0)
    assert table.dagger == frozenset()  # synthetic: no published figure
    assert "Table 7" in table.title

    markdown = to_markdown(table)
    assert "| 4 x 6 | " in markdown and "**90.00**" in markdown
    assert markdown.count("**") == 2  # one bold cell
    assert "The published figure is for DSME-3D" in markdown
    assert "66.29" not in markdown
    assert "Samples excluded: 2" in markdown and "excluded.tsv" in markdown

    written = write_table(table, tmp_path)
    assert set(written) == {"tsv", "md", "tex"}
    back = read_table_tsv(written["tsv"])
    back.columns = back.columns.astype(int)
    assert back.shape == (33, 7)
    pd.testing.assert_frame_equal(back, table.values, check_names=False, rtol=1e-9)
    tex = written["tex"].read_text()
    # 33 rows and the notes do not fit a page as a float: a longtable that breaks across pages
    assert r"\textbf{90.00}" in tex and tex.count(r"\begin{longtable}") == 1
    assert tex.count(r"\end{longtable}") == 1 and r"\begin{table}" not in tex
    assert len(re.findall(r"^\d+ x \d+ &", tex, flags=re.MULTILINE)) == 33


def test_block_tables_are_tables_7_to_10_with_the_paper_best_on_dsme3d() -> None:
    tables = dsme3d_block_tables(block_scores(), DSME3D)
    assert [t.name.split("_")[1] for t in tables] == ["table7", "table8", "table9", "table10"]
    objective_loso = tables[0]
    header = "\n".join(objective_loso.header)
    assert "paper: 66.29 % (3 x 10, overlap 30)" in header
    assert "ours: 90.00 % (4 x 6, overlap 10)" in header
    dagger_row = list(objective_loso.values.index).index("3 x 10")
    assert objective_loso.dagger == frozenset({(dagger_row, 6)})
    assert "† **" not in to_markdown(objective_loso)
    assert "70.33 % (8 x 8, overlap 15)" in "\n".join(tables[3].header)
    assert "Samples used (predictions per run): non-objective 10-fold: 50" in tables[3].header[1]


def test_missing_cells_stay_empty_and_two_rows_per_cell_are_an_error() -> None:
    scores = block_scores()
    scores = scores[~((scores["grid_rows"] == 8) & (scores["overlap"] == 30))]
    table = dsme3d_block_table(scores, SYNTHETIC, classification="non-objective", protocol="kfold")
    assert table.values.loc["8 x 10", 30] != table.values.loc["8 x 10", 30]  # NaN
    assert table.cells.loc["8 x 10", 30] == "—"
    doubled = pd.concat([block_scores(), block_scores().assign(kernel="rbf")])
    with pytest.raises(ValueError, match="kernel"):
        dsme3d_block_table(doubled, SYNTHETIC)
    with pytest.raises(ValueError, match="lacks columns"):
        dsme3d_block_table(block_scores().drop(columns="overlap"), SYNTHETIC)


# --- Table 6 ------------------------------------------------------------------------------------


def test_table6_rows_radii_columns_classification_by_protocol(tmp_path) -> None:
    table = dsme3d_table6(radius_scores(), DSME3D)
    assert table.values.shape == (12, 4)
    assert list(table.values.index)[:4] == [(1, 2), (1, 3), (1, 4), (2, 2)]
    assert list(table.values.columns) == [
        ("objective", "LOSO"),
        ("objective", "10-fold"),
        ("non-objective", "LOSO"),
        ("non-objective", "10-fold"),
    ]
    rows = list(table.values.index)
    assert table.bold == frozenset(
        {
            (rows.index((3, 2)), 0),
            (rows.index((4, 4)), 1),
            (rows.index((3, 2)), 2),
            (rows.index((4, 4)), 3),
        }
    )
    # the paper's best radii: (1, 1, 4) under LOSO, (2, 2, 4) under 10-fold, both classifications
    assert table.dagger == frozenset(
        {
            (rows.index((1, 4)), 0),
            (rows.index((2, 4)), 1),
            (rows.index((1, 4)), 2),
            (rows.index((2, 4)), 3),
        }
    )
    assert "±" in table.cells.iloc[0, 1] and "±" not in table.cells.iloc[0, 0]
    written = write_table(table, tmp_path)
    back = read_table_tsv(written["tsv"])
    assert back.shape == (12, 4)
    assert list(back.columns) == [
        "objective / LOSO",
        "objective / 10-fold",
        "non-objective / LOSO",
        "non-objective / 10-fold",
    ]
    np.testing.assert_allclose(back.to_numpy(), table.values.to_numpy())
    assert r"\multicolumn{2}{c}{objective}" in written["tex"].read_text()
    synthetic = dsme3d_table6(radius_scores(), SYNTHETIC)
    assert synthetic.dagger == frozenset()
    assert any("published figure is for DSME-3D" in line for line in synthetic.header)


# --- Table 11 -----------------------------------------------------------------------------------


def test_table11_shows_oracle_and_nested_a_and_the_paper_on_dsme3d() -> None:
    table = dsme3d_table11(fusion_frame(), DSME3D)
    assert table.values.shape[0] == 2 * 2 * 4  # classification x protocol x descriptors
    descriptors = [key[3] for key in table.values.index[:4]]
    assert descriptors == ["LBP-TOP (2D alone)", "LBP-TOP + SI", "LBP-TOP + HK", "LBP-TOP + SI+HK"]
    top = [c[0] for c in table.cells.columns]
    assert top.count("oracle a") == 3 and top.count("nested a") == 3 and top.count("paper") == 2
    first_si = table.values.iloc[1]
    assert first_si["oracle accuracy (%)"] == pytest.approx(55.0)
    assert first_si["nested accuracy (%)"] == pytest.approx(52.0)
    assert first_si["oracle a"] == 0.4 and first_si["nested a min"] == 0.2
    assert table.cells.iloc[1][("nested a", "a")] == "0.20–0.60 (median 0.35)"
    assert table.cells.iloc[0][("oracle a", "a")] == "—"
    # objective LOSO at 7 x 9, overlap 30 is the paper's setting: its figures sit beside ours
    assert first_si["paper accuracy (%)"] == 67.97
    assert table.values.iloc[3]["paper F1"] == 0.4311
    assert table.values.iloc[0]["paper accuracy (%)"] == 65.76
    # objective 10-fold: the paper's setting is 7 x 10, so no paper cell on our 7 x 9 rows
    assert np.isnan(table.values.iloc[5]["paper accuracy (%)"])
    header = "\n".join(table.header)
    assert "oracle a:" in header and "nested a:" in header and "76.39" in header
    # bold: best accuracy of each block setting, per column (SI+HK here)
    assert (3, 0) in table.bold and (3, 3) in table.bold and (1, 0) not in table.bold

    synthetic = dsme3d_table11(fusion_frame(), SYNTHETIC)
    assert "paper accuracy (%)" not in synthetic.values.columns
    assert "paper" not in [c[0] for c in synthetic.cells.columns]
    assert "67.97" not in to_markdown(synthetic)


# --- CAS(ME)^2 Table 5 --------------------------------------------------------------------------


def test_casme2_table5_layout_and_published_columns_only_on_casme2(tmp_path) -> None:
    synthetic = casme2_table5(casme2_scores(), SYNTHETIC)
    assert synthetic.values.shape == (12, 4)
    assert [c[0] for c in synthetic.values.columns] == [
        "basic LBP",
        "basic LBP",
        "uniform pattern",
        "uniform pattern",
    ]
    assert [c[1] for c in synthetic.values.columns] == ["P = 4", "P = 8"] * 2
    rows = list(synthetic.values.index)
    assert synthetic.bold == frozenset({(rows.index((2, 4)), 1)})
    assert any("published figure is for CAS(ME)^2" in line for line in synthetic.header)

    real = casme2_table5(casme2_scores(), TableContext("casme_sq", "casme_sq"))
    assert real.values.shape == (12, 8)
    assert real.values.loc[(1, 3), ("paper uniform pattern", "P = 4")] == 75.66
    assert real.dagger == frozenset({(rows.index((1, 3)), 2)})
    assert any("paper: 75.66 % (Rx = Ry = 1, Rt = 3, P = 4, uniform)" in h for h in real.header)
    tex = to_latex(real)
    assert "CAS(ME)$^{2}$" in tex and "textasciicircum" not in tex
    assert r"$^\dagger$" in tex
    back = read_table_tsv(write_table(real, tmp_path)["tsv"])
    assert back.shape == (12, 8)


# --- published figures ---------------------------------------------------------------------------


def test_published_figures_apply_only_to_the_papers_layout() -> None:
    assert paper.published_for_layout("dsme3d").applies
    assert not paper.published_for_layout("dsme3d", paper.CASME2).applies
    assert paper.published_for_layout("casme_sq", paper.CASME2).applies
    for layout in ("synthetic", "casme3_a", "generic"):
        comparison = paper.published_for_layout(layout)
        assert not comparison.applies and comparison.figures == ()
        assert "published figure is for DSME-3D" in comparison.note
    best = paper.find_published(table="Table 7", best_only=True)[0]
    assert best.describe() == "paper: 66.29 % (3 x 10, overlap 30)"
    assert best.source == "DSME-3D Table 7"
    assert paper.casme2_table5_best().value == 75.66
    assert len(paper.CASME2_TABLE5) == 48
    gains = [f.value for f in paper.DSME3D_TABLE12_GAINS]
    assert gains == [2.08, 4.68, 2.94]


# --- building the scores table from predictions -------------------------------------------------


def predictions(noise: float, seed: int) -> pd.DataFrame:
    classes = ["neg", "pos", "sur"]
    subjects = [str(k) for k in range(5) for _ in range(8)]
    samples = [f"{s}_{k}" for k, s in enumerate(subjects)]
    labels = np.random.default_rng(99).choice(classes, len(samples)).tolist()  # shared truth
    split = loso_splits(samples, subjects, labels)
    rng = np.random.default_rng(seed)
    y = split["label"].map({c: k for k, c in enumerate(classes)}).to_numpy()
    p = 0.5 * np.eye(3)[y] + noise * rng.dirichlet(np.ones(3), len(y))
    p /= p.sum(axis=1, keepdims=True)
    table = split.copy()
    table["predicted"] = np.array(classes)[p.argmax(axis=1)]
    for k, c in enumerate(classes):
        table[f"p_{c}"] = p[:, k]
    return table


def test_setting_and_fusion_scores_follow_the_schema() -> None:
    two_d = predictions(1.5, 0)
    rows = setting_scores(
        two_d,
        kind="blocks",
        scheme="objective",
        protocol="loso",
        dataset="synthetic",
        grid_rows=5,
        grid_cols=5,
        overlap=0,
    )
    assert len(rows) == 6 and rows["n_folds"].iloc[0] == 5
    pd.testing.assert_frame_equal(
        rows[summarize_scores(two_d).columns], summarize_scores(two_d), check_dtype=False
    )
    assert rows[["kind", "grid_rows"]].iloc[0].tolist() == ["blocks", 5]
    oracle = oracle_fusion(two_d, predictions(1.5, 1), alpha_grid(0.1))
    fused = fusion_scores(
        oracle,
        scheme="objective",
        protocol="loso",
        descriptor="si",
        grid_rows=5,
        grid_cols=5,
        overlap=0,
    )
    assert set(fused["fusion"]) == {"oracle"}
    assert fused["a"].iloc[0] == fused["a_min"].iloc[0] == fused["a_max"].iloc[0]
    table = dsme3d_table11(
        pd.concat([rows.assign(kind="fusion", descriptor="lbptop", fusion="none"), fused]),
        SYNTHETIC,
    )
    assert table.values.shape[0] == 2


def test_header_says_how_the_svm_decided() -> None:
    """Tables 6-10 name the decision rule their scores carry (docs/methods.md#svm)."""
    scores = block_scores()
    no_column = dsme3d_block_table(scores, SYNTHETIC, classification="objective")
    assert not any(line.startswith("SVM decision") for line in no_column.header)
    voted = dsme3d_block_table(
        scores.assign(decision="vote"), SYNTHETIC, classification="objective"
    )
    assert [line for line in voted.header if line.startswith("SVM decision")] == [
        "SVM decision: LIBSVM's one-vs-one vote (svmpredict without -b 1; ties to the earlier "
        "class)."
    ]
    assert "one-vs-one vote" in to_markdown(voted)
    platt = dsme3d_table6(radius_scores().assign(decision="probability"), SYNTHETIC)
    assert sum("Platt-scaled" in line for line in platt.header) == 1
    assert r"\begin{table}[htbp]" in to_latex(platt)  # 12 rows: still a float
    with pytest.raises(ValueError, match="unknown SVM decision 'majority'"):
        dsme3d_block_table(
            scores.assign(decision="majority"), SYNTHETIC, classification="objective"
        )
