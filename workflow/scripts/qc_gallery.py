"""Rule qc_gallery: the report's QC thumbnails (every failure, a sample of the rest) and the
listing of every full-size QC picture."""

from pathlib import Path

from microexp.report.gallery import qc_pictures, write_gallery
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
samples = snakemake.params.samples
pictures = []
for stage in snakemake.params.stages:
    pictures += qc_pictures(
        stage,
        dict(zip(samples, snakemake.params.files[f"{stage}_pictures"], strict=True)),
        dict(zip(samples, snakemake.params.files[stage], strict=True)),
    )
listing = write_gallery(
    pictures,
    {stage: getattr(snakemake.output, stage) for stage in snakemake.params.stages},
    snakemake.output.listing,
    snakemake.output.tsv,
    dataset=snakemake.wildcards.dataset,
    n_shown=snakemake.params.n_shown,
    width=snakemake.params.width,
)
# A data set without depth (or depth flow) has no such stage: its folder stays empty (the rule
# declares it).
for stage in ("face2d", "cloud3d", "depth_flow"):
    Path(getattr(snakemake.output, stage)).mkdir(parents=True, exist_ok=True)
log.info(
    "%s: %d pictures, %d shown (%d of failed samples)",
    snakemake.wildcards.dataset,
    len(listing),
    int(listing["shown"].sum()),
    int((listing["status"] != "passed").sum()),
)
