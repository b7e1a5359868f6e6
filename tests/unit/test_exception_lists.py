"""CAS(ME)^3 as distributed: its official exception lists and the Part A folder layout.

The lists and the folder tree are written here in the shapes the database ships them (never
copies): "spNO.3 J 498.jpg  the image cannot open" lines, and absolute paths such as
"/.../RGB/spNO.138/a/color/1294.jpg"; frames in `<root>/.../spNO.<n>/<video>/color/<n>.jpg`
with 16-bit depth in `.../depth/<n>.png`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from microexp.camera import Intrinsics
from microexp.failures import SampleFailure
from microexp.io.annotations import AnnotationWarning
from microexp.io.clips import (
    extract_clip,
    load_clip,
    read_clip_frames_at,
    read_clip_index,
    save_clip,
)
from microexp.io.exceptions import (
    ExceptionListError,
    interpolate_frames,
    read_exception_lists,
)
from microexp.io.samples import read_sample_sheet

try:  # tests/unit as a package or as a plain folder on sys.path (pytest's default)
    from .sheets import write_xlsx
except ImportError:
    from sheets import write_xlsx

W, H = 32, 24
CAMERA = Intrinsics(W, H, 30.0, 30.0, W / 2, H / 2)


def test_both_spellings_of_the_lists(tmp_path: Path) -> None:
    cannot_open = tmp_path / "the image cannot open.txt"
    cannot_open.write_text(
        "Images that cannot be opened\n"
        "spNO.3 J 498.jpg  the image cannot open\n"
        "\n"
        "spNO.12 a 1001.jpg the image cannot open\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad quality.txt"
    bad.write_text(
        "/home/casme3/part_A/RGB/spNO.138/a/color/1294.jpg\r\n"
        "D:\\CASME3\\part_A\\spNO.138\\b\\depth\\77.png\r\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="lines without a subject skipped"):
        listed = read_exception_lists([cannot_open, bad])
    assert listed[["subject", "video", "frame", "stream"]].values.tolist() == [
        ["spNO.3", "j", 498, ""],
        ["spNO.12", "a", 1001, ""],
        ["spNO.138", "a", 1294, "color"],
        ["spNO.138", "b", 77, "depth"],
    ]
    assert listed["reason"].tolist()[:2] == ["the image cannot open"] * 2
    assert listed["reason"].tolist()[2] == "listed in bad quality.txt"
    assert listed["line"].tolist() == [2, 4, 1, 2]
    broken = tmp_path / "broken.txt"
    broken.write_text("spNO.3 J\n")
    with pytest.raises(ExceptionListError, match=r"broken\.txt, line 1"):
        read_exception_lists([broken])
    with pytest.raises(FileNotFoundError):
        read_exception_lists([tmp_path / "absent.txt"])


def test_interpolation_is_linear_in_time() -> None:
    frames = np.array([[[0]], [[40]], [[100]]], dtype=np.uint8)  # frames 10, 12, 15
    out, numbers = interpolate_frames(frames, np.array([10, 12, 15]), [11, 13, 16])
    assert numbers.tolist() == [10, 11, 12, 13, 15, 16]
    assert out[:, 0, 0].tolist() == [0, 20, 40, 60, 100, 100]  # the end repeats


def part_a(tmp_path: Path, mode: str) -> dict:
    """A Part A data set as released: frames under `data/part_A/spNO.<n>/<video>/`, one list."""
    root = tmp_path / "CASME3"
    for subject, video in (("spNO.3", "j"), ("spNO.4", "a")):
        folder = root / "data" / "part_A" / subject / video
        (folder / "color").mkdir(parents=True)
        (folder / "depth").mkdir()
        for n in range(490, 506):
            color = np.full((H, W, 3), n - 490, np.uint8) * 10
            cv2.imwrite(str(folder / "color" / f"{n}.jpg"), color, [cv2.IMWRITE_JPEG_QUALITY, 100])
            cv2.imwrite(str(folder / "depth" / f"{n}.png"), np.full((H, W), 500 + n, np.uint16))
    (root / "annotation").mkdir()
    rows = [
        ["Subject", "Filename", "Onset", "Apex", "Offset", "Objective class", "emotion", "AU"],
        ["spNO.3", "j", 495, 500, 503, "1", "happy", "12"],  # 498 listed inside the clip
        ["spNO.4", "a", 492, 494, 500, "2", "others", "4"],  # onset 492 listed
    ]
    write_xlsx(root / "annotation" / "label.xlsx", {"label": rows})
    (root / "annotation" / "exceptions.txt").write_text(
        "spNO.3 J 498.jpg  the image cannot open\nspNO.4 a 492.jpg  the image cannot open\n"
    )
    return {
        "layout": "casme3_a", "root": str(root), "annotations": "annotation/label.xlsx",
        "source": "**/{subject}/{video}", "fps": 30, "depth_scale": 0.001,
        "intrinsics": CAMERA.as_dict(), "exceptions": "annotation/exceptions.txt",
        "exception_frames": mode,
    }  # fmt: skip


def sheet_of(dataset: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return read_sample_sheet("casme3_a", dataset)


def test_part_a_release_layout_and_listed_frames_excluded(tmp_path: Path) -> None:
    dataset = part_a(tmp_path, "exclude")
    sheet = sheet_of(dataset)
    every = sheet.annotations.set_index("sample")
    # "**/{subject}/{video}" found the folders under data/part_A/ without renaming anything
    assert every.loc["spNO.3_j_495", "source"].endswith("data/part_A/spNO.3/j")
    assert every.loc["spNO.3_j_495", "listed_frames"] == "498"
    # a listed onset is never used without a record: here the row is excluded, with why
    assert every.loc["spNO.4_a_492", "problems"] == (
        "exception-listed frame: onset 492 (the image cannot open)"
    )
    assert every.loc["spNO.4_a_492", "recognition"].startswith(
        "excluded: exception-listed frame: onset 492"
    )
    assert sheet.table["sample"].tolist() == ["spNO.3_j_495"]
    clip = extract_clip(sheet.table.to_dict("records")[0], dataset, {})
    assert clip.frame_numbers.tolist() == [495, 496, 497, 499, 500, 501, 502, 503]
    assert clip.dropped_frames.tolist() == [498]  # treated like a dropped frame
    assert clip.depth.shape == (8, H, W) and clip.has_depth
    assert (clip.onset, clip.apex, clip.offset) == (0, 4, 7)


def test_listed_frames_interpolated_when_the_entry_says_so(tmp_path: Path) -> None:
    dataset = part_a(tmp_path, "interpolate")
    sheet = sheet_of(dataset)
    rows = {r["sample"]: r for r in sheet.table.to_dict("records")}
    assert set(rows) == {"spNO.3_j_495", "spNO.4_a_492"}  # kept, with the flag
    assert "exception-listed frame: onset 492" in rows["spNO.4_a_492"]["problems"]
    clip = extract_clip(rows["spNO.3_j_495"], dataset, {})
    assert clip.frame_numbers.tolist() == list(range(495, 504))
    assert clip.interpolated_frames.tolist() == [498] and clip.dropped_frames.size == 0
    # the mean of frames 497 and 499 (color 70 and 90; depth 997 and 999)
    assert abs(int(clip.color[3].mean()) - 80) <= 1
    assert int(clip.depth[3, 0, 0]) == 998
    listed_onset = extract_clip(rows["spNO.4_a_492"], dataset, {})
    assert listed_onset.frame_numbers[listed_onset.onset] == 492
    assert listed_onset.interpolated_frames.tolist() == [492]
    # the clip file is an index: loading it reads the source again and interpolates again
    for name, expected in (("j", clip), ("a", listed_onset)):
        save_clip(tmp_path / f"{name}.npz", expected)
        again = load_clip(tmp_path / f"{name}.npz")
        assert np.array_equal(again.color, expected.color), name
        assert np.array_equal(again.depth, expected.depth), name
        assert again.interpolated_frames.tolist() == expected.interpolated_frames.tolist()
    # reading chosen frames alone interpolates an exception-listed one the same way
    color, depth = read_clip_frames_at(read_clip_index(tmp_path / "j.npz"), (3, 0))
    assert abs(int(color[0].mean()) - 80) <= 1 and int(depth[0, 0, 0]) == 998
    assert np.array_equal(color, clip.color[[3, 0]]) and np.array_equal(depth, clip.depth[[3, 0]])


def test_a_listed_onset_without_interpolation_fails_the_clip_with_its_reason(tmp_path) -> None:
    dataset = part_a(tmp_path, "exclude")
    row = sheet_of(dataset).annotations.set_index("sample").loc["spNO.4_a_492"].to_dict()
    with pytest.raises(SampleFailure, match="onset frame 492 not in the source"):
        extract_clip({**row, "sample": "spNO.4_a_492"}, dataset, {})
