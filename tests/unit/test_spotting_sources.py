"""`microexp.io.datasets.spotting_video_sources`: a spotting data set's videos keyed as its truth
sheet names them, checked on folder trees laid out as the databases ship them."""

from __future__ import annotations

import pytest

from microexp.io.datasets import spotting_video_sources


def _folders(root, *paths):
    for path in paths:
        (root / path).mkdir(parents=True)
        (root / path / "img1.jpg").write_bytes(b"")


def test_casme_sq_keys_are_the_folders_leading_subject_and_video_number(tmp_path):
    _folders(tmp_path, "rawvideo/s15/15_0101disgustingteeth", "rawvideo/s16/16_0502funnyerrors")
    sources = spotting_video_sources(tmp_path, "rawvideo/s{subject}/{video}*", "casme_sq")
    assert sources == {
        "15_0101": str(tmp_path / "rawvideo/s15/15_0101disgustingteeth"),
        "16_0502": str(tmp_path / "rawvideo/s16/16_0502funnyerrors"),
    }


def test_casme3_part_a_keys_are_subject_and_video_since_video_names_repeat(tmp_path):
    _folders(tmp_path, "part_A/spNO.1/a", "part_A/spNO.1/b", "part_A/spNO.2/a")
    sources = spotting_video_sources(tmp_path, "part_A/{subject}/{video}", "casme3_a")
    assert list(sources) == ["spNO.1_a", "spNO.1_b", "spNO.2_a"]
    assert sources["spNO.2_a"] == str(tmp_path / "part_A/spNO.2/a")


def test_other_layouts_key_by_stem_and_a_key_given_twice_names_both_paths(tmp_path):
    for name in ("006_1.mp4", "007_2.mp4"):
        (tmp_path / "videos").mkdir(exist_ok=True)
        (tmp_path / "videos" / name).write_bytes(b"")
    assert list(spotting_video_sources(tmp_path, "videos/{video}", "samm")) == ["006_1", "007_2"]
    # the same stem in two folders: one video would silently replace the other
    _folders(tmp_path, "a/clip", "b/clip")
    with pytest.raises(ValueError, match=r"a/clip and .*b/clip both give video clip"):
        spotting_video_sources(tmp_path, "{subject}/{video}", "samm")
