"""Annotation sheets -> the normalised table (microexp.io.annotations;
docs/methods.md#annotation-sheets).

Every sheet is written here, in the layout and with the quirks the module docstring documents,
then read back and compared value by value.
"""

from __future__ import annotations

import datetime
import time
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from microexp.io.annotations import (
    COLUMNS,
    EXTRA_COLUMNS,
    AnnotationError,
    AnnotationWarning,
    RowProblem,
    list_sheets,
    problem_kinds,
    read_annotations,
    read_eye_blinks,
    unique_sample_ids,
)
from microexp.synthetic.sheet import DSME3D_HEADER, write_dsme3d_sheet, write_generic_sheet

try:  # tests/unit as a package or as a plain folder on sys.path (pytest's default)
    from .sheets import write_xls, write_xlsx
except ImportError:
    from sheets import write_xls, write_xlsx


def column(table: pd.DataFrame, name: str) -> list[object]:
    """A column as plain Python values, <NA> as None."""
    return [None if pd.isna(v) else v for v in table[name].tolist()]


def warning_texts(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, AnnotationWarning)]


def read_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return read_annotations(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# DSME-3D: micro-expression.xls (a real BIFF .xls, as the data set ships it)
# --------------------------------------------------------------------------------------------
DSME3D_ROWS = [
    ["DSME-3D: a dynamic 3D spontaneous micro-expression database"],
    ["33 participants, 60 fps; frame numbers are positions in the color sequence"],
    [],
    [
        "Participant ",
        "Sample",
        "Onset frame",
        "Apex frame",
        "Offset frame",
        "AUs",
        "Objective class",
        "Non-objective class",
    ],
    [1, "1_1", 10, 15, 30, "AU1+AU2", "I", "Surprise"],
    [None, "1_2", "12 ", "/", 40.0, "R1+R2", None, "surprise "],
    [2, "2_1", 100.0, 104, 120, "4,7", "III", "Disgust"],
    [2, "2_3", " 5", "-", 9, "AU4, AU7", "III", "disgust"],
    [3, "3_1", 7, None, 20, "L12", "IV", "Happiness"],
    [3, "3_2", 7, 8, 20, "B23+T24", "VI", "others"],
    ["Note: sample 3_3 was removed (blink)."],
]
# participant 1 and objective class "I" merged over the two rows of participant 1
DSME3D_MERGES = {"Sheet1": [(4, 0, 5, 0), (4, 6, 5, 6)]}


def test_dsme3d_xls_all_quirks(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "micro-expression.xls", {"Sheet1": DSME3D_ROWS}, DSME3D_MERGES)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        table = read_annotations(path, "dsme3d")

    assert list(table.columns) == [*COLUMNS, *EXTRA_COLUMNS["dsme3d"]]
    assert column(table, "subject") == ["1", "1", "2", "2", "3", "3"]
    assert column(table, "video") == ["1", "2", "1", "3", "1", "2"]
    assert column(table, "sample") == ["1_1", "1_2", "2_1", "2_3", "3_1", "3_2"]
    assert column(table, "sample_in_sheet") == column(table, "sample")
    assert column(table, "onset") == [10, 12, 100, 5, 7, 7]
    assert column(table, "apex") == [15, None, 104, None, None, 8]
    assert column(table, "offset") == [30, 40, 120, 9, 20, 20]
    assert column(table, "aus") == ["AU1+AU2", "AU1+AU2", "AU4+AU7", "AU4+AU7", "AU12", "AU23+AU24"]
    assert column(table, "aus_facs") == ["1+2", "R1+R2", "4+7", "4+7", "L12", "B23+T24"]
    assert column(table, "aus_raw") == ["AU1+AU2", "R1+R2", "4,7", "AU4, AU7", "L12", "B23+T24"]
    assert column(table, "expression_type") == ["micro"] * 6
    assert column(table, "objective_class") == ["I", "I", "III", "III", "IV", "VI"]
    assert column(table, "emotion") == [
        "surprise",
        "surprise",
        "disgust",
        "disgust",
        "happiness",
        "others",
    ]
    assert column(table, "sheet_row") == [5, 6, 7, 8, 9, 10]
    assert str(table["onset"].dtype) == "Int64"
    assert str(table["subject"].dtype) == "string"
    assert str(table["sheet_row"].dtype) == "int64"

    texts = warning_texts(record)
    assert any("'Apex frame' (D): apex '/' read as <NA> (rows 6)" in t for t in texts)
    assert any("apex '-' read as <NA> (rows 8)" in t for t in texts)
    assert any("apex blank read as <NA> (rows 9)" in t for t in texts)
    assert any("free-text row skipped" in t and "rows 11" in t for t in texts)
    assert all("micro-expression.xls" in t and "sheet 'Sheet1'" in t for t in texts)
    # a merged participant is the sheet's way of writing "same participant": no warning
    assert not any("blank participant" in t for t in texts)


def test_dsme3d_ids_repeated_across_participants(tmp_path: Path) -> None:
    # The paper's other reading of "1_1": <video>_<n>, numbered per participant.
    rows = [
        [
            "Participant",
            "Sample",
            "Onset",
            "Apex",
            "Offset",
            "AU",
            "Objective class",
            "Non-objective class",
        ],
        [1, "1_1", 10, 12, 20, "1+2", "I", "surprise"],
        [2, "1_1", 30, 33, 40, "4", "II", "disgust"],
        [2, "2_1", 50, 52, 60, "12", "III", "happiness"],
    ]
    path = write_xlsx(tmp_path / "micro-expression.xlsx", {"Sheet1": rows})
    with pytest.warns(AnnotationWarning, match="read as '<video>_<n>' per participant"):
        table = read_annotations(path, "dsme3d")
    assert column(table, "sample") == ["1_1_1", "2_1_1", "2_2_1"]
    assert column(table, "video") == ["1", "1", "2"]
    assert column(table, "sample_in_sheet") == ["1_1", "1_1", "2_1"]


def test_dsme3d_blank_participant_without_merge_is_filled_with_warning(tmp_path: Path) -> None:
    rows = [
        [
            "Participant",
            "Sample",
            "Onset",
            "Apex",
            "Offset",
            "AUs",
            "Objective class",
            "Non-objective class",
        ],
        [7, "7_1", 10, 12, 20, "1+2", "I", "surprise"],
        [None, "7_2", 30, 33, 40, "4", "II", "disgust"],
    ]
    path = write_xlsx(tmp_path / "m.xlsx", {"Sheet1": rows})
    with pytest.warns(AnnotationWarning, match="blank participant taken from the row above"):
        table = read_annotations(path, "dsme3d")
    assert column(table, "subject") == ["7", "7"]


# --------------------------------------------------------------------------------------------
# CAS(ME)^3 Part A: CAS(ME)3_part_A_v2.xls ("AU+Emotion" + "eye blink") and the ME-only xlsx
# --------------------------------------------------------------------------------------------
CASME3_A_SHEETS = {
    "readme": [["Part A: 100 subjects, 30 fps"]],
    "AU+Emotion": [
        ["CAS(ME)3 Part A, coded by two FACS coders"],
        [
            "Subject",
            "Filename",
            "Onset",
            "Apex",
            "Offset",
            "AU",
            "Expression type (macro/micro)",
            "Objective class",
            "emotion",
        ],
        ["spNO.1", "a", 153, 160, 170, "R1+R2", "micro", 3, "surprise"],
        [None, None, 300, "/", 420, "4+7", "macro", 1, "Negative"],
        ["spNO.2", "b", 12.0, 14, 20, "T24", "Micro-expression", "2", "others"],
    ],
    "eye blink": [
        ["Subject", "Filename", "Onset", "Offset"],
        ["spNO.1", "a", 50, 55],
    ],
}


CASME3_A_MERGES = {"AU+Emotion": [(2, 0, 3, 0), (2, 1, 3, 1)]}  # subject, filename merged


def test_casme3_part_a_v2_xls(tmp_path: Path) -> None:
    path = write_xls(
        tmp_path / "CAS(ME)3_part_A_v2.xls",
        CASME3_A_SHEETS,
        CASME3_A_MERGES,
    )
    assert list_sheets(path) == ["readme", "AU+Emotion", "eye blink"]
    with pytest.warns(AnnotationWarning, match=r"'Apex' \(D\): apex '/' read as <NA> \(rows 4\)"):
        table = read_annotations(path, "casme3_a")  # picks "AU+Emotion", never "eye blink"
    assert list(table.columns) == list(COLUMNS)
    assert column(table, "subject") == ["spNO.1", "spNO.1", "spNO.2"]
    assert column(table, "video") == ["a", "a", "b"]
    assert column(table, "sample") == ["spNO.1_a_153", "spNO.1_a_300", "spNO.2_b_12"]
    assert column(table, "onset") == [153, 300, 12]
    assert column(table, "apex") == [160, None, 14]
    assert column(table, "offset") == [170, 420, 20]
    assert column(table, "aus") == ["AU1+AU2", "AU4+AU7", "AU24"]
    assert column(table, "aus_facs") == ["R1+R2", "4+7", "T24"]
    assert column(table, "expression_type") == ["micro", "macro", "micro"]
    assert column(table, "objective_class") == ["3", "1", "2"]
    assert column(table, "emotion") == ["surprise", "negative", "others"]
    assert column(table, "sheet_row") == [3, 4, 5]

    blinks = read_eye_blinks(path)
    assert column(blinks, "sample") == ["spNO.1_a_50"]
    assert column(blinks, "offset") == [55]
    assert column(blinks, "apex") == [None]
    assert column(blinks, "expression_type") == [None]


def test_casme3_part_a_me_label_xlsx(tmp_path: Path) -> None:
    rows = [
        ["Subject", "Filename", "Onset", "Apex", "Offset", "Objective class", "emotion", "AU"],
        ["spNO.3 ", "c", "1012 ", 1020, 1030, "4", "disgust", "4,7"],
        ["spNO.3", "d", 55, 60, 62, "1", "Surprise", "1+2"],
    ]
    path = write_xlsx(
        tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", {"Sheet0": [], "label": rows}
    )
    table = read_annotations(path, "casme3_a")  # the sheet "label" is preferred
    assert column(table, "subject") == ["spNO.3", "spNO.3"]
    assert column(table, "sample") == ["spNO.3_c_1012", "spNO.3_d_55"]
    assert column(table, "onset") == [1012, 55]
    assert column(table, "aus") == ["AU4+AU7", "AU1+AU2"]
    assert column(table, "expression_type") == ["micro", "micro"]  # an ME-only file
    assert column(table, "objective_class") == ["4", "1"]
    assert column(table, "emotion") == ["disgust", "surprise"]


# --------------------------------------------------------------------------------------------
# CAS(ME)^3 Part C
# --------------------------------------------------------------------------------------------
def test_casme3_part_c(tmp_path: Path) -> None:
    rows = [
        ["sub", "count", "onset", "offset", "au", "emotion"],
        [1, 1, 100, 110, "4", "negative"],
        [1, 2, 300.0, 309, "12", "positive"],
        ["2 ", 1, 40, 50, 4, "surprise"],
    ]
    path = write_xlsx(tmp_path / "CAS(ME)3_part_C_ME.xlsx", {"Sheet1": rows})
    table = read_annotations(path, "casme3_c")
    assert column(table, "subject") == ["1", "1", "2"]
    assert column(table, "video") == ["1", "2", "1"]
    assert column(table, "sample") == ["1_1_100", "1_2_300", "2_1_40"]
    assert column(table, "onset") == [100, 300, 40]
    assert column(table, "apex") == [None, None, None]  # Part C has no apex column
    assert column(table, "offset") == [110, 309, 50]
    assert column(table, "aus") == ["AU4", "AU12", "AU4"]
    assert column(table, "aus_raw") == ["4", "12", "4"]
    assert column(table, "expression_type") == ["micro"] * 3
    assert column(table, "emotion") == ["negative", "positive", "surprise"]


# --------------------------------------------------------------------------------------------
# CAS(ME)^2: no header row, naming sheets map participants and videos to folders
# --------------------------------------------------------------------------------------------
CASME_SQ_SHEETS = {
    "CASFEcode_final": [
        ["CAS(ME)^2 code, final"],
        [1, "anger1_1", 557, 572, 608, "4+10", "negative", "macro-expression", "anger"],
        [1, "anger1_2", 2854, 2862, 0, "4", "negative", "micro-expression", "anger"],
        [2, "disgust1_1", 101, 107, 115, "AU4, AU7", "Negative", "micro-expression", "Disgust"],
        [2, "Disgust1_3 ", 200, "/", 210, "R9", "others", "micro-expression", "surprise"],
    ],
    "naming rule1": [[15, "casme_015", 1], [16, "casme_016", 2]],
    "naming rule2": [["0401", "anger1"], [101, "disgust1"]],
}


def test_casme_sq_no_header_and_naming_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "CAS(ME)^2code_final.xlsx", CASME_SQ_SHEETS)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        table = read_annotations(path, "casme_sq")
    assert list(table.columns) == [*COLUMNS, *EXTRA_COLUMNS["casme_sq"]]
    assert column(table, "subject") == ["s15", "s15", "s16", "s16"]
    assert column(table, "video") == ["15_0401", "15_0401", "16_0101", "16_0101"]
    assert column(table, "sample") == [
        "s15_15_0401_557",
        "s15_15_0401_2854",
        "s16_16_0101_101",
        "s16_16_0101_200",
    ]
    assert column(table, "onset") == [557, 2854, 101, 200]
    assert column(table, "apex") == [572, 2862, 107, None]
    assert column(table, "offset") == [608, None, 115, 210]
    assert column(table, "aus") == ["AU4+AU10", "AU4", "AU4+AU7", "AU9"]
    assert column(table, "aus_facs") == ["4+10", "4", "4+7", "R9"]
    assert column(table, "expression_type") == ["macro", "micro", "micro", "micro"]
    assert column(table, "objective_class") == [None] * 4
    assert column(table, "emotion") == ["negative", "negative", "negative", "others"]
    assert column(table, "self_reported_emotion") == ["anger", "anger", "disgust", "surprise"]
    assert column(table, "participant") == ["1", "1", "2", "2"]
    assert column(table, "subject_code") == ["casme_015", "casme_015", "casme_016", "casme_016"]
    assert column(table, "video_name") == ["anger1", "anger1", "disgust1", "Disgust1"]
    assert column(table, "video_code") == ["0401", "0401", "0101", "0101"]
    assert column(table, "expression_name") == ["anger1_1", "anger1_2", "disgust1_1", "Disgust1_3"]
    assert column(table, "sheet_row") == [2, 3, 4, 5]
    texts = warning_texts(record)
    assert any(
        "column E (offset): offset 0 means not annotated" in t and "rows 3" in t for t in texts
    )
    assert any("column D (apex): apex '/' read as <NA> (rows 5)" in t for t in texts)


def test_casme_sq_unmapped_participant_and_video_are_row_problems(tmp_path: Path) -> None:
    sheets = dict(CASME_SQ_SHEETS)
    sheets["CASFEcode_final"] = [
        [1, "anger1_1", 557, 572, 608, "4", "negative", "macro-expression", "anger"],
        [9, "anger1_2", 700, 702, 710, "4", "negative", "micro-expression", "anger"],
        [1, "sad9_1", 800, 802, 810, "4", "negative", "micro-expression", "sad"],
    ]
    path = write_xlsx(tmp_path / "CAS(ME)^2code_final.xlsx", sheets)
    table, problems = read_annotations(path, "casme_sq", errors="collect")
    # every row kept; the unmappable ones get an id from what is known and their sheet row
    assert column(table, "sample") == ["s15_15_0401_557", "unknown_row2", "s15_row3"]
    assert [p.kind for p in problems] == [
        "participant not in naming rule1",
        "video name not in naming rule2",
    ]
    assert [(p.row, p.column) for p in problems] == [
        (2, "A (participant)"),
        (3, "B (expression_name)"),
    ]
    assert "participant 9" in problems[0].message
    assert "'sad9'" in problems[1].message
    assert column(table, "problems") == ["", problems[0].message, problems[1].message]
    with pytest.raises(AnnotationError) as caught:
        read_annotations(path, "casme_sq", errors="raise")
    message = str(caught.value)
    for part in (
        "CAS(ME)^2code_final.xlsx",
        "sheet 'CASFEcode_final'",
        "row 2",
        "column A (participant)",
    ):
        assert part in message


def test_casme_sq_needs_naming_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "c2.xlsx", {"code": CASME_SQ_SHEETS["CASFEcode_final"]})
    with pytest.raises(AnnotationError, match="needs the sheet 'naming rule1'"):
        read_annotations(path, "casme_sq")


# --------------------------------------------------------------------------------------------
# Generic layout and the synthetic writers
# --------------------------------------------------------------------------------------------
SYNTHETIC_ROWS = pd.DataFrame(
    {
        "subject": ["1", "1", "2"],
        "video": ["1", "2", "1"],
        "onset": [10, 20, 5],
        "apex": pd.array([12, None, 7], dtype="Int64"),
        "offset": [30, 40, 9],
        "aus": ["AU1+AU2", "R12", "AU4+AU7"],
        "objective_class": ["I", "II", "III"],
        "emotion": ["happiness", "surprise", "others"],
    }
)


def test_dsme3d_writer_round_trips(tmp_path: Path) -> None:
    path = write_dsme3d_sheet(SYNTHETIC_ROWS, tmp_path / "micro-expression.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A1"].value.startswith("DSME-3D")
    assert tuple(c.value for c in sheet[2]) == DSME3D_HEADER
    assert sheet["D4"].value == "/"  # a missing apex, written as real sheets write it
    table = read_quietly(path, "dsme3d")
    assert column(table, "sample") == ["1_1", "1_2", "2_1"]
    for name in ("subject", "video", "onset", "apex", "offset", "objective_class", "emotion"):
        assert column(table, name) == column(SYNTHETIC_ROWS, name), name
    assert column(table, "aus") == ["AU1+AU2", "AU12", "AU4+AU7"]
    assert column(table, "aus_facs") == ["1+2", "R12", "4+7"]


def test_dsme3d_sheet_bytes_do_not_depend_on_the_time_of_writing(tmp_path: Path, monkeypatch):
    # openpyxl stamps the save time into docProps/core.xml and zipfile into every entry: with the
    # clock a day and a second later, the same rows must still give the same bytes.
    first = write_dsme3d_sheet(SYNTHETIC_ROWS, tmp_path / "a.xlsx").read_bytes()
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 86_401.0)
    second = write_dsme3d_sheet(SYNTHETIC_ROWS, tmp_path / "b.xlsx").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "b.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.testzip() is None
    properties = openpyxl.load_workbook(tmp_path / "b.xlsx").properties
    assert properties.created == properties.modified == datetime.datetime(1980, 1, 1)
    # and different rows still give different bytes
    other = write_dsme3d_sheet(SYNTHETIC_ROWS.iloc[:2], tmp_path / "c.xlsx").read_bytes()
    assert other != first


def test_dsme3d_writer_keeps_macro_expressions(tmp_path: Path) -> None:
    # The synthetic sheet also holds macro-expressions: an optional 9th column says so.
    rows = SYNTHETIC_ROWS.assign(
        sample=["1_1", "1_2", "2_1"], expression_type=["micro", "macro", "micro"]
    )
    path = write_dsme3d_sheet(rows, tmp_path / "micro-expression.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert tuple(c.value for c in sheet[2]) == (*DSME3D_HEADER, "Expression type")
    table = read_quietly(path, "dsme3d")
    assert column(table, "expression_type") == ["micro", "macro", "micro"]
    assert column(table, "sample") == ["1_1", "1_2", "2_1"]


def test_dsme3d_writer_refuses_other_sample_ids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"must be <subject>_<video>.*'s-9'"):
        write_dsme3d_sheet(SYNTHETIC_ROWS.assign(sample=["1_1", "s-9", "2_1"]), tmp_path / "x.xlsx")


def test_dsme3d_writer_refuses_two_expressions_per_video(tmp_path: Path) -> None:
    rows = pd.concat([SYNTHETIC_ROWS, SYNTHETIC_ROWS.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"one expression per video.*'1_1'"):
        write_dsme3d_sheet(rows, tmp_path / "x.xlsx")


def test_generic_writer_round_trips(tmp_path: Path) -> None:
    rows = SYNTHETIC_ROWS.assign(
        source=["raw/1/1.bag", "raw/1/2.bag", "frames/2/1"],
        expression_type=["micro", "macro", "micro"],
    )
    path = write_generic_sheet(rows, tmp_path / "annotations.tsv")
    assert path.read_text().splitlines()[0].split("\t") == [
        "subject",
        "video",
        "sample",
        "source",
        "onset",
        "apex",
        "offset",
        "aus",
        "expression_type",
        "objective_class",
        "emotion",
    ]
    table = read_quietly(path, "generic")
    assert list(table.columns) == [*COLUMNS, "source"]
    assert column(table, "sample") == ["1_1_10", "1_2_20", "2_1_5"]
    for name in (
        "subject",
        "video",
        "onset",
        "apex",
        "offset",
        "objective_class",
        "emotion",
        "source",
        "expression_type",
    ):
        assert column(table, name) == column(rows, name), name
    assert column(table, "aus_facs") == ["1+2", "R12", "4+7"]
    assert column(table, "sheet_row") == [2, 3, 4]


def test_generic_csv_with_own_sample_ids_and_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "# my RealSense session, 2024\n"
        "Subject,Video,Sample,Onset,Offset,AUs\n"
        "p01,take1,p01-a,100,112,AU12\n"
        "p01,take1,,130,150,\n",
        encoding="utf-8",
    )
    table = read_annotations(path, "generic")
    assert column(table, "sample") == ["p01-a", "p01_take1_130"]
    assert column(table, "apex") == [None, None]  # no apex column: nothing to warn about
    assert column(table, "aus") == ["AU12", ""]
    assert column(table, "expression_type") == [None, None]
    assert column(table, "sheet_row") == [3, 4]


# --------------------------------------------------------------------------------------------
# Errors: whole-file problems raise; row problems raise or are collected
# --------------------------------------------------------------------------------------------
HEADER = list(DSME3D_HEADER)


def assert_names(error: Exception, *parts: str) -> None:
    message = str(error)
    for part in parts:
        assert part in message, (part, message)


def test_empty_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", {"Sheet1": []})
    with pytest.raises(AnnotationError, match="empty") as caught:
        read_annotations(path, "dsme3d")
    assert_names(caught.value, "empty.xlsx", "sheet 'Sheet1'")


def test_header_without_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "h.xlsx", {"Sheet1": [HEADER]})
    with pytest.raises(AnnotationError, match="no expression rows"):
        read_annotations(path, "dsme3d")


def test_missing_required_column(tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "Apex frame"]
    path = write_xlsx(tmp_path / "noapex.xlsx", {"S": [["title"], header, [1, "1_1", 1, 2]]})
    with pytest.raises(AnnotationError, match="missing required column") as caught:
        read_annotations(path, "dsme3d")
    assert_names(caught.value, "noapex.xlsx", "sheet 'S'", "row 2", "column 'apex'")
    assert caught.value.row == 2 and caught.value.sheet == "S"


def test_no_header_row(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "nohead.xlsx", {"S": [["just", "text"], [1, "1_1", 3]]})
    with pytest.raises(AnnotationError, match="no header row found"):
        read_annotations(path, "casme3_a")


@pytest.mark.parametrize(
    ("row", "column_label", "reason"),
    [
        ([1, "1_1", 10, 12, 20, "12(k)", "I", "x"], "'AUs' (F)", "unreadable AU string"),
        ([1, "1_1", 30, 32, 20, "4", "I", "x"], "'Offset frame' (E)", "onset after offset"),
        ([1, "1_1", "abc", 12, 20, "4", "I", "x"], "'Onset frame' (C)", "non-numeric frame"),
        ([1, "1_1", 12.5, 13, 20, "4", "I", "x"], "'Onset frame' (C)", "whole number"),
        ([1, "1_1", 10, 25, 20, "4", "I", "x"], "'Apex frame' (D)", "outside onset..offset"),
        ([1, None, 10, 12, 20, "4", "I", "x"], "'Sample' (B)", "missing sample id"),
    ],
)
def test_row_errors_name_file_sheet_row_column(
    tmp_path: Path, row: list[object], column_label: str, reason: str
) -> None:
    good = [2, "2_1", 1, 2, 3, "1", "I", "x"]
    path = write_xlsx(tmp_path / "bad.xlsx", {"Coding": [["title"], HEADER, good, row]})
    with pytest.raises(AnnotationError, match=reason) as caught:
        read_annotations(path, "dsme3d", errors="raise")
    assert_names(caught.value, "bad.xlsx", "sheet 'Coding'", "row 4", f"column {column_label}")

    table, problems = read_annotations(path, "dsme3d", errors="collect")
    assert len(table) == 2  # nothing lost: the bad row is kept and flagged
    assert column(table, "problems")[0] == ""
    assert reason in column(table, "problems")[1]
    assert len(problems) == 1
    problem = problems[0]
    assert isinstance(problem, RowProblem)
    assert (problem.sheet, problem.row, problem.column) == ("Coding", 4, column_label)
    assert problem.file.endswith("bad.xlsx")
    assert reason in problem.message


def test_collect_keeps_every_row_and_flags_each_problem(tmp_path: Path) -> None:
    rows = [
        HEADER,
        [1, "1_1", 10, 12, 20, "1+2", "I", "x"],
        [1, "1_1", 40, 42, 50, "4", "I", "x"],  # the same id twice: both kept, suffixed
        [1, "1_2", 40, 42, 30, "12(k)", "I", "x"],  # two problems in one row
        [1, "1_3", 60, 62, 70, "4", "I", "x"],
    ]
    path = write_xlsx(tmp_path / "dup.xlsx", {"Sheet1": rows})
    table, problems = read_annotations(path, "dsme3d", errors="collect")
    # ids ordered by content (offset 20 before 50), not by row
    assert column(table, "sample") == ["1_1a", "1_1b", "1_2", "1_3"]
    assert column(table, "onset") == [10, 40, 40, 60]
    assert [(p.row, p.column, p.sample, p.kind) for p in problems] == [
        (2, "'Sample' (B)", "1_1a", "duplicate sample id"),
        (3, "'Sample' (B)", "1_1b", "duplicate sample id"),
        (4, "'Offset frame' (E)", "1_2", "onset after offset"),
        (4, "'AUs' (F)", "1_2", "unreadable AUs"),
    ]
    assert "'1_1' is shared by rows 2, 3; this row is '1_1b'" in problems[1].message
    assert str(problems[0]).startswith(f"{path}, sheet 'Sheet1', row 2, column 'Sample' (B): ")
    assert problem_kinds(column(table, "problems")[2]) == ["onset after offset", "unreadable AUs"]
    assert problem_kinds(column(table, "problems")[3]) == []
    # the default API call flags and never raises on a row problem
    assert column(read_annotations(path, "dsme3d"), "problems") == column(table, "problems")


def test_duplicate_ids_do_not_depend_on_row_order(tmp_path: Path) -> None:
    # CAS(ME)^2: two different macro-expressions of one video share onset 322
    first = [1, "anger1_3", 322, 330, 350, "4", "negative", "macro-expression", "anger"]
    second = [1, "anger1_4", 322, 325, 340, "45+62", "others", "macro-expression", "anger"]
    ids = []
    for order in ([first, second], [second, first]):
        sheets = {**CASME_SQ_SHEETS, "CASFEcode_final": order}
        path = write_xlsx(tmp_path / "CAS(ME)^2code_final.xlsx", sheets)
        table = read_annotations(path, "casme_sq")
        ids.append(dict(zip(column(table, "aus"), column(table, "sample"), strict=True)))
        assert all(problem_kinds(p) == ["duplicate sample id"] for p in column(table, "problems"))
    # offset 340 sorts before 350 whichever row comes first
    assert ids[0] == ids[1] == {"AU45+AU62": "s15_15_0401_322a", "AU4": "s15_15_0401_322b"}


def test_unique_ids_never_collide_with_an_existing_id() -> None:
    table = pd.DataFrame(
        {"sample": ["v_7", "v_7", "v_7a"], "offset": [9, 8, 1], "sheet_row": [2, 3, 4]}
    )
    # offset 8 sorts first and takes the first free letter ("a" is taken)
    assert unique_sample_ids(table).tolist() == ["v_7c", "v_7b", "v_7a"]
    given = pd.DataFrame({"sample": ["clip", "clip"], "sheet_row": [5, 2]})
    assert unique_sample_ids(given).tolist() == ["clip_b", "clip_a"]


@pytest.mark.parametrize(("col", "name"), [(2, "onset"), (4, "offset")])
def test_merged_frames_are_not_filled(tmp_path: Path, col: int, name: str) -> None:
    rows = [HEADER, [1, "1_1", 10, 12, 20, "4", "I", "x"], [1, "1_2", 10, 14, 20, "4", "I", "x"]]
    rows[2][col] = None
    path = write_xlsx(tmp_path / "m.xlsx", {"Sheet1": rows}, {"Sheet1": [(1, col, 2, col)]})
    table, problems = read_annotations(path, "dsme3d", errors="collect")
    assert column(table, "sample") == ["1_1", "1_2"]
    assert column(table, name)[1] is None  # never filled from the merged range
    assert [p.row for p in problems] == [3]
    assert problems[0].kind == f"{name} not annotated"
    assert "inside a merged range" in problems[0].message


def test_merged_aus_are_not_filled(tmp_path: Path) -> None:
    rows = [HEADER, [1, "1_1", 10, 12, 20, "4", "I", "x"], [1, "1_2", 30, 32, 40, None, "I", "x"]]
    path = write_xlsx(tmp_path / "m.xlsx", {"Sheet1": rows}, {"Sheet1": [(1, 5, 2, 5)]})
    with pytest.raises(AnnotationError, match="missing AUs") as caught:
        read_annotations(path, "dsme3d", errors="raise")
    assert_names(caught.value, "m.xlsx", "sheet 'Sheet1'", "row 3", "column 'AUs' (F)")


def test_missing_words_in_csv_frames(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("subject,video,onset,apex,offset\ns,v,1,NA,5\ns,v,9,nan,12\n")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        table = read_annotations(path, "generic")
    assert column(table, "apex") == [None, None]
    texts = warning_texts(record)
    assert any("apex 'NA' read as <NA> (rows 2)" in t for t in texts)
    assert any("apex 'nan' read as <NA> (rows 3)" in t for t in texts)


def test_csv_errors_name_file_row_column(tmp_path: Path) -> None:
    path = tmp_path / "ann.tsv"
    path.write_text("subject\tvideo\tonset\toffset\ns1\tv1\t10\tlate\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="non-numeric frame number 'late'") as caught:
        read_annotations(path, "generic", errors="raise")
    assert_names(caught.value, "ann.tsv", "row 2", "column 'offset' (D)")
    assert caught.value.sheet is None


def test_unreadable_file_unknown_sheet_unknown_layout(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(AnnotationError, match="cannot read the workbook") as caught:
        read_annotations(broken, "dsme3d")
    assert_names(caught.value, "broken.xlsx")
    with pytest.raises(FileNotFoundError):
        read_annotations(tmp_path / "absent.xls", "dsme3d")
    path = write_xlsx(tmp_path / "ok.xlsx", {"Sheet1": [HEADER]})
    with pytest.raises(AnnotationError, match=r"no sheet named 'AU\+Emotion'; sheets are"):
        read_annotations(path, "casme3_a", sheet="AU+Emotion")
    with pytest.raises(ValueError, match="unknown annotation layout"):
        read_annotations(path, "casme9")
    with pytest.raises(ValueError, match="errors must be"):
        read_annotations(path, "dsme3d", errors="ignore")  # type: ignore[call-overload]


def test_sheet_by_index_and_by_loose_name(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "a.xls", CASME3_A_SHEETS, CASME3_A_MERGES)
    assert len(read_quietly(path, "casme3_a", sheet=1)) == 3
    assert len(read_quietly(path, "casme3_a", sheet="au + emotion")) == 3


def test_repeated_header_inside_table_is_skipped(tmp_path: Path) -> None:
    rows = [
        HEADER,
        [1, "1_1", 10, 12, 20, "4", "I", "x"],
        HEADER,
        [2, "2_1", 5, 6, 9, "4", "I", "x"],
    ]
    path = write_xlsx(tmp_path / "rep.xlsx", {"Sheet1": rows})
    assert column(read_annotations(path, "dsme3d"), "sheet_row") == [2, 4]
