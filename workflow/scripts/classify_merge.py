"""Rule classify_<entry> of a chunked entry: the chunks' scores, excluded samples and summaries
-> the entry's files, as one job would have written them."""

from microexp.learn.entries import merge_entry_chunks
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
rows = merge_entry_chunks(
    snakemake.input.scores,
    snakemake.input.excluded,
    snakemake.input.summary,
    scores_path=snakemake.output.scores,
    excluded_path=snakemake.output.excluded,
    summary_path=snakemake.output.summary,
)
log.info(
    "entry %s: %d chunks, %d scores rows", snakemake.params.entry, len(snakemake.input.scores), rows
)
