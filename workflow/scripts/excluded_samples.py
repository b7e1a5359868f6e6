"""Rule excluded_samples: every sample a data set's tables leave out, with its reason."""

from microexp.report.captions import write_captions
from microexp.report.exclusions import all_exclusions
from microexp.report.html import excluded_samples_caption, write_excluded_samples
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
dataset = snakemake.wildcards.dataset
excluded = [p for p in snakemake.input if p.endswith(".excluded.tsv")]
table = all_exclusions(dataset, snakemake.params.failures, excluded)
write_excluded_samples(table, snakemake.output.tsv.removesuffix(".tsv"))
write_captions(snakemake.output.captions, {"table": excluded_samples_caption(table, dataset)})
log.info("%s: %d record(s), %d sample(s)", dataset, len(table), table["sample"].nunique())
