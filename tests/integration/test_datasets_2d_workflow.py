"""A data set without depth (CASME II layout) in the workflow: the 2D stages and LBP-TOP are
planned for it, cloud3d, curvature and fusion are not, and the log says so once."""

from __future__ import annotations

import re
import shutil

import cv2
import numpy as np
import pytest
import yaml

from tests.unit.sheets import write_xlsx

from .conftest import ROOT, run_snakemake

pytestmark = pytest.mark.integration


def test_a_dataset_without_depth_runs_the_2d_stages_only(tmp_path):
    root = tmp_path / "CASME2"
    root.mkdir()
    header = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
              "Action Units", "Estimated Emotion"]  # fmt: skip
    rows = [header] + [
        [s, f"EP0{k}_01", None, 10, 12, 14, None, "12", "happiness"] for s in (1, 2) for k in (1, 2)
    ]
    write_xlsx(root / "coding.xlsx", {"Sheet1": rows})
    rng = np.random.default_rng(0)
    for s in (1, 2):
        for k in (1, 2):
            folder = root / "CASME2_RAW_selected" / f"sub0{s}" / f"EP0{k}_01"
            folder.mkdir(parents=True)
            for n in range(8, 17):
                frame = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / f"img{n}.jpg"), frame)
    extra = tmp_path / "casme_ii.yaml"
    extra.write_text(yaml.safe_dump({
        "datasets": {"casme_ii": {"layout": "casme_ii", "root": str(root),
                                  "annotations": "coding.xlsx"}},
    }))  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "config.yaml", work / "config.yaml")
    output = run_snakemake(work, configfiles=(extra,), extra=("-n", "--quiet", "rules"))
    notes = [line for line in output.splitlines() if "casme_ii: no depth" in line]
    assert len(notes) == 1, output[-3000:]
    assert "cloud3d, curvature and fusion are skipped" in notes[0]
    # the jobs planned for the 2D data set, from the dry run's list of outputs
    listing = run_snakemake(work, configfiles=(extra,), extra=("-n", "--summary"))
    planned = [line.split("\t")[0] for line in listing.splitlines() if "results/casme_ii/" in line]
    assert any(re.search(r"casme_ii/face2d/sub01_EP01_01\.npz$", p) for p in planned)
    assert any("casme_ii/features/lbptop/" in p for p in planned)
    assert not any("/cloud3d/" in p or "/curvature/" in p for p in planned), planned
