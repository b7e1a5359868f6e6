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

Where the code lives
--------------------
This module is the entry point and re-exports every public name. Spreadsheet access (cells,
files, located errors): :mod:`microexp.io.spreadsheets`; one row's frames and labels, sample
ids and the final table: :mod:`microexp.io.annotation_rows`; the layouts with a header row:
:mod:`microexp.io.header_layouts`; CAS(ME)^2: :mod:`microexp.io.casme_sq`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, overload

import pandas as pd

from microexp.io.annotation_rows import (
    COLUMNS,
    EXTRA_COLUMNS,
    PROBLEM_KINDS,
    PROBLEM_SEPARATOR,
    annotation_table,
    problem_kinds,
    unique_sample_ids,
)
from microexp.io.casme_sq import casme_sq_rows
from microexp.io.header_layouts import header_layout_rows
from microexp.io.spreadsheets import (
    AnnotationError,
    AnnotationWarning,
    RowProblem,
    SheetReport,
    list_sheets,
)

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
    "unique_sample_ids",
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
    report = SheetReport(str(path))
    if layout == "casme_sq":
        rows = casme_sq_rows(path, sheet, report)
        sample_label: str | None = "sample (built from A, B, C)"
    else:
        rows, sample_label = header_layout_rows(path, layout, sheet, report)
    if not rows:
        raise report.error("no expression rows below the header")
    table = annotation_table(
        rows, "generic" if layout == "casme3_blink" else layout, report, sample_label
    )
    if layout == "casme3_blink":
        table = table[list(COLUMNS)]
    report.warn()
    if errors == "raise" and report.problems:
        raise report.problems[0].to_error()
    if errors == "collect":
        return table, report.problems
    return table
