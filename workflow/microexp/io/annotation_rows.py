"""Sheet rows of any annotation layout into the normalised table of
:mod:`microexp.io.annotations`: the schema, frame numbers and labels of one row, unique sample
ids, and the final table with each row's problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from microexp.io.aus import AUParseError, format_aus, parse_aus, uncertain_aus
from microexp.io.expression_type import parse_expression_type
from microexp.io.spreadsheets import (
    CellError,
    SheetReport,
    cell_text,
    column_letter,
    frame_number,
    is_blank,
)

#: The normalised schema, in order (:mod:`microexp.io.annotations`).
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


FRAMES = ("onset", "apex", "offset")


@dataclass
class SheetRow:
    """One sheet row being read: its values, and what went wrong where."""

    number: int  # 1-based sheet row
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str | None, str]] = field(default_factory=list)


MERGE_NOTE = " (inside a merged range: a merge is not meaningful here)"


def read_frames(
    row: SheetRow,
    raw: dict[str, object],
    labels: dict[str, str],
    report: SheetReport,
    *,
    zero_is_missing: Iterable[str],
    minus_one_is_missing: Iterable[str] = (),
    merged_blank: set[str] | None = None,
) -> None:
    """Onset, apex and offset of one row, with the checks between them (quirks 2, 3, 5).

    Every problem is flagged on the row, never a reason to drop it (microexp.io.annotations).
    """
    zero_fields, minus_one_fields = set(zero_is_missing), set(minus_one_is_missing)
    for name in FRAMES:
        if name not in raw:
            row.values[name] = None  # the layout has no such column (CAS(ME)^3 Part C apex)
            continue
        try:
            frame, why_missing = frame_number(
                raw[name],
                zero_is_missing=name in zero_fields,
                minus_one_is_missing=name in minus_one_fields,
            )
        except CellError as exc:
            row.problems.append((labels[name], f"unreadable frame number: {name}: {exc}"))
            row.values[name] = None
            continue
        row.values[name] = frame
        if why_missing is None:
            continue
        inside_merge = merged_blank is not None and name in merged_blank
        why = MERGE_NOTE if inside_merge else ""
        written = "blank" if why_missing == "blank" else f"written {why_missing}"
        row.problems.append((labels[name], f"{name} not annotated: {written}{why}"))
        if why_missing in ("0", "-1"):
            meaning = f"{name} {why_missing} means not annotated: read as <NA>"
            report.note(labels[name], meaning, row.number)
        else:
            report.note(labels[name], f"{name} {why_missing} read as <NA>", row.number)
    onset, apex, offset = (row.values[n] for n in FRAMES)
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


def read_labels(row: SheetRow, raw: dict[str, object], labels: dict[str, str]) -> None:
    """AUs, expression type, objective class and emotions of one row."""
    if "aus" in raw:
        row.values["aus_raw"] = cell_text(raw["aus"])
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
            row.values["expression_type"] = parse_expression_type(cell_text(raw["expression_type"]))
        except ValueError as exc:
            row.problems.append((labels["expression_type"], f"unreadable expression type: {exc}"))
    row.values["objective_class"] = cell_text(raw.get("objective_class"))
    for name in ("emotion", "self_reported_emotion"):
        if name in raw:
            text = cell_text(raw[name])
            row.values[name] = text.casefold() if text is not None else None


def built_id(values: dict[str, Any], parts: Sequence[str] | None = None) -> str | None:
    """``<subject>_<video>_<onset>``, or the given parts joined by "_"; None if one is missing."""
    parts = parts or ("subject", "video", "onset")
    if any(values.get(p) is None for p in parts):
        return None
    return "_".join(str(values[p]) for p in parts)


def _fallback_id(values: dict[str, Any], number: int) -> str:
    """The id of a row whose own id cannot be built (missing subject, video or onset)."""
    parts = [values.get("subject") or "unknown"]
    if values.get("video") is not None:
        parts.append(values["video"])
    return "_".join([*map(str, parts), f"row{number}"])


# Content that orders rows sharing an id before they are told apart (microexp.io.annotations).
_ID_ORDER = ("offset", "apex", "aus_facs", "expression_type", "emotion", "objective_class")


def _order_key(value: object) -> tuple[int, object]:
    return (0, 0) if value is None or pd.isna(value) else (1, value)


def _letters(k: int) -> str:
    """0 -> "a", 25 -> "z", 26 -> "aa", ... (spreadsheet column letters, lower case)."""
    return column_letter(k).lower()


def unique_sample_ids(table: pd.DataFrame) -> pd.Series:
    """Sample ids made unique by construction (:mod:`microexp.io.annotations`, "Sample ids").

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
    if is_blank(problems):
        return []
    return [m.split(":", 1)[0].strip() for m in str(problems).split(PROBLEM_SEPARATOR) if m]


def annotation_table(
    rows: list[SheetRow], layout: str, report: SheetReport, sample_label: str | None
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
        if name in FRAMES:
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
