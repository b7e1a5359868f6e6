"""Compare two workflow result trees file by file (the SLURM run against the local run).

Every file under `results/` counts except `logs/` and `benchmarks/` (they hold times, hosts,
pids). Files are equal when their bytes are, or, for the formats whose bytes are not a
function of their content, when their content is: `.npz` (zip member dates) by key and
array, `.parquet` (writer metadata) as data frames, `.xlsx` (document creation date) by every
cell value, RealSense `.db3`/`.bag` recordings (the SDK's writer thread interleaves messages
as it pleases) by every frame, timestamp, frame number, intrinsics and extrinsics as
`microexp.io.realsense.read_recording` returns them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

SKIPPED = ("logs", "benchmarks")


def result_files(results: Path) -> set[str]:
    """Paths (relative to `results`) of every file compared."""
    return {
        str(path.relative_to(results))
        for path in results.rglob("*")
        if (path.is_file() or path.is_symlink())
        and path.relative_to(results).parts[0] not in SKIPPED
    }


def _npz_difference(a: Path, b: Path) -> str | None:
    with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
        if sorted(x.files) != sorted(y.files):
            return f"keys {sorted(x.files)} != {sorted(y.files)}"
        for key in x.files:
            u, v = x[key], y[key]
            if u.dtype != v.dtype or u.shape != v.shape:
                return f"{key}: {u.dtype}{u.shape} != {v.dtype}{v.shape}"
            same = (
                np.array_equal(u, v, equal_nan=True)
                if u.dtype.kind in "fc"
                else np.array_equal(u, v)
            )
            if not same:
                return f"{key}: values differ"
    return None


def _parquet_difference(a: Path, b: Path) -> str | None:
    import pandas as pd

    x, y = pd.read_parquet(a), pd.read_parquet(b)
    try:
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    except AssertionError as error:
        return str(error).splitlines()[0]
    return None


def _xlsx_difference(a: Path, b: Path) -> str | None:
    from openpyxl import load_workbook

    x, y = load_workbook(a, read_only=True), load_workbook(b, read_only=True)
    try:
        if x.sheetnames != y.sheetnames:
            return f"sheets {x.sheetnames} != {y.sheetnames}"
        for name in x.sheetnames:
            rows_x = list(x[name].iter_rows(values_only=True))
            rows_y = list(y[name].iter_rows(values_only=True))
            if rows_x != rows_y:
                return f"sheet {name!r}: cell values differ"
    finally:
        x.close()
        y.close()
    return None


def _recording_difference(a: Path, b: Path) -> str | None:
    from microexp.io.realsense import read_recording

    x, y = read_recording(a), read_recording(b)
    for name in ("color", "depth", "timestamps_ms", "frame_numbers", "depth_timestamps_ms",
                 "depth_frame_numbers", "depth_to_color"):  # fmt: skip
        if not np.array_equal(getattr(x, name), getattr(y, name)):
            return f"recording {name} differs"
    for name in ("intrinsics", "depth_intrinsics", "depth_scale", "dropped"):
        if getattr(x, name) != getattr(y, name):
            return f"recording {name} differs"
    return None


CONTENT_COMPARERS = {
    ".db3": _recording_difference,
    ".bag": _recording_difference,
    ".npz": _npz_difference,
    ".parquet": _parquet_difference,
    ".xlsx": _xlsx_difference,
}


def file_difference(a: Path, b: Path) -> str | None:
    """None if the two files are equal (bytes, or content for the formats above), else why
    not."""
    if a.read_bytes() == b.read_bytes():
        return None
    comparer = CONTENT_COMPARERS.get(a.suffix)
    if comparer is None:
        return "bytes differ"
    try:
        return comparer(a, b)
    except (OSError, ValueError, RuntimeError, zipfile.BadZipFile) as error:
        return f"unreadable: {error}"


def tree_differences(first: Path, second: Path) -> dict[str, str]:
    """Every file (relative path -> reason) that differs between two `results/` folders or
    exists in only one of them; empty when the runs agree."""
    a, b = result_files(first), result_files(second)
    differences = {path: f"only in {first}" for path in a - b}
    differences |= {path: f"only in {second}" for path in b - a}
    for path in sorted(a & b):
        reason = file_difference(first / path, second / path)
        if reason is not None:
            differences[path] = reason
    return differences
