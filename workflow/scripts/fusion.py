"""Rule fusion_<entry>_<part>: (scheme, protocol) pairs of a fusion entry -- LBP-TOP + each
curvature descriptor, oracle and nested a -- their scores rows and, per pair, its figures (in
the pair's runs folder, `figures/`; rule fusion_<entry> gathers them)."""

from pathlib import Path

from microexp.evaluate.plan import write_fusion_figures
from microexp.learn.entries import fusion_entries, run_fusion_entry
from microexp.report.captions import write_captions
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
entry = fusion_entries(snakemake.config)[snakemake.params.entry]
parts = [tuple(part) for part in snakemake.params.parts]
folders = [Path(runs) for runs in snakemake.output.runs]
scores, runs = run_fusion_entry(
    entry,
    samples_tsv=snakemake.input.samples,
    feature_files=snakemake.params.feature_files,
    out_dir=snakemake.params.out_dir,
    scores_path=snakemake.output.scores,
    excluded_path=snakemake.output.excluded,
    summary_path=snakemake.output.summary,
    parts=parts,
)
for part, folder in zip(parts, folders, strict=True):
    captions = write_fusion_figures(entry, {part: runs[part]}, folder / "figures")
    write_captions(folder / "figures" / "captions.json", captions)
log.info("%s: wrote %d scores rows", ", ".join("/".join(p) for p in parts), len(scores))
