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
)
log.info("%d samples, %d rows rejected", len(sheet.table), len(sheet.problems))
