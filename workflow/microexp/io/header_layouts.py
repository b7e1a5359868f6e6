"""Annotation layouts with a header row: DSME-3D, CAS(ME)^3 Parts A and C (and Part A's
"eye blink" sheet), CASME II, SAMM and the generic layout (:mod:`microexp.io.annotations`
describes each).

Columns are found by their header names (quirk 1 of :mod:`microexp.io.annotations`); each
layout's table below lists the names it accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from microexp.io.annotation_rows import (
    FRAMES,
    MERGE_NOTE,
    SheetRow,
    built_id,
    read_frames,
    read_labels,
)
from microexp.io.expression_type import MICRO
from microexp.io.spreadsheets import (
    Sheet,
    SheetReport,
    cell_text,
    column_letter,
    is_blank,
    is_note_row,
    normalised_name,
    open_sheet,
)

_HEADER_SEARCH_ROWS = 50


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


def _find_header(sheet: Sheet, fields: Sequence[_Field], report: SheetReport) -> _Header:
    aliases = {f.name: {normalised_name(a) for a in f.aliases} for f in fields}
    best: tuple[int, dict[str, int]] | None = None
    for r, line in enumerate(sheet.cells[:_HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for c, value in enumerate(line):
            if not isinstance(value, str):
                continue
            key = normalised_name(value)
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
        name: f"{str(sheet.value(row, c)).strip()!r} ({column_letter(c)})"
        for name, c in columns.items()
    }
    return _Header(row, columns, labels)


def _read_header_rows(
    sheet: Sheet, layout: str, report: SheetReport
) -> tuple[list[SheetRow], _Header]:
    fields = _HEADER_FIELDS[layout]
    header = _find_header(sheet, fields, report)
    header_keys = {c: normalised_name(sheet.value(header.row, c)) for c in header.columns.values()}
    merge_origin = sheet.merge_origin()
    frame_columns = [header.columns[f] for f in FRAMES if f in header.columns]
    rows: list[SheetRow] = []
    previous_subject: object = None
    for r in range(header.row + 1, len(sheet.cells)):
        line = sheet.cells[r]
        number = r + 1
        if all(is_blank(v) for v in line):
            continue
        if all(
            isinstance(sheet.value(r, c), str) and normalised_name(sheet.value(r, c)) == key
            for c, key in header_keys.items()
        ):
            continue  # the header repeated inside the table (quirk 1)
        if is_note_row(line, frame_columns):
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
            if is_blank(value) and f.name == "subject" and previous_subject is not None:
                # Merged, or left blank under a group of the same participant (quirk 6).
                value = previous_subject
                if (r, c) not in merge_origin:
                    report.note(
                        header.labels["subject"],
                        "blank participant taken from the row above",
                        number,
                    )
            elif is_blank(value) and f.merge and (r, c) in merge_origin:
                value = sheet.value(*merge_origin[(r, c)])
            raw[f.name] = value
        if not is_blank(raw.get("subject")):
            previous_subject = raw["subject"]
        merged_blank = {
            name
            for name, c in header.columns.items()
            if (r, c) in merge_origin and is_blank(raw.get(name))
        }
        row = SheetRow(number)
        _read_fields(row, raw, layout, header.labels, report, merged_blank)
        rows.append(row)
    return rows, header


def _read_fields(
    row: SheetRow,
    raw: dict[str, object],
    layout: str,
    labels: dict[str, str],
    report: SheetReport,
    merged_blank: set[str],
) -> None:
    """Read one header-layout row's raw cells into normalised values (or row problems).

    ``merged_blank``: fields whose cell is blank because it lies inside a merged range.
    """
    for name in ("subject", "video", "sample_in_sheet", "sample", "source", "inducement_code"):
        if name not in raw:
            continue
        text = cell_text(raw[name])
        if text is None and name in ("subject", "video", "sample_in_sheet"):
            why = MERGE_NOTE if name in merged_blank else ""
            kind = f"missing {name.replace('_in_sheet', ' id')}"
            row.problems.append((labels[name], f"{kind}: blank{why}"))
        row.values[name] = text
    read_frames(
        row,
        raw,
        labels,
        report,
        zero_is_missing=("offset",),
        minus_one_is_missing=("apex", "offset") if layout == "samm" else (),
        merged_blank=merged_blank,
    )
    read_labels(row, raw, labels)
    if "aus" in merged_blank:
        row.problems.append((labels["aus"], f"missing AUs: blank{MERGE_NOTE}"))
    if "expression_type" not in raw:
        row.values["expression_type"] = MICRO if layout in _ME_ONLY_LAYOUTS else pd.NA


def _dsme3d_ids(rows: list[SheetRow], report: SheetReport, header: _Header) -> None:
    """Sample and video from DSME-3D's id cell (which reading: microexp.io.annotations)."""
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


def header_layout_rows(
    path: Path, layout: str, sheet: str | int | None, report: SheetReport
) -> tuple[list[SheetRow], str | None]:
    data, workbook = open_sheet(path, sheet, _PREFERRED_SHEETS.get(layout, ()), report)
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
            given = built_id(row.values, id_parts)
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
