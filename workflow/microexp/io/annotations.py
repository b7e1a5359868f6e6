"""Annotation sheets of DSME-3D, CAS(ME)^3, CAS(ME)^2 and a generic layout, read into one table.

docs/methods.md#annotation-sheets lists the layouts; ingestion consumes the result
(docs/data-contracts.md). The public entry point is :func:`read_annotations`; it returns one
row per annotated expression in the normalised schema below, and reports what it cannot
interpret with a message naming file, sheet, row (1-based, as Excel shows it) and column.

Normalised schema (``COLUMNS``, in this order; then the layout's extra columns)
------------------------------------------------------------------------------------
=================  ========  ===============================================================
column             dtype     meaning
=================  ========  ===============================================================
subject            string    participant / subject id as the data set's folders name it
video              string    the recording (video) the expression is in
sample             string    unique id of the expression within the sheet (see "sample ids")
onset              Int64     source frame numbers, as in the sheet; <NA> = not annotated
apex               Int64
offset             Int64
aus                string    "AU1+AU2+AU12": AU numbers, sorted, unique ("" = none coded)
aus_facs           string    "R1+R2+4+L12C": lossless FACS codes with position L/R/B/T and
                             intensity A-E (:mod:`microexp.io.aus`)
aus_raw            string    the AU cell as written (<NA> when blank)
expression_type    string    "micro" / "macro" as the sheet says, <NA> when it says nothing
objective_class    string    FACS-based class as written (e.g. "I", "3"); <NA> if none
emotion            string    (estimated / non-objective) emotion, lower-cased
sheet_row          int64     the 1-based sheet row (line for CSV/TSV) the expression is on
problems           string    what is wrong with the row ("" = nothing), messages joined by
                             " | ", each "<kind>: <details>" with a kind of
                             ``PROBLEM_KINDS`` (:func:`problem_kinds` lists a cell's kinds)
=================  ========  ===============================================================

Nothing lost, everything visible: every expression row of a sheet is in the table, whatever is
wrong with it; the reader flags, it decides nothing a consumer should decide. Recognition and
spotting each apply their own rule to the flags (:mod:`microexp.io.samples`).

Layouts (docs/methods.md#annotation-sheets) and their extra columns
------------------------------------------------------------------
``dsme3d``  ``micro-expression.xls`` (Wang et al., Sec. 3.5), 8 columns found by header names:
    participant number; sample id; onset; apex; offset; AUs; objective class; non-objective
    (emotion) class. An optional 9th column "Expression type" is read when present (the
    synthetic data set writes it: its sheet also holds macro-expressions). Extra:
    ``sample_in_sheet`` (the id cell as written).
``casme3_a``  CAS(ME)^3 Part A (Li et al., Sec. 4.2): ``CAS(ME)3_part_A_v2.xls`` sheet
    "AU+Emotion" (Subject, Filename, Onset, Apex, Offset, AU, Expression type, Objective class,
    emotion), or the ME-only ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (sheet "label",
    with an ``emotion`` column). With ``sheet=None`` the sheet "AU+Emotion", else "label", else
    the first sheet is read. The "eye blink" sheet lists blinks, not expressions: it is never
    read by default; :func:`read_eye_blinks` reads it.
``casme3_c``  ``CAS(ME)3_part_C_ME.xlsx``: sub, count, onset, offset, au, emotion. ``count`` is
    the clip (video) of the subject. There is no apex column: apex is <NA>; nothing is invented.
``casme_sq``  CAS(ME)^2 (the MEGC files call it CASME_sq; this layout was ``casme2`` before,
    a name the field reads as CASME II) ``CAS(ME)^2code_final.xlsx`` (Qu et al.): first sheet,
    **no header row**, columns by position: participant number, expression name
    (``<video name>_<n>``, e.g. "disgust1_1"), onset, apex, offset, AUs, estimated emotion,
    expression type, self-reported emotion. Sheet
    "naming rule1" maps (folder number, code, participant number), e.g. (15, ..., 1); sheet
    "naming rule2" maps (video code, video name), e.g. ("0101", "disgust1"). The mapping makes
    ``subject`` the subject folder ``s<folder number>`` (``s15``) and ``video`` the video folder
    prefix ``<folder number>_<video code>`` (``15_0101``; the folders on disk append a word,
    ``15_0101disgustingteeth``, that the sheet does not hold: match ``video`` as a prefix).
    Extra: ``participant``, ``subject_code`` (naming rule1 column B as written),
    ``video_name``, ``video_code``, ``expression_name``, ``self_reported_emotion`` (lower-cased).
``casme_ii``  the CASME II coding sheet (Yan et al. 2014, ``CASME2-coding-*.xlsx``): Subject,
    Filename, (blank), OnsetFrame, ApexFrame, OffsetFrame, (blank), Action Units, Estimated
    Emotion (an optional objective-class column is read). ``subject`` is the subject folder
    (1 -> ``sub01``), ``video`` the Filename (``EP02_01f``); frames
    ``sub01/EP02_01f/img46.jpg``. ME-only: every row is "micro".
``samm``  the SAMM micro-expression codes (Davison et al. 2018, ``SAMM_Micro_FACS_Codes*.xlsx``):
    free-text rows above the header; Subject, Filename, Inducement Code, Onset Frame, Apex
    Frame, Offset Frame, ..., Action Units, Estimated Emotion, Objective Classes (Duration,
    Notes and the type column are not read). ``subject`` is the subject folder (6 -> ``006``),
    ``video`` the Filename (``006_1_2``); frames ``006/006_1_2/006_05562.jpg``. ME-only. Extra:
    ``inducement_code``.
``generic``  a .tsv / .csv (or a sheet) with a header row naming: subject, video, sample,
    source, onset, apex, offset, aus, expression_type, objective_class, emotion. Required:
    subject, video, onset, offset. Extra: ``source`` (path of the recording or frame folder,
    relative to the folder that holds the sheet). The synthetic data set writes it
    (:func:`microexp.synthetic.sheet.write_generic_sheet`).

Sample ids
----------
- ``dsme3d``: the sheet's id reads as ``<subject>_<video>`` ("1_1"); then
  ``sample`` is that id and ``video`` the part after ``<subject>_``. The paper's own words
  ("1_1", "the first sample of the first video material", per participant) allow a second
  reading, ``<video>_<n>`` repeated across participants; if **any** id does not start with its
  row's ``<participant>_``, the whole sheet is read that way instead: ``sample`` is
  ``<participant>_<id>`` and ``video`` the part before the first "_" (with a warning).
- ``casme3_a``, ``casme3_c``, ``casme_sq``: ``<subject>_<video>_<onset>`` (e.g.
  "spNO.1_a_153"; "s15_15_0101_557"), because a video holds several expressions and the
  sheets have no id of their own.
- ``casme_ii``: ``<subject>_<video>`` ("sub01_EP02_01f"); ``samm``: the Filename ("006_1_2"):
  one expression per clip.
- ``generic``: the ``sample`` column when filled, else ``<subject>_<video>_<onset>``.
- A row whose id cannot be built (no subject, video or onset) gets
  ``<subject or "unknown">[_<video>]_row<sheet row>``.
- **Unique by construction** (:func:`unique_sample_ids`): rows that share an id (CAS(ME)^2 has
  two macro-expressions of one video at onset 322) are ordered by content -- offset, apex,
  AUs, expression type, emotion, objective class, and only for identical content the sheet
  row -- and get a letter suffix in that order ("s15_15_0101_322a", "..._322b"; "_a" after an
  id that ends in a letter), skipping any id already in use. The suffix therefore does not
  depend on the order of the rows; each suffixed row is flagged "duplicate sample id".

Annotation quirks handled (each has a test in tests/unit/test_annotations.py)
------------------------------------------------------------------------------
1. Free-text rows above the header: the header is the row, among the first 50, that holds the
   most known column names, compared case-, space- and punctuation-insensitively and ignoring
   text in parentheses ("Expression type (macro/micro)" -> "expressiontype"). A header
   repeated inside the table is skipped. A row holding a single text cell and no frame numbers
   (a note under the table) is skipped with a warning; a blank participant is never taken
   from above such a row.
2. Apex written as "/", "-" or left blank: <NA>, flagged "apex not annotated" (CAS(ME)^3,
   DSME-3D, CASME II). The same placeholders in offset, and "NA" / "NaN" / "none" in a CSV:
   <NA>, flagged "<frame> not annotated". Each also gives one aggregated warning.
3. Offset 0 means "offset not annotated" in every layout (CAS(ME)^2, CAS(ME)^3 Part A's ME
   label sheet has two such rows): <NA>, flagged "offset not annotated" (the sheet may still
   call the row a micro- or macro-expression; the duration rule then cannot tell). CAS(ME)^2
   frames count from 1, so its apex 0 is read the same way; SAMM writes -1 for an apex or
   offset it did not code: the same.
4. AU strings "R1+R2", "L12", "B23", "T24", "4+7", "4,7", "AU4, AU7", "AU4 + AU7", "AU12C",
   a number cell (4 or 4.0): :func:`microexp.io.aus.parse_aus`. An uncertain AU ("13?",
   CAS(ME)^3 Part C) or alternatives ("R12 or R15", SAMM) keep their AUs and are flagged
   "uncertain AU".
5. Trailing spaces everywhere; numbers stored as text ("12 "), as floats (12.0) or as text of a
   float ("12.0"): read as the integer. 12.5 is not a frame: a row problem.
6. Merged cells (only the first cell of a merged range holds the value): for ``subject`` a
   blank cell takes the value above (merged or left blank under a group: both mean the same
   participant; an unmerged blank gets a warning); for ``video``, ``expression_type``,
   ``objective_class`` and emotions, cells inside a real merged range take the range's value.
   A merge over onset/apex/offset, AUs or sample ids is meaningless (two expressions cannot
   share them): those cells stay blank and the row is flagged.
7. CAS(ME)^2 has no header row and maps participant numbers and video names to folder names
   in extra sheets (layout above). Rows above the first row with a participant number in A and
   an onset in C (a title or a hand-added header) are skipped. Video names are matched
   case-insensitively; naming rule2 codes stored as numbers (101) are zero-padded ("0101").
8. Files that list only MEs (DSME-3D micro-expression.xls, the CAS(ME)^3 ME label files) have no
   expression-type column: every row there is "micro" by the file's own definition (the paper
   selected DSME-3D's samples with its ME rule, Sec. 3.3). When such a column is present, it
   is read instead.
9. Emotions are lower-cased ("Others" and "others" are the same class in config mappings).
10. Frames out of order are flagged, the row kept: "onset after offset" (CAS(ME)^3 Part A:
    onset 3647, offset 2694), "apex outside onset..offset" (CAS(ME)^3 Part A: apex 83 in
    112..358; CAS(ME)^2: apex 1230 just past offset 1224; SAMM).
11. Several expressions with one id: kept, ids suffixed (see "Sample ids").

Errors
------
Whole-file problems always raise :class:`AnnotationError`: unreadable file, unknown sheet,
empty sheet, no header row, missing required column, no expression rows. Row problems (the
kinds in :data:`PROBLEM_KINDS`: a missing or unreadable frame number, onset after offset, apex
outside onset..offset, an unreadable or uncertain AU, an unreadable expression type, a missing
subject / video / sample id, a CAS(ME)^2 participant or video name absent from the naming
sheets, a shared sample id) never drop a row: they are written in its ``problems`` cell. By
default (``errors="flag"``) :func:`read_annotations` returns the table and raises nothing for
them; ``errors="collect"`` also returns them as :class:`RowProblem` records, each with its
column; ``errors="raise"`` raises the first one (a strict check of a sheet).
Warnings (placeholders read as <NA>, skipped notes, forward-filled subjects) are
:class:`AnnotationWarning`, one per column and reason, listing the rows.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, overload

import pandas as pd
import python_calamine

from microexp.io.aus import AUParseError, format_aus, parse_aus, uncertain_aus
from microexp.io.expression_type import MICRO, parse_expression_type

__all__ = [
    "COLUMNS",
    "EXTRA_COLUMNS",
    "LAYOUTS",
    "PROBLEM_KINDS",
    "PROBLEM_SEPARATOR",
    "RENAMED_LAYOUTS",
    "AnnotationError",
    "AnnotationWarning",
    "RowProblem",
    "check_layout",
    "list_sheets",
    "problem_kinds",
    "read_annotations",
    "read_eye_blinks",
]

LAYOUTS: tuple[str, ...] = (
    "dsme3d",
    "casme3_a",
    "casme3_c",
    "casme_sq",
    "casme_ii",
    "samm",
    "generic",
)
#: Old layout names and the name that replaced them (a clear error names the new one).
RENAMED_LAYOUTS: dict[str, str] = {"casme2": "casme_sq"}

#: The normalised schema, in order (module docstring).
COLUMNS: tuple[str, ...] = (
    "subject",
    "video",
    "sample",
    "onset",
    "apex",
    "offset",
    "aus",
    "aus_facs",
    "aus_raw",
    "expression_type",
    "objective_class",
    "emotion",
    "sheet_row",
    "problems",
)
#: Kinds of row problem; each message in ``problems`` starts with one ("<kind>: <details>").
PROBLEM_KINDS: tuple[str, ...] = (
    "missing subject",
    "missing video",
    "missing sample id",
    "onset not annotated",
    "apex not annotated",
    "offset not annotated",
    "unreadable frame number",
    "onset after offset",
    "apex outside onset..offset",
    "unreadable AUs",
    "missing AUs",
    "uncertain AU",
    "unreadable expression type",
    "participant not in naming rule1",
    "video name not in naming rule2",
    "duplicate sample id",
)
#: Separator between the messages of one row in the ``problems`` column.
PROBLEM_SEPARATOR = " | "
#: Columns a layout adds after ``COLUMNS`` (all of dtype string).
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "dsme3d": ("sample_in_sheet",),
    "casme3_a": (),
    "casme3_c": (),
    "casme_sq": (
        "participant",
        "subject_code",
        "video_name",
        "video_code",
        "expression_name",
        "self_reported_emotion",
    ),
    "casme_ii": (),
    "samm": ("inducement_code",),
    "generic": ("source",),
}
_FRAMES = ("onset", "apex", "offset")
_HEADER_SEARCH_ROWS = 50
_MAX_LISTED_ROWS = 20
# Frame placeholders that mean "not annotated" (quirk 2); NFKC folds full-width forms first.
_NOT_ANNOTATED = frozenset({"/", "-", "--", "—", "–", "\\"})
# What other tools write for a missing value in a CSV (R: NA; pandas: NaN, <NA>).
_MISSING_WORDS = frozenset({"na", "n/a", "nan", "<na>", "none", "null"})


# --------------------------------------------------------------------------------------------
# Errors, problems, warnings
# --------------------------------------------------------------------------------------------
def _locate(file: str, sheet: str | None, row: int | None, column: str | None) -> str:
    parts = [file]
    if sheet is not None:
        parts.append(f"sheet {sheet!r}")
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column}")
    return ", ".join(parts)


class AnnotationError(ValueError):
    """An annotation sheet (or one of its rows) that cannot be interpreted.

    The message starts with ``<file>, sheet '<name>', row <n>, column <c>`` (the parts that
    apply; rows 1-based as Excel shows them); the parts are also attributes.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = str(file)
        self.sheet = sheet
        self.row = row
        self.column = column
        self.reason = message
        super().__init__(f"{_locate(self.file, sheet, row, column)}: {message}")


class AnnotationWarning(UserWarning):
    """A sheet value read in a documented, lossy way (e.g. apex "/" read as <NA>)."""


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one sheet row (the row is still in the table); ``sample`` its id."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    message: str
    sample: str | None = None

    def __str__(self) -> str:
        return f"{_locate(self.file, self.sheet, self.row, self.column)}: {self.message}"

    @property
    def kind(self) -> str:
        """The problem's kind, one of :data:`PROBLEM_KINDS` (the message's first part)."""
        return self.message.split(":", 1)[0]

    def to_error(self) -> AnnotationError:
        """The same problem as an exception."""
        return AnnotationError(
            self.message, file=self.file, sheet=self.sheet, row=self.row, column=self.column
        )


class _CellError(ValueError):
    """A cell value that cannot be read; becomes a RowProblem with the cell's location."""


@dataclass
class _Report:
    """Where we read, and what we found wrong: row problems and aggregated warnings."""

    file: str
    sheet: str | None = None
    problems: list[RowProblem] = field(default_factory=list)
    notes: dict[tuple[str | None, str], list[int]] = field(default_factory=dict)

    def error(
        self, message: str, *, row: int | None = None, column: str | None = None
    ) -> AnnotationError:
        return AnnotationError(message, file=self.file, sheet=self.sheet, row=row, column=column)

    def problem(
        self, row: int, column: str | None, message: str, sample: str | None = None
    ) -> None:
        self.problems.append(RowProblem(self.file, self.sheet, row, column, message, sample))

    def note(self, column: str | None, message: str, row: int) -> None:
        self.notes.setdefault((column, message), []).append(row)

    def warn(self) -> None:
        for (column, message), rows in self.notes.items():
            listed = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
            if len(rows) > _MAX_LISTED_ROWS:
                listed += f" and {len(rows) - _MAX_LISTED_ROWS} more"
            where = _locate(self.file, self.sheet, None, column)
            warnings.warn(f"{where}: {message} (rows {listed})", AnnotationWarning, stacklevel=4)


# --------------------------------------------------------------------------------------------
# Reading cells
# --------------------------------------------------------------------------------------------
def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _text(value: object) -> str | None:
    """A cell as stripped text (None when blank); whole floats lose their ".0" (quirk 5)."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _whole_number(value: object) -> int | None:
    """An integer from an int, a whole float or text like "12 " / "12.0"; None otherwise."""
    if isinstance(value, bool) or _is_blank(value):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(float(text))
    return None


def _frame(
    value: object, *, zero_is_missing: bool = False, minus_one_is_missing: bool = False
) -> tuple[int | None, str | None]:
    """A frame-number cell: (frame, None), or (None, why it is <NA>). Raises _CellError."""
    if _is_blank(value):
        return None, "blank"
    if isinstance(value, str):
        folded = unicodedata.normalize("NFKC", value).strip()
        if folded in _NOT_ANNOTATED or folded.casefold() in _MISSING_WORDS:
            return None, f"{folded!r}"
    number = _whole_number(value)
    if number is None:
        if isinstance(value, float) or _looks_numeric(value):
            raise _CellError(f"frame number must be a whole number, got {_text(value)!r}")
        raise _CellError(f"non-numeric frame number {_text(value)!r}")
    if number == -1 and minus_one_is_missing:
        return None, "-1"
    if number < 0:
        raise _CellError(f"negative frame number {number}")
    if number == 0 and zero_is_missing:
        return None, "0"
    return number, None


def _looks_numeric(value: object) -> bool:
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def _norm_name(name: object) -> str:
    """A header name compared case-, space- and punctuation-insensitively (quirk 1)."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"[\W_]+", "", text)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}


@dataclass
class _Sheet:
    """A sheet as a grid of raw cell values (None = blank), 0-based, at Excel positions."""

    name: str | None
    cells: list[list[object]]
    # inclusive ((first row, first col), (last row, last col)) ranges, 0-based
    merged: list[tuple[tuple[int, int], tuple[int, int]]]

    def value(self, row: int, col: int) -> object:
        if row < len(self.cells) and col < len(self.cells[row]):
            return self.cells[row][col]
        return None

    def is_empty(self) -> bool:
        return all(_is_blank(v) for line in self.cells for v in line)

    def merge_origin(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Every non-first cell of a merged range -> the range's first cell."""
        origin = {}
        for (r0, c0), (r1, c1) in self.merged:
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        origin[(r, c)] = (r0, c0)
        return origin


def _read_text_table(path: Path) -> _Sheet:
    delimiter = _TEXT_SUFFIXES[path.suffix.lower()]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [
            [cell if cell.strip() else None for cell in line]
            for line in csv.reader(handle, delimiter=delimiter)
        ]
    return _Sheet(None, rows, [])


class _Workbook:
    """An .xls / .xlsx workbook read through pandas' calamine engine."""

    def __init__(self, path: Path, report: _Report) -> None:
        self.path = path
        self.report = report
        try:
            self.excel = pd.ExcelFile(path, engine="calamine")
        except Exception as exc:  # calamine raises its own error types for broken files
            raise report.error(f"cannot read the workbook ({exc})") from exc
        self.sheet_names: list[str] = list(self.excel.sheet_names)

    def close(self) -> None:
        self.excel.close()

    def find(self, wanted: str) -> str | None:
        """The sheet whose name equals ``wanted`` ignoring case, spaces and punctuation."""
        key = _norm_name(wanted)
        return next((n for n in self.sheet_names if _norm_name(n) == key), None)

    def resolve(self, sheet: str | int | None, preferred: Sequence[str] = ()) -> str:
        if isinstance(sheet, int):
            if not 0 <= sheet < len(self.sheet_names):
                raise self.report.error(
                    f"no sheet number {sheet}; the workbook has {len(self.sheet_names)} sheets"
                )
            return self.sheet_names[sheet]
        if sheet is not None:
            found = self.find(sheet)
            if found is None:
                raise self.report.error(f"no sheet named {sheet!r}; sheets are {self.sheet_names}")
            return found
        for name in preferred:
            found = self.find(name)
            if found is not None:
                return found
        if not self.sheet_names:
            raise self.report.error("the workbook has no sheets")
        return self.sheet_names[0]

    def read(self, name: str) -> _Sheet:
        try:
            frame = pd.read_excel(self.excel, sheet_name=name, header=None, dtype=object)
            merged = _merged_ranges(self.path, name)
        except Exception as exc:
            raise AnnotationError(
                f"cannot read the sheet ({exc})", file=self.report.file, sheet=name
            ) from exc
        cells = [[None if _is_blank(v) else v for v in line] for line in frame.to_numpy().tolist()]
        return _Sheet(name, cells, merged)


def _merged_ranges(path: Path, sheet: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    # pandas does not expose merged ranges; calamine (the engine pandas uses here) does.
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        ranges = workbook.get_sheet_by_name(sheet).merged_cell_ranges
    finally:
        workbook.close()
    return [((int(a), int(b)), (int(c), int(d))) for (a, b), (c, d) in ranges or []]


def list_sheets(path: str | Path) -> list[str]:
    """The sheet names of a workbook (e.g. to find CAS(ME)^3's "eye blink" sheet)."""
    path = Path(path)
    workbook = _Workbook(path, _Report(str(path)))
    workbook.close()
    return workbook.sheet_names


def _open(path: Path, sheet: str | int | None, preferred: Sequence[str], report: _Report):
    """The sheet to read, and the workbook (None for CSV/TSV)."""
    if not path.exists():
        raise FileNotFoundError(f"annotation file not found: {path}")
    if path.suffix.lower() in _TEXT_SUFFIXES:
        if sheet not in (None, 0):
            raise report.error(f"a {path.suffix} file has no sheets; got sheet={sheet!r}")
        try:
            table = _read_text_table(path)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise report.error(f"cannot read the table ({exc})") from exc
        return table, None
    workbook = _Workbook(path, report)
    try:
        name = workbook.resolve(sheet, preferred)
        report.sheet = name
        return workbook.read(name), workbook
    except Exception:
        workbook.close()
        raise


# --------------------------------------------------------------------------------------------
# Layouts with a header row
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    """A column of a layout: its output name, header spellings, and how to read it."""

    name: str
    aliases: tuple[str, ...]
    required: bool = True
    merge: bool = False  # a merged range here means "same value for these rows" (quirk 6)


_SUBJECT = (
    "subject",
    "sub",
    "participant",
    "participants",
    "participant number",
    "participant no",
    "subject number",
    "subject id",
    "subject no",
)
_VIDEO = ("filename", "file name", "video", "video name", "seq", "clip")
_ONSET = ("onset", "onset frame", "onsetframe", "onset f")
_APEX = ("apex", "apex frame", "apexframe", "apex f", "apexf1")
_OFFSET = ("offset", "offset frame", "offsetframe", "offset f")
_AUS = ("au", "aus", "action units", "action unit", "au code", "facs")
_TYPE = ("expression type", "type", "expression_type", "me type")
_OBJECTIVE = (
    "objective class",
    "objective classes",
    "objective",
    "objective classification",
    "objective_class",
)
_EMOTION = (
    "emotion",
    "estimated emotion",
    "emotion class",
    "non-objective class",
    "nonobjective class",
    "non-objective",
    "non-objective classification",
    "subjective class",
)

_HEADER_FIELDS: dict[str, tuple[_Field, ...]] = {
    "dsme3d": (
        _Field("subject", _SUBJECT),
        _Field(
            "sample_in_sheet",
            (
                "sample",
                "sample id",
                "samples",
                "sample name",
                "sample no",
                "sample number",
                "filename",
                "file name",
            ),
        ),
        _Field("onset", _ONSET),
        _Field("apex", _APEX),
        _Field("offset", _OFFSET),
        _Field("aus", _AUS),
        _Field("objective_class", _OBJECTIVE, merge=True),
        _Field("emotion", _EMOTION, merge=True),
        # Not in the real sheet; the synthetic data set adds it (microexp.synthetic.sheet).
        _Field("expression_type", _TYPE, required=False, merge=True),
    ),
    "casme3_a": (
        _Field("subject", _SUBJECT),
        _Field("video", _VIDEO, merge=True),
        _Field("onset", _ONSET),
        _Field("apex", _APEX),
        _Field("offset", _OFFSET),
        _Field("aus", _AUS),
        _Field("expression_type", _TYPE, required=False, merge=True),
        _Field("objective_class", _OBJECTIVE, required=False, merge=True),
        _Field("emotion", _EMOTION, required=False, merge=True),
    ),
    "casme3_c": (
        _Field("subject", _SUBJECT),
        _Field("video", ("count", "clip", "video")),
        _Field("onset", _ONSET),
        _Field("offset", _OFFSET),
        _Field("aus", _AUS),
        _Field("emotion", _EMOTION, merge=True),
    ),
    "generic": (
        _Field("subject", ("subject", "participant")),
        _Field("video", ("video", "recording"), merge=True),
        _Field("sample", ("sample", "sample id"), required=False),
        _Field("source", ("source", "path"), required=False),
        _Field("onset", ("onset",)),
        _Field("apex", ("apex",), required=False),
        _Field("offset", ("offset",)),
        _Field("aus", ("aus", "au"), required=False),
        _Field("expression_type", ("expression_type", "type"), required=False, merge=True),
        _Field("objective_class", ("objective_class",), required=False, merge=True),
        _Field("emotion", ("emotion",), required=False, merge=True),
    ),
    # CASME II coding sheet: Subject, Filename, , OnsetFrame, ApexFrame, OffsetFrame, ,
    # Action Units, Estimated Emotion (blank columns between).
    "casme_ii": (
        _Field("subject", _SUBJECT),
        _Field("video", _VIDEO),
        _Field("onset", _ONSET),
        _Field("apex", _APEX),
        _Field("offset", _OFFSET),
        _Field("aus", _AUS),
        _Field("objective_class", _OBJECTIVE, required=False, merge=True),
        _Field("emotion", _EMOTION, merge=True),
    ),
    # SAMM micro-expression codes: free text above the header; Subject, Filename, Inducement
    # Code, Onset Frame, Apex Frame, Offset Frame, Duration, ..., Action Units, Estimated
    # Emotion, Objective Classes, Notes (Duration, Notes and the type column are not read).
    "samm": (
        _Field("subject", _SUBJECT),
        _Field("video", _VIDEO),
        _Field("inducement_code", ("inducement code",), required=False),
        _Field("onset", _ONSET),
        _Field("apex", _APEX),
        _Field("offset", _OFFSET),
        _Field("aus", _AUS),
        _Field("objective_class", _OBJECTIVE, required=False, merge=True),
        _Field("emotion", _EMOTION, required=False, merge=True),
    ),
    # Not a layout of its own: the "eye blink" sheet of CAS(ME)^3 Part A (read_eye_blinks).
    "casme3_blink": (
        _Field("subject", _SUBJECT),
        _Field("video", _VIDEO, merge=True),
        _Field("onset", _ONSET),
        _Field("apex", _APEX, required=False),
        _Field("offset", _OFFSET, required=False),
        _Field("aus", _AUS, required=False),
    ),
}
# Sheets read when sheet=None, in order of preference, before the first sheet.
_PREFERRED_SHEETS: dict[str, tuple[str, ...]] = {"casme3_a": ("AU+Emotion", "label")}
# Files listing only MEs carry no type column (quirk 8).
_ME_ONLY_LAYOUTS = ("dsme3d", "casme3_a", "casme3_c", "casme_ii", "samm")


@dataclass(frozen=True)
class _Header:
    row: int  # 0-based
    columns: dict[str, int]  # field name -> 0-based column
    labels: dict[str, str]  # field name -> "'Onset' (C)" for messages


def _find_header(sheet: _Sheet, fields: Sequence[_Field], report: _Report) -> _Header:
    aliases = {f.name: {_norm_name(a) for a in f.aliases} for f in fields}
    best: tuple[int, dict[str, int]] | None = None
    for r, line in enumerate(sheet.cells[:_HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for c, value in enumerate(line):
            if not isinstance(value, str):
                continue
            key = _norm_name(value)
            name = next((n for n, keys in aliases.items() if key in keys and n not in found), None)
            if name is not None:
                found[name] = c
        if "onset" in found and len(found) >= 2 and (best is None or len(found) > len(best[1])):
            best = (r, found)
    if best is None:
        expected = ", ".join(repr(f.aliases[0]) for f in fields if f.required)
        raise report.error(
            f"no header row found in the first {_HEADER_SEARCH_ROWS} rows "
            f"(expected column names such as {expected})"
        )
    row, columns = best
    missing = [f for f in fields if f.required and f.name not in columns]
    if missing:
        names = ", ".join(repr(f.aliases[0]) for f in missing)
        raise report.error(
            f"missing required column {names} in the header row "
            f"(accepted names: {', '.join(repr(a) for f in missing for a in f.aliases)})",
            row=row + 1,
            column=names,
        )
    labels = {
        name: f"{str(sheet.value(row, c)).strip()!r} ({_column_letter(c)})"
        for name, c in columns.items()
    }
    return _Header(row, columns, labels)


def _is_note_row(line: Sequence[object], frame_columns: Iterable[int]) -> bool:
    """A single text cell and no frame numbers: a note in the sheet, not an expression."""
    filled = [v for v in line if not _is_blank(v)]
    if len(filled) != 1 or not isinstance(filled[0], str) or _looks_numeric(filled[0]):
        return False
    return all(_is_blank(line[c]) if c < len(line) else True for c in frame_columns)


@dataclass
class _Row:
    """One sheet row being read: its values, and what went wrong where."""

    number: int  # 1-based sheet row
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str | None, str]] = field(default_factory=list)


def _read_header_rows(sheet: _Sheet, layout: str, report: _Report) -> tuple[list[_Row], _Header]:
    fields = _HEADER_FIELDS[layout]
    header = _find_header(sheet, fields, report)
    header_keys = {c: _norm_name(sheet.value(header.row, c)) for c in header.columns.values()}
    merge_origin = sheet.merge_origin()
    frame_columns = [header.columns[f] for f in _FRAMES if f in header.columns]
    rows: list[_Row] = []
    previous_subject: object = None
    for r in range(header.row + 1, len(sheet.cells)):
        line = sheet.cells[r]
        number = r + 1
        if all(_is_blank(v) for v in line):
            continue
        if all(
            isinstance(sheet.value(r, c), str) and _norm_name(sheet.value(r, c)) == key
            for c, key in header_keys.items()
        ):
            continue  # the header repeated inside the table (quirk 1)
        if _is_note_row(line, frame_columns):
            report.note(None, "free-text row skipped (one text cell, no frame numbers)", number)
            # A note may head a new group ("spNO.5"); never carry a participant across it.
            previous_subject = None
            continue
        raw: dict[str, object] = {}
        for f in fields:
            if f.name not in header.columns:
                continue
            c = header.columns[f.name]
            value = sheet.value(r, c)
            if _is_blank(value) and f.name == "subject" and previous_subject is not None:
                # Merged, or left blank under a group of the same participant (quirk 6).
                value = previous_subject
                if (r, c) not in merge_origin:
                    report.note(
                        header.labels["subject"],
                        "blank participant taken from the row above",
                        number,
                    )
            elif _is_blank(value) and f.merge and (r, c) in merge_origin:
                value = sheet.value(*merge_origin[(r, c)])
            raw[f.name] = value
        if not _is_blank(raw.get("subject")):
            previous_subject = raw["subject"]
        merged_blank = {
            name
            for name, c in header.columns.items()
            if (r, c) in merge_origin and _is_blank(raw.get(name))
        }
        row = _Row(number)
        _read_fields(row, raw, layout, header.labels, report, merged_blank)
        rows.append(row)
    return rows, header


_MERGE_NOTE = " (inside a merged range: a merge is not meaningful here)"


def _read_fields(
    row: _Row,
    raw: dict[str, object],
    layout: str,
    labels: dict[str, str],
    report: _Report,
    merged_blank: set[str],
) -> None:
    """Read one header-layout row's raw cells into normalised values (or row problems).

    ``merged_blank``: fields whose cell is blank because it lies inside a merged range.
    """
    for name in ("subject", "video", "sample_in_sheet", "sample", "source", "inducement_code"):
        if name not in raw:
            continue
        text = _text(raw[name])
        if text is None and name in ("subject", "video", "sample_in_sheet"):
            why = _MERGE_NOTE if name in merged_blank else ""
            kind = f"missing {name.replace('_in_sheet', ' id')}"
            row.problems.append((labels[name], f"{kind}: blank{why}"))
        row.values[name] = text
    _read_frames(
        row,
        raw,
        labels,
        report,
        zero_is_missing=("offset",),
        minus_one_is_missing=("apex", "offset") if layout == "samm" else (),
        merged_blank=merged_blank,
    )
    _read_labels(row, raw, labels)
    if "aus" in merged_blank:
        row.problems.append((labels["aus"], f"missing AUs: blank{_MERGE_NOTE}"))
    if "expression_type" not in raw:
        row.values["expression_type"] = MICRO if layout in _ME_ONLY_LAYOUTS else pd.NA


def _read_frames(
    row: _Row,
    raw: dict[str, object],
    labels: dict[str, str],
    report: _Report,
    *,
    zero_is_missing: Iterable[str],
    minus_one_is_missing: Iterable[str] = (),
    merged_blank: set[str] | None = None,
) -> None:
    """Onset, apex and offset of one row, with the checks between them (quirks 2, 3, 5).

    Every problem is flagged on the row, never a reason to drop it (module docstring).
    """
    zero_fields, minus_one_fields = set(zero_is_missing), set(minus_one_is_missing)
    for name in _FRAMES:
        if name not in raw:
            row.values[name] = None  # the layout has no such column (CAS(ME)^3 Part C apex)
            continue
        try:
            frame, why_missing = _frame(
                raw[name],
                zero_is_missing=name in zero_fields,
                minus_one_is_missing=name in minus_one_fields,
            )
        except _CellError as exc:
            row.problems.append((labels[name], f"unreadable frame number: {name}: {exc}"))
            row.values[name] = None
            continue
        row.values[name] = frame
        if why_missing is None:
            continue
        inside_merge = merged_blank is not None and name in merged_blank
        why = _MERGE_NOTE if inside_merge else ""
        written = "blank" if why_missing == "blank" else f"written {why_missing}"
        row.problems.append((labels[name], f"{name} not annotated: {written}{why}"))
        if why_missing in ("0", "-1"):
            meaning = f"{name} {why_missing} means not annotated: read as <NA>"
            report.note(labels[name], meaning, row.number)
        else:
            report.note(labels[name], f"{name} {why_missing} read as <NA>", row.number)
    onset, apex, offset = (row.values[n] for n in _FRAMES)
    if onset is not None and offset is not None and onset > offset:
        row.problems.append(
            (labels["offset"], f"onset after offset: onset {onset}, offset {offset}")
        )
    if (
        apex is not None
        and onset is not None
        and (apex < onset or (offset is not None and onset <= offset and apex > offset))
    ):
        end = offset if offset is not None else "?"
        row.problems.append(
            (
                labels["apex"],
                f"apex outside onset..offset: apex {apex}, onset..offset {onset}..{end}",
            )
        )


def _read_labels(row: _Row, raw: dict[str, object], labels: dict[str, str]) -> None:
    """AUs, expression type, objective class and emotions of one row."""
    if "aus" in raw:
        row.values["aus_raw"] = _text(raw["aus"])
        try:
            aus = parse_aus(raw["aus"])
        except AUParseError as exc:
            row.problems.append((labels["aus"], f"unreadable AUs: {exc}"))
            aus = ()
        unsure = uncertain_aus(aus)
        if unsure:
            codes = "+".join(au.facs.rstrip("?") for au in unsure)
            row.problems.append(
                (labels["aus"], f"uncertain AU: {codes} (written {row.values['aus_raw']!r})")
            )
        row.values["aus"] = format_aus(aus)
        row.values["aus_facs"] = format_aus(aus, style="facs")
    else:
        row.values.update(aus="", aus_facs="", aus_raw=None)
    if "expression_type" in raw:
        try:
            row.values["expression_type"] = parse_expression_type(_text(raw["expression_type"]))
        except ValueError as exc:
            row.problems.append((labels["expression_type"], f"unreadable expression type: {exc}"))
    row.values["objective_class"] = _text(raw.get("objective_class"))
    for name in ("emotion", "self_reported_emotion"):
        if name in raw:
            text = _text(raw[name])
            row.values[name] = text.casefold() if text is not None else None


# --------------------------------------------------------------------------------------------
# Sample ids, duplicates, the final table
# --------------------------------------------------------------------------------------------
def _built_id(values: dict[str, Any], parts: Sequence[str] | None = None) -> str | None:
    """``<subject>_<video>_<onset>``, or the given parts joined by "_"; None if one is missing."""
    parts = parts or ("subject", "video", "onset")
    if any(values.get(p) is None for p in parts):
        return None
    return "_".join(str(values[p]) for p in parts)


def _dsme3d_ids(rows: list[_Row], report: _Report, header: _Header) -> None:
    """Sample and video from DSME-3D's id cell; which reading: module docstring."""
    usable = [
        r
        for r in rows
        if r.values.get("subject") is not None and r.values.get("sample_in_sheet") is not None
    ]
    spec_reading = all(
        r.values["sample_in_sheet"].startswith(f"{r.values['subject']}_") for r in usable
    )
    for row in usable:
        subject, sheet_id = row.values["subject"], row.values["sample_in_sheet"]
        if spec_reading:
            row.values["sample"] = sheet_id
            row.values["video"] = sheet_id[len(subject) + 1 :]
        else:
            row.values["sample"] = f"{subject}_{sheet_id}"
            row.values["video"] = sheet_id.split("_", 1)[0]
            report.note(
                header.labels["sample_in_sheet"],
                "sample ids do not all start with '<participant>_': read as '<video>_<n>' "
                "per participant; sample = '<participant>_<id>'",
                row.number,
            )
    for row in rows:
        row.values.setdefault("video", None)
        row.values.setdefault("sample", None)


def _fallback_id(values: dict[str, Any], number: int) -> str:
    """The id of a row whose own id cannot be built (missing subject, video or onset)."""
    parts = [values.get("subject") or "unknown"]
    if values.get("video") is not None:
        parts.append(values["video"])
    return "_".join([*map(str, parts), f"row{number}"])


# Content that orders rows sharing an id before they are told apart (module docstring).
_ID_ORDER = ("offset", "apex", "aus_facs", "expression_type", "emotion", "objective_class")


def _order_key(value: object) -> tuple[int, object]:
    return (0, 0) if value is None or pd.isna(value) else (1, value)


def _letters(k: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "aa", ..."""
    text = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


def unique_sample_ids(table: pd.DataFrame) -> pd.Series:
    """Sample ids made unique by construction (module docstring, "Sample ids").

    Rows whose ``sample`` is shared are ordered by their content (offset, apex, AUs, type,
    emotion, objective class; then ``annotation_file`` and ``sheet_row`` when the content
    is the same) and each gets a letter suffix in that order: ``s15_15_0101_322a``,
    ``..._322b`` (``_a`` after an id that ends in a letter). An id held once is unchanged;
    a suffixed id never equals another row's id. Returns the ids, same index as ``table``.
    """
    ids = [str(v) for v in table["sample"].tolist()]
    counts: dict[str, list[int]] = {}
    for position, sample in enumerate(ids):
        counts.setdefault(sample, []).append(position)
    used = set(counts)
    order = [c for c in (*_ID_ORDER, "annotation_file", "sheet_row") if c in table.columns]
    columns = {c: table[c].tolist() for c in order}
    result = list(ids)
    for base, positions in counts.items():
        if len(positions) == 1:
            continue
        ranked = sorted(positions, key=lambda p: tuple(_order_key(columns[c][p]) for c in order))
        separator = "" if base[-1:].isdigit() else "_"
        k = 0
        for position in ranked:
            while (candidate := f"{base}{separator}{_letters(k)}") in used:
                k += 1
            used.add(candidate)
            result[position] = candidate
    return pd.Series(result, index=table.index, dtype="string")


def problem_kinds(problems: object) -> list[str]:
    """The kinds (:data:`PROBLEM_KINDS`) in one ``problems`` cell ("" / <NA>: none)."""
    if _is_blank(problems):
        return []
    return [m.split(":", 1)[0].strip() for m in str(problems).split(PROBLEM_SEPARATOR) if m]


def _table(
    rows: list[_Row], layout: str, report: _Report, sample_label: str | None
) -> pd.DataFrame:
    """Every row as the normalised table, ids unique, each row's problems in ``problems``."""
    records = []
    for row in rows:
        if row.values.get("sample") is None:
            row.values["sample"] = _fallback_id(row.values, row.number)
        records.append({**row.values, "sheet_row": row.number})
    columns = list(COLUMNS) + list(EXTRA_COLUMNS.get(layout, ()))
    table = pd.DataFrame.from_records(records, columns=columns)
    for name in columns:
        if name in _FRAMES:
            table[name] = table[name].astype("Int64")
        elif name == "sheet_row":
            table[name] = table[name].astype("int64")
        else:
            table[name] = table[name].astype("string")
    if len(table):
        unique = unique_sample_ids(table)
        renamed = unique != table["sample"]
        rows_of = table.groupby("sample", sort=False)["sheet_row"].agg(list)
        for position in map(int, renamed.to_numpy().nonzero()[0]):
            base = table["sample"].iloc[position]
            others = ", ".join(str(r) for r in rows_of[base])
            rows[position].problems.append(
                (
                    sample_label,
                    f"duplicate sample id: {base!r} is shared by rows {others}; "
                    f"this row is {unique.iloc[position]!r}",
                )
            )
        table["sample"] = unique
    for row, sample in zip(rows, table["sample"].tolist(), strict=True):
        for column, message in row.problems:
            report.problem(row.number, column, message, sample)
    table["problems"] = pd.array(
        [PROBLEM_SEPARATOR.join(m for _, m in row.problems) for row in rows], dtype="string"
    )
    return table


# --------------------------------------------------------------------------------------------
# CAS(ME)^2
# --------------------------------------------------------------------------------------------
_CASME_SQ_FIELDS = (
    "participant",
    "expression_name",
    "onset",
    "apex",
    "offset",
    "aus",
    "emotion",
    "expression_type",
    "self_reported_emotion",
)
_CASME_SQ_LABELS = {
    name: f"{_column_letter(i)} ({name})" for i, name in enumerate(_CASME_SQ_FIELDS)
}


def _naming_sheet(workbook: _Workbook, name: str, index: int, report: _Report) -> _Sheet:
    found = workbook.find(name)
    if found is None and len(workbook.sheet_names) > index:
        found = workbook.sheet_names[index]
    if found is None:
        raise report.error(
            f"CAS(ME)^2 needs the sheet {name!r} to map participant numbers and video names to "
            f"folder names; sheets are {workbook.sheet_names}"
        )
    return workbook.read(found)


def _casme_sq_subjects(sheet: _Sheet, report: _Report) -> dict[int, tuple[str, str | None]]:
    """naming rule1: participant number -> (folder number, code as written)."""
    mapping = {}
    for line in sheet.cells:
        folder, participant = _whole_number(_cell(line, 0)), _whole_number(_cell(line, 2))
        if folder is not None and participant is not None:
            mapping[participant] = (str(folder), _text(_cell(line, 1)))
    if not mapping:
        raise AnnotationError(
            "no (folder number, code, participant number) rows in columns A-C",
            file=report.file,
            sheet=sheet.name,
        )
    return mapping


def _casme_sq_videos(sheet: _Sheet, report: _Report) -> dict[str, str]:
    """naming rule2: video name (case-folded) -> 4-digit video code (quirk 7)."""
    mapping = {}
    for line in sheet.cells:
        code, name = _cell(line, 0), _text(_cell(line, 1))
        number = _whole_number(code)
        if name is not None and number is not None:
            mapping[name.casefold()] = f"{number:04d}"
    if not mapping:
        raise AnnotationError(
            "no (video code, video name) rows in columns A-B", file=report.file, sheet=sheet.name
        )
    return mapping


def _cell(line: Sequence[object], col: int) -> object:
    return line[col] if col < len(line) else None


def _casme_sq_rows(path: Path, sheet: str | int | None, report: _Report) -> list[_Row]:
    data, workbook = _open(path, sheet, (), report)
    if workbook is None:
        raise report.error("CAS(ME)^2 needs the workbook: its naming sheets map the folders")
    try:
        if data.is_empty():
            raise report.error("the sheet is empty")
        subjects = _casme_sq_subjects(_naming_sheet(workbook, "naming rule1", 1, report), report)
        videos = _casme_sq_videos(_naming_sheet(workbook, "naming rule2", 2, report), report)
    finally:
        workbook.close()
    first = next(
        (
            r
            for r, line in enumerate(data.cells)
            if _whole_number(_cell(line, 0)) is not None
            and _whole_number(_cell(line, 2)) is not None
        ),
        None,
    )
    if first is None:
        raise report.error(
            "no expression rows (a participant number in column A and an onset frame in C)"
        )
    rows = []
    previous_participant: object = None
    for r in range(first, len(data.cells)):
        line = data.cells[r]
        if all(_is_blank(v) for v in line):
            continue
        if _is_note_row(line, (2, 3, 4)):
            report.note(None, "free-text row skipped (one text cell, no frame numbers)", r + 1)
            continue
        raw = {name: _cell(line, i) for i, name in enumerate(_CASME_SQ_FIELDS)}
        if _is_blank(raw["participant"]) and previous_participant is not None:
            raw["participant"] = previous_participant  # merged participant cells (quirk 6)
        previous_participant = raw["participant"]
        row = _Row(r + 1)
        _read_frames(row, raw, _CASME_SQ_LABELS, report, zero_is_missing=("apex", "offset"))
        _read_labels(row, raw, _CASME_SQ_LABELS)
        _map_casme_sq_folders(row, raw, subjects, videos)
        rows.append(row)
    return rows


def _map_casme_sq_folders(
    row: _Row,
    raw: dict[str, object],
    subjects: dict[int, tuple[str, str | None]],
    videos: dict[str, str],
) -> None:
    participant = _whole_number(raw["participant"])
    name = _text(raw["expression_name"])
    row.values["participant"] = str(participant) if participant is not None else None
    row.values["expression_name"] = name
    subject = video = None
    if participant is None:
        row.problems.append(
            (
                _CASME_SQ_LABELS["participant"],
                f"participant not in naming rule1: {_text(raw['participant'])!r} is not a number",
            )
        )
    elif participant not in subjects:
        row.problems.append(
            (
                _CASME_SQ_LABELS["participant"],
                f"participant not in naming rule1: participant {participant}",
            )
        )
    else:
        folder, code = subjects[participant]
        row.values["subject_code"] = code
        subject = f"s{folder}"
    video_name = None
    if name is None:
        row.problems.append((_CASME_SQ_LABELS["expression_name"], "missing video: blank"))
    else:
        stem, _, count = name.rpartition("_")
        video_name = stem if stem and count.isdigit() else name
        row.values["video_name"] = video_name
        code = videos.get(video_name.casefold())
        if code is None:
            row.problems.append(
                (
                    _CASME_SQ_LABELS["expression_name"],
                    f"video name not in naming rule2: {video_name!r}",
                )
            )
        elif subject is not None:
            row.values["video_code"] = code
            video = f"{subject[1:]}_{code}"
    row.values["subject"] = subject
    row.values["video"] = video
    row.values["sample"] = _built_id(row.values)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
Errors = Literal["flag", "collect", "raise"]


def check_layout(layout: str) -> str:
    """``layout`` if it is one of :data:`LAYOUTS`; a renamed one names its new name."""
    if layout in RENAMED_LAYOUTS:
        raise ValueError(
            f"annotation layout {layout!r} is now called {RENAMED_LAYOUTS[layout]!r} "
            f"(CAS(ME)^2; 'casme_ii' is CASME II): rename it in your data-set entry"
        )
    if layout not in LAYOUTS:
        raise ValueError(f"unknown annotation layout {layout!r}; known: {LAYOUTS}")
    return layout


@overload
def read_annotations(
    path: str | Path,
    layout: str,
    *,
    sheet: str | int | None = None,
    errors: Literal["flag", "raise"] = "flag",
) -> pd.DataFrame: ...


@overload
def read_annotations(
    path: str | Path,
    layout: str,
    *,
    sheet: str | int | None = None,
    errors: Literal["collect"],
) -> tuple[pd.DataFrame, list[RowProblem]]: ...


def read_annotations(
    path: str | Path,
    layout: str,
    *,
    sheet: str | int | None = None,
    errors: Errors = "flag",
) -> pd.DataFrame | tuple[pd.DataFrame, list[RowProblem]]:
    """Read an annotation sheet of ``layout`` into the normalised table (module docstring).

    ``layout`` is one of :data:`LAYOUTS`. ``sheet`` is a sheet name (matched ignoring case and
    spaces) or 0-based index; ``None`` picks the layout's sheet. Every expression row is in
    the table, whatever is wrong with it; its ``problems`` cell says what. ``errors="flag"``
    (default) returns the table; ``errors="collect"`` returns ``(table, problems)``, the
    same table and one :class:`RowProblem` per problem (with its column); ``errors="raise"``
    raises the first row problem as :class:`AnnotationError` (a strict check of a sheet).
    Whole-file problems always raise.
    """
    return _read(Path(path), check_layout(layout), sheet, errors)


def read_eye_blinks(
    path: str | Path,
    *,
    sheet: str | int | None = "eye blink",
    errors: Errors = "flag",
) -> pd.DataFrame | tuple[pd.DataFrame, list[RowProblem]]:
    """The "eye blink" sheet of CAS(ME)^3 Part A (``CAS(ME)3_part_A_v2.xls``), same schema.

    Blinks are not expressions, so :func:`read_annotations` never reads this sheet by default;
    this keeps it at hand (e.g. to exclude clips with a blink). ``expression_type`` is <NA>;
    apex, offset and AUs are optional columns here.
    """
    return _read(Path(path), "casme3_blink", sheet, errors)


def _read(
    path: Path, layout: str, sheet: str | int | None, errors: str
) -> pd.DataFrame | tuple[pd.DataFrame, list[RowProblem]]:
    if errors not in ("flag", "raise", "collect"):
        raise ValueError(f"errors must be 'flag', 'collect' or 'raise', got {errors!r}")
    report = _Report(str(path))
    if layout == "casme_sq":
        rows = _casme_sq_rows(path, sheet, report)
        sample_label: str | None = "sample (built from A, B, C)"
    else:
        rows, sample_label = _header_layout_rows(path, layout, sheet, report)
    if not rows:
        raise report.error("no expression rows below the header")
    table = _table(rows, "generic" if layout == "casme3_blink" else layout, report, sample_label)
    if layout == "casme3_blink":
        table = table[list(COLUMNS)]
    report.warn()
    if errors == "raise" and report.problems:
        raise report.problems[0].to_error()
    if errors == "collect":
        return table, report.problems
    return table


def _header_layout_rows(
    path: Path, layout: str, sheet: str | int | None, report: _Report
) -> tuple[list[_Row], str | None]:
    data, workbook = _open(path, sheet, _PREFERRED_SHEETS.get(layout, ()), report)
    if workbook is not None:
        workbook.close()
    if data.is_empty():
        raise report.error("the sheet is empty")
    rows, header = _read_header_rows(data, layout, report)
    if layout == "dsme3d":
        _dsme3d_ids(rows, report, header)
        return rows, header.labels["sample_in_sheet"]
    if layout in _SUBJECT_FOLDERS:
        prefix, width = _SUBJECT_FOLDERS[layout]
        for row in rows:
            row.values["subject"] = _subject_folder(row.values.get("subject"), prefix, width)
    id_parts = ("subject", "video") if layout in _ONE_EXPRESSION_PER_CLIP else None
    if layout == "samm":
        id_parts = ("video",)
    built = " + ".join(header.labels[n] for n in (id_parts or ("subject", "video", "onset")))
    for row in rows:
        given = row.values.get("sample")
        if given is None:
            given = _built_id(row.values, id_parts)
        row.values["sample"] = given
    label = header.labels.get("sample") if layout == "generic" else None
    return rows, label or f"sample (built from {built})"


# CASME II and SAMM name a subject's folder from its number: 1 -> "sub01", 6 -> "006".
_SUBJECT_FOLDERS: dict[str, tuple[str, int]] = {"casme_ii": ("sub", 2), "samm": ("", 3)}
# Layouts whose clip (Filename) holds one expression: the id needs no onset.
_ONE_EXPRESSION_PER_CLIP = ("casme_ii", "samm")


def _subject_folder(subject: str | None, prefix: str, width: int) -> str | None:
    """A subject number as its folder name ("1" -> "sub01"); a folder name stays as it is."""
    if subject is None or not subject.isdigit():
        return subject
    return f"{prefix}{int(subject):0{width}d}"
