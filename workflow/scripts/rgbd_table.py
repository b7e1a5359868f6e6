"""Rule rgbd_table: every sample's depth_flow file -> the RGB vs RGB-D table of a data set
(results/tables/{dataset}/rgbd_vs_rgb.{tsv,md,json}). microexp.evaluate.rgbd_study."""

import json
from pathlib import Path

from microexp.evaluate.rgbd_study import load_study_features, rgbd_table, table_markdown
from microexp.io.samples import read_samples_tsv
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
sheet = read_samples_tsv(snakemake.input.samples)
paths = {Path(p).stem: p for p in snakemake.input.flows}
features = load_study_features(paths)
table, report = rgbd_table(
    sheet,
    features,
    seed=int(snakemake.params.seed),
    schemes=snakemake.params.class_schemes,
)
table.to_csv(snakemake.output.tsv, sep="\t", index=False, float_format="%.6f")
Path(snakemake.output.md).write_text(table_markdown(table, report, snakemake.wildcards.dataset))
Path(snakemake.output.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
log.info("RGB vs RGB-D: %d rows, %d samples without features", len(table), len(features.excluded))
