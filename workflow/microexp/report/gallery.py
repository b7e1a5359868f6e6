"""The QC pictures the HTML report shows: every failure, a sample of the rest, as thumbnails.

Snakemake's ``--report`` embeds every file it shows, so showing each sample's full-size QC
pictures makes the report grow with the data set (90 MB for the default 72 samples; CAS(ME)^3
would make it unusable). What the report shows instead, per data set and stage (2D face, 3D
face):

* the picture of every sample that failed at that stage or before it (a failure picture names
  the stage and the reason: these are what a reader must see), as a small PNG;
* a deterministic, evenly spaced sample of ``report.qc_pictures`` of the other samples (sorted
  ids), as JPEG thumbnails ``report.thumbnail_px`` wide;
* a listing of every full-size picture on disk (stage, sample, passed / failed and why,
  whether the report shows it, its path), as an HTML table and a TSV.

The full-size pictures stay where the stages write them (``results/{dataset}/face2d/qc/``,
``results/{dataset}/cloud3d/qc/``). Size: thumbnails are about 30-60 kB and failure pictures
about 10 kB each (base64 in the report adds a third), so the QC part of the report is about
2 x qc_pictures x 60 kB plus ~14 kB per failed picture, and ~0.3 kB per sample for the listing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from microexp.failures import FailureRecord, upstream_failure

__all__ = [
    "LISTING_COLUMNS",
    "QCPicture",
    "choose_shown",
    "qc_pictures",
    "thumbnail",
    "write_gallery",
]

LISTING_COLUMNS = ["stage", "sample", "status", "reason", "shown", "picture"]
STAGE_TITLES = {"face2d": "2D face", "cloud3d": "3D face", "depth_flow": "depth flow"}
JPEG_QUALITY = 85
MIN_THUMBNAIL_PX = 64


@dataclass(frozen=True)
class QCPicture:
    """One full-size QC picture of a stage and the sample's failure at or before it, if any."""

    stage: str
    sample: str
    path: Path
    failure: FailureRecord | None

    @property
    def failed(self) -> bool:
        return self.failure is not None


def qc_pictures(
    stage: str, pictures: Mapping[str, str | Path], outputs: Mapping[str, str | Path]
) -> list[QCPicture]:
    """The stage's pictures by sample; a sample failed when its stage output is a failure
    marker (the record then says which stage failed and why, ``microexp.failures``)."""
    missing = set(pictures) ^ set(outputs)
    if missing:
        raise ValueError(f"{stage}: pictures and stage outputs differ for {sorted(missing)}")
    return [
        QCPicture(stage, sample, Path(pictures[sample]), upstream_failure(outputs[sample]))
        for sample in sorted(pictures)
    ]


def choose_shown(samples: Sequence[str], n_shown: int) -> list[str]:
    """``n_shown`` of ``samples`` (all if fewer), evenly spaced over their sorted order: the
    same choice on every run, spread over subjects rather than the first few."""
    ordered = sorted(samples)
    if n_shown <= 0 or not ordered:
        return []
    if n_shown >= len(ordered):
        return ordered
    index = np.round(np.linspace(0, len(ordered) - 1, n_shown)).astype(int)
    return [ordered[i] for i in index]


def thumbnail(source: str | Path, target: str | Path, width: int) -> None:
    """A copy of a picture at most ``width`` pixels wide: JPEG for a ``.jpg`` target (photos,
    depth maps), a palette PNG otherwise (text pictures stay sharp and small)."""
    if width < MIN_THUMBNAIL_PX:
        raise ValueError(f"thumbnail width must be >= {MIN_THUMBNAIL_PX} px, got {width}")
    target = Path(target)
    with Image.open(source) as image:
        image = image.convert("RGB")
        if image.width > width:
            height = max(1, round(image.height * width / image.width))
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        if target.suffix.lower() in (".jpg", ".jpeg"):
            image.save(target, "JPEG", quality=JPEG_QUALITY, optimize=True)
        else:
            image.quantize(colors=64).save(target, "PNG", optimize=True)


def _listing_html(listing: pd.DataFrame, dataset: str, n_shown: int, width: int) -> str:
    failed = int((listing["status"] != "passed").sum())
    head = (
        f"<p>Every QC picture of data set <b>{html.escape(dataset)}</b> "
        f"({len(listing)} pictures, {failed} of samples that failed). The report shows every "
        f"failure picture and {n_shown} evenly spaced pictures per stage of the samples that "
        f"passed, {width} px wide (config <code>report: qc_pictures, thumbnail_px</code>); "
        "the full-size pictures are on disk at the paths below.</p>"
    )
    rows = []
    for row in listing.itertuples(index=False):
        cells = [
            STAGE_TITLES.get(row.stage, row.stage),
            row.sample,
            row.status,
            row.reason,
            "yes" if row.shown else "no",
            row.picture,
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{c}</th>" for c in LISTING_COLUMNS)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>QC pictures</title>"
        "<style>td,th{padding:2px 8px;text-align:left;font-size:90%}</style></head><body>"
        f"{head}<table><thead><tr>{header}</tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></body></html>\n"
    )


def write_gallery(
    pictures: Sequence[QCPicture],
    folders: Mapping[str, str | Path],
    listing_html: str | Path,
    listing_tsv: str | Path,
    *,
    dataset: str,
    n_shown: int,
    width: int,
    results_root: str | Path = ".",
) -> pd.DataFrame:
    """Write the report's thumbnails into ``folders[stage]`` and the listing of every picture.

    Every failure picture becomes ``<sample>.failed.png``; ``n_shown`` of the others per stage
    (``choose_shown``) become ``<sample>.jpg``. Paths in the listing are relative to
    ``results_root`` (the working directory of the run). Returns the listing.
    """
    rows = []
    for stage, folder in folders.items():
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        of_stage = [p for p in pictures if p.stage == stage]
        passed = [p.sample for p in of_stage if not p.failed]
        shown = set(choose_shown(passed, n_shown))
        for picture in of_stage:
            if picture.failed:
                thumbnail(picture.path, folder / f"{picture.sample}.failed.png", width)
            elif picture.sample in shown:
                thumbnail(picture.path, folder / f"{picture.sample}.jpg", width)
            failure = picture.failure
            rows.append(
                {
                    "stage": stage,
                    "sample": picture.sample,
                    "status": "passed" if failure is None else f"failed at {failure.stage}",
                    "reason": "" if failure is None else failure.reason,
                    "shown": picture.failed or picture.sample in shown,
                    "picture": _relative(picture.path, results_root),
                }
            )
    listing = pd.DataFrame(rows, columns=LISTING_COLUMNS)
    listing.to_csv(listing_tsv, sep="\t", index=False)
    Path(listing_html).write_text(_listing_html(listing, dataset, n_shown, width))
    return listing


def _relative(path: Path, root: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)
