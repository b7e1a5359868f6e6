"""The result-tree comparison the SLURM test relies on: equal trees pass, and every kind of
difference it must catch is caught (runs without a cluster)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .compare import tree_differences


def write_tree(root: Path, *, scale: float = 1.0) -> None:
    (root / "d" / "clips").mkdir(parents=True)
    np.savez_compressed(root / "d/clips/a.npz", x=np.arange(6.0) * scale, name=np.array("a"))
    (root / "d/samples.tsv").write_text("sample\tonset\na\t3\n")
    pd.DataFrame({"p": [0.25, 0.75], "y": ["x", "y"]}).to_parquet(root / "d/pred.parquet")
    pd.DataFrame({"Subject": [1], "Onset": [3]}).to_excel(root / "d/sheet.xlsx", index=False)
    (root / "logs").mkdir()
    (root / "logs/job.log").write_text(f"started {time.time()}\n")
    (root / "benchmarks").mkdir()
    (root / "benchmarks/job.tsv").write_text(f"s\n{time.time()}\n")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("trees")
    first, second = root / "local", root / "slurm"
    write_tree(first)
    time.sleep(1.1)  # zip member and workbook dates differ between the two writes
    write_tree(second)
    return first, second


@pytest.fixture
def trees(written, tmp_path) -> tuple[Path, Path]:
    """A fresh copy of the two trees for a test to change."""
    return tuple(shutil.copytree(tree, tmp_path / tree.name) for tree in written)


def test_equal_content_written_at_other_times_is_equal(trees):
    first, second = trees
    assert (first / "d/sheet.xlsx").read_bytes() != (second / "d/sheet.xlsx").read_bytes()
    assert tree_differences(first, second) == {}


def test_logs_and_benchmarks_are_not_compared(trees):
    first, second = trees
    assert (first / "logs/job.log").read_text() != (second / "logs/job.log").read_text()
    assert tree_differences(first, second) == {}


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("d/clips/a.npz", lambda p: np.savez_compressed(p, x=np.arange(6.0) + 1e-12,
                                                        name=np.array("a"))),
        ("d/clips/a.npz", lambda p: np.savez_compressed(p, x=np.arange(6.0))),
        ("d/clips/a.npz", lambda p: np.savez_compressed(p, x=np.arange(6, dtype=np.float32),
                                                        name=np.array("a"))),
        ("d/samples.tsv", lambda p: p.write_text("sample\tonset\na\t4\n")),
        ("d/pred.parquet", lambda p: pd.DataFrame({"p": [0.25, 0.7500001], "y": ["x", "y"]})
         .to_parquet(p)),
        ("d/sheet.xlsx", lambda p: pd.DataFrame({"Subject": [1], "Onset": [4]})
         .to_excel(p, index=False)),
    ],
)  # fmt: skip
def test_every_content_difference_is_reported(trees, path, change):
    first, second = trees
    change(second / path)
    assert set(tree_differences(first, second)) == {path}


def test_recordings_compare_by_frames(tmp_path):
    from microexp.synthetic.recording import write_recording
    from microexp.testing.recordings import fixture_frames, fixture_intrinsics

    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        root.mkdir()
        write_recording(root / "r.db3", iter(fixture_frames(6, 64, 48)),
                        color_intrinsics=fixture_intrinsics(64, 48))  # fmt: skip
    assert tree_differences(first, second) == {}
    frames = list(fixture_frames(6, 64, 48))
    frames[3].color[10, 10] ^= 1
    write_recording(second / "r.db3", iter(frames), color_intrinsics=fixture_intrinsics(64, 48))
    assert tree_differences(first, second) == {"r.db3": "recording color differs"}


def test_missing_and_extra_files_are_reported(trees):
    first, second = trees
    (second / "d/samples.tsv").unlink()
    shutil.copy(first / "d/clips/a.npz", second / "d/clips/b.npz")
    found = tree_differences(first, second)
    assert set(found) == {"d/samples.tsv", "d/clips/b.npz"}
    assert "only in" in json.dumps(found)
