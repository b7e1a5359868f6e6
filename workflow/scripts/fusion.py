"""Rule fusion_<entry>: LBP-TOP + curvature descriptors, oracle and nested a, figures."""

from pathlib import Path

from microexp.evaluate.plan import write_fusion_figures
from microexp.learn.entries import fusion_entries, run_fusion_entry
from microexp.report.captions import write_captions
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
entry = fusion_entries(snakemake.config)[snakemake.params.entry]
scores, runs = run_fusion_entry(
    entry,
    samples_tsv=snakemake.input.samples,
    feature_files=snakemake.params.feature_files,
    out_dir=snakemake.output.runs,
    scores_path=snakemake.output.scores,
    excluded_path=snakemake.output.excluded,
    summary_path=snakemake.output.summary,
)
captions = write_fusion_figures(entry, runs, snakemake.output.figures)
write_captions(Path(snakemake.output.figures) / "captions.json", captions)
log.info("wrote %d scores rows and %d figures", len(scores), len(captions))
