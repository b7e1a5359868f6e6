"""A CAS(ME)^3 Part A spotting entry end to end, on a tiny Part A-layout fixture made here.

The fixture has Part A's layout (Li et al., CAS(ME)^3, TPAMI 2022): two subjects, each with a
video named ``a`` (so the video folder names collide across subjects), frames
``part_A/<subject>/a/color/<n>.jpg`` with 16-bit depth ``.../a/depth/<n>.png`` (mm), 30 fps,
and the annotation sheet ``CAS(ME)3_part_A_v2.xlsx``, sheet "AU+Emotion", with Part A's
columns. Frames: the scikit-image astronaut photograph (a face dlib finds) moved by a pixel now
and then, the mouth region brightened within each annotated interval; depth a dome in front of
the camera. The truth is the sheet's, so the checks are against the rows written below.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from skimage.data import astronaut

from tests.integration.conftest import run_snakemake

N_FRAMES = 90
#: subject -> the first frame number of its video "a" (Part A numbers frames as in the
#: original recording: the sheet's frames are these file numbers)
FIRST_FRAME = {"spNO.1": 1, "spNO.2": 201}
# Subject, Filename, Onset, Apex, Offset, AU, Expression type, Objective class, emotion
SHEET_ROWS = [
    ("spNO.1", "a", 10, 14, 18, "4", "Micro-expression", 5, "disgust"),  # 300 ms: micro
    ("spNO.1", "a", 40, 52, 0, "12", "Macro-expression", 1, "happy"),  # offset 0 -> apex
    ("spNO.1", "a", 60, 70, 85, "6+12", "Macro-expression", 1, "happy"),  # 867 ms: macro
    # the sheet says macro; 13 frames (433 ms) is micro by CAS(ME)^3's rule, which wins
    ("spNO.2", "a", 210, 215, 222, "4", "Macro-expression", 5, "disgust"),
    ("spNO.2", "a", 240, 250, 275, "6+12", "Macro-expression", 1, "happy"),  # macro
    # onset after offset: the reader flags it, the rule cannot type it: the sheet's type stays
    ("spNO.2", "a", 260, 262, 255, "4", "Micro-expression", 5, "disgust"),
]
COLUMNS = [
    "Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type",
    "Objective class", "emotion",
]  # fmt: skip
#: (video key, onset, offset, type, offset unannotated) the truth must hold
EXPECTED_TRUTH = {
    ("spNO.1_a", 10, 18, "micro", False),
    ("spNO.1_a", 40, 52, "macro", True),
    ("spNO.1_a", 60, 85, "macro", False),
    ("spNO.2_a", 210, 222, "micro", False),
    ("spNO.2_a", 240, 275, "macro", False),
    ("spNO.2_a", 260, 255, "micro", False),
}
METHODS = ["mdmd", "lbp", "depth", "lbp_depth"]


def write_part_a_fixture(root: Path) -> None:
    """Frames and sheet of the fixture under ``root`` (about 1.5 MB, made in ~1 s)."""
    face = np.ascontiguousarray(astronaut()[0:240, 100:420])  # 320 x 240, the face at ~(120, 120)
    ys, xs = np.mgrid[0:240, 0:320]
    dome = (450.0 + 0.004 * ((xs - 120.0) ** 2 + (ys - 120.0) ** 2)).astype(np.uint16)
    dome[:, :8] = 0  # a strip without depth data, as at a real sensor's edge
    mouth = (slice(140, 165), slice(95, 150))
    for subject, first in FIRST_FRAME.items():
        video = root / "part_A" / subject / "a"
        (video / "color").mkdir(parents=True)
        (video / "depth").mkdir()
        intervals = [(on, off) for s, _, on, _, off, *_ in SHEET_ROWS if s == subject and off > on]
        for n in range(first, first + N_FRAMES):
            shift = (n // 7) % 2  # the head moves a pixel now and then
            color = np.roll(face, shift, axis=1).astype(np.int16)
            for onset, offset in intervals:
                if onset <= n <= offset:
                    color[mouth] += 25
            color = np.clip(color, 0, 255).astype(np.uint8)
            cv2.imwrite(str(video / f"color/{n}.jpg"), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(video / f"depth/{n}.png"), np.roll(dome, shift, axis=1))
    sheet = pd.DataFrame(SHEET_ROWS, columns=COLUMNS)
    with pd.ExcelWriter(root / "CAS(ME)3_part_A_v2.xlsx") as writer:
        sheet.to_excel(writer, sheet_name="AU+Emotion", index=False)


@pytest.fixture(scope="module")
def casme3_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("spotting_casme3")
    data = work / "casme3"
    write_part_a_fixture(data)
    extra = work / "casme3_spotting.yaml"
    entry = {
        "layout": "casme3_a", "root": str(data), "annotations": "CAS(ME)3_part_A_v2.xlsx",
        "source": "part_A/{subject}/{video}", "fps": 30, "methods": METHODS,
        "depth_registration": "2d",
    }  # fmt: skip
    extra.write_text(
        yaml.safe_dump({"spotting": {"in_default_run": False, "datasets": {"casme3_a": entry}}})
    )
    # the set's own targets: `snakemake spotting` would also render the synthetic sets
    targets = [
        "results/tables/casme3_a/spotting.tsv",
        "results/figures/casme3_a/spotting/videos/spNO.1_a.png",
        "results/figures/casme3_a/spotting/videos/spNO.2_a.png",
    ]
    run_snakemake(work, *targets, configfiles=(extra,))
    return work


def test_part_a_truth_keys_and_types(casme3_run: Path):
    truth = pd.read_csv(casme3_run / "results/casme3_a/spotting/truth.tsv", sep="\t")
    got = {
        (r.video, int(r.onset), int(r.offset), r.expression_type, bool(r.offset_unannotated))
        for r in truth.itertuples()
    }
    assert got == EXPECTED_TRUTH
    assert truth.expression_type.value_counts().to_dict() == {"micro": 3, "macro": 3}
    log = (casme3_run / "results/logs/casme3_a/spotting/truth.log").read_text()
    assert "offset 0 -> apex in 1 rows" in log
    assert "1 differ from the sheet's column" in log


def test_part_a_crops_read_color_and_depth(casme3_run: Path):
    for subject, first in FIRST_FRAME.items():
        crops = np.load(casme3_run / f"results/casme3_a/spotting/crops/{subject}_a.npz")
        assert crops["frame_numbers"].tolist() == list(range(first, first + N_FRAMES))
        assert crops["gray"].shape == (N_FRAMES, 168, 168)
        assert crops["face_found"].all()
        # depth from depth/ (Part A ships no intrinsics: registered in 2D)
        assert str(crops["depth_registration"]) == "2d"
        assert crops["block_depth"].shape == (N_FRAMES, 36)
        assert np.isfinite(crops["block_depth"]).mean() > 0.9
        assert 440 < np.nanmedian(crops["block_depth"]) < 600  # mm: the dome's depths


def test_part_a_table(casme3_run: Path):
    truth = pd.read_csv(casme3_run / "results/casme3_a/spotting/truth.tsv", sep="\t")
    table = pd.read_csv(casme3_run / "results/tables/casme3_a/spotting.tsv", sep="\t")
    assert len(table) == len(METHODS) * 2 * 3
    assert set(table.method) == set(METHODS)
    assert set(table.counting) == {"megc2020", "one_to_one"}
    assert {"tp", "fp", "fn", "precision", "recall", "f1"} <= set(table.columns)
    n_true = {"micro": 3, "macro": 3, "overall": 6}
    for row in table.itertuples():
        assert row.tp + row.fn == n_true[row.expression_type]
    # the unannotated-offset row is counted in the table's title
    md = (casme3_run / "results/tables/casme3_a/spotting.md").read_text()
    assert f"1 of {len(truth)} ground-truth offsets were 0 (set to the apex)" in md
    for video in ("spNO.1_a", "spNO.2_a"):
        for method in METHODS:
            intervals = pd.read_csv(
                casme3_run / f"results/casme3_a/spotting/{method}/{video}.tsv", sep="\t"
            )
            first = FIRST_FRAME[video.removesuffix("_a")]
            # predictions in the video's own frame numbers (the sheet's)
            assert intervals.onset.between(first, first + N_FRAMES - 1).all()
        figure = casme3_run / f"results/figures/casme3_a/spotting/videos/{video}.png"
        assert figure.stat().st_size > 10_000
