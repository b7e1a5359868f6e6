"""Rule rgbd_table: every sample's depth_flow file -> the RGB vs RGB-D table of a data set
(results/tables/{dataset}/rgbd_vs_rgb.{tsv,md,tex,html}) and what each class scheme kept
(.json). microexp.evaluate.rgbd_study; docs/depth_flow.md."""

import json
from pathlib import Path

from microexp.evaluate.formatting import TableContext
from microexp.evaluate.plan import write_table_files
from microexp.evaluate.rgbd_study import load_study_features, rgbd_paper_table, rgbd_table
from microexp.io.samples import read_samples_tsv
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
dataset = snakemake.wildcards.dataset
sheet = read_samples_tsv(snakemake.input.samples)
paths = {Path(p).stem: p for p in params.flows}
features = load_study_features(paths)
table, report = rgbd_table(
    sheet,
    features,
    seed=int(params.seed),
    schemes=params.class_schemes,
    expression_types=params.expression_types,
)
context = TableContext(
    dataset=dataset,
    layout=params.layout,
    n_excluded=len(features.excluded),
    exclusion_list=f"results/tables/{dataset}/rgbd_vs_rgb.json, with the reasons",
)
stem = Path(snakemake.output.tsv).with_suffix("")
write_table_files(rgbd_paper_table(table, report, context), stem)
Path(snakemake.output.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
log.info("RGB vs RGB-D:\n%s", table.to_string())
log.info("%d samples without depth flow", len(features.excluded))
