"""Rule paper_table: a data set's scores -> one paper table (TSV/MD/TeX/HTML) and figures."""

import json
from pathlib import Path

from microexp.evaluate.captions import table_caption
from microexp.evaluate.plan import (
    build_table,
    read_scores,
    scheme_notes,
    table_context,
    write_table_figures,
    write_table_files,
)
from microexp.failures import read_failures
from microexp.report.captions import write_captions
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
plan = snakemake.params.plan
scores = read_scores(snakemake.input.scores)
summaries = {}
for path in snakemake.input.summaries:
    summaries.update(json.loads(Path(path).read_text()))
failures = read_failures(snakemake.params.failures)
context = table_context(
    plan.dataset, snakemake.params.layout, failures, scheme_notes(summaries, plan)
)
table = build_table(plan, scores, context)
write_table_files(table, Path(snakemake.output.tsv).with_suffix(""))
captions = write_table_figures(
    plan, table, scores, snakemake.params.prediction_files, snakemake.output.figures
)
captions["table"] = table_caption(table)
write_captions(Path(snakemake.output.figures) / "captions.json", captions)
log.info("%s: %s; figures %s", plan.table, table.title, sorted(captions))
