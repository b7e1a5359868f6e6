"""A data set with a corrupt recording and a missing folder: the run finishes, the good
sample is ingested, the bad ones are recorded as failures with their reasons."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from microexp.io.clips import load_clip
from microexp.synthetic.recording import fixture_frames, fixture_intrinsics, write_recording
from microexp.synthetic.sheet import write_generic_sheet

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
    write_generic_sheet(table, root / "annotations.tsv")
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
        f"results/broken/clips/{n}.npz" for _, _, n, _ in rows
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
