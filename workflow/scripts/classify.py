"""Rule classify_<entry>: an entry's experiments -> predictions, scores, excluded samples."""

from microexp.learn.entries import classify_entries, run_classify_entry
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
entry = snakemake.params.entry
experiments = classify_entries(snakemake.config)[entry]
log.info("entry %s: %d experiment(s)", entry, len(experiments))
scores = run_classify_entry(
    snakemake.params.results,  # the results/ root: learn reads the features below it
    entry,
    experiments,
    scores_path=snakemake.output.scores,
    excluded_path=snakemake.output.excluded,
    summary_path=snakemake.output.summary,
)
log.info("wrote %d scores rows", len(scores))
