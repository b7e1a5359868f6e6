"""Rule ingest_clip: one sample's frames -> results/{dataset}/clips/{sample}.npz."""

from microexp.failures import run_sample_stage
from microexp.io.clips import extract_clip, save_clip
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
row = snakemake.params.row
run_sample_stage(
    lambda: save_clip(
        snakemake.output[0], extract_clip(row, snakemake.params.dataset, snakemake.config)
    ),
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="ingest",
    output=snakemake.output[0],
    failure_file=snakemake.params.failure,
    log=log,
)
