"""Rule qc_gallery: the report's QC thumbnails (every failure, a sample of the rest) and the
listing of every full-size QC picture."""

from microexp.report.gallery import qc_pictures, write_gallery
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
samples = snakemake.params.samples
pictures = []
for stage in ("face2d", "cloud3d"):
    pictures += qc_pictures(
        stage,
        dict(zip(samples, snakemake.input[f"{stage}_pictures"], strict=True)),
        dict(zip(samples, snakemake.input[stage], strict=True)),
    )
listing = write_gallery(
    pictures,
    {"face2d": snakemake.output.face2d, "cloud3d": snakemake.output.cloud3d},
    snakemake.output.listing,
    snakemake.output.tsv,
    dataset=snakemake.wildcards.dataset,
    n_shown=snakemake.params.n_shown,
    width=snakemake.params.width,
)
log.info(
    "%s: %d pictures, %d shown (%d of failed samples)",
    snakemake.wildcards.dataset,
    len(listing),
    int(listing["shown"].sum()),
    int((listing["status"] != "passed").sum()),
)
