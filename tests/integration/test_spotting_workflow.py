"""The spotting target end to end on one tiny synthetic long video (both capture formats)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.integration.conftest import run_snakemake

TINY = {
    "spotting": {
        "in_default_run": False,
        "synthetic": {
            "subjects": 1, "videos_per_subject": 1, "duration_s": [10, 10],
            "micro_per_minute": 12, "macro_per_minute": 6, "blinks_per_minute": 6,
            "head_turns_per_minute": 6,
        },
    }
}  # fmt: skip


@pytest.fixture(scope="module")
def spotting_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("spotting")
    extra = work / "tiny_spotting.yaml"
    extra.write_text(yaml.safe_dump(TINY))
    run_snakemake(work, "spotting", configfiles=(extra,))
    return work


def test_spotting_outputs_and_table(spotting_run: Path):
    raw = spotting_run / "results/synthetic/raw/spotting"
    frames = sorted((raw / "casme_sq/rawpic/s15").iterdir())
    assert [f.name for f in frames] == ["15_0101disgustingteeth"]
    assert (frames[0] / "img1.jpg").is_file() and (frames[0] / "img300.jpg").is_file()
    assert (raw / "realsense/s15/15_0101disgustingteeth.db3").is_file()
    truth_npz = np.load(raw / "truth/s15/15_0101disgustingteeth.npz")
    kinds = truth_npz["event_kind"]
    expressions = {
        (int(on), int(off), str(k))
        for k, on, off in zip(
            kinds, truth_npz["event_onset"], truth_npz["event_offset"], strict=True
        )
        if k in ("micro", "macro")
    }
    for spot_set, methods in (
        ("synthetic_casme_sq", ["mdmd", "lbp"]),
        ("synthetic_rgbd", ["mdmd", "lbp", "depth", "lbp_depth"]),
    ):
        # the truth read back through the data set's sheet equals the generator's
        truth = pd.read_csv(spotting_run / f"results/{spot_set}/spotting/truth.tsv", sep="\t")
        assert set(truth.video) == {"15_0101"}
        got = {(int(r.onset), int(r.offset), r.expression_type) for r in truth.itertuples()}
        assert got == expressions
        table = pd.read_csv(spotting_run / f"results/tables/{spot_set}/spotting.tsv", sep="\t")
        assert len(table) == len(methods) * 2 * 3
        assert set(table.method) == set(methods)
        assert set(table.counting) == {"megc2020", "one_to_one"}
        for _, row in table.iterrows():
            n_true = (truth.expression_type == row.expression_type).sum() if (
                row.expression_type != "overall") else len(truth)  # fmt: skip
            assert row.tp + row.fn == n_true
        # the generated sheet annotates every offset: the table says none was repaired
        assert not truth.offset_unannotated.any()
        md = (spotting_run / f"results/tables/{spot_set}/spotting.md").read_text()
        assert f"0 of {len(truth)} ground-truth offsets were 0 (set to the apex)" in md
        figures = spotting_run / f"results/figures/{spot_set}/spotting"
        assert (figures / "f1_threshold.png").stat().st_size > 10_000
        assert (figures / "videos/15_0101.png").stat().st_size > 10_000
        crops = np.load(spotting_run / f"results/{spot_set}/spotting/crops/15_0101.npz")
        assert crops["gray"].shape == (300, 168, 168)
        assert crops["gray_fixed"].shape == (300, 168, 168)  # MDMD's fixed-box crops
        assert crops["face_found"].mean() > 0.9
        assert ("block_depth" in crops.files) == (spot_set == "synthetic_rgbd")
        if spot_set == "synthetic_rgbd":  # depth registered in 3D, frame by frame
            assert str(crops["depth_registration"]) == "icp"
            assert np.isfinite(crops["icp_fitness"]).mean() > 0.9
