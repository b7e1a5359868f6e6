"""Rule ingest_clip_<dataset>_<k>: each sample of a chunk -> its clip file (the index of its
source frames), or a failure marker and record."""

from microexp.failures import run_chunk
from microexp.io.clips import extract_clip, save_clip
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
outputs = list(snakemake.output.clips)


def work(i: int) -> None:
    save_clip(outputs[i], extract_clip(params.rows[i], params.dataset, snakemake.config))


run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage="ingest",
    outputs=outputs,
    failure_files=params.failures,
    log=log,
)
