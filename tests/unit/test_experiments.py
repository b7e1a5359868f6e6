"""Experiments: specs and sweeps, feature matrices from per-sample files, labels, runs, fusion
inputs (docs/tables.md; microexp.learn.experiments)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import microexp.learn.matrices as matrices_module
import microexp.learn.specs as specs
from microexp.face2d.result import Face2DResult, save_face2d
from microexp.failures import FailureRecord, save_failed_output
from microexp.features.blocks import (
    DSME3D_GRIDS,
    DSME3D_OVERLAPS,
    block_features,
    integral_histograms,
    load_integral,
    save_integral,
)
from microexp.features.lbptop import lbptop_codes
from microexp.features.rois import roi_features, roi_masks, template_landmarks68
from microexp.learn.experiments import (
    fusion_inputs,
    fusion_predictions,
    run_experiment,
    run_fusion,
    run_sweep,
)
from microexp.learn.fusion import alpha_grid, oracle_fusion
from microexp.learn.matrices import (
    experiment_labels,
    feature_matrices,
    feature_matrix,
    load_experiment,
)
from microexp.learn.specs import (
    CurvatureFeature,
    ExperimentSpec,
    LbptopBlocks,
    expand_sweep,
    experiments_from_config,
    feature_spec,
    lbptop_setting,
    required_settings,
)
from microexp.learn.svm import SVMParams, probability_columns

DATASET = "toy"
LBP = "r1-1-2_p8-8-8_u2_nearest"
CURV = "rc6_rs15_eh0.01_ek0.0001_d5_m20"
CROP = (40, 40)
SUBJECTS = ["s1", "s2", "s3", "s4"]
CLASSES = ["I", "II", "III"]
EMOTIONS = {"I": "happiness", "II": "surprise", "III": "anger"}
FACE2D_FAILED = "s3_2"  # every stage after face2d carries its marker
CURVATURE_FAILED = "s4_5"  # only the curvature stage failed
SEED = 7


def _face2d(landmarks: np.ndarray, n_frames: int) -> Face2DResult:
    zeros = np.zeros((n_frames, 68, 2))
    return Face2DResult(
        landmarks68=zeros, landmarks49_index=np.arange(49), detected=np.zeros(n_frames, bool),
        detection_score=np.zeros(n_frames), landmark_jump=np.zeros(n_frames),
        appearance_ncc=np.ones(n_frames), similarity=np.eye(2, 3), crop_box=np.zeros(4),
        crop_units=np.ones(2), crop_transform=np.eye(2, 3),
        aligned_gray=np.zeros((n_frames, *CROP), np.uint8),
        aligned_landmarks=np.repeat(landmarks[None], n_frames, axis=0), onset=0, apex=1,
    )  # fmt: skip


def files_of(results: Path, dataset: str = DATASET) -> dict[str, dict[str, Path]]:
    """The FeatureFiles mapping of a results folder laid out as the rules lay it out
    (source key -> sample -> file; microexp.learn.matrices)."""
    base = Path(results) / dataset
    files: dict[str, dict[str, Path]] = {}
    for folder in ("lbptop", "curvature"):
        for setting in sorted((base / "features" / folder).glob("*")):
            files[f"{folder}/{setting.name}"] = {p.stem: p for p in setting.glob("*.npz")}
    files["face2d"] = {p.stem: p for p in (base / "face2d").glob("*.npz")}
    return files


def inputs_of(results: Path) -> dict:
    """What the rules give the learn functions: the sample sheet and the feature files."""
    return {
        "samples_tsv": Path(results) / DATASET / "samples.tsv",
        "feature_files": files_of(results),
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """results/toy/: 4 subjects x 6 micro-expressions (classes I, II, III in turn) + 2 macro,
    LBP-TOP integrals of random volumes with a class-dependent brightness, curvature files,
    face2d files for the ROIs, and two failed samples."""
    root = tmp_path_factory.mktemp("results")
    base = root / DATASET
    rng = np.random.default_rng(0)
    rows = []
    for subject in SUBJECTS:
        for video in range(6):
            cls = CLASSES[video % 3]
            rows.append((subject, f"{subject}_{video}", cls, EMOTIONS[cls], "micro"))
        rows.append((subject, f"{subject}_m", "I", "happiness", "macro"))
    landmarks = template_landmarks68(CROP)
    for _, sample, cls, _, _ in rows:
        lbp = base / "features" / "lbptop" / LBP / f"{sample}.npz"
        curv = base / "features" / "curvature" / CURV / f"{sample}.npz"
        face2d = base / "face2d" / f"{sample}.npz"
        for path in (lbp, curv, face2d):
            path.parent.mkdir(parents=True, exist_ok=True)
        if sample == FACE2D_FAILED:
            record = FailureRecord(DATASET, sample, "face2d", "no face detected on frame 0")
            for path in (lbp, curv, face2d):
                save_failed_output(path, record)
            continue
        signal = 40 * CLASSES.index(cls)
        volume = rng.integers(0, 256 - 80, size=(10, *CROP)) + signal
        volume[:, :, : CROP[1] // 2] //= 1 + CLASSES.index(cls)  # class-dependent texture
        save_integral(lbp, integral_histograms(lbptop_codes(volume.astype(np.uint8), (1, 1, 2))))
        save_face2d(face2d, _face2d(landmarks, 10))
        if sample == CURVATURE_FAILED:
            record = FailureRecord(DATASET, sample, f"curvature/{CURV}", "nose: 3 vertices < 20")
            save_failed_output(curv, record)
        else:
            si = rng.random(414) + (CLASSES.index(cls) == 1)
            np.savez_compressed(curv, ok=True, si=si, hk=rng.random(414), setting="{}")
    sheet = pd.DataFrame(
        rows, columns=["subject", "sample", "objective_class", "emotion", "expression_type"]
    )
    sheet.insert(0, "dataset", DATASET)
    sheet["aus"] = "NA"
    sheet.to_csv(base / "samples.tsv", sep="\t", index=False, na_rep="NA")
    return root


def spec(name: str = "toy_blocks", **overrides) -> ExperimentSpec:
    entry = {
        "dataset": DATASET,
        "scheme": "objective",
        "min_class_size": 3,
        "feature": {"lbptop": {"setting": LBP, "grid": [2, 2], "overlap": 0}},
        "svm": {"kernel": "linear", "C": 1.0},
        "protocols": ["loso", "kfold"],
        "kfold": {"n_splits": 3, "n_repeats": 2},
    }
    entry.update(overrides)
    return ExperimentSpec.from_config(name, entry, seed=SEED)


# ---------------------------------------------------------------------------------- specs


def test_setting_names_round_trip_and_bad_names_are_refused():
    setting = lbptop_setting("r2-2-4_p4-4-4_basic_bilinear_tim120")
    assert setting.radii == (2, 2, 4) and setting.neighbors == (4, 4, 4)
    assert setting.mapping == "basic" and setting.tim_frames == 120
    assert lbptop_setting({"radii": [1, 1, 2]}).name == LBP
    assert specs.curvature_setting(CURV).name == CURV
    with pytest.raises(ValueError, match="not an LBP-TOP setting name"):
        lbptop_setting("lbp_r1")
    with pytest.raises(ValueError, match="unknown LBP-TOP setting keys"):
        lbptop_setting({"radius": [1, 1, 2]})
    with pytest.raises(ValueError, match="exactly one"):
        feature_spec({"lbptop": {"setting": LBP}, "curvature": {"setting": CURV}})
    with pytest.raises(ValueError, match="descriptor"):
        feature_spec({"curvature": {"setting": CURV, "descriptor": "k1"}})


def test_spec_round_trips_through_its_config_and_carries_table_columns():
    experiment = spec(kind="blocks")
    again = ExperimentSpec.from_config(experiment.name, experiment.as_config())
    assert again == experiment
    json.dumps(experiment.as_config())  # a rule's params can carry it
    columns = experiment.score_columns()
    assert columns["rx"] == 1 and columns["rt"] == 2 and columns["p"] == 8
    assert (columns["grid_rows"], columns["grid_cols"], columns["overlap"]) == (2, 2, 0)
    assert columns["descriptor"] == "lbptop" and columns["kernel"] == "linear"
    assert experiment.scheme.min_class_size == 3
    with pytest.raises(ValueError, match="unknown keys"):
        ExperimentSpec.from_config("x", {**experiment.as_config(), "grid": [1, 1]})
    with pytest.raises(ValueError, match="path-safe"):
        ExperimentSpec.from_config("a/b", experiment.as_config())
    with pytest.raises(ValueError, match="no seed"):
        ExperimentSpec.from_config(
            "x", {k: v for k, v in spec().as_config().items() if k != "seed"}
        )


def test_dsme3d_block_sweep_gives_231_stable_path_safe_names():
    sweep = {
        **spec().as_config(),
        "sweep": {"grid": "dsme3d", "overlap": "dsme3d"},
    }
    expanded = expand_sweep(sweep, "blocks_objective")
    assert len(expanded) == len(DSME3D_GRIDS) * len(DSME3D_OVERLAPS) == 231
    names = [e.name for e in expanded]
    assert len(set(names)) == 231
    assert names[0] == "blocks_objective__g3x3_o0"
    assert "blocks_objective__g7x10_o30" in names
    assert all(specs._NAME.match(n) for n in names)
    pairs = {(e.feature.grid, e.feature.overlap) for e in expanded}
    assert pairs == {(g, o) for g in DSME3D_GRIDS for o in DSME3D_OVERLAPS}
    # Adding a value to a list never renames the other experiments.
    wider = {**sweep, "sweep": {"grid": "dsme3d", "overlap": [*DSME3D_OVERLAPS, 35]}}
    more = expand_sweep(wider, "blocks_objective")
    assert set(names) < {e.name for e in more}


def test_radius_and_casme2_sweeps_vary_the_code_setting():
    table6 = expand_sweep(
        {
            **spec().as_config(),
            "feature": {"lbptop": {"setting": LBP, "grid": [5, 5], "overlap": 0}},
            "sweep": {"setting.radii": "dsme3d"},
        },
        "table6",
    )
    assert [e.feature.setting.radii for e in table6][:3] == [(1, 1, 2), (1, 1, 3), (1, 1, 4)]
    assert table6[0].name == "table6__r1-1-2"
    table5 = expand_sweep(
        {
            **spec().as_config(),
            "feature": {"lbptop_rois": {"setting": {"tim_frames": 120}}},
            "svm": {"kernel": "poly", "gamma": 0.1, "degree": 4, "coef0": 1},
            "protocols": ["lovo"],
            "sweep": {
                "setting.radii": "dsme3d",
                "setting.neighbors": [[4, 4, 4], [8, 8, 8]],
                "setting.mapping": ["basic", "u2"],
            },
        },
        "casme2_table5",
    )
    assert len(table5) == 12 * 2 * 2
    assert table5[0].name == "casme2_table5__r1-1-2_p4-4-4_basic"
    assert table5[0].feature.setting.name == "r1-1-2_p4-4-4_basic_nearest_tim120"
    assert len(required_settings(table5)["lbptop"]) == 48
    curvature = expand_sweep(
        {
            **spec().as_config(),
            "feature": {"curvature": {"setting": CURV}},
            "sweep": {"descriptor": ["si", "hk", "si+hk"], "scheme": ["objective", "three_class"]},
        },
        "curv",
    )
    assert [e.name for e in curvature][:2] == ["curv__si_objective", "curv__si_three_class"]
    assert curvature[-1].name == "curv__si-hk_three_class"


def test_experiments_from_config_reads_the_documented_yaml():
    config = yaml.safe_load(
        f"""
        blocks:
          dataset: {DATASET}
          scheme: objective
          min_class_size: 3
          feature: {{lbptop: {{setting: {LBP}, grid: [5, 5], overlap: 0}}}}
          svm: {{kernel: linear, C: 1}}
          protocols: [loso, kfold]
          sweep: {{grid: [[2, 2], [3, 3]], overlap: [0, 5]}}
        curv_si:
          dataset: {DATASET}
          scheme: {{name: two, source: emotion, classes: {{pos: [happiness], other: [surprise]}}}}
          feature: {{curvature: {{setting: {CURV}, descriptor: si}}}}
        """
    )
    found = experiments_from_config(config, seed=SEED)
    assert list(found) == [
        "blocks__g2x2_o0", "blocks__g2x2_o5", "blocks__g3x3_o0", "blocks__g3x3_o5", "curv_si",
    ]  # fmt: skip
    assert found["curv_si"].scheme.class_order == ["pos", "other"]
    assert found["curv_si"].protocols == ("loso",) and found["curv_si"].seed == SEED


# ------------------------------------------------------------------------- feature matrices


def test_feature_matrix_skips_failure_markers_with_their_reason(results):
    samples = [f"{s}_{v}" for s in SUBJECTS for v in range(6)]
    features, kept, excluded = feature_matrix(
        files_of(results), samples, {"lbptop": {"setting": LBP, "grid": [2, 2], "overlap": 5}}
    )
    assert kept == [s for s in samples if s != FACE2D_FAILED]
    assert excluded.to_dict("records") == [
        {"sample": FACE2D_FAILED, "stage": "face2d", "reason": "no face detected on frame 0"}
    ]
    integral = load_integral(results / DATASET / "features" / "lbptop" / LBP / "s1_0.npz")
    np.testing.assert_array_equal(features[0], block_features(integral, (2, 2), 5))
    assert features.shape == (23, 4 * 3 * 59) and np.isfinite(features).all()


def test_feature_matrices_open_each_file_once_for_every_variant(results, monkeypatch):
    samples = [f"{s}_{v}" for s in SUBJECTS for v in range(6)]
    variants = [
        LbptopBlocks(lbptop_setting(LBP), grid, overlap)
        for grid in [(2, 2), (3, 3), (2, 3)]
        for overlap in (0, 5, 10)
    ]
    calls = []

    def counting_load(path):
        calls.append(Path(path).name)
        return load_integral(path)

    monkeypatch.setattr(matrices_module, "load_integral", counting_load)
    matrices = feature_matrices(files_of(results), samples, [*variants, variants[0]])
    assert sorted(calls) == sorted(s + ".npz" for s in samples if s != FACE2D_FAILED)
    for variant, matrix in zip(variants, matrices, strict=False):
        alone = feature_matrix(files_of(results), samples, variant)
        np.testing.assert_array_equal(matrix.features, alone[0])
        assert matrix.samples == alone[1]
    np.testing.assert_array_equal(matrices[-1].features, matrices[0].features)


def test_curvature_descriptors_and_rois(results):
    samples = ["s1_0", "s4_5", FACE2D_FAILED]
    si, hk, both, rois = feature_matrices(
        files_of(results),
        samples,
        [
            feature_spec({"curvature": {"setting": CURV, "descriptor": d}})
            for d in ("si", "hk", "si+hk")
        ]
        + [feature_spec({"lbptop_rois": {"setting": LBP}})],
    )
    assert si.samples == hk.samples == both.samples == ["s1_0"]
    assert set(si.excluded["sample"]) == {"s4_5", FACE2D_FAILED}
    assert si.excluded.set_index("sample").loc["s4_5", "stage"] == f"curvature/{CURV}"
    np.testing.assert_array_equal(both.features, np.hstack([si.features, hk.features]))
    assert rois.samples == ["s1_0", "s4_5"]
    integral = load_integral(results / DATASET / "features" / "lbptop" / LBP / "s1_0.npz")
    expected = roi_features(integral, roi_masks(template_landmarks68(CROP), CROP))
    np.testing.assert_array_equal(rois.features[0], expected)


def test_non_finite_rows_are_excluded_and_ragged_rows_refused(tmp_path):
    folder = tmp_path / DATASET / "features" / "curvature" / CURV
    folder.mkdir(parents=True)
    np.savez_compressed(folder / "a.npz", ok=True, si=np.ones(4), hk=np.ones(4))
    np.savez_compressed(folder / "b.npz", ok=True, si=np.array([1, np.nan, 0, 0]), hk=np.ones(4))
    np.savez_compressed(folder / "c.npz", ok=True, si=np.ones(5), hk=np.ones(4))
    feature = {"curvature": {"setting": CURV, "descriptor": "si"}}
    _, kept, excluded = feature_matrix(files_of(tmp_path), ["a", "b"], feature)
    assert kept == ["a"]
    assert excluded.loc[0, "stage"] == "feature_matrix" and "NaN" in excluded.loc[0, "reason"]
    with pytest.raises(ValueError, match="different lengths"):
        feature_matrix(files_of(tmp_path), ["a", "c"], feature)
    with pytest.raises(FileNotFoundError, match="missing"):
        feature_matrix(files_of(tmp_path), ["a", "zzz"], feature)


# ------------------------------------------------------------------------------- labels


def test_labels_exclude_macro_and_small_classes_with_reasons(results):
    tsv = results / DATASET / "samples.tsv"
    labels, subjects, report = experiment_labels(tsv, "objective")  # min_class_size 10
    assert labels.empty and report["dropped_small_classes"] == {"I": 8, "II": 8, "III": 8}
    scheme = {"source": "objective_class", "classes": {"I": ["I"], "II": ["II"]}}
    scheme["min_class_size"] = 3
    labels, subjects, report = experiment_labels(tsv, scheme, ["micro"])
    assert set(labels) == {"I", "II"} and len(labels) == 16
    assert list(subjects.index) == list(labels.index) and subjects["s2_1"] == "s2"
    excluded = pd.DataFrame(report["excluded"]).set_index("sample")
    assert excluded.loc["s1_m", "stage"] == "expression_type"
    assert excluded.loc["s1_m", "reason"].startswith("macro-expression")
    assert excluded.loc["s1_2", "stage"] == "class_scheme"
    scheme["min_class_size"] = 1
    labels, _, _ = experiment_labels(tsv, scheme, ["micro", "macro"], samples=["s1_m", "s1_0"])
    assert list(labels.index) == ["s1_m", "s1_0"]


def test_load_experiment_lists_every_exclusion(results):
    data = load_experiment(spec(), **inputs_of(results))
    assert len(data.samples) == 23 and data.classes == CLASSES
    assert data.features.shape[0] == len(data.labels) == len(data.subjects) == 23
    reasons = data.excluded.set_index("sample")["stage"].to_dict()
    assert reasons == {f"{s}_m": "expression_type" for s in SUBJECTS} | {FACE2D_FAILED: "face2d"}


# --------------------------------------------------------------------------------- runs


def test_sweep_is_deterministic_and_equals_single_experiments(results):
    specs = [
        spec("a"),
        spec("b", feature={"lbptop": {"setting": LBP, "grid": [3, 3], "overlap": 5}}),
        spec("c", svm={"kernel": "rbf", "C": 10.0}),  # same feature as a: one Gram per fold
        spec("d", scheme="emotion_dsme3d"),
    ]
    first = run_sweep(specs, **inputs_of(results))
    second = run_sweep(specs[::-1], features_per_pass=1, **inputs_of(results))
    for name, run in first.items():
        assert set(run.predictions) == {"loso", "kfold"}
        for protocol, table in run.predictions.items():
            pd.testing.assert_frame_equal(table, second[name].predictions[protocol])
    assert first["a"].splits["loso"] is first["b"].splits["loso"]  # shared folds
    data = load_experiment(specs[2], **inputs_of(results))
    alone = run_experiment(
        data.features, data.samples, pd.Series(data.subjects, index=data.samples)[::-1],
        data.labels, specs[2].svm, "kfold", seed=SEED, classes=data.classes, n_splits=3,
        n_repeats=2,
    )  # fmt: skip
    pd.testing.assert_frame_equal(alone, first["c"].predictions["kfold"])
    table = first["a"].predictions["loso"]
    assert list(table.columns[-3:]) == probability_columns(CLASSES)
    assert len(table) == 23 and table.groupby("fold")["subject"].nunique().max() == 1


def test_a_feature_planted_in_the_test_fold_only_does_not_change_training(results):
    """Leakage check through the API: a column that is 0 for every training sample and encodes
    the label in the test subject's samples must leave that fold's predictions exactly as a
    column of zeros does, when scaling and gamma are fitted on the training fold only. A
    scaling fitted on all samples (the leak) changes them: the positive control."""
    data = load_experiment(spec(), **inputs_of(results))
    test_rows = np.array([s.startswith("s1_") for s in data.samples])
    codes = np.array([CLASSES.index(label) + 1.0 for label in data.labels])
    control = np.hstack([data.features, np.zeros((len(codes), 1))])
    planted = control.copy()
    planted[test_rows, -1] = 1000.0 * codes[test_rows]
    subjects, labels = data.subjects, data.labels
    for params in (
        SVMParams(kernel="linear", scaling="minmax"),
        SVMParams(kernel="linear", scaling="zscore"),
        SVMParams(kernel="poly", gamma="scale", degree=2, coef0=1.0, scaling="zscore"),
    ):
        runs = [
            run_experiment(x, data.samples, subjects, labels, params, "loso", seed=SEED)
            for x in (control, planted)
        ]
        fold = runs[0]["subject"] == "s1"
        pd.testing.assert_frame_equal(runs[0][fold], runs[1][fold])
    leaky = (planted - planted.mean(axis=0)) / np.where(planted.std(axis=0) > 0, planted.std(0), 1)
    clean = (control - control.mean(axis=0)) / np.where(control.std(axis=0) > 0, control.std(0), 1)
    params = SVMParams(kernel="linear", scaling="none")
    leak, honest = (
        # Probabilities: the leak moves them even where it does not flip a vote.
        run_experiment(
            x, data.samples, subjects, labels, params, "loso", seed=SEED, decision="probability"
        )
        for x in (leaky, clean)
    )
    fold = honest["subject"] == "s1"
    columns = probability_columns(CLASSES)
    assert not np.allclose(leak.loc[fold, columns], honest.loc[fold, columns])


# ------------------------------------------------------------------------------- fusion


def test_fusion_inputs_use_the_common_samples_and_one_split(results):
    lbp = spec("lbp2d", protocols=["loso"])
    curv = spec("si3d", feature={"curvature": {"setting": CURV, "descriptor": "si"}})
    inputs = fusion_inputs(lbp, curv, "loso", **inputs_of(results))
    assert len(inputs.samples) == 22
    assert FACE2D_FAILED not in inputs.samples and CURVATURE_FAILED not in inputs.samples
    stages = inputs.excluded.groupby("sample")["stage"].apply(list).to_dict()
    assert stages[FACE2D_FAILED] == ["face2d"]  # failed upstream: listed once
    assert stages[CURVATURE_FAILED] == [f"curvature/{CURV}"]
    pred2d, pred3d = fusion_predictions(inputs)
    pd.testing.assert_frame_equal(pred2d[["sample", "fold"]], pred3d[["sample", "fold"]])
    oracle = oracle_fusion(pred2d, pred3d, alpha_grid(0.25))
    assert len(oracle.predictions) == 22
    fused = run_fusion(inputs, alpha_grid(0.25))
    pd.testing.assert_frame_equal(fused.outer2d, pred2d)
    assert fused.nested.alphas["a"].between(0, 1).all()
    # Same kept samples in both modalities: the fusion's inputs are the experiments' own runs
    # when these decide by probability, as fusion does.
    hk = spec("hk3d", feature={"curvature": {"setting": CURV, "descriptor": "hk"}})
    same = fusion_inputs(curv, hk, "kfold", **inputs_of(results))
    runs = run_sweep([replace(e, decision="probability") for e in (curv, hk)], **inputs_of(results))
    pred_si, pred_hk = fusion_predictions(same)
    pd.testing.assert_frame_equal(pred_si, runs["si3d"].predictions["kfold"])
    pd.testing.assert_frame_equal(pred_hk, runs["hk3d"].predictions["kfold"])
    with pytest.raises(ValueError, match="class schemes differ"):
        fusion_inputs(lbp, spec("x", scheme="three_class"), "loso", **inputs_of(results))


def test_experiment_with_one_class_left_is_refused(results):
    with pytest.raises(ValueError, match="needs two classes"):
        run_sweep([spec("lonely", min_class_size=9)], **inputs_of(results))


def test_spec_feature_kinds():
    assert isinstance(spec().feature, LbptopBlocks)
    curvature = spec(feature={"curvature": {"setting": CURV}}).feature
    assert isinstance(curvature, CurvatureFeature) and curvature.descriptor == "si+hk"
