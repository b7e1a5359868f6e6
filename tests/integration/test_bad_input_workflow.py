"""A data set with a corrupt recording and a missing folder: the run finishes, the good
sample is ingested, the bad ones are recorded as failures with their reasons."""

from __future__ import annotations

import json
import shutil

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from microexp.io.clips import load_clip
from microexp.synthetic.recording import write_recording
from microexp.synthetic.sheet import write_generic_sheet
from microexp.testing.recordings import fixture_frames, fixture_intrinsics

from .conftest import ROOT, run_snakemake

pytestmark = pytest.mark.integration


def test_bad_samples_are_recorded_and_the_run_goes_on(tmp_path):
    root = tmp_path / "data"
    (root / "rec").mkdir(parents=True)
    frames = fixture_frames(8, 64, 48)
    intr = fixture_intrinsics(64, 48)
    write_recording(root / "rec" / "good.db3", iter(frames), color_intrinsics=intr)
    (root / "rec" / "corrupt.db3").write_bytes(b"\x00garbage" * 500)
    first = frames[0].frame_number
    rows = [
        ("1", "a", "good", "rec/good.db3"),
        ("1", "b", "corrupt", "rec/corrupt.db3"),
        ("2", "a", "missing", "frames/nobody"),
    ]
    table = pd.DataFrame(
        [
            {"subject": s, "video": v, "sample": n, "source": src, "onset": first + 1,
             "apex": first + 3, "offset": first + 5, "aus": "AU4", "expression_type": "micro",
             "objective_class": "III", "emotion": "anger"}
            for s, v, n, src in rows
        ]
    )  # fmt: skip
    # an annotation row recognition cannot use (offset 0: not annotated): kept in the
    # annotation table, left out of samples.tsv, its reason recorded as an ingest failure
    unusable = table.iloc[[0]].assign(video="c", sample="no_offset", offset=0)
    write_generic_sheet(pd.concat([table, unusable], ignore_index=True), root / "annotations.tsv")
    config = {
        "datasets": {
            "broken": {
                "layout": "generic", "root": str(root), "annotations": "annotations.tsv",
                "fps": 60, "intrinsics": intr.as_dict(),
            }
        }
    }  # fmt: skip
    extra = tmp_path / "broken.yaml"
    extra.write_text(yaml.safe_dump(config))
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "config.yaml", work / "config.yaml")
    targets = ["results/broken/samples.tsv"] + [
        f"results/broken/{stage}/{n}.npz"
        for _, _, n, _ in rows
        for stage in ("clips", "face2d", "cloud3d")
    ]
    run_snakemake(work, *targets, configfiles=(extra,))

    good = load_clip(work / "results/broken/clips/good.npz")
    assert good.frame_numbers.tolist() == list(range(first + 1, first + 6))
    for name, words in (("corrupt", "corrupt.db3"), ("missing", "nobody")):
        with np.load(work / f"results/broken/clips/{name}.npz") as marker:
            assert not bool(marker["ok"])
        record = json.loads((work / f"results/broken/failures/ingest/{name}.json").read_text())
        assert record["sample"] == name and record["stage"] == "ingest"
        assert words in record["reason"] + str(record["file"])
    assert not (work / "results/broken/failures/ingest/good.json").exists()
    every = pd.read_csv(work / "results/broken/ingest/annotations.tsv", sep="\t")
    assert every["sample"].tolist() == ["good", "corrupt", "missing", "no_offset"]
    assert "no_offset" not in pd.read_csv(work / "results/broken/samples.tsv", sep="\t")["sample"]
    record = json.loads((work / "results/broken/failures/ingest/no_offset.json").read_text())
    assert record["reason"].startswith("not usable for recognition: offset not annotated")

    # The fixture frames hold no face: the good clip fails at face2d and its record is carried
    # to cloud3d; every sample's QC pictures state the failure (the stage jobs draw them).
    record = json.loads((work / "results/broken/failures/face2d/good.json").read_text())
    assert record["stage"] == "face2d" and record["sample"] == "good"
    for stage in ("face2d", "cloud3d"):
        for _, _, name, _ in rows:
            with np.load(work / f"results/broken/{stage}/{name}.npz") as marker:
                assert not bool(marker["ok"])
                carried = json.loads(marker["failure"].item())
            assert carried["stage"] == ("face2d" if name == "good" else "ingest")
            picture = plt.imread(work / f"results/broken/{stage}/qc/{name}.png")
            # a failure picture is one line of text (8 x 2.6 in), not the QC panels (13 in wide)
            assert picture.shape[0] < 300 and picture.shape[1] < 900, (stage, name)
        # a record only where the failure happened; upstream failures are passed on, not re-recorded
        records = sorted(p.stem for p in (work / "results/broken/failures" / stage).glob("*.json"))
        assert records == (["good"] if stage == "face2d" else []), (stage, records)

    # The report shows every failure picture (all six here) as a thumbnail, and the listing
    # names every full-size picture with the stage that failed.
    gallery = "results/broken/report/qc_pictures.html"
    run_snakemake(work, gallery, configfiles=(extra,))
    run_snakemake(work, gallery, configfiles=(extra,), extra=("--report", "report.html"))
    html = (work / "report.html").read_text(errors="replace")
    for stage in ("face2d", "cloud3d"):
        for _, _, name, _ in rows:
            assert (work / f"results/broken/report/qc/{stage}/{name}.failed.png").is_file()
            assert f"{name}.failed.png" in html, (stage, name)
    assert (work / "report.html").stat().st_size < 20e6
    listing = pd.read_csv(work / "results/broken/report/qc_pictures.tsv", sep="\t")
    assert sorted(listing["status"]) == ["failed at face2d"] * 2 + ["failed at ingest"] * 4
