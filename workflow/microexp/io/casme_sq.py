"""The CAS(ME)^2 annotation layout ``casme_sq`` (Qu et al.): a first sheet without a header row
(columns by position) and the naming sheets that map participant numbers and video names to
the data set's folders (:mod:`microexp.io.annotations`, layout ``casme_sq`` and quirk 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from microexp.io.annotation_rows import SheetRow, built_id, read_frames, read_labels
from microexp.io.spreadsheets import (
    AnnotationError,
    Sheet,
    SheetReport,
    Workbook,
    cell_text,
    column_letter,
    is_blank,
    is_note_row,
    open_sheet,
    whole_number,
)

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


_CASME_SQ_LABELS = {name: f"{column_letter(i)} ({name})" for i, name in enumerate(_CASME_SQ_FIELDS)}


def _naming_sheet(workbook: Workbook, name: str, index: int, report: SheetReport) -> Sheet:
    found = workbook.find(name)
    if found is None and len(workbook.sheet_names) > index:
        found = workbook.sheet_names[index]
    if found is None:
        raise report.error(
            f"CAS(ME)^2 needs the sheet {name!r} to map participant numbers and video names to "
            f"folder names; sheets are {workbook.sheet_names}"
        )
    return workbook.read(found)


def _casme_sq_subjects(sheet: Sheet, report: SheetReport) -> dict[int, tuple[str, str | None]]:
    """naming rule1: participant number -> (folder number, code as written)."""
    mapping = {}
    for line in sheet.cells:
        folder, participant = whole_number(_cell(line, 0)), whole_number(_cell(line, 2))
        if folder is not None and participant is not None:
            mapping[participant] = (str(folder), cell_text(_cell(line, 1)))
    if not mapping:
        raise AnnotationError(
            "no (folder number, code, participant number) rows in columns A-C",
            file=report.file,
            sheet=sheet.name,
        )
    return mapping


def _casme_sq_videos(sheet: Sheet, report: SheetReport) -> dict[str, str]:
    """naming rule2: video name (case-folded) -> 4-digit video code (quirk 7)."""
    mapping = {}
    for line in sheet.cells:
        code, name = _cell(line, 0), cell_text(_cell(line, 1))
        number = whole_number(code)
        if name is not None and number is not None:
            mapping[name.casefold()] = f"{number:04d}"
    if not mapping:
        raise AnnotationError(
            "no (video code, video name) rows in columns A-B", file=report.file, sheet=sheet.name
        )
    return mapping


def _cell(line: Sequence[object], col: int) -> object:
    return line[col] if col < len(line) else None


def casme_sq_rows(path: Path, sheet: str | int | None, report: SheetReport) -> list[SheetRow]:
    data, workbook = open_sheet(path, sheet, (), report)
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
            if whole_number(_cell(line, 0)) is not None and whole_number(_cell(line, 2)) is not None
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
        if all(is_blank(v) for v in line):
            continue
        if is_note_row(line, (2, 3, 4)):
            report.note(None, "free-text row skipped (one text cell, no frame numbers)", r + 1)
            continue
        raw = {name: _cell(line, i) for i, name in enumerate(_CASME_SQ_FIELDS)}
        if is_blank(raw["participant"]) and previous_participant is not None:
            raw["participant"] = previous_participant  # merged participant cells (quirk 6)
        previous_participant = raw["participant"]
        row = SheetRow(r + 1)
        read_frames(row, raw, _CASME_SQ_LABELS, report, zero_is_missing=("apex", "offset"))
        read_labels(row, raw, _CASME_SQ_LABELS)
        _map_casme_sq_folders(row, raw, subjects, videos)
        rows.append(row)
    return rows


def _map_casme_sq_folders(
    row: SheetRow,
    raw: dict[str, object],
    subjects: dict[int, tuple[str, str | None]],
    videos: dict[str, str],
) -> None:
    participant = whole_number(raw["participant"])
    name = cell_text(raw["expression_name"])
    row.values["participant"] = str(participant) if participant is not None else None
    row.values["expression_name"] = name
    subject = video = None
    if participant is None:
        row.problems.append(
            (
                _CASME_SQ_LABELS["participant"],
                f"participant not in naming rule1: {cell_text(raw['participant'])!r} "
                "is not a number",
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
    row.values["sample"] = built_id(row.values)
