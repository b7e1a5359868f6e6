"""Rule classify_<entry> (or classify_<entry>_chunk<k>): an entry's experiments, or one chunk of
them -> predictions, scores, excluded samples. Every path comes from the rule."""

from microexp.learn.entries import classify_chunks, run_classify_entry
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
entry = snakemake.params.entry
experiments = classify_chunks(snakemake.config)[entry][snakemake.params.chunk]
log.info("entry %s, chunk %d: %d experiment(s)", entry, snakemake.params.chunk, len(experiments))
scores = run_classify_entry(
    entry,
    experiments,
    samples_tsv=snakemake.input.samples,
    feature_files=snakemake.params.feature_files,
    prediction_files=snakemake.params.prediction_files,
    scores_path=snakemake.output.scores,
    excluded_path=snakemake.output.excluded,
    summary_path=snakemake.output.summary,
)
log.info("wrote %d scores rows", len(scores))
