"""Spreadsheet access for the annotation readers (:mod:`microexp.io.annotations`).

A sheet (.xls / .xlsx through pandas' calamine engine, or a .csv / .tsv) as a grid of raw
cells with its merged ranges; cell readers that tolerate the quirks of real annotation sheets
(numbers stored as text or floats, placeholders for "not annotated"; the numbered quirks of
:mod:`microexp.io.annotations`); and errors, row problems and warnings that name file, sheet,
row (1-based, as Excel shows it) and column.
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

import pandas as pd
import python_calamine

_MAX_LISTED_ROWS = 20


# Frame placeholders that mean "not annotated" (quirk 2); NFKC folds full-width forms first.
_NOT_ANNOTATED = frozenset({"/", "-", "--", "—", "–", "\\"})


# What other tools write for a missing value in a CSV (R: NA; pandas: NaN, <NA>).
_MISSING_WORDS = frozenset({"na", "n/a", "nan", "<na>", "none", "null"})


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


class CellError(ValueError):
    """A cell value that cannot be read; becomes a RowProblem with the cell's location."""


@dataclass
class SheetReport:
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


def is_blank(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def cell_text(value: object) -> str | None:
    """A cell as stripped text (None when blank); whole floats lose their ".0" (quirk 5)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def whole_number(value: object) -> int | None:
    """An integer from an int, a whole float or text like "12 " / "12.0"; None otherwise."""
    if isinstance(value, bool) or is_blank(value):
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


def frame_number(
    value: object, *, zero_is_missing: bool = False, minus_one_is_missing: bool = False
) -> tuple[int | None, str | None]:
    """A frame-number cell: (frame, None), or (None, why it is <NA>). Raises CellError."""
    if is_blank(value):
        return None, "blank"
    if isinstance(value, str):
        folded = unicodedata.normalize("NFKC", value).strip()
        if folded in _NOT_ANNOTATED or folded.casefold() in _MISSING_WORDS:
            return None, f"{folded!r}"
    number = whole_number(value)
    if number is None:
        if isinstance(value, float) or looks_numeric(value):
            raise CellError(f"frame number must be a whole number, got {cell_text(value)!r}")
        raise CellError(f"non-numeric frame number {cell_text(value)!r}")
    if number == -1 and minus_one_is_missing:
        return None, "-1"
    if number < 0:
        raise CellError(f"negative frame number {number}")
    if number == 0 and zero_is_missing:
        return None, "0"
    return number, None


def looks_numeric(value: object) -> bool:
    try:
        float(str(value).strip())
    except ValueError:
        return False
    return True


def normalised_name(name: object) -> str:
    """A header name compared case-, space- and punctuation-insensitively (quirk 1)."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"[\W_]+", "", text)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def is_note_row(line: Sequence[object], frame_columns: Iterable[int]) -> bool:
    """A single text cell and no frame numbers: a note in the sheet, not an expression."""
    filled = [v for v in line if not is_blank(v)]
    if len(filled) != 1 or not isinstance(filled[0], str) or looks_numeric(filled[0]):
        return False
    return all(is_blank(line[c]) if c < len(line) else True for c in frame_columns)


_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}


@dataclass
class Sheet:
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
        return all(is_blank(v) for line in self.cells for v in line)

    def merge_origin(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Every non-first cell of a merged range -> the range's first cell."""
        origin = {}
        for (r0, c0), (r1, c1) in self.merged:
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        origin[(r, c)] = (r0, c0)
        return origin


def _read_text_table(path: Path) -> Sheet:
    delimiter = _TEXT_SUFFIXES[path.suffix.lower()]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [
            [cell if cell.strip() else None for cell in line]
            for line in csv.reader(handle, delimiter=delimiter)
        ]
    return Sheet(None, rows, [])


class Workbook:
    """An .xls / .xlsx workbook read through pandas' calamine engine."""

    def __init__(self, path: Path, report: SheetReport) -> None:
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
        key = normalised_name(wanted)
        return next((n for n in self.sheet_names if normalised_name(n) == key), None)

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

    def read(self, name: str) -> Sheet:
        try:
            frame = pd.read_excel(self.excel, sheet_name=name, header=None, dtype=object)
            merged = _merged_ranges(self.path, name)
        except Exception as exc:
            raise AnnotationError(
                f"cannot read the sheet ({exc})", file=self.report.file, sheet=name
            ) from exc
        cells = [[None if is_blank(v) else v for v in line] for line in frame.to_numpy().tolist()]
        return Sheet(name, cells, merged)


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
    workbook = Workbook(path, SheetReport(str(path)))
    workbook.close()
    return workbook.sheet_names


def open_sheet(path: Path, sheet: str | int | None, preferred: Sequence[str], report: SheetReport):
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
    workbook = Workbook(path, report)
    try:
        name = workbook.resolve(sheet, preferred)
        report.sheet = name
        return workbook.read(name), workbook
    except Exception:
        workbook.close()
        raise
