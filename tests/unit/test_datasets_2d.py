"""2D databases (CASME II, SAMM) as released: their sheets, flat frame folders, no depth."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from microexp.io.annotations import AnnotationWarning
from microexp.io.clips import extract_clip, load_clip, save_clip
from microexp.io.datasets import frame_layout, has_depth
from microexp.io.frames import FrameFolderError, index_frame_folder
from microexp.io.samples import read_sample_sheet
from microexp.learn.entries import classify_entries, entries_needing_depth, fusion_entries

try:  # tests/unit as a package or as a plain folder on sys.path (pytest's default)
    from .sheets import write_xlsx
except ImportError:
    from sheets import write_xlsx

CONFIG = {"synthetic": {}}
ROOT = Path(__file__).resolve().parents[2]


def write_frames(folder: Path, names: list[str], seed: int = 0) -> list[np.ndarray]:
    """Color frames as the 2D databases store them: JPEG... here PNG (lossless, so the
    frames read back exactly), directly in the video folder."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for name in names:
        frame = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / name), frame[..., ::-1])
        frames.append(frame)
    return frames


def read_quietly(name: str, dataset: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return read_sample_sheet(name, dataset)


def test_casme_ii_flat_frame_folders_give_2d_clips(tmp_path: Path) -> None:
    root = tmp_path / "CASME2"
    header = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
              "Action Units", "Estimated Emotion"]  # fmt: skip
    rows = [header, [1, "EP02_01f", None, 46, 48, 50, None, "12", "happiness"]]
    root.mkdir()
    write_xlsx(root / "CASME2-coding-20140508.xlsx", {"Sheet1": rows})
    frames = write_frames(
        root / "CASME2_RAW_selected" / "sub01" / "EP02_01f",
        [f"img{n}.png" for n in range(44, 53)],
    )
    dataset = {"layout": "casme_ii", "root": str(root),
               "annotations": "CASME2-coding-20140508.xlsx"}  # fmt: skip
    assert not has_depth(dataset) and frame_layout(dataset) == (".", None)
    sheet = read_quietly("casme_ii", dataset)
    row = sheet.table.to_dict("records")[0]
    assert row["sample"] == "sub01_EP02_01f" and row["fps"] == 200.0
    assert row["source"].endswith("CASME2_RAW_selected/sub01/EP02_01f")
    clip = extract_clip(row, dataset, CONFIG)
    assert not clip.has_depth and clip.depth.shape == (5, 0, 0)
    assert clip.frame_numbers.tolist() == [46, 47, 48, 49, 50]
    assert (clip.onset, clip.apex, clip.offset) == (0, 2, 4)
    assert np.array_equal(clip.color, np.stack(frames[2:7]))
    # a nominal camera of the frame size: no 2D stage reads it, a 3D stage never runs
    assert (clip.intrinsics.width, clip.intrinsics.height) == (64, 48)
    save_clip(tmp_path / "c.npz", clip)
    again = load_clip(tmp_path / "c.npz")
    assert not again.has_depth and np.array_equal(again.color, clip.color)


def test_samm_frame_names_carry_the_subject(tmp_path: Path) -> None:
    root = tmp_path / "SAMM_root"
    rows = [
        ["SAMM micro-expressions"],
        [],
        ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
         "Action Units", "Estimated Emotion", "Objective Classes"],
        [6, "006_1_2", 1, 5562, 5563, 5565, "4+7", "Anger", 3],
    ]  # fmt: skip
    root.mkdir()
    write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", {"Sheet1": rows})
    write_frames(root / "SAMM" / "006" / "006_1_2",
                 [f"006_{n:05d}.png" for n in range(5560, 5568)])  # fmt: skip
    dataset = {"layout": "samm", "root": str(root),
               "annotations": "SAMM_Micro_FACS_Codes_v2.xlsx"}  # fmt: skip
    row = read_quietly("samm", dataset).table.to_dict("records")[0]
    assert row["sample"] == "006_1_2" and row["subject"] == "006"
    clip = extract_clip(row, dataset, CONFIG)
    assert clip.frame_numbers.tolist() == [5562, 5563, 5564, 5565]
    assert not clip.has_depth


def test_a_frame_folder_with_depth_still_needs_its_depth(tmp_path: Path) -> None:
    write_frames(tmp_path / "v" / "color", ["1.png", "2.png"])
    with pytest.raises(FrameFolderError, match="no depth frames"):
        index_frame_folder(tmp_path / "v")
    index = index_frame_folder(tmp_path / "v", depth_dir=None)
    assert index.frame_numbers.tolist() == [1, 2] and not index.has_depth


def test_depth_entries_are_named_for_a_dataset_without_depth() -> None:
    # the shipped config's entries, pointed at a CASME II data set: the curvature fusion
    # (table11) needs depth, the LBP-TOP experiments do not
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["datasets"] = {"casme_ii": {"layout": "casme_ii", "root": "/data/CASME2"}}
    for entry in (*config["experiments"].values(), *config["fusion"].values()):
        entry["dataset"] = "casme_ii"
    config["experiments"]["curv"] = {
        **config["experiments"]["radius"],
        "kind": None,
        "feature": {"curvature": {"setting": "rc6_rs15_eh0.01_ek0.0001_d5_m20",
                                  "descriptor": "si"}},
        "sweep": None,
    }  # fmt: skip
    config["experiments"]["curv"] = {k: v for k, v in config["experiments"]["curv"].items() if v}
    classify, fusion = classify_entries(config), fusion_entries(config)
    assert entries_needing_depth(classify, fusion, {"casme_ii"}) == {
        "casme_ii": ["curv", "table11"]
    }
    assert entries_needing_depth(classify, fusion, set()) == {}
    assert has_depth({"layout": "casme3_a"}) and not has_depth({"layout": "samm"})
    assert has_depth({"layout": "samm", "depth": True})
