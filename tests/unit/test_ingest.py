"""Ingestion: one sample sheet, one clip per sample, every bad input a named failure.

The same frames are written as a .db3 recording (installed SDK), read from the .bag fixture
(written by SDK 2.55) and written as a frame folder; the three clips must be identical.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from microexp.failures import SampleFailure, read_failures
from microexp.io.annotations import AnnotationError
from microexp.io.clips import (
    extract_clip,
    load_clip,
    read_clip_frames_at,
    read_clip_index,
    save_clip,
)
from microexp.io.samples import read_sample_sheet, write_sample_sheet
from microexp.synthetic.recording import write_recording
from microexp.synthetic.sheet import write_generic_sheet
from microexp.testing.recordings import fixture_frames, fixture_intrinsics

FIXTURE_BAG = Path(__file__).resolve().parents[1] / "fixtures" / "realsense" / "d415_like_64x48.bag"
W, H, N = 64, 48, 8
CONFIG = {"synthetic": {"camera": {}, "depth_scale": 0.001}}


def write_frame_folder(folder: Path, frames, skip: tuple[int, ...] = ()) -> None:
    (folder / "color").mkdir(parents=True)
    (folder / "depth").mkdir(parents=True)
    for frame in frames:
        if frame.frame_number in skip:
            continue
        stem = f"{frame.frame_number:06d}"
        cv2.imwrite(str(folder / "color" / f"{stem}.png"), frame.color[..., ::-1])
        cv2.imwrite(str(folder / "depth" / f"{stem}.png"), frame.depth)


@pytest.fixture
def dataset(tmp_path) -> dict:
    """A generic-layout data set: the fixture frames as .db3, .bag and frame folders, plus
    sources that are broken in every way the issue lists."""
    frames = fixture_frames(N, W, H)
    intr = fixture_intrinsics(W, H)
    root = tmp_path / "data"
    (root / "rec").mkdir(parents=True)
    write_recording(root / "rec" / "same.db3", iter(frames), color_intrinsics=intr)
    shutil.copy(FIXTURE_BAG, root / "rec" / "same.bag")
    write_frame_folder(root / "frames" / "same", frames)
    write_frame_folder(root / "frames" / "gappy", frames, skip=(4,))
    write_frame_folder(root / "frames" / "onset_gone", frames, skip=(2,))
    blob = (root / "rec" / "same.db3").read_bytes()
    (root / "rec" / "truncated.db3").write_bytes(blob[: len(blob) // 3])
    (root / "rec" / "garbage.db3").write_bytes(b"not a recording at all" * 100)
    write_recording(
        root / "rec" / "no_depth.db3", iter(frames), color_intrinsics=intr, streams=("color",)
    )
    first = frames[0].frame_number
    rows = [
        ("1", "db3", "s_db3", "rec/same.db3", 2, 4, 6),
        ("1", "bag", "s_bag", "rec/same.bag", 2, 4, 6),
        ("1", "folder", "s_folder", "frames/same", 2, 4, 6),
        ("2", "gappy", "s_gappy", "frames/gappy", 2, 3, 6),
        ("2", "gone", "s_onset_gone", "frames/onset_gone", 2, 4, 6),
        ("2", "trunc", "s_truncated", "rec/truncated.db3", 2, 4, 6),
        ("3", "garbage", "s_garbage", "rec/garbage.db3", 2, 4, 6),
        ("3", "nodepth", "s_no_depth", "rec/no_depth.db3", 2, 4, 6),
        ("3", "nofolder", "s_unknown_folder", "frames/nobody", 2, 4, 6),
        ("4", "outside", "s_outside", "frames/same", 20, 25, 30),
        ("4", "reversed", "s_reversed", "frames/same", 6, 4, 2),
        ("4", "dup", "s_db3", "rec/same.db3", 1, 2, 3),
    ]
    table = pd.DataFrame(
        [
            {
                "subject": s, "video": v, "sample": name, "source": src,
                "onset": first + on - 1, "apex": first + ap - 1, "offset": first + off - 1,
                "aus": "AU12", "expression_type": "micro", "objective_class": "I",
                "emotion": "happiness",
            }
            for s, v, name, src, on, ap, off in rows
        ]
    )  # fmt: skip
    write_generic_sheet(table, root / "annotations.tsv")
    return {
        "layout": "generic",
        "root": str(root),
        "annotations": "annotations.tsv",
        "fps": 60,
        "depth_scale": 0.001,
        "intrinsics": intr.as_dict(),
    }


def rows_by_sample(dataset: dict) -> tuple[dict, list]:
    sheet = read_sample_sheet("test", dataset)
    return {r["sample"]: r for r in sheet.table.to_dict("records")}, sheet.problems


def test_db3_bag_and_frame_folder_give_identical_clips(dataset):
    rows, _ = rows_by_sample(dataset)
    # "s_db3" is in the sheet twice: its rows are "s_db3a" (offset 3) and "s_db3b" (offset 6)
    clips = {s: extract_clip(rows[s], dataset, CONFIG) for s in ("s_db3b", "s_bag", "s_folder")}
    frames = fixture_frames(N, W, H)
    expected_numbers = [f.frame_number for f in frames[1:6]]
    for name, clip in clips.items():
        assert clip.frame_numbers.tolist() == expected_numbers, name
        assert (clip.onset, clip.apex, clip.offset) == (0, 2, 4), name
        assert clip.dropped_frames.size == 0
        assert np.array_equal(clip.color, np.stack([f.color for f in frames[1:6]])), name
        assert np.array_equal(clip.depth, np.stack([f.depth for f in frames[1:6]])), name
        assert clip.intrinsics == fixture_intrinsics(W, H)
        assert clip.depth_scale == pytest.approx(0.001)
    # recordings carry hardware timestamps; frame folders derive them from fps
    assert np.allclose(clips["s_db3b"].timestamps_ms, clips["s_bag"].timestamps_ms)


@pytest.mark.parametrize("sample", ["s_folder", "s_db3b", "s_bag"])
def test_clip_file_holds_the_index_and_the_frames_come_back_from_the_source(
    dataset, tmp_path, sample
):
    """The clip file is a few kB of index (no pixels); loading it reads the very frames the
    fixture wrote (frames 1..5) from the source again."""
    rows, _ = rows_by_sample(dataset)
    clip = extract_clip(rows[sample], dataset, CONFIG)
    save_clip(tmp_path / "c.npz", clip)
    with np.load(tmp_path / "c.npz") as npz:
        assert not {"color", "depth"} & set(npz.files)
    assert (tmp_path / "c.npz").stat().st_size < 8_000
    again = load_clip(tmp_path / "c.npz")
    frames = fixture_frames(N, W, H)[1:6]
    assert np.array_equal(again.color, np.stack([f.color for f in frames]))
    assert np.array_equal(again.depth, np.stack([f.depth for f in frames]))
    assert again.intrinsics == clip.intrinsics == fixture_intrinsics(W, H)
    assert (again.onset, again.apex, again.offset) == (0, 2, 4)
    assert again.frame_numbers.tolist() == [f.frame_number for f in frames]
    index = read_clip_index(tmp_path / "c.npz")
    assert np.array_equal(index.timestamps_ms, clip.timestamps_ms)
    assert index.sample == sample and index.source == str(rows[sample]["source"])


@pytest.mark.parametrize("sample", ["s_folder", "s_db3b", "s_bag"])
def test_a_clip_read_without_depth_has_the_same_color_and_no_depth(dataset, tmp_path, sample):
    """face2d reads color only: the fixture's color frames 1..5, an empty (T, 0, 0) depth, and
    the same index (`has_depth` still says the source has depth)."""
    rows, _ = rows_by_sample(dataset)
    save_clip(tmp_path / "c.npz", extract_clip(rows[sample], dataset, CONFIG))
    color_only = load_clip(tmp_path / "c.npz", depth=False)
    frames = fixture_frames(N, W, H)[1:6]
    assert np.array_equal(color_only.color, np.stack([f.color for f in frames]))
    assert color_only.depth.shape == (5, 0, 0) and color_only.depth.dtype == np.uint16
    assert color_only.has_depth
    assert color_only.frame_numbers.tolist() == [f.frame_number for f in frames]


@pytest.mark.parametrize("sample", ["s_folder", "s_db3b", "s_bag"])
def test_chosen_frames_of_a_clip_are_read_alone(dataset, tmp_path, sample):
    """Depth flow reads the onset and apex only: the fixture's frames at those clip indices,
    in the order asked (repeats allowed); indices outside the clip are refused."""
    rows, _ = rows_by_sample(dataset)
    save_clip(tmp_path / "c.npz", extract_clip(rows[sample], dataset, CONFIG))
    index = read_clip_index(tmp_path / "c.npz")
    frames = fixture_frames(N, W, H)[1:6]
    color, depth = read_clip_frames_at(index, (4, 0, 4))
    assert np.array_equal(color, np.stack([frames[t].color for t in (4, 0, 4)]))
    assert np.array_equal(depth, np.stack([frames[t].depth for t in (4, 0, 4)]))
    with pytest.raises(ValueError, match="outside"):
        read_clip_frames_at(index, (0, 5))


def test_a_relative_source_is_read_from_the_given_root(dataset, tmp_path):
    rows, _ = rows_by_sample(dataset)
    clip = extract_clip(rows["s_folder"], dataset, CONFIG)
    source = Path(clip.source)
    relative = replace(clip, source=str(source.relative_to(source.parents[2])))
    save_clip(tmp_path / "c.npz", relative)
    again = load_clip(tmp_path / "c.npz", root=source.parents[2])
    assert np.array_equal(again.depth, clip.depth)


def test_a_source_changed_after_ingestion_fails_the_sample_by_name(dataset, tmp_path):
    rows, _ = rows_by_sample(dataset)
    clip = extract_clip(rows["s_folder"], dataset, CONFIG)
    save_clip(tmp_path / "c.npz", clip)
    apex = clip.frame_numbers[clip.apex]
    (Path(clip.source) / "depth" / f"{apex:06d}.png").unlink()
    with pytest.raises(SampleFailure) as caught:
        load_clip(tmp_path / "c.npz")
    assert str(apex) in str(caught.value) and "changed after ingestion" in str(caught.value)
    assert caught.value.file == clip.source


def test_gaps_in_a_frame_folder_are_counted_not_hidden(dataset):
    rows, _ = rows_by_sample(dataset)
    clip = extract_clip(rows["s_gappy"], dataset, CONFIG)
    first = fixture_frames(1, W, H)[0].frame_number
    assert clip.dropped_frames.tolist() == [first + 3]
    assert len(clip.frame_numbers) == 4
    assert clip.frame_numbers[clip.offset] == first + 5


@pytest.mark.parametrize(
    ("sample", "words"),
    [
        ("s_onset_gone", ["onset frame", "not in the source", "onset_gone"]),
        ("s_truncated", ["truncated.db3"]),
        ("s_garbage", ["garbage.db3"]),
        ("s_no_depth", ["no_depth.db3", "depth"]),
        ("s_unknown_folder", ["no frame folder", "nobody"]),
        ("s_outside", ["not in the source", "folder holds frames"]),
    ],
)
def test_bad_sources_fail_with_a_message_naming_file_and_problem(dataset, sample, words):
    rows, _ = rows_by_sample(dataset)
    with pytest.raises(SampleFailure) as caught:
        extract_clip(rows[sample], dataset, CONFIG)
    message = str(caught.value) + " " + str(caught.value.file)
    for word in words:
        assert word.lower() in message.lower(), f"{sample}: {word!r} not in {message!r}"


def test_every_row_is_kept_and_recognition_excludes_what_it_cannot_use(dataset):
    sheet = read_sample_sheet("test", dataset)
    rows = {r["sample"]: r for r in sheet.table.to_dict("records")}
    every = sheet.annotations.set_index("sample")
    assert len(every) == 12  # nothing set aside: every sheet row is in the annotation table
    # the id used twice: both rows kept, told apart by content (offset 3 < offset 6)
    assert every.loc["s_db3a", "offset"] == 3 and every.loc["s_db3b", "offset"] == 6
    assert "duplicate sample id" in every.loc["s_db3b", "problems"]
    assert {"s_db3a", "s_db3b", "s_bag", "s_folder", "s_gappy"} <= set(rows)
    assert rows["s_db3b"]["source"].endswith("rec/same.db3")
    # onset after offset: in the annotation table, flagged; recognition cannot cut a clip
    assert every.loc["s_reversed", "problems"].startswith("onset after offset: onset 6, offset 2")
    assert every.loc["s_reversed", "recognition"].startswith("excluded: onset after offset")
    assert "s_reversed" not in rows
    assert set(every.index[every["recognition"] != "used"]) == {"s_reversed"}
    assert [p.kind for p in sheet.problems].count("onset after offset") == 1


def test_sample_sheet_files_and_failure_records(dataset, tmp_path):
    out = tmp_path / "results"
    sheet = write_sample_sheet(
        "test", dataset, out / "samples.tsv", out / "summary.json", out / "failures" / "ingest",
        out / "ingest" / "annotations.tsv",
    )  # fmt: skip
    table = pd.read_csv(out / "samples.tsv", sep="\t")
    assert len(table) == len(sheet.table) and table["sample"].is_unique
    assert "problems" in table.columns
    every = pd.read_csv(out / "ingest" / "annotations.tsv", sep="\t")
    assert len(every) == 12 and every["sample"].is_unique
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == len(table) == 11
    assert summary["annotated_rows"] == 12 and summary["flagged_rows"] == 3
    assert list(summary["excluded_from_recognition"]) == ["s_reversed"]
    failures = read_failures(out / "failures")
    assert failures["sample"].tolist() == ["s_reversed"] and set(failures["stage"]) == {"ingest"}
    assert failures["reason"][0].startswith("not usable for recognition: onset after offset")
    assert all("annotations.tsv" in f for f in failures["file"])


def test_an_empty_sheet_stops_the_data_set_with_its_name(dataset):
    (Path(dataset["root"]) / "annotations.tsv").write_text("")
    with pytest.raises(AnnotationError, match=r"annotations\.tsv"):
        read_sample_sheet("test", dataset)


def test_source_pattern_matches_a_folder_by_prefix(tmp_path):
    """CAS(ME)^2 sheets name the video folder by its prefix only."""
    from microexp.io.samples import _by_prefix

    (tmp_path / "s15" / "15_0101disgustingteeth").mkdir(parents=True)
    (tmp_path / "s15" / "15_0102eatingworms").mkdir()
    found = _by_prefix(tmp_path / "s15" / "15_0101")
    assert found.name == "15_0101disgustingteeth"
    assert _by_prefix(tmp_path / "s15" / "15_01").name == "15_01", "ambiguous: left as is"
