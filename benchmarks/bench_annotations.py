"""Benchmark: reading a CAS(ME)^3 Part A-sized annotation sheet (4,206 rows).

Writes a BIFF .xls shaped like ``CAS(ME)3_part_A_v2.xls`` (sheet "AU+Emotion": a title row,
the header, 4,206 expression rows over 100 subjects with the subject and file name merged over
each video's rows, AU strings such as "R1+R2", a few apex "/" and offset 0 cells; plus
"readme" and "eye blink" sheets), then times `read_annotations` on it (best of 3, wall
clock) and the whole data-set table `read_annotation_table`. The aim: < 2 s for the read.

Writes annotations.json to `out_dir`. Run: python -m benchmarks bench_annotations
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xlwt

from microexp.io.annotations import AnnotationWarning, read_annotations
from microexp.io.samples import read_annotation_table

ROWS = 4206
SUBJECTS = 100
HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU",
          "Expression type (macro/micro)", "Objective class", "emotion"]  # fmt: skip


def write_part_a(path: Path, rows: int = ROWS, seed: int = 0) -> Path:
    """A Part A-shaped .xls of `rows` expressions (module docstring)."""
    rng = np.random.default_rng(seed)
    book = xlwt.Workbook()
    book.add_sheet("readme").write(0, 0, "Part A, 30 fps")
    sheet = book.add_sheet("AU+Emotion")
    sheet.write(0, 0, "CAS(ME)3 Part A")
    for c, name in enumerate(HEADER):
        sheet.write(1, c, name)
    r = 2
    per_subject = np.full(SUBJECTS, rows // SUBJECTS)
    per_subject[: rows % SUBJECTS] += 1
    aus = ["R1+R2", "4+7", "AU12", "L14", "4,7", "45", "T24", "9+10"]
    for s, count in enumerate(per_subject, start=1):
        videos = np.array_split(np.arange(count), 6)
        for v, members in enumerate(videos):
            if not len(members):
                continue
            first = r
            onset = 100
            for _k in range(len(members)):
                onset += int(rng.integers(20, 400))
                length = int(rng.integers(6, 60))
                apex = "/" if rng.random() < 0.01 else onset + length // 3
                offset = 0 if rng.random() < 0.001 else onset + length
                kind = "micro" if length <= 15 else "macro"
                for c, value in enumerate(
                    [onset, apex, offset, aus[int(rng.integers(len(aus)))], kind,
                     int(rng.integers(1, 8)), "others"],
                    start=2,
                ):  # fmt: skip
                    sheet.write(r, c, value)
                r += 1
            sheet.write_merge(first, r - 1, 0, 0, f"spNO.{s}")
            sheet.write_merge(first, r - 1, 1, 1, "abcdefghij"[v])
    blinks = book.add_sheet("eye blink")
    blinks.write(0, 0, "Subject")
    book.save(str(path))
    return path


def main(out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_part_a(Path(tmp) / "CAS(ME)3_part_A_v2.xls")
        times = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnnotationWarning)
            for _ in range(3):
                started = time.perf_counter()
                table = read_annotations(path, "casme3_a")
                times.append(time.perf_counter() - started)
            started = time.perf_counter()
            dataset = {"layout": "casme3_a", "root": tmp, "fps": 30,
                       "annotations": path.name, "source": "{subject}/{video}"}  # fmt: skip
            every, _, _ = read_annotation_table("casme3_a", dataset)
            table_s = time.perf_counter() - started
    result = {
        "rows_written": ROWS,
        "rows_read": len(table),
        "rows_flagged": int((table["problems"] != "").sum()),
        "read_annotations_s": {"best": min(times), "all": times},
        "read_annotation_table_s": table_s,
        "annotation_table_rows": len(every),
        "aim_s": 2.0,
        "machine": platform.platform(),
    }
    (out_dir / "annotations.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
