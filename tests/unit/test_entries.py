"""Config entries of the classify / fusion rules, the tables they plan, and the files they
write, checked against predictions recomputed by hand (microexp.learn.entries,
microexp.evaluate.plan, microexp.report.{captions,exclusions})."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.utils import update_config

from microexp.evaluate import tables
from microexp.evaluate.formatting import table_html
from microexp.evaluate.plan import (
    TablePlan,
    build_table,
    planned_tables,
    read_scores,
    table_context,
    write_fusion_figures,
    write_table_figures,
    write_table_files,
)
from microexp.learn.entries import (
    FusionEntry,
    classify_chunks,
    classify_entries,
    feature_settings,
    fusion_entries,
    lbptop_batches,
    merge_entry_chunks,
    run_classify_entry,
    run_fusion_entry,
)
from microexp.report.captions import Captions, join_captioned_figures, write_captions
from microexp.report.exclusions import all_exclusions
from tests.unit.test_experiments import (  # noqa: F401  (the module-scoped toy results)
    CURV,
    DATASET,
    FACE2D_FAILED,
    LBP,
    SEED,
    inputs_of,
    results,
)

ROOT = Path(__file__).resolve().parents[2]


def shipped(*overlays: str) -> dict:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for overlay in overlays:
        update_config(config, yaml.safe_load((ROOT / overlay).read_text()))
    return config


def toy_config() -> dict:
    common = {
        "dataset": DATASET,
        "min_class_size": 3,
        "feature": {"lbptop": {"setting": LBP, "grid": [2, 2], "overlap": 0}},
        "svm": {"kernel": "linear", "C": 1.0},
        "protocols": ["loso", "kfold"],
        "kfold": {"n_splits": 3, "n_repeats": 2},
    }
    return {
        "seed": SEED,
        "datasets": {DATASET: {"layout": "generic"}},
        "features": {"lbptop": [], "curvature": []},
        "experiments": {
            "blocks": {
                **common,
                "kind": "blocks",
                "scheme": "objective",
                "sweep": {"grid": [[1, 1], [2, 2]], "overlap": [0, 4]},
            }
        },
        "fusion": {
            "t11": {
                "dataset": DATASET,
                "schemes": ["objective"],
                "min_class_size": 3,
                "protocols": ["loso"],
                "lbptop": {"setting": LBP, "grid": [2, 2], "overlap": 0},
                "svm_2d": {"kernel": "linear"},
                "curvature": {"setting": CURV, "descriptors": ["si", "hk"]},
                "svm_3d": {"kernel": "linear"},
                "alpha_step": 0.25,
                "inner_n_splits": 3,
            }
        },
    }


# ------------------------------------------------------------------ what the config plans


def test_default_config_plans_tables_6_to_11_and_computes_every_radius():
    config = shipped()
    entries = classify_entries(config)
    assert [len(entries[e]) for e in ("radius", "blocks_objective", "blocks_emotion")] == [
        6,
        231,
        231,
    ]
    fusion = fusion_entries(config)
    plans = planned_tables(entries, fusion)["synthetic"]
    assert sorted(plans) == sorted(
        [
            "dsme3d_table6_radius",
            "dsme3d_table7_blocks_objective_loso",
            "dsme3d_table8_blocks_objective_kfold",
            "dsme3d_table9_blocks_non_objective_loso",
            "dsme3d_table10_blocks_non_objective_kfold",
            "dsme3d_table11_fusion",
        ]
    )
    assert plans["dsme3d_table9_blocks_non_objective_loso"].schemes == ("emotion_dsme3d",)
    lbptop, curvature = feature_settings(config)
    # the radius sweep's settings are computed although `features.lbptop` lists one
    assert {"r1-1-2_p8-8-8_u2_nearest", "r1-1-3_p8-8-8_u2_nearest"} <= set(lbptop)
    assert list(curvature) == ["rc6_rs15_eh0.01_ek0.0001_d5_m20"]


def test_a_sweeps_own_lbptop_settings_form_one_batch_per_sample():
    assert lbptop_batches(shipped()) == {
        "radius": ["r1-1-2_p8-8-8_u2_nearest", "r1-1-3_p8-8-8_u2_nearest"]
    }
    # r1-1-4 is listed under features: and read by the block sweeps, so it stays a job of its
    # own; the paper preset's other 11 radii are the radius entry's alone
    paper = lbptop_batches(shipped("presets/paper.yaml"))
    assert len(paper["radius"]) == 11 and "r1-1-4_p8-8-8_u2_nearest" not in paper["radius"]
    tiny = lbptop_batches(shipped("tests/integration/config.yaml"))
    assert tiny == {
        "casme2_lbp": ["r1-1-2_p4-4-4_u2_nearest_tim10", "r1-1-2_p8-8-8_u2_nearest_tim10"]
    }


def test_paper_preset_and_integration_config_parse():
    paper = shipped("presets/paper.yaml")
    assert len(classify_entries(paper)["radius"]) == 2 * 12  # Rx = Ry 1..4 x Rt 2..4
    tiny = shipped("tests/integration/config.yaml")
    assert len(classify_entries(tiny)["blocks_objective"]) == 4
    assert len(classify_entries(tiny)["casme2_lbp"]) == 2
    assert "casme2_table5_objective_lovo" in planned_tables(classify_entries(tiny), {})["synthetic"]
    assert fusion_entries(tiny)["table11"].alphas == (0.0, 0.25, 0.5, 0.75, 1.0)


def test_casme_sq_table5_preset_plans_the_table_on_a_casme_sq_data_set():
    config = shipped("presets/casme_sq_table5.yaml")
    config["datasets"]["casme_sq"] = {"layout": "casme_sq", "root": "/data/CASME_sq"}
    entries = classify_entries(config)
    assert len(entries["casme_sq_table5"]) == 12 * 2 * 2
    plans = planned_tables(entries, {})["casme_sq"]
    assert list(plans) == ["casme2_table5_casme3_four_class_lovo"]
    # 48 ROI settings, each a TIM-120 code pass, computed in one job per sample
    assert len(lbptop_batches(config)["casme_sq_table5"]) == 48


def test_entry_errors_name_the_entry_and_the_problem():
    config = toy_config()
    broken = copy.deepcopy(config)
    broken["fusion"]["t11"]["svm2d"] = {}
    with pytest.raises(ValueError, match=r"fusion 't11': unknown keys \['svm2d'\]"):
        fusion_entries(broken)
    broken = copy.deepcopy(config)
    broken["experiments"]["blocks"]["dataset"] = "casme3"
    with pytest.raises(ValueError, match="dataset 'casme3' is not under `datasets:`"):
        classify_entries(broken)
    broken = copy.deepcopy(config)
    broken["experiments"]["blocks__g1x1_o0"] = {
        k: v for k, v in config["experiments"]["blocks"].items() if k != "sweep"
    }
    with pytest.raises(ValueError, match="comes from entries"):
        classify_entries(broken)
    broken = copy.deepcopy(config)
    broken["fusion"]["t11"]["curvature"]["descriptors"] = ["hk", "curvedness"]
    with pytest.raises(ValueError, match="descriptors must be from"):
        fusion_entries(broken)


# ------------------------------------------------------------------ running the entries


def prediction_path(root, dataset, experiment, protocol) -> Path:
    """Where the rules put an experiment's predictions (docs/data-contracts.md)."""
    return Path(root) / dataset / "predictions" / experiment / f"{protocol}.parquet"


def prediction_files_of(root, experiments) -> dict:
    return {
        e.name: {p: prediction_path(root, DATASET, e.name, p) for p in e.protocols}
        for e in experiments
    }


@pytest.fixture(scope="module")
def classified(results, tmp_path_factory):  # noqa: F811
    config = toy_config()
    (experiments,) = classify_entries(config).values()
    out = tmp_path_factory.mktemp("scores")
    scores = run_classify_entry(
        "blocks",
        experiments,
        **inputs_of(results),
        prediction_files=prediction_files_of(results, experiments),
        scores_path=out / "blocks.tsv",
        excluded_path=out / "blocks.excluded.tsv",
        summary_path=out / "blocks.json",
    )
    return config, experiments, out, scores


def test_predictions_are_written_where_documented_one_per_sample_and_repeat(
    results,  # noqa: F811
    classified,
):
    _, experiments, _, _ = classified
    for spec in experiments:
        for protocol, repeats in (("loso", 1), ("kfold", 2)):
            table = pd.read_parquet(prediction_path(results, DATASET, spec.name, protocol))
            assert table.groupby("repeat")["sample"].apply(lambda s: s.is_unique).all()
            assert table["repeat"].nunique() == repeats
            assert FACE2D_FAILED not in set(table["sample"])
            assert not table["sample"].str.endswith("_m").any()  # macro: not micro
            if protocol == "loso":  # one subject per test fold, each subject tested once
                assert (table.groupby("fold")["subject"].nunique() == 1).all()
                assert table.groupby("subject")["fold"].nunique().eq(1).all()


def test_block_table_cells_are_the_pooled_accuracy_of_the_written_predictions(
    results,  # noqa: F811
    classified,
):
    config, experiments, out, _ = classified
    scores = read_scores([out / "blocks.tsv"])
    (plans,) = planned_tables(classify_entries(config), {}).values()
    plan = plans["dsme3d_table7_blocks_objective_loso"]
    context = table_context(DATASET, "generic", pd.DataFrame(columns=["sample"]))
    table = build_table(plan, scores, context)
    for spec in experiments:
        table_predictions = pd.read_parquet(prediction_path(results, DATASET, spec.name, "loso"))
        by_hand = 100 * (table_predictions["label"] == table_predictions["predicted"]).mean()
        rows, cols = spec.feature.grid
        cell = table.values.loc[tables.grid_label(rows, cols), spec.feature.overlap]
        assert cell == pytest.approx(by_hand)
    excluded = pd.read_csv(out / "blocks.excluded.tsv", sep="\t")
    assert {"face2d", "expression_type"} <= set(excluded["stage"])
    written = write_table_files(table, out / "t7")
    assert sorted(p.suffix for p in written.values()) == [".html", ".md", ".tex", ".tsv"]
    captions = write_table_figures(
        plan, table, scores, prediction_files_of(results, experiments), out / "figures"
    )
    assert sorted(captions) == ["confusion", "heatmap"]
    assert (out / "figures" / "heatmap.png").stat().st_size > 10_000


def test_fusion_entry_reports_oracle_and_nested_a_and_its_end_points(
    results,  # noqa: F811
    tmp_path,
):
    config = toy_config()
    entry = fusion_entries(config)["t11"]
    assert isinstance(entry, FusionEntry)
    scores, runs = run_fusion_entry(
        entry,
        **inputs_of(results),
        out_dir=tmp_path / "runs",
        scores_path=tmp_path / "t11.tsv",
        excluded_path=tmp_path / "t11.excluded.tsv",
        summary_path=tmp_path / "t11.json",
    )
    pooled = scores[(scores["metric"] == "accuracy") & (scores["aggregation"] == "pooled")]
    assert set(zip(pooled["descriptor"], pooled["fusion"], strict=True)) == {
        ("lbptop", "none"),
        ("si", "none"),
        ("hk", "none"),
        ("si", "oracle"),
        ("si", "nested"),
        ("hk", "oracle"),
        ("hk", "nested"),
    }
    folder = tmp_path / "runs" / "objective" / "loso"
    lbptop = pd.read_parquet(folder / "lbptop.parquet")
    curve = pd.read_csv(folder / "si.curve.tsv", sep="\t")
    # a = 0 is LBP-TOP alone, a = 1 the 3D descriptor alone (Eq. 13)
    assert curve.loc[curve["a"] == 0, "accuracy"].item() == pytest.approx(
        (lbptop["label"] == lbptop["predicted"]).mean()
    )
    si = pd.read_parquet(folder / "si.parquet")
    assert curve.loc[curve["a"] == 1, "accuracy"].item() == pytest.approx(
        (si["label"] == si["predicted"]).mean()
    )
    alphas = pd.read_csv(folder / "si.alphas.tsv", sep="\t")
    n_folds = lbptop["fold"].nunique()
    assert (alphas["fusion"] == "nested").sum() == n_folds  # one a per outer fold
    oracle_a = alphas.loc[alphas["fusion"] == "oracle", "a"].unique()
    best = curve["accuracy"].max()
    assert len(oracle_a) == 1
    assert curve.loc[curve["a"] == oracle_a[0], "accuracy"].item() == pytest.approx(best)
    context = table_context(DATASET, "generic", pd.DataFrame(columns=["sample"]))
    (plan,) = planned_tables({}, {"t11": entry})[DATASET].values()
    table = build_table(plan, read_scores([tmp_path / "t11.tsv"]), context)
    assert {"oracle a / a", "nested a / a"} <= {" / ".join(c) for c in table.cells.columns}
    captions = write_fusion_figures(entry, runs, tmp_path / "figures")
    assert sorted(captions) == [
        "confusion_objective_loso",
        "curves_objective_loso",
        "spread_objective_loso",
    ]


def _run_t11(entry, results_dir, folder, parts=None):
    """The toy fusion entry run into ``folder`` (its runs, scores, excluded and summary)."""
    return run_fusion_entry(
        entry,
        **inputs_of(results_dir),
        out_dir=folder / "runs",
        scores_path=folder / "t11.tsv",
        excluded_path=folder / "t11.excluded.tsv",
        summary_path=folder / "t11.json",
        parts=parts,
    )


def test_fusion_entry_computes_lbptop_once_and_writes_what_separate_runs_write(
    results,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """LBP-TOP's outer and inner predictions and its feature matrix are shared by the
    descriptors it is fused with (same samples): every file is byte for byte what running each
    descriptor's fusion on its own writes, and the LBP-TOP SVMs run once, not once per
    descriptor."""
    import uuid

    from microexp.learn import experiments, fusion

    entry = fusion_entries(toy_config())["t11"]
    calls = []
    original = fusion.cross_validate_svm

    def counted(features, *args, **kwargs):
        calls.append(features.shape[1])
        return original(features, *args, **kwargs)

    monkeypatch.setattr(fusion, "cross_validate_svm", counted)

    def run(folder):
        return _run_t11(entry, results, folder)

    run(tmp_path / "shared")
    shared_calls = list(calls)
    calls.clear()
    with monkeypatch.context() as alone:
        alone.setattr(fusion, "_prediction_key", lambda *args: uuid.uuid4().hex)
        alone.setattr(
            experiments,
            "_cached_matrices",
            lambda files, samples, features, cache: experiments.feature_matrices(
                files, samples, features
            ),
        )
        run(tmp_path / "alone")
    # one scheme, one protocol, two descriptors: 2D outer + inner once, 3D twice each
    assert len(shared_calls) == 6 and len(calls) == 8
    written = sorted(p.relative_to(tmp_path / "alone") for p in (tmp_path / "alone").rglob("*"))
    # lbptop, si, hk and each descriptor's oracle and nested fusion
    assert len([p for p in written if p.suffix == ".parquet"]) == 7
    for path in written:
        if (tmp_path / "alone" / path).is_file():
            assert (tmp_path / "shared" / path).read_bytes() == (
                tmp_path / "alone" / path
            ).read_bytes(), path


def test_fusion_parts_joined_are_the_whole_entry_byte_for_byte(
    results,  # noqa: F811
    tmp_path,
):
    """The workflow runs one job per (scheme, protocol) of a fusion entry and joins their files
    (rules fusion_<entry>_<scheme>_<protocol> and fusion_<entry>): the joined scores, excluded
    samples and summary are byte for byte those of one run over the whole entry, and so is every
    run file."""
    config = toy_config()
    config["fusion"]["t11"]["protocols"] = ["loso", "kfold"]
    config["fusion"]["t11"]["kfold"] = {"n_splits": 3, "n_repeats": 2}
    entry = fusion_entries(config)["t11"]
    assert entry.parts() == [("objective", "loso"), ("objective", "kfold")]
    assert entry.part_jobs() == [entry.parts()]  # one job unless split_jobs
    config["fusion"]["t11"]["split_jobs"] = True
    assert fusion_entries(config)["t11"].part_jobs() == [[p] for p in entry.parts()]

    def run(folder, parts=None):
        return _run_t11(entry, results, folder, parts)

    _, whole_runs = run(tmp_path / "whole")
    chunks = []
    for k, part in enumerate(entry.parts()):
        _, runs = run(tmp_path / "parts" / str(k), parts=[part])
        assert list(runs) == [part]
        chunks.append(tmp_path / "parts" / str(k))
    assert list(whole_runs) == entry.parts()
    merge_entry_chunks(
        [c / "t11.tsv" for c in chunks],
        [c / "t11.excluded.tsv" for c in chunks],
        [c / "t11.json" for c in chunks],
        scores_path=tmp_path / "joined.tsv",
        excluded_path=tmp_path / "joined.excluded.tsv",
        summary_path=tmp_path / "joined.json",
    )
    for name, suffix in (("t11", ".tsv"), ("t11", ".excluded.tsv"), ("t11", ".json")):
        whole = (tmp_path / "whole" / f"{name}{suffix}").read_bytes()
        assert (tmp_path / f"joined{suffix}").read_bytes() == whole, suffix
    assert len(pd.read_csv(tmp_path / "joined.tsv", sep="\t")["protocol"].unique()) == 2
    for k, (scheme, protocol) in enumerate(entry.parts()):
        folder = Path(scheme) / protocol
        files = sorted(p.name for p in (tmp_path / "whole" / "runs" / folder).iterdir())
        assert files == sorted(p.name for p in (chunks[k] / "runs" / folder).iterdir())
        for file in files:
            assert (chunks[k] / "runs" / folder / file).read_bytes() == (
                tmp_path / "whole" / "runs" / folder / file
            ).read_bytes(), (folder, file)
    with pytest.raises(ValueError, match="no \\(scheme, protocol\\)"):
        run(tmp_path / "bad", parts=[("objective", "nested")])


# ------------------------------------------------------------------ report pieces


def test_captions_are_read_when_asked_and_say_when_missing(tmp_path):
    captions = Captions(tmp_path / "captions.json")
    assert "not found" in captions.get("heatmap")
    assert repr(captions) == f"Captions({str(tmp_path / 'captions.json')!r})"
    write_captions(tmp_path / "captions.json", {"heatmap": "**N = 61**"})
    assert captions.get("heatmap") == "**N = 61**"
    assert "no caption 'curves'" in captions.get("curves")


def test_part_figures_are_joined_with_their_captions_and_a_name_twice_is_refused(tmp_path):
    """A split fusion entry's parts each write figures + captions.json; the join copies every
    picture byte for byte and keeps every caption, in the parts' order."""
    parts = [tmp_path / "loso", tmp_path / "kfold"]
    pictures = {"curves_o_loso": b"\x89PNG loso", "curves_o_kfold": b"\x89PNG kfold"}
    for part, (name, data) in zip(parts, pictures.items(), strict=True):
        part.mkdir()
        (part / f"{name}.png").write_bytes(data)
        write_captions(part / "captions.json", {name: f"caption of {name}"})
    joined = join_captioned_figures(parts, tmp_path / "report")
    assert joined == {name: f"caption of {name}" for name in pictures}
    for name, data in pictures.items():
        assert (tmp_path / "report" / f"{name}.png").read_bytes() == data
    assert Captions(tmp_path / "report" / "captions.json").get("curves_o_kfold") == (
        "caption of curves_o_kfold"
    )
    with pytest.raises(ValueError, match=r"curves_o_loso.*two sources"):
        join_captioned_figures([parts[0], parts[0]], tmp_path / "again")


def test_table_html_escapes_text_and_marks_the_best_cell():
    values = pd.DataFrame([[41.0, 35.5]], index=pd.Index(["5 x 5"], name="blocks"), columns=[0, 10])
    table = tables.PaperTable(
        name="t",
        title="A <table> & more",
        header=("Dataset: x <y>",),
        values=values,
        cells=values.map(lambda v: f"{v:.2f}"),
        bold=frozenset({(0, 0)}),
        dagger=frozenset({(0, 1)}),
    )
    page = table_html(table)
    assert "A &lt;table&gt; &amp; more" in page
    assert "<b>41.00</b>" in page
    assert "35.50 †" in page
    assert "<li>Dataset: x &lt;y&gt;</li>" in page


def test_all_exclusions_lists_failures_then_experiment_exclusions_once(tmp_path):
    failures = tmp_path / "failures" / "face2d"
    failures.mkdir(parents=True)
    record = {"dataset": "d", "sample": "1_1", "stage": "face2d", "reason": "no face",
              "file": "x.npz", "details": {}}  # fmt: skip
    (failures / "1_1.json").write_text(json.dumps(record))
    lists = []
    for k, experiment in enumerate(["e1", "e2"]):
        path = tmp_path / f"{k}.excluded.tsv"
        pd.DataFrame(
            {
                "experiment": [experiment, experiment, experiment],
                "scheme": "objective",
                "sample": ["1_1", "2_3", "2_9"],
                "stage": ["face2d", "class_scheme", "expression_type"],
                "reason": ["no face", "class 'V' has 2 samples", "macro-expression"],
            }
        ).to_csv(path, sep="\t", index=False)
        lists.append(path)
    table = all_exclusions("d", tmp_path / "failures", lists)
    assert list(table["stage"]) == ["face2d", "class_scheme", "expression_type"]
    assert table["reason"].iloc[1] == "class 'V' has 2 samples (in 2 experiments)"
    assert np.array_equal(table["sample"].to_numpy(), ["1_1", "2_3", "2_9"])
    assert isinstance(TablePlan, type)


def test_chunked_entry_merges_to_the_unchunked_files_byte_for_byte(results, tmp_path):  # noqa: F811
    """A sweep run in chunks (`settings_per_job`) and merged writes the scores, excluded and
    summary files byte for byte as one job does, and the same prediction tables."""
    config = toy_config()
    (entry,) = config["experiments"]
    whole = classify_chunks(config)[entry]
    config["experiments"][entry]["settings_per_job"] = 3
    chunks = classify_chunks(config)[entry]
    assert len(whole) == 1 and [len(c) for c in chunks] == [3, 1]  # 4 settings
    assert [e for c in chunks for e in c] == whole[0]

    def run(experiments, folder, name):
        paths = {
            "scores_path": folder / f"{name}.tsv",
            "excluded_path": folder / f"{name}.excluded.tsv",
            "summary_path": folder / f"{name}.json",
        }
        run_classify_entry(
            entry,
            experiments,
            **inputs_of(results),
            prediction_files=prediction_files_of(folder, experiments),
            **paths,
        )
        return paths

    one = run(whole[0], tmp_path / "one", "entry")
    parts = [run(c, tmp_path / "chunks", f"{k}") for k, c in enumerate(chunks)]
    merged = {key: tmp_path / "merged" / Path(path).name for key, path in one.items()}
    rows = merge_entry_chunks(
        [p["scores_path"] for p in parts],
        [p["excluded_path"] for p in parts],
        [p["summary_path"] for p in parts],
        **merged,
    )
    for key in one:
        assert Path(merged[key]).read_bytes() == Path(one[key]).read_bytes(), key
    assert rows == len(pd.read_csv(one["scores_path"], sep="\t"))
    for spec in whole[0]:
        for protocol in spec.protocols:
            pd.testing.assert_frame_equal(
                pd.read_parquet(prediction_path(tmp_path / "one", DATASET, spec.name, protocol)),
                pd.read_parquet(prediction_path(tmp_path / "chunks", DATASET, spec.name, protocol)),
            )
    with pytest.raises(ValueError, match="settings_per_job"):
        config["experiments"][entry]["settings_per_job"] = 0
        classify_chunks(config)
