"""Rule fusion_<entry>: the part jobs' scores, excluded samples and summaries -> the entry's
files, as one job would have written them; their figures and captions -> the entry's figure
folder (the report's)."""

from pathlib import Path

from microexp.learn.entries import merge_entry_chunks
from microexp.report.captions import join_captioned_figures
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
captions = join_captioned_figures(
    [Path(runs) / "figures" for runs in snakemake.input.runs], snakemake.output.figures
)
log.info("entry %s: %d scores rows, %d figures", snakemake.params.entry, rows, len(captions))
