"""The report's QC pictures: every failure, a fixed-size sample of the rest, all listed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from microexp.failures import FailureRecord, save_failed_output
from microexp.report.gallery import choose_shown, qc_pictures, thumbnail, write_gallery


def _photo(path: Path, rng: np.random.Generator, size=(1170, 780)) -> None:
    # Noise compresses as badly as a photograph: the worst case for the report's size.
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def _failure_picture(path: Path) -> None:
    image = np.full((234, 720, 3), 255, np.uint8)
    image[40:60, 20:600] = (178, 34, 34)  # a line of "text"
    Image.fromarray(image).save(path)


def _fake_run(root: Path, n_samples: int, failed: dict[str, set[str]]) -> list:
    """QC pictures and stage outputs of n samples; failed[stage] failed at that stage (and
    are carried to the later stage, as the pipeline does)."""
    rng = np.random.default_rng(n_samples)
    samples = [f"{k // 9 + 1}_{k % 9 + 1}" for k in range(n_samples)]
    pictures = []
    upstream: dict[str, FailureRecord] = {}
    for stage in ("face2d", "cloud3d"):
        (root / stage / "qc").mkdir(parents=True)
        for sample in samples:
            if sample in failed.get(stage, set()):
                upstream[sample] = FailureRecord("d", sample, stage, f"no face in {sample}")
        paths, outputs = {}, {}
        for sample in samples:
            picture = root / stage / "qc" / f"{sample}.png"
            output = root / stage / f"{sample}.npz"
            if sample in upstream:
                _failure_picture(picture)
                save_failed_output(output, upstream[sample])
            else:
                _photo(picture, rng, size=(300, 200))  # small: keeps the test fast
                np.savez(output, ok=True)
            paths[sample], outputs[sample] = picture, output
        pictures += qc_pictures(stage, paths, outputs)
    return pictures


def test_choose_shown_is_evenly_spaced_and_deterministic():
    samples = [f"s{k:03d}" for k in range(100)]
    assert choose_shown(samples[::-1], 5) == ["s000", "s025", "s050", "s074", "s099"]
    assert choose_shown(samples, 0) == []
    assert choose_shown(samples[:3], 12) == samples[:3]


def test_thumbnail_is_at_most_the_width_and_keeps_the_aspect(tmp_path):
    _photo(tmp_path / "big.png", np.random.default_rng(0))
    thumbnail(tmp_path / "big.png", tmp_path / "small.jpg", 480)
    with Image.open(tmp_path / "small.jpg") as image:
        assert image.format == "JPEG" and image.size == (480, 320)
    _failure_picture(tmp_path / "fail.png")
    thumbnail(tmp_path / "fail.png", tmp_path / "fail_small.png", 1000)  # never enlarged
    with Image.open(tmp_path / "fail_small.png") as image:
        assert image.format == "PNG" and image.size == (720, 234)
    with pytest.raises(ValueError, match="width"):
        thumbnail(tmp_path / "big.png", tmp_path / "x.jpg", 10)


@pytest.mark.parametrize("n_samples", [30, 120])
def test_every_failure_shown_a_fixed_sample_of_the_rest_and_all_listed(tmp_path, n_samples):
    failed = {"face2d": {"1_2", "3_4"}, "cloud3d": {"2_5"}}
    pictures = _fake_run(tmp_path / "run", n_samples, failed)
    folders = {stage: tmp_path / "report" / stage for stage in ("face2d", "cloud3d")}
    listing = write_gallery(
        pictures, folders, tmp_path / "qc.html", tmp_path / "qc.tsv",
        dataset="d", n_shown=5, width=200, results_root=tmp_path / "run",
    )  # fmt: skip
    # Every failure picture: face2d's own, and at cloud3d the carried ones plus its own.
    expected_failed = {"face2d": {"1_2", "3_4"}, "cloud3d": {"1_2", "3_4", "2_5"}}
    for stage, folder in folders.items():
        shown_failed = {p.name.removesuffix(".failed.png") for p in folder.glob("*.failed.png")}
        assert shown_failed == expected_failed[stage]
        assert len(list(folder.glob("*.jpg"))) == 5  # whatever the data set's size
    # Every picture is listed with its status and path; the TSV says the same.
    assert len(listing) == 2 * n_samples
    assert set(listing["picture"]) == {f"{s}/qc/{p.sample}.png" for s in folders for p in
                                       pictures if p.stage == s}  # fmt: skip
    row = listing[(listing["stage"] == "cloud3d") & (listing["sample"] == "1_2")].iloc[0]
    assert row["status"] == "failed at face2d" and row["reason"] == "no face in 1_2"
    assert bool(row["shown"])
    assert int(listing["shown"].sum()) == 5 + 5 + 2 + 3
    assert len(pd.read_csv(tmp_path / "qc.tsv", sep="\t")) == 2 * n_samples
    page = (tmp_path / "qc.html").read_text()
    assert page.count("<tr><td>") == 2 * n_samples and "no face in 2_5" in page
    # What the report embeds does not grow with the data set: 10 thumbnails + 5 failures.
    embedded = sum(p.stat().st_size for f in folders.values() for p in f.iterdir())
    assert embedded < 10 * 40_000 + 5 * 15_000


def test_pictures_and_outputs_must_cover_the_same_samples(tmp_path):
    with pytest.raises(ValueError, match="differ"):
        qc_pictures("face2d", {"a": tmp_path / "a.png"}, {"b": tmp_path / "b.npz"})
