"""Rule fusion_<entry>: the (scheme, protocol) jobs' scores, excluded samples and summaries ->
the entry's files, as one job would have written them; their figures and captions -> the
entry's figure folder (the report's)."""

import json
import shutil
from pathlib import Path

from microexp.learn.entries import merge_entry_chunks
from microexp.report.captions import write_captions
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
figures = Path(snakemake.output.figures)
figures.mkdir(parents=True, exist_ok=True)
captions: dict[str, str] = {}
for runs in snakemake.input.runs:
    source = Path(runs) / "figures"
    for png in sorted(source.glob("*.png")):
        shutil.copyfile(png, figures / png.name)
    captions.update(json.loads((source / "captions.json").read_text(encoding="utf-8")))
write_captions(figures / "captions.json", captions)
log.info(
    "entry %s: %d parts, %d scores rows, %d figures",
    snakemake.params.entry,
    len(snakemake.input.runs),
    rows,
    len(captions),
)
