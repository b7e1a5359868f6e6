"""Rule spotting_truth: ground-truth intervals from the sheet, offsets 0 repaired (counted);
microexp.evaluate.spotting.spotting_truth_from_sheet."""

from microexp.evaluate.spotting import spotting_truth_from_sheet
from microexp.io.annotations import read_annotations
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
sheet = read_annotations(snakemake.input.sheet, snakemake.params.layout)
truth, counts = spotting_truth_from_sheet(sheet, snakemake.params.layout)
truth.to_csv(snakemake.output.truth, sep="\t", index=False)
if "typed_by_rule" in counts:
    log.info(
        "expression type by CAS(ME)^3's duration rule: %d rows typed, %d differ from the "
        "sheet's column, %d kept the sheet's type (the rule cannot type them)",
        counts["typed_by_rule"], counts["differ_from_sheet"], counts["kept_sheet_type"],
    )  # fmt: skip
log.info(
    "%d intervals; offset 0 -> apex in %d rows, apex from the mid-point in %d, still without "
    "offset (unfindable) %d; %d rows flagged by the reader (kept); %d without a type dropped",
    len(truth), counts["offset_from_apex"], counts["apex_from_midpoint"], counts["offset_missing"],
    counts["flagged"], counts["untyped"],
)  # fmt: skip
