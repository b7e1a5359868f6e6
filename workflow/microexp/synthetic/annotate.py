"""Annotation sheets of the synthetic data set, from its truth files.

The frame-folder part gets a DSME-3D `micro-expression.xlsx` (docs/methods.md#annotation-sheets);
the recording part a `generic` layout TSV that names each sample's recording. The annotations are
the truth: onset, apex and offset as the generator placed them, AUs as performed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from microexp.synthetic.sheet import GENERIC_COLUMNS, write_dsme3d_sheet, write_generic_sheet

# The generic sheet's columns are exactly what a truth file gives a sheet row.
ANNOTATION_COLUMNS = GENERIC_COLUMNS


def annotation_row(truth_path: Path) -> dict[str, object]:
    """One sheet row from a truth file."""
    with np.load(truth_path) as truth:
        row = {key: truth[key].item() for key in ANNOTATION_COLUMNS}
    for key in ("onset", "apex", "offset", "video"):
        row[key] = int(row[key])
    return row


def annotation_table(truth_paths: list[Path]) -> pd.DataFrame:
    """The annotation rows of the given samples, ordered by subject then video."""
    table = pd.DataFrame([annotation_row(p) for p in truth_paths], columns=ANNOTATION_COLUMNS)
    order = table["subject"].astype(int) * 100_000 + table["video"].astype(int)
    return table.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


def write_annotations(truth_paths: list[Path], path: Path, root: Path) -> pd.DataFrame:
    """Write the sheet whose format the file name says (.xlsx: DSME-3D; .tsv: generic)."""
    table = annotation_table(truth_paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        write_dsme3d_sheet(table, path)
    elif path.suffix == ".tsv":
        # Sources in the truth are relative to the raw root; the generic sheet's are
        # relative to the sheet's own folder.
        table = table.assign(
            source=[str((root / s).relative_to(path.parent)) for s in table["source"]]
        )
        write_generic_sheet(table, path)
    else:
        raise ValueError(f"{path}: no annotation layout for suffix {path.suffix!r}")
    return table
