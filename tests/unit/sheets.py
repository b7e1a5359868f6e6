"""Write small annotation workbooks in tests, so no binary sheet is committed.

Rows are lists of cell values (None = blank cell); strings are written as text cells, so
"12 " is a number stored as text, as real sheets have them. Merges are 0-based inclusive
``(first_row, first_col, last_row, last_col)``; the merged range keeps only the first cell's
value, as Excel does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
import xlwt

Rows = Sequence[Sequence[object]]
Merge = tuple[int, int, int, int]


def write_xlsx(
    path: Path, sheets: dict[str, Rows], merges: dict[str, Sequence[Merge]] | None = None
):
    """An .xlsx with openpyxl: ``sheets`` maps sheet name -> rows, in order."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=r, column=c, value=value)
        for r0, c0, r1, c1 in (merges or {}).get(name, ()):
            sheet.merge_cells(
                start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1
            )
    workbook.save(path)
    return path


def write_xls(
    path: Path, sheets: dict[str, Rows], merges: dict[str, Sequence[Merge]] | None = None
):
    """A real BIFF .xls with xlwt (DSME-3D and CAS(ME)^3 Part A ship .xls files)."""
    workbook = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        merged = {(r0, c0): (r1, c1) for r0, c0, r1, c1 in (merges or {}).get(name, ())}
        covered = {
            (r, c)
            for (r0, c0), (r1, c1) in merged.items()
            for r in range(r0, r1 + 1)
            for c in range(c0, c1 + 1)
        }
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if (r, c) in merged:
                    r1, c1 = merged[(r, c)]
                    sheet.write_merge(r, r1, c, c1, value)
                elif (r, c) not in covered and value is not None:
                    sheet.write(r, c, value)
    workbook.save(str(path))
    return path
