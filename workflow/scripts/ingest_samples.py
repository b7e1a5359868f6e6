"""Rule ingest_samples: the data set's annotation sheets -> samples.tsv (+ row failures)."""

from pathlib import Path

from microexp.io.samples import write_sample_sheet
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
sheet = write_sample_sheet(
    snakemake.wildcards.dataset,
    snakemake.params.dataset,
    Path(snakemake.output.samples),
    Path(snakemake.output.summary),
    Path(snakemake.params.failures),
    Path(snakemake.output.annotations),
)
log.info(
    "%d annotated rows, %d flagged, %d used for recognition, %d excluded (failures/ingest)",
    len(sheet.annotations),
    int((sheet.annotations["problems"].fillna("") != "").sum()),
    len(sheet.table),
    len(sheet.excluded),
)
