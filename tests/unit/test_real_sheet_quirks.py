"""The quirks of the real annotation sheets, each reproduced in a small sheet written here.

The databases' sheets are licensed, so none is copied: every sheet below is written by the test
with the shape (header, columns, cell types) and the kind of value the real sheet has at the
row the issue found (CAS(ME)^3 Part A ME label sheet and Part C, the CAS(ME)^2 ground truth,
the CASME II coding sheet, the SAMM micro-expression codes). Each test checks that the row is
kept, flagged with the right problem kind, and what recognition does with it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from microexp.io.annotations import (
    COLUMNS,
    EXTRA_COLUMNS,
    AnnotationWarning,
    problem_kinds,
    read_annotations,
)
from microexp.io.samples import read_sample_sheet, recognition_exclusions

try:  # tests/unit as a package or as a plain folder on sys.path (pytest's default)
    from .sheets import write_xls, write_xlsx
except ImportError:
    from sheets import write_xls, write_xlsx


def read(*args, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return read_annotations(*args, **kwargs)


def kinds(table: pd.DataFrame) -> list[list[str]]:
    return [problem_kinds(p) for p in table["problems"].tolist()]


def values(table: pd.DataFrame, name: str) -> list[object]:
    return [None if pd.isna(v) else v for v in table[name].tolist()]


# --------------------------------------------------------------------------------------------
# CAS(ME)^3 Part A, ME label sheet (cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx, sheet "label")
# --------------------------------------------------------------------------------------------
PART_A_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "Objective class", "emotion",
                 "AU"]  # fmt: skip
PART_A_ROWS = [
    PART_A_HEADER,
    ["spNO.1", "a", 153, 160, 170, "3", "surprise", "R1+R2"],
    ["spNO.12", "b", 112, 83, 358, "1", "happy", "12"],  # apex 83 outside 112..358
    ["spNO.30", "d", 3647, 3660, 2694, "4", "disgust", "4+7"],  # onset after offset
    ["spNO.40", "e", 1812, 1820, 0, "2", "others", "4"],  # offset 0: not annotated
    ["spNO.40", "e", 2327, 2330, 0, "2", "others", "14"],  # offset 0: not annotated
]


def test_casme3_part_a_me_label_quirks_are_kept_and_flagged(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
                      {"label": PART_A_ROWS})  # fmt: skip
    table = read(path, "casme3_a")  # the default API call: no exception
    assert len(table) == 5  # nothing set aside
    assert values(table, "sample") == [
        "spNO.1_a_153", "spNO.12_b_112", "spNO.30_d_3647", "spNO.40_e_1812", "spNO.40_e_2327",
    ]  # fmt: skip
    assert kinds(table) == [
        [],
        ["apex outside onset..offset"],
        ["onset after offset"],
        ["offset not annotated"],
        ["offset not annotated"],
    ]
    assert "apex 83, onset..offset 112..358" in table.at[1, "problems"]
    assert "onset 3647, offset 2694" in table.at[2, "problems"]
    assert values(table, "offset") == [170, 358, 2694, None, None]
    # the strict check still stops at the first problem, naming where
    with pytest.raises(ValueError, match=r"label', row 3, column 'Apex' \(D\)"):
        read_annotations(path, "casme3_a", errors="raise")


def test_recognition_excludes_the_rows_it_cannot_use_with_the_reason(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "label.xlsx", {"label": PART_A_ROWS})
    assert path.exists()
    dataset = {"layout": "casme3_a", "root": str(tmp_path), "annotations": "label.xlsx",
               "source": "part_A/{subject}/{video}", "fps": 30}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        sheet = read_sample_sheet("casme3_a", dataset)
    assert len(sheet.annotations) == 5
    assert sheet.table["sample"].tolist() == ["spNO.1_a_153"]
    why = dict(zip(sheet.annotations["sample"], sheet.annotations["recognition"], strict=True))
    assert why["spNO.1_a_153"] == "used"
    assert why["spNO.12_b_112"].startswith("excluded: apex outside onset..offset")
    assert why["spNO.30_d_3647"].startswith("excluded: onset after offset")
    assert why["spNO.40_e_1812"] == "excluded: offset not annotated: written 0"
    assert recognition_exclusions(sheet.annotations).notna().sum() == 4


# --------------------------------------------------------------------------------------------
# CAS(ME)^3 Part C (CAS(ME)3_part_C_ME.xlsx): an uncertain AU "13?"
# --------------------------------------------------------------------------------------------
def test_casme3_part_c_uncertain_au_is_kept_and_marked(tmp_path: Path) -> None:
    rows = [
        ["sub", "count", "onset", "offset", "au", "emotion"],
        [1, 1, 100, 110, "4", "negative"],
        [3, 2, 520, 531, "12+13?", "positive"],
    ]
    path = write_xlsx(tmp_path / "CAS(ME)3_part_C_ME.xlsx", {"Sheet1": rows})
    table = read(path, "casme3_c")
    assert values(table, "aus") == ["AU4", "AU12+AU13"]  # AU13 kept
    assert values(table, "aus_facs") == ["4", "12+13?"]  # and marked, losslessly
    assert kinds(table) == [[], ["uncertain AU"]]
    assert table.at[1, "problems"] == "uncertain AU: 13 (written '12+13?')"
    # an uncertain AU does not stop recognition: the row keeps its labels and flag
    assert recognition_exclusions(table).isna().all()


# --------------------------------------------------------------------------------------------
# CAS(ME)^2 ground truth (CAS(ME)^2code_final.xlsx): shared onsets, apex past the offset
# --------------------------------------------------------------------------------------------
def casme_sq_sheets(rows: list[list[object]]) -> dict[str, list[list[object]]]:
    return {
        "CASFEcode_final": rows,
        "naming rule1": [[15, "casme_015", 1], [16, "casme_016", 2]],
        "naming rule2": [["0101", "disgust1"], ["0402", "anger2"]],
    }


def test_casme_sq_shared_onset_and_apex_past_offset(tmp_path: Path) -> None:
    rows = [
        [1, "disgust1_1", 322, 330, 360, "4", "negative", "macro-expression", "disgust"],
        [1, "disgust1_2", 322, 340, 371, "45+62", "others", "macro-expression", "disgust"],
        [2, "anger2_1", 1221, 1230, 1224, "4+7", "negative", "micro-expression", "anger"],
        [2, "anger2_2", 1500, 1504, 0, "4", "negative", "micro-expression", "anger"],
    ]
    path = write_xlsx(tmp_path / "CAS(ME)^2code_final.xlsx", casme_sq_sheets(rows))
    table = read(path, "casme_sq")
    assert list(table.columns) == [*COLUMNS, *EXTRA_COLUMNS["casme_sq"]]
    assert values(table, "sample") == [
        "s15_15_0101_322a", "s15_15_0101_322b", "s16_16_0402_1221", "s16_16_0402_1500",
    ]  # fmt: skip
    assert kinds(table) == [
        ["duplicate sample id"],
        ["duplicate sample id"],
        ["apex outside onset..offset"],
        ["offset not annotated"],
    ]
    assert values(table, "aus") == ["AU4", "AU45+AU62", "AU4+AU7", "AU4"]
    # spotting keeps every interval: all four are in the table, with their frames as written
    assert values(table, "onset") == [322, 322, 1221, 1500]
    assert values(table, "apex") == [330, 340, 1230, 1504]


# --------------------------------------------------------------------------------------------
# CASME II coding sheet
# --------------------------------------------------------------------------------------------
CASME_II_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                   "Action Units", "Estimated Emotion"]  # fmt: skip


def test_casme_ii_coding_sheet(tmp_path: Path) -> None:
    rows = [
        CASME_II_HEADER,
        [1, "EP02_01f", None, 46, 59, 86, None, "12", "happiness"],
        [1, "EP03_02", None, 131, "/", 210, None, "R14", "others"],  # apex "/"
        [17, "EP05_09", None, 19, 45, 0, None, "4+7", "disgust"],  # offset 0
        [26, "EP18_44", None, 1, 33, 60, None, "L12 or R12", "repression"],
    ]
    path = write_xlsx(tmp_path / "CASME2-coding-20140508.xlsx", {"Sheet1": rows})
    table = read(path, "casme_ii")
    assert list(table.columns) == [*COLUMNS, *EXTRA_COLUMNS["casme_ii"]]
    assert values(table, "subject") == ["sub01", "sub01", "sub17", "sub26"]
    assert values(table, "video") == ["EP02_01f", "EP03_02", "EP05_09", "EP18_44"]
    assert values(table, "sample") == [
        "sub01_EP02_01f", "sub01_EP03_02", "sub17_EP05_09", "sub26_EP18_44",
    ]  # fmt: skip
    assert values(table, "apex") == [59, None, 45, 33]
    assert values(table, "offset") == [86, 210, None, 60]
    assert values(table, "expression_type") == ["micro"] * 4
    assert values(table, "emotion") == ["happiness", "others", "disgust", "repression"]
    assert kinds(table) == [[], ["apex not annotated"], ["offset not annotated"],
                            ["uncertain AU"]]  # fmt: skip
    assert values(table, "aus_facs")[3] == "L12?+R12?"
    # recognition keeps a row without apex, not one without offset (no clip can be cut)
    assert recognition_exclusions(table).notna().tolist() == [False, False, True, False]


# --------------------------------------------------------------------------------------------
# SAMM micro-expression codes: free text above the header, apex -1
# --------------------------------------------------------------------------------------------
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame",
               "Offset Frame", "Duration", "Type", "Action Units", "Notes",
               "Estimated Emotion", "Objective Classes"]  # fmt: skip


def test_samm_codes_with_text_above_the_header(tmp_path: Path) -> None:
    rows = [
        ["SAMM: Spontaneous Actions and Micro-Movements"],
        ["Micro-movements coded with FACS; frames at 200 fps."],
        [],
        ["Key: Objective Classes as in Davison et al. 2018"],
        SAMM_HEADER,
        ["006", "006_1_2", 1, 5562, 5588, 5632, 71, "Micro - 1/2", "4+7", None, "Anger", 3],
        [6, "006_1_3", 1, 3912, -1, 3948, 37, "Micro - 1/2", "R12 or R15", "unsure", "Other", 7],
        ["028", "028_4_1", 4, 2870, 2860, 2910, 41, "Micro - 1/2", "14", None, "Contempt", 3],
    ]
    path = write_xls(tmp_path / "SAMM_Micro_FACS_Codes_v2.xls", {"MICRO_ONLY": rows})
    table = read(path, "samm")
    assert list(table.columns) == [*COLUMNS, *EXTRA_COLUMNS["samm"]]
    assert values(table, "subject") == ["006", "006", "028"]
    assert values(table, "video") == ["006_1_2", "006_1_3", "028_4_1"]
    assert values(table, "sample") == ["006_1_2", "006_1_3", "028_4_1"]
    assert values(table, "onset") == [5562, 3912, 2870]
    assert values(table, "apex") == [5588, None, 2860]  # -1: not coded
    assert values(table, "inducement_code") == ["1", "1", "4"]
    assert values(table, "objective_class") == ["3", "7", "3"]
    assert values(table, "emotion") == ["anger", "other", "contempt"]
    assert values(table, "expression_type") == ["micro"] * 3
    assert kinds(table) == [[], ["apex not annotated", "uncertain AU"],
                            ["apex outside onset..offset"]]  # fmt: skip
    assert values(table, "sheet_row") == [6, 7, 8]
