"""The depth_flow stage and the RGB vs RGB-D table in the workflow (docs/depth_flow.md): on the
integration run every synthetic sample has its depth-flow file and QC picture, written by
chunked jobs; the table has the 4-class and 7-class rows with UF1 / UAR in the four formats
and the report shows it and some QC pictures; and a sample whose depth range is 400 units or
more is recorded as a failure while the run goes on."""

from __future__ import annotations

import json
import re
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from microexp.evaluate.formatting import read_table_tsv
from microexp.features.depth_sample import load_depth_flow

from .conftest import ROOT, run_snakemake

pytestmark = pytest.mark.integration

RAW = "results/synthetic/raw"
INPUTS = ["RGB", "depth", "RGB-D (nested a)", "RGB-D (oracle a)"]


def test_depth_flow_stage_and_rgbd_table(synthetic_run):
    results = synthetic_run / "results"
    samples = pd.read_csv(results / "synthetic/samples.tsv", sep="\t")["sample"].tolist()
    assert len(samples) == 6
    for sample in samples:
        result = load_depth_flow(results / f"synthetic/depth_flow/{sample}.npz")
        # a face a few centimetres deep: well under the 400-unit limit
        assert 0 < result.far - result.near < 400
        assert result.hist3d.sum() == pytest.approx(1.0)
        assert (results / f"synthetic/depth_flow/qc/{sample}.png").stat().st_size > 0
    # Two chunked jobs (4 + 2 samples): start-up once per job, one line per sample.
    logs = [results / f"logs/synthetic/depth_flow/chunk_{k}.log" for k in (0, 1)]
    text = "".join(log.read_text() for log in logs)
    assert text.count("startup_cpu_s=") == 2
    for sample in samples:
        assert len(re.findall(rf"sample {re.escape(sample)}: science_cpu_s=", text)) == 1

    stem = results / "tables/synthetic/rgbd_vs_rgb"
    table = read_table_tsv(stem.with_suffix(".tsv"))
    expected = [(scheme, name) for scheme in ("4-class", "7-class") for name in INPUTS]
    assert table.index.tolist() == expected
    for column in ("UF1", "UAR"):
        values = table[column].to_numpy(dtype=float)
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    assert (table["N"] == 6).all()
    # the fusion weight of both fusions lies on the grid [0, 1]
    fused = table.loc[[(s, n) for s, n in expected if n.startswith("RGB-D")], "a"]
    assert ((fused >= 0) & (fused <= 1)).all()
    for suffix in (".md", ".tex", ".html"):
        assert "RGB-D (oracle a)" in stem.with_suffix(suffix).read_text()
    report = json.loads(stem.with_suffix(".json").read_text())
    assert report["4-class"]["counts"] == {"micro": 3, "macro": 3}

    # The report's QC gallery: 2 depth-flow thumbnails (report.qc_pictures), every picture
    # listed.
    thumbnails = sorted((results / "synthetic/report/qc/depth_flow").glob("*.jpg"))
    assert len(thumbnails) == 2
    listing = pd.read_csv(results / "synthetic/report/qc_pictures.tsv", sep="\t")
    assert sorted(listing.loc[listing["stage"] == "depth_flow", "sample"]) == sorted(samples)


def test_a_depth_range_over_400_is_a_recorded_failure(synthetic_run, tmp_path):
    # One synthetic frame-folder sample, copied as a DSME-3D data set, with a patch of the face
    # at 50 mm in every depth frame: the near limit drops to 50, the far one stays near 600.
    root = tmp_path / "far"
    shutil.copy(synthetic_run / RAW / "dsme3d/micro-expression.xlsx", root.parent / "sheet.xlsx")
    sample = "2_1"
    shutil.copytree(synthetic_run / RAW / f"dsme3d/2/{sample}", root / "2" / sample)
    shutil.move(root.parent / "sheet.xlsx", root / "micro-expression.xlsx")
    for path in sorted((root / "2" / sample / "depth").glob("*.png")):
        depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        depth[200:260, 390:450] = 50
        cv2.imwrite(str(path), depth)
    settings = yaml.safe_load((ROOT / "config.yaml").read_text())["synthetic"]
    extra = tmp_path / "far.yaml"
    extra.write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "far": {
                        "layout": "dsme3d",
                        "root": str(root),
                        "annotations": "micro-expression.xlsx",
                        "source": "{subject}/{sample}",
                        "fps": 60,
                        "depth_scale": settings["depth_scale"],
                        "intrinsics": settings["camera"],
                    }
                },
                "depth_flow": {"datasets": ["far"]},
            }
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "config.yaml", work / "config.yaml")
    # the sheet's other samples have no folder here: they fail at ingestion, recorded too
    run_snakemake(work, f"results/far/depth_flow/{sample}.npz", configfiles=(extra,))

    with np.load(work / f"results/far/depth_flow/{sample}.npz") as marker:
        assert not bool(marker["ok"])
    record = json.loads((work / f"results/far/failures/depth_flow/{sample}.json").read_text())
    assert record["sample"] == sample and record["stage"] == "depth_flow"
    assert record["details"]["near"] == 50
    assert record["details"]["far"] >= 450
    assert ">= near" in record["reason"]
    assert (work / f"results/far/depth_flow/qc/{sample}.png").stat().st_size > 0
    log = (work / "results/logs/far/depth_flow/chunk_0.log").read_text()
    assert f"sample {sample}" in log
