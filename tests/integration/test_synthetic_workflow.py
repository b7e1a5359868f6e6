"""The `synthetic` target, run for real by Snakemake on the tiny integration config.

Checks the written data set against its own ground truth and the published formats: frame
folders and .db3 recordings hold exactly the truth's frames, the depth under every truth
landmark is that landmark's z, the annotation sheets read back (DSME-3D and generic layouts)
equal the truth, reruns do nothing, and generation is deterministic.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from microexp.io.annotations import read_annotations
from microexp.io.frames import index_frame_folder, read_frames
from microexp.io.realsense import read_recording

from .conftest import ROOT, run_snakemake

pytestmark = pytest.mark.integration

RAW = Path("results/synthetic/raw")
TRUTH_KEYS = {
    "source", "frame_numbers", "timestamps_ms", "landmarks2d", "landmarks3d", "head_pose",
    "au_names", "au_intensity", "subject", "sample", "video", "onset", "apex", "offset",
    "expression_type", "aus", "objective_class", "emotion", "blink", "intrinsics",
    "distance_mm",
}  # fmt: skip


def truths(workdir: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((workdir / RAW / "truth").glob("*.npz")):
        with np.load(path) as truth:
            out[path.stem] = {key: truth[key] for key in truth.files}
    return out


def depth_at_landmarks(depth: np.ndarray, landmarks: np.ndarray, half: int = 2) -> np.ndarray:
    """Median of the non-zero depths in a (2 half + 1)^2 window at each landmark; NaN if none."""
    values = np.full(len(landmarks), np.nan)
    for i, (x, y) in enumerate(np.rint(landmarks).astype(int)):
        window = depth[max(y - half, 0) : y + half + 1, max(x - half, 0) : x + half + 1]
        valid = window[window > 0]
        if valid.size:
            values[i] = np.median(valid)
    return values


def assert_depth_matches_truth(depth_mm: np.ndarray, truth: dict, index: int, sample: str):
    """Captured depth under the truth landmarks equals the truth's z within sensor noise."""
    measured = depth_at_landmarks(depth_mm, truth["landmarks2d"][index])
    expected = truth["landmarks3d"][index][:, 2]
    found = ~np.isnan(measured)
    assert found.mean() > 0.8, f"{sample}: depth missing under most landmarks"
    error = np.abs(measured[found] - expected[found])
    # D415-like noise at 400-700 mm is ~0.5-1.2 mm; steep landmarks (nose sides) see more.
    assert np.median(error) < 2.0, f"{sample}: median depth error {np.median(error):.2f} mm"
    assert np.mean(error < 5.0) > 0.9, f"{sample}: depth under landmarks off the surface"


def test_every_planned_sample_has_truth_and_source(synthetic_run):
    found = truths(synthetic_run)
    assert set(found) == {"1_1", "1_2", "2_1", "2_2", "3_1", "3_2"}
    for sample, truth in found.items():
        assert TRUTH_KEYS <= set(truth), f"{sample}: missing {TRUTH_KEYS - set(truth)}"
        n = len(truth["frame_numbers"])
        assert truth["landmarks2d"].shape == (n, 68, 2)
        assert truth["landmarks3d"].shape == (n, 68, 3)
        assert truth["head_pose"].shape == (n, 4, 4)
        assert truth["au_intensity"].shape == (n, len(truth["au_names"]))
        assert np.allclose(truth["head_pose"][0], np.eye(4))
        assert (synthetic_run / RAW / str(truth["source"])).exists()
        onset, apex, offset = (int(truth[k]) for k in ("onset", "apex", "offset"))
        assert onset < apex < offset
        assert {onset, apex, offset} <= set(truth["frame_numbers"].tolist())
        apex_i = int(np.flatnonzero(truth["frame_numbers"] == apex)[0])
        performed = [a for a in str(truth["aus"]).split("+")]
        columns = [list(truth["au_names"]).index(a) for a in performed]
        assert truth["au_intensity"][apex_i, columns].min() > 0.2, "AUs peak at the apex"
    for subject in ("1", "2", "3"):
        assert (synthetic_run / f"results/synthetic/figures/subject_{subject}.png").stat().st_size


def test_frame_folders_hold_the_truth_frames(synthetic_run):
    for sample, truth in truths(synthetic_run).items():
        source = synthetic_run / RAW / str(truth["source"])
        if not source.is_dir():
            continue
        index = index_frame_folder(source)
        assert np.array_equal(index.frame_numbers, truth["frame_numbers"]), sample
        assert index.missing() == []
        assert set(index.cloud) == {int(truth["onset"]), int(truth["apex"])}
        apex_i = int(np.flatnonzero(truth["frame_numbers"] == int(truth["apex"]))[0])
        color, depth = read_frames(index, [int(truth["apex"])])
        assert color.shape == (1, 480, 848, 3) and depth.dtype == np.uint16
        assert_depth_matches_truth(depth[0].astype(float), truth, apex_i, sample)


def test_recordings_hold_the_truth_frames(synthetic_run):
    checked = 0
    for sample, truth in truths(synthetic_run).items():
        source = synthetic_run / RAW / str(truth["source"])
        if source.suffix != ".db3":
            continue
        recording = read_recording(source)
        # Every frame the truth lists, exactly once; drops are gaps, not repeats.
        assert np.array_equal(recording.frame_numbers, truth["frame_numbers"]), sample
        assert np.allclose(recording.timestamps_ms, truth["timestamps_ms"], atol=1e-3)
        assert recording.depth_scale == pytest.approx(0.001)
        assert recording.intrinsics.fx == pytest.approx(float(truth["intrinsics"][0]))
        apex_i = int(np.flatnonzero(truth["frame_numbers"] == int(truth["apex"]))[0])
        assert_depth_matches_truth(recording.depth[apex_i].astype(float), truth, apex_i, sample)
        checked += 1
    assert checked == 2


def test_annotation_sheets_read_back_as_the_truth(synthetic_run):
    found = truths(synthetic_run)
    dsme3d = read_annotations(synthetic_run / RAW / "dsme3d" / "micro-expression.xlsx", "dsme3d")
    generic = read_annotations(synthetic_run / RAW / "realsense" / "annotations.tsv", "generic")
    assert set(dsme3d["sample"]) == {"2_1", "2_2", "3_1", "3_2"}
    assert set(generic["sample"]) == {"1_1", "1_2"}
    for table in (dsme3d, generic):
        for row in table.itertuples():
            truth = found[row.sample]
            assert (row.onset, row.apex, row.offset) == tuple(
                int(truth[k]) for k in ("onset", "apex", "offset")
            )
            assert row.aus == str(truth["aus"])
            assert row.objective_class == str(truth["objective_class"])
            assert row.emotion == str(truth["emotion"])
            assert row.expression_type == str(truth["expression_type"])
    sheet_folder = synthetic_run / RAW / "realsense"
    for row in generic.itertuples():
        assert (sheet_folder / row.source).resolve() == (
            synthetic_run / RAW / str(found[row.sample]["source"])
        ).resolve()


def test_rerun_has_nothing_to_do(synthetic_run):
    output = run_snakemake(synthetic_run, extra=("-n",))
    assert "Nothing to be done" in output


def test_generation_is_deterministic(synthetic_run, tmp_path):
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    run_snakemake(tmp_path, str(RAW / "truth" / "2_1.npz"))
    with np.load(tmp_path / RAW / "truth" / "2_1.npz") as again:
        first = truths(synthetic_run)["2_1"]
        for key in again.files:
            assert np.array_equal(again[key], first[key]), key
    folder = Path(str(first["source"]))
    for sub in ("color", "depth"):
        for path in sorted((synthetic_run / RAW / folder / sub).iterdir()):
            twin = tmp_path / RAW / folder / sub / path.name
            assert path.read_bytes() == twin.read_bytes(), f"{sub}/{path.name} differs"


def test_synthetic_samples_sheet_and_clips(synthetic_run):
    """`make run` also ingests: samples.tsv equals the truth; clips hold the onset..offset
    frames with registered depth."""

    from microexp.io.clips import load_clip

    table = pd.read_csv(synthetic_run / "results/synthetic/samples.tsv", sep="\t", dtype=str)
    found = truths(synthetic_run)
    assert set(table["sample"]) == set(found)
    for sample in ("1_1", "2_2"):
        truth = found[sample]
        # the clip file is an index; its frames are read back from the raw data set
        clip = load_clip(synthetic_run / f"results/synthetic/clips/{sample}.npz", synthetic_run)
        onset, offset = int(truth["onset"]), int(truth["offset"])
        assert clip.frame_numbers[clip.onset] == onset
        assert clip.frame_numbers[clip.offset] == offset
        assert clip.frame_numbers[clip.apex] == int(truth["apex"])
        expected = [f for f in truth["frame_numbers"].tolist() if onset <= f <= offset]
        assert clip.frame_numbers.tolist() == expected
        index = truth["frame_numbers"].tolist().index(int(truth["apex"]))
        assert_depth_matches_truth(clip.depth[clip.apex].astype(float), truth, index, sample)


def test_the_html_report_builds(synthetic_run):
    """`make run` ends with `snakemake --report`: it must build from a finished run."""
    output = run_snakemake(synthetic_run, extra=("--report", "report.html"))
    html = (synthetic_run / "report.html").read_text(errors="replace")
    for expected in ("Synthetic data set", "2D face QC", "3D face QC", "QC pictures on disk"):
        assert expected in html, expected
    # The report embeds thumbnails of `report: qc_pictures` (2 here) pictures per stage, evenly
    # spaced over the sorted samples (1_1 ... 3_2: the first and the last), not every picture.
    assert (synthetic_run / "report.html").stat().st_size < 20e6
    for stage in ("face2d", "cloud3d"):
        folder = synthetic_run / f"results/synthetic/report/qc/{stage}"
        shown = sorted(p.name for p in folder.iterdir() if p.suffix in (".jpg", ".png"))
        assert shown == ["1_1.jpg", "3_2.jpg"], (stage, shown)
    assert "1_1.jpg" in html and "3_2.jpg" in html and "2_1.jpg" not in html
    listing = pd.read_csv(synthetic_run / "results/synthetic/report/qc_pictures.tsv", sep="\t")
    # every sample's picture of every QC stage (face2d, cloud3d, depth flow) is listed
    assert listing.groupby("stage").size().to_dict() == {"cloud3d": 6, "depth_flow": 6, "face2d": 6}
    assert (listing["status"] == "passed").all()
    for picture in listing["picture"]:
        assert (synthetic_run / picture).is_file(), picture  # full size, on disk
    # docutils reads a category name up to its first ': ' as a link target: names with one
    # collide (a warning per caption, links to the wrong category)
    assert "Duplicate explicit target name" not in output
