"""Rule fusion_<entry>_<scheme>_<protocol>: one (scheme, protocol) of a fusion entry -- LBP-TOP +
each curvature descriptor, oracle and nested a -- its scores rows and its figures (in the
part's runs folder, `figures/`; rule fusion_<entry> gathers them)."""

from pathlib import Path

from microexp.evaluate.plan import write_fusion_figures
from microexp.learn.entries import fusion_entries, run_fusion_entry
from microexp.report.captions import write_captions
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
entry = fusion_entries(snakemake.config)[snakemake.params.entry]
part = tuple(snakemake.params.part)
runs_dir = Path(snakemake.output.runs)
scores, runs = run_fusion_entry(
    entry,
    samples_tsv=snakemake.input.samples,
    feature_files=snakemake.params.feature_files,
    out_dir=runs_dir.parent.parent,
    scores_path=snakemake.output.scores,
    excluded_path=snakemake.output.excluded,
    summary_path=snakemake.output.summary,
    parts=[part],
)
captions = write_fusion_figures(entry, runs, runs_dir / "figures")
write_captions(runs_dir / "figures" / "captions.json", captions)
log.info("%s, %s: wrote %d scores rows and %d figures", *part, len(scores), len(captions))
