"""One sample sheet per data set: every annotated expression, where its frames are, its labels.

`results/{dataset}/samples.tsv` (docs/data-contracts.md) is built from a data set's
annotation file(s) (`microexp.io.annotations`) and its entry in `config["datasets"]`:

    datasets:
      dsme3d:
        layout: dsme3d
        root: /data/DSME-3D
        annotations: [micro-expression.xls]   # relative to root
        source: "{subject}/{sample}"          # where a sample's frames are, relative to root
        fps: 60
        depth_scale: 0.001                     # frame folders: metres per depth unit
        intrinsics: {width: 848, height: 480, fx: 600, fy: 600, cx: 424, cy: 240}

`source` is a pattern over the sample sheet's columns (subject, video, sample, onset...):
a frame folder (color/ + depth/ sub-folders) or a RealSense recording (.bag / .db3). A
pattern that starts with "**/" ("**/{subject}/{video}") finds each folder under root
wherever the release put it (one walk; the folder must be the only one with that ending).
The 2D databases (`microexp.io.datasets.LAYOUTS_2D`) keep their color frames in the video
folder itself and have no depth (`microexp.io.datasets`). An entry's `exceptions:` lists the
database's official exception lists (`microexp.io.exceptions`); `listed_frames` in
samples.tsv holds the listed frames of each clip window. The `generic` layout names each
sample's source in the sheet itself. The `synthetic` layout is the generated data set: its
DSME-3D sheet (frame folders) and its generic sheet (recordings).

The expression type is the sheet's when it gives one, else the layout's duration rule
(docs/methods.md#micro-vs-macro); where both exist and disagree the sheet wins and the disagreement
is counted (`TypeAgreement`), never relabelled.

Two consumers, two rules
------------------------
`read_annotation_table` is every annotated row of the data set's sheets (nothing left out),
each with its `problems` (`microexp.io.annotations`, kinds in `PROBLEM_KINDS`), in the
columns `ANNOTATION_COLUMNS`. It is what spotting builds its ground truth from: spotting keeps
every interval (a missing offset is the spotting stage's to resolve, and it says how).

Recognition (`samples.tsv`, and so every per-sample stage and the learn stage) can only use a
row whose clip can be cut and whose labels can be trusted: `recognition_exclusions` names the
rows it cannot use and why (problem kinds in `RECOGNITION_EXCLUDES`). Those rows get a
failure record at stage `ingest` (`failures/ingest/<sample>.json`), so they are listed, with the
reason, in `results/tables/{dataset}/excluded_samples.*`; `ingest/annotations.tsv` holds the
whole table with a `recognition` column saying what recognition did with each row. Rows
recognition keeps carry their remaining flags (an apex not annotated, an uncertain AU, a
suffixed duplicate id) in the `problems` column of samples.tsv.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

from microexp.failures import FailureRecord, write_failure
from microexp.io.annotations import (
    PROBLEM_SEPARATOR,
    RowProblem,
    check_layout,
    problem_kinds,
    read_annotations,
    unique_sample_ids,
)
from microexp.io.exceptions import dataset_exception_lists, exception_frames_of
from microexp.io.expression_type import (
    DurationRule,
    classify_samples,
    compare_with_sheet,
    expression_duration_ms,
    rule_for_layout,
)

#: samples.tsv columns, in order (validated by workflow/schemas/samples.schema.yaml).
SAMPLE_COLUMNS = (
    "dataset", "subject", "sample", "video", "onset", "apex", "offset", "fps", "duration_ms",
    "expression_type", "type_by_rule", "aus", "aus_raw", "objective_class", "emotion",
    "source", "problems", "listed_frames",
)  # fmt: skip

#: Problem kinds that make a row unusable for recognition (module docstring).
RECOGNITION_EXCLUDES = frozenset({
    "missing subject", "missing video", "missing sample id", "onset not annotated",
    "offset not annotated", "unreadable frame number", "onset after offset",
    "apex outside onset..offset", "unreadable AUs", "missing AUs", "unreadable expression type",
    "participant not in naming rule1", "video name not in naming rule2",
})  # fmt: skip

#: The kind of problem an official exception list adds (`microexp.io.exceptions`): an onset,
#: apex or offset frame the database lists as unreadable or bad. Recognition excludes such a
#: row when the entry's `exception_frames` is `exclude` (the default), keeps it (the frame
#: interpolated, the flag kept) when `interpolate`.
EXCEPTION_LISTED = "exception-listed frame"

#: Columns of `read_annotation_table`: samples.tsv's, then where each row comes from.
ANNOTATION_COLUMNS = (*SAMPLE_COLUMNS, "annotation_file", "sheet_row")

SAMPLES_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "samples.schema.yaml"

#: Where the annotation files are when the config does not say (relative to root).
DEFAULT_ANNOTATIONS = {
    "dsme3d": ["micro-expression.xls"],
    "casme3_a": ["CAS(ME)3_part_A_v2.xls"],
    "casme3_c": ["CAS(ME)3_part_C_ME.xlsx"],
    "casme_sq": ["CAS(ME)^2code_final.xlsx"],
}

#: Where a sample's frames are when the config does not say (relative to root).
DEFAULT_SOURCES = {
    "dsme3d": "{subject}/{sample}",
    "casme3_a": "part_A/{subject}/{video}",
    "casme3_c": "part_C/{subject}/{video}",
    "casme_sq": "rawpic/{subject}/{video}",
    "casme_ii": "CASME2_RAW_selected/{subject}/{video}",
    "samm": "SAMM/{subject}/{video}",
}

#: The synthetic data set's two parts (see microexp.synthetic.generate), by name: frame
#: folders with a DSME-3D sheet, and RealSense recordings with a generic sheet.
SYNTHETIC_PARTS = {
    "frames": ("dsme3d/micro-expression.xlsx", "dsme3d", "dsme3d/{subject}/{sample}"),
    "realsense": ("realsense/annotations.tsv", "generic", None),
}


@dataclass(frozen=True)
class AnnotationSource:
    """One annotation file of a data set, its layout, and how to find each sample's frames."""

    path: Path
    layout: str
    source_pattern: str | None  # None: the sheet's own `source` column (generic layout)


@dataclass
class SampleSheet:
    """The sample table of a data set and everything noticed while building it.

    ``table``: the rows recognition uses (samples.tsv); ``annotations``: every row
    (`read_annotation_table`) with a ``recognition`` column ("used" or "excluded: <why>");
    ``problems``: every problem of every row, located in its sheet.
    """

    table: pd.DataFrame
    problems: list[RowProblem] = field(default_factory=list)
    type_agreement: dict[str, Any] = field(default_factory=dict)
    annotations: pd.DataFrame | None = None

    @property
    def excluded(self) -> pd.DataFrame:
        """The rows recognition excludes, with the reason (``recognition``)."""
        if self.annotations is None:
            return pd.DataFrame(columns=["sample", "recognition"])
        return self.annotations[self.annotations["recognition"] != "used"]


def annotation_sources(dataset: Mapping[str, Any]) -> list[AnnotationSource]:
    """The annotation files of a configured data set."""
    root = Path(dataset["root"])
    layout = dataset["layout"]
    if layout != "synthetic":
        check_layout(layout)
    if layout == "synthetic":
        # A part with no samples (e.g. `synthetic.realsense_subjects: 0`) has no sheet: the
        # workflow names the parts that exist (`parts`); without it, both are read.
        parts = dataset.get("parts", list(SYNTHETIC_PARTS))
        unknown = sorted(set(parts) - set(SYNTHETIC_PARTS))
        if unknown:
            raise ValueError(f"unknown synthetic parts {unknown}; known: {list(SYNTHETIC_PARTS)}")
        return [
            AnnotationSource(root / SYNTHETIC_PARTS[p][0], *SYNTHETIC_PARTS[p][1:]) for p in parts
        ]
    files = dataset.get("annotations") or DEFAULT_ANNOTATIONS.get(layout)
    if not files:
        raise ValueError(f"data set with layout {layout!r} needs `annotations:` in the config")
    files = [files] if isinstance(files, str) else list(files)
    pattern = None if layout == "generic" else dataset.get("source", DEFAULT_SOURCES[layout])
    return [AnnotationSource(root / f, layout, pattern) for f in files]


def duration_rule(dataset: Mapping[str, Any]) -> DurationRule | None:
    """The data set's ME/macro rule (docs/methods.md#micro-vs-macro): configured, else the layout's;
    the generic layout has none unless configured (its sheet then must say the type)."""
    configured = dataset.get("duration_rule")
    if configured is None:
        if dataset["layout"] == "generic":
            return None
        layout = "dsme3d" if dataset["layout"] == "synthetic" else dataset["layout"]
        rule = rule_for_layout(layout)
    elif isinstance(configured, str):
        rule = rule_for_layout(configured)
    else:
        rule = DurationRule.from_config(configured)
    fps = dataset.get("fps")
    if fps is not None and float(fps) != rule.fps:
        rule = DurationRule(**{**rule.__dict__, "fps": float(fps)})
    return rule


def _sources(table: pd.DataFrame, annotation: AnnotationSource, root: Path) -> pd.Series:
    """Absolute source path of each row."""
    if annotation.source_pattern is None:
        if "source" not in table:
            raise ValueError(f"{annotation.path}: the generic layout needs a `source` column")
        folder = annotation.path.parent
        return table["source"].map(lambda s: os.path.normpath(folder / str(s)))
    records = table.to_dict("records")
    pattern = annotation.source_pattern
    if pattern.startswith("**/"):
        found = _folders_under(root, pattern.count("/"))
        return pd.Series(
            [str(_found(found, root, pattern.format(**r)[3:])) for r in records],
            index=table.index,
        )
    return pd.Series(
        [str(_by_prefix(root / pattern.format(**r))) for r in records], index=table.index
    )


# Frame sub-folders: never descended into when looking for video folders (thousands of files).
_FRAME_DIRS = frozenset({"color", "depth", "cloud", "rgb"})


def _folders_under(root: Path, depth: int) -> dict[str, list[Path]]:
    """Every folder under root by its last `depth` path components ("spNO.1/a"), found in one
    walk that does not enter frame folders: a `source` of "**/{subject}/{video}" finds the
    video folders wherever the release put them (CAS(ME)^3 Part A: `.../spNO.1/a/color/`)."""
    found: dict[str, list[Path]] = {}
    for folder, subfolders, _ in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d.casefold() not in _FRAME_DIRS)
        parts = Path(folder).relative_to(root).parts
        if len(parts) >= depth:
            found.setdefault("/".join(parts[-depth:]), []).append(Path(folder))
    return found


def _found(found: dict[str, list[Path]], root: Path, tail: str) -> Path:
    """The one folder ending in `tail`; a path that says what went wrong otherwise (the clip
    job then records the sample's failure with it)."""
    matches = found.get(tail, [])
    if len(matches) == 1:
        return matches[0]
    why = "no folder" if not matches else f"{len(matches)} folders"
    return root / f"<{why} matching **/{tail}>"


def _by_prefix(path: Path) -> Path:
    """`path`, or the one sibling whose name starts with its name: CAS(ME)^2's sheet gives
    the video folder's prefix only ("15_0101" for "15_0101disgustingteeth")."""
    if path.exists() or not path.parent.is_dir():
        return path
    matches = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    return matches[0] if len(matches) == 1 else path


def _duration_ms(onset, offset, fps: float, inclusive: bool):
    if pd.isna(onset) or pd.isna(offset) or offset < onset:  # flagged in `problems`
        return pd.NA
    return expression_duration_ms(onset, offset, fps, frames_inclusive=inclusive)


def read_annotation_table(
    name: str, dataset: Mapping[str, Any]
) -> tuple[pd.DataFrame, list[RowProblem], dict[str, Any]]:
    """Every annotated row of the data set `name` (columns `ANNOTATION_COLUMNS`), the
    problems found, and the sheet-vs-rule agreement of the expression types.

    Nothing is left out: ids are unique across the data set's files (a letter suffix where
    two rows share one, `microexp.io.annotations.unique_sample_ids`), and each row's
    `problems` say what is wrong with it. Whole-file problems raise.
    """
    root = Path(dataset["root"])
    rule = duration_rule(dataset)
    tables, problems = [], []
    for annotation in annotation_sources(dataset):
        table, found = read_annotations(annotation.path, annotation.layout, errors="collect")
        problems.extend(found)
        table = table.assign(
            source=_sources(table, annotation, root), annotation_file=str(annotation.path)
        )
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    unique = unique_sample_ids(table)
    for i in map(int, (unique != table["sample"]).to_numpy().nonzero()[0]):
        message = (
            f"duplicate sample id: {table.at[i, 'sample']!r} is in more than one annotation "
            f"file; this row is {unique.iloc[i]!r}"
        )
        problems.append(
            RowProblem(table.at[i, "annotation_file"], None, int(table.at[i, "sheet_row"]),
                       "sample", message, sample=unique.iloc[i])
        )  # fmt: skip
        before = table.at[i, "problems"]
        table.at[i, "problems"] = f"{before}{PROBLEM_SEPARATOR}{message}" if before else message
    table["sample"] = unique
    table = _apply_exception_lists(table, dataset)
    if rule is None and "fps" not in dataset:
        raise ValueError(f"data set {name}: give `fps` (the generic layout has no default)")
    fps = float(dataset.get("fps", rule.fps if rule else 0))
    inclusive = rule.frames_inclusive if rule else False
    table = table.assign(
        dataset=name,
        fps=fps,
        duration_ms=[
            _duration_ms(on, off, fps, inclusive)
            for on, off in zip(table["onset"], table["offset"], strict=True)
        ],
        type_by_rule=classify_samples(table, rule) if rule else pd.NA,
    )
    agreement = compare_with_sheet(table, rule).as_dict() if rule else {"rule": None}
    sheet_type = table["expression_type"]
    table["expression_type"] = sheet_type.where(sheet_type.notna(), table["type_by_rule"])
    return table[list(ANNOTATION_COLUMNS)], problems, agreement


def _apply_exception_lists(table: pd.DataFrame, dataset: Mapping[str, Any]) -> pd.DataFrame:
    """`listed_frames` (the exception-listed frames inside each row's clip window) and an
    "exception-listed frame" problem where the onset, apex or offset is listed."""
    listed = dataset_exception_lists(dataset)
    table = table.assign(listed_frames="")
    if listed.empty:
        return table
    margin = int(dataset.get("clip_margin", 0))
    for i, row in enumerate(table.to_dict("records")):
        frames = exception_frames_of(listed, row["subject"], row["video"])
        if not frames or pd.isna(row["onset"]):
            continue
        end = row["offset"] if not pd.isna(row["offset"]) else row["onset"]
        inside = sorted(f for f in frames if row["onset"] - margin <= f <= end + margin)
        table.iat[i, table.columns.get_loc("listed_frames")] = ",".join(map(str, inside))
        marks = [
            f"{EXCEPTION_LISTED}: {name} {row[name]} ({frames[row[name]]})"
            for name in ("onset", "apex", "offset")
            if not pd.isna(row[name]) and row[name] in frames
        ]
        if marks:
            before = row["problems"] if not pd.isna(row["problems"]) else ""
            table.iat[i, table.columns.get_loc("problems")] = PROBLEM_SEPARATOR.join(
                [before, *marks] if before else marks
            )
    return table


def recognition_excludes(dataset: Mapping[str, Any]) -> frozenset[str]:
    """The problem kinds recognition cannot use for this data set (module docstring)."""
    if dataset.get("exception_frames", "exclude") == "exclude":
        return RECOGNITION_EXCLUDES | {EXCEPTION_LISTED}
    return RECOGNITION_EXCLUDES


def recognition_exclusions(
    table: pd.DataFrame, excludes: frozenset[str] = RECOGNITION_EXCLUDES
) -> pd.Series:
    """Why recognition cannot use each row (<NA>: it can): the row's problems whose kind is
    in `excludes` (`RECOGNITION_EXCLUDES`; `recognition_excludes(dataset)` adds the
    exception-listed frames), as written in `problems`."""
    reasons = []
    for cell in table["problems"].tolist():
        kinds = problem_kinds(cell)
        messages = str(cell).split(PROBLEM_SEPARATOR) if kinds else []
        blocking = [m for k, m in zip(kinds, messages, strict=True) if k in excludes]
        reasons.append(PROBLEM_SEPARATOR.join(blocking) if blocking else pd.NA)
    return pd.Series(reasons, index=table.index, dtype="string")


def read_sample_sheet(name: str, dataset: Mapping[str, Any]) -> SampleSheet:
    """The sample table recognition uses (samples.tsv) of the data set `name`, and every
    annotated row with what recognition did with it (module docstring)."""
    annotations, problems, agreement = read_annotation_table(name, dataset)
    why = recognition_exclusions(annotations, recognition_excludes(dataset))
    annotations = annotations.assign(
        recognition=["used" if pd.isna(w) else f"excluded: {w}" for w in why]
    )
    table = annotations[why.isna().to_numpy()].reset_index(drop=True)
    return SampleSheet(table[list(SAMPLE_COLUMNS)], problems, agreement, annotations)


def validate_sample_table(table: pd.DataFrame) -> None:
    """Check every row against workflow/schemas/samples.schema.yaml."""
    schema = yaml.safe_load(SAMPLES_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for index, record in enumerate(table.astype(object).to_dict("records")):
        row = {k: (None if v is None or v is pd.NA or v != v else v) for k, v in record.items()}
        errors = sorted(validator.iter_errors(row), key=str)
        if errors:
            raise ValueError(
                f"samples.tsv row {index + 1} (sample {row.get('sample')!r}): {errors[0].message}"
            )


def write_sample_sheet(
    name: str,
    dataset: Mapping[str, Any],
    samples_tsv: Path,
    summary_json: Path,
    failures: Path,
    annotations_tsv: Path | None = None,
) -> SampleSheet:
    """Build the data set's sample sheet and write samples.tsv, a summary, every annotated
    row with what recognition did with it (`annotations_tsv`), and one failure record per
    row recognition excludes (`failures/<sample>.json`, stage `ingest`)."""
    sheet = read_sample_sheet(name, dataset)
    validate_sample_table(sheet.table)
    samples_tsv.parent.mkdir(parents=True, exist_ok=True)
    sheet.table.to_csv(samples_tsv, sep="\t", index=False, na_rep="NA")
    if annotations_tsv is not None:
        annotations_tsv.parent.mkdir(parents=True, exist_ok=True)
        sheet.annotations.to_csv(annotations_tsv, sep="\t", index=False, na_rep="NA")
    excluded = sheet.excluded
    for row in excluded.to_dict("records"):
        reason = f"not usable for recognition: {row['recognition'].removeprefix('excluded: ')}"
        write_failure(
            failures / f"{row['sample']}.json",
            FailureRecord(name, row["sample"], "ingest", reason, row["annotation_file"],
                          {"sheet_row": row["sheet_row"], "problems": row["problems"]}),
        )  # fmt: skip
    flagged = sheet.annotations["problems"].fillna("") != ""
    summary = {
        "dataset": name,
        "layout": dataset["layout"],
        "annotated_rows": len(sheet.annotations),
        "flagged_rows": int(flagged.sum()),
        "samples": len(sheet.table),
        "excluded_from_recognition": {
            r["sample"]: r["recognition"] for r in excluded.to_dict("records")
        },
        "problems": [str(p) for p in sheet.problems],
        "expression_type_vs_duration_rule": sheet.type_agreement,
        "micro": int((sheet.table["expression_type"] == "micro").sum()),
        "macro": int((sheet.table["expression_type"] == "macro").sum()),
    }
    summary_json.parent.mkdir(parents=True, exist_ok=True)
    summary_json.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return sheet


_TEXT_COLUMNS = (
    "dataset",
    "subject",
    "sample",
    "video",
    "expression_type",
    "type_by_rule",
    "aus",
    "aus_raw",
    "objective_class",
    "emotion",
    "source",
)


def read_samples_tsv(path: str | Path) -> pd.DataFrame:
    """``results/{dataset}/samples.tsv`` as written by ingest (``NA`` marks a missing value);
    text columns stay text (objective class "1" is not the number 1, subject "01" not 1)."""
    header = pd.read_csv(path, sep="\t", nrows=0).columns
    dtypes = {c: "string" for c in _TEXT_COLUMNS if c in header}
    return pd.read_csv(path, sep="\t", dtype=dtypes, keep_default_na=False, na_values=["NA", ""])
