"""Annotation sheets of the synthetic data set, in the layouts the real data sets use.

docs/layout.md: the synthetic data set goes through the same ingestion as real
data, so its annotations are written in real layouts and read back by
:func:`microexp.io.annotations.read_annotations`, which must return exactly the rows given.

DSME-3D layout (:func:`write_dsme3d_sheet`; Wang et al., Sec. 3.5)
    ``micro-expression.xlsx``, one sheet "micro-expression". Row 1 is a title (the reader must
    find the header below free text anyway, as in real sheets), row 2 the header, then one row
    per expression in these 8 columns:

    ==  ====================  ==========================================================
    A   Participant           participant number (a number cell when it is all digits)
    B   Sample                sample id ``<subject>_<video>``, text
                              (docs/methods.md#annotation-sheets)
    C   Onset frame           source frame numbers, number cells; a missing apex is "/"
    D   Apex frame
    E   Offset frame
    F   AUs                   FACS codes joined by "+", e.g. "1+2" or "R1+R2+4"
    G   Objective class       as given (a number cell when it is all digits)
    H   Non-objective class   the emotion, as given
    I   Expression type       "micro" / "macro" -- only when ``rows`` has ``expression_type``
    ==  ====================  ==========================================================

    Column I is not in the real sheet, which lists MEs only; the synthetic data set also holds
    macro-expressions, and the reader takes an 8-column sheet's rows as MEs. One id per
    (subject, video) is all this layout can hold: two expressions of one video would share a
    sample id, and a ``sample`` column other than ``<subject>_<video>`` cannot be written, so
    the writer refuses both.

Both .xlsx writers here save through :func:`save_workbook`: the same rows give the same bytes
(docs/layout.md#determinism-and-versions).

Generic layout (:func:`write_generic_sheet`)
    A UTF-8 tab-separated file with a header line and the columns ``GENERIC_COLUMNS``:
    subject, video, sample, source (path of the recording or frame folder, relative to the
    folder that holds the sheet), onset, apex, offset (frame numbers), aus (FACS codes joined
    by "+"), expression_type ("micro" / "macro"), objective_class, emotion. Missing values are
    empty fields. A missing ``sample`` is built as ``<subject>_<video>_<onset>``, as the reader
    does.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.writer.excel import ExcelWriter

from microexp.io.aus import format_aus, parse_aus

__all__ = [
    "DSME3D_HEADER",
    "GENERIC_COLUMNS",
    "save_workbook",
    "write_dsme3d_sheet",
    "write_generic_sheet",
]

DSME3D_HEADER: tuple[str, ...] = (
    "Participant",
    "Sample",
    "Onset frame",
    "Apex frame",
    "Offset frame",
    "AUs",
    "Objective class",
    "Non-objective class",
)
# The time written into a workbook's properties and zip entries: the DOS epoch, the earliest a zip
# entry can hold. openpyxl stamps the save time into both, so that the same rows gave other bytes
# on every run.
SAVED_AT = datetime.datetime(1980, 1, 1)
GENERIC_COLUMNS: tuple[str, ...] = (
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
)
_DSME3D_TITLE = "DSME-3D micro-expression samples (synthetic; columns as in Wang et al., Sec. 3.5)"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _require(rows: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"{what}: rows lack the columns {missing}")


def _number_or_text(value: object) -> int | str | None:
    """All-digit text becomes a number cell, as a person typing into Excel would get."""
    if _missing(value):
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _text_or_none(value: object) -> str | None:
    return None if _missing(value) else str(value)


def _frame_cell(value: object) -> int | str:
    # Real sheets write a frame nobody annotated as "/" (docs/methods.md#annotation-sheets).
    return "/" if _missing(value) else int(value)  # type: ignore[call-overload]


def write_dsme3d_sheet(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write ``rows`` as a DSME-3D ``micro-expression.xlsx`` (layout in the module docstring).

    ``rows`` needs the columns subject, video, onset, apex, offset, aus, objective_class and
    emotion (the normalised schema's names); ``expression_type`` adds column I. Returns the
    path written.
    """
    _require(
        rows,
        ("subject", "video", "onset", "apex", "offset", "aus", "objective_class", "emotion"),
        "write_dsme3d_sheet",
    )
    ids = rows["subject"].astype(str) + "_" + rows["video"].astype(str)
    repeated = sorted(set(ids[ids.duplicated()]))
    if repeated:
        raise ValueError(
            f"write_dsme3d_sheet: the DSME-3D id <subject>_<video> holds one expression per "
            f"video, but these repeat: {repeated}"
        )
    if "sample" in rows.columns:
        other = sorted(set(rows["sample"].astype(str)[rows["sample"].astype(str) != ids]))
        if other:
            raise ValueError(
                f"write_dsme3d_sheet: sample ids must be <subject>_<video>; these are not: {other}"
            )
    with_type = "expression_type" in rows.columns
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "micro-expression"
    sheet.append([_DSME3D_TITLE])
    sheet.append([*DSME3D_HEADER, *(["Expression type"] if with_type else [])])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for record, sample in zip(rows.to_dict("records"), ids, strict=True):
        aus = "" if _missing(record["aus"]) else format_aus(parse_aus(record["aus"]), style="facs")
        sheet.append(
            [
                _number_or_text(record["subject"]),
                sample,
                _frame_cell(record["onset"]),
                _frame_cell(record["apex"]),
                _frame_cell(record["offset"]),
                aus or None,
                _number_or_text(record["objective_class"]),
                _text_or_none(record["emotion"]),
                *([_text_or_none(record["expression_type"])] if with_type else []),
            ]
        )
    for letter, width in zip("ABCDEFGHI", (12, 10, 12, 12, 12, 16, 16, 20, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    return save_workbook(workbook, path)


def write_generic_sheet(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write ``rows`` as the generic layout's TSV (module docstring). Returns the path written.

    ``rows`` needs subject, video, onset and offset; the other ``GENERIC_COLUMNS`` are written
    empty when absent.
    """
    _require(rows, ("subject", "video", "onset", "offset"), "write_generic_sheet")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(GENERIC_COLUMNS)
        for record in rows.to_dict("records"):
            writer.writerow([_generic_field(record, name) for name in GENERIC_COLUMNS])
    return path


def _generic_field(record: dict[str, object], name: str) -> str:
    value = record.get(name)
    if name == "sample" and _missing(value):
        return f"{record['subject']}_{record['video']}_{int(record['onset'])}"  # type: ignore[call-overload]
    if _missing(value):
        return ""
    if name in ("onset", "apex", "offset"):
        return str(int(value))  # type: ignore[call-overload]
    if name == "aus":
        return format_aus(parse_aus(value), style="facs")
    return str(value)


class _FixedTimeZipFile(zipfile.ZipFile):
    """A zip archive whose entries carry ``SAVED_AT`` instead of the time of writing
    (``writestr`` of a name) or the file's modification time (``write``, which openpyxl uses
    for the worksheets it writes to temporary files)."""

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        name = Path(filename).name if arcname is None else str(arcname)
        self.writestr(name, Path(filename).read_bytes(), compress_type, compresslevel)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=SAVED_AT.timetuple()[:6])
            info.compress_type = self.compression if compress_type is None else compress_type
            info.external_attr = 0o600 << 16  # what writestr gives an entry named by a string
            zinfo_or_arcname, compress_type = info, None
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)


def save_workbook(workbook: openpyxl.Workbook, path: str | Path) -> Path:
    """Write ``workbook`` to ``path`` (.xlsx) so that its bytes depend on its cells only: created
    and modified properties and every zip entry's time are ``SAVED_AT`` (openpyxl's
    ``Workbook.save`` stamps the time of saving into both). Returns the path written."""
    workbook.properties.created = workbook.properties.modified = SAVED_AT
    buffer = io.BytesIO()
    with _FixedTimeZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        # ExcelWriter is what Workbook.save runs, without its resetting `modified` to now.
        ExcelWriter(workbook, archive).write_data()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path
