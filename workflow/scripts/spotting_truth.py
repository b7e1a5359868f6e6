"""Rule spotting_truth: ground-truth intervals from the sheet, offsets 0 repaired (counted)."""

import pandas as pd

from microexp.evaluate.spotting import prepare_spotting_truth
from microexp.io.annotations import read_annotations
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
sheet = read_annotations(snakemake.input.sheet, snakemake.params.layout)
sheet = sheet.loc[:, ["subject", "video", "onset", "apex", "offset", "expression_type"]].copy()
for column in ("apex", "offset"):  # the readers give <NA> for an unannotated (0) frame
    sheet[column] = pd.to_numeric(sheet[column], errors="coerce").fillna(0).astype("int64")
unannotated = sheet["offset"].to_numpy() == 0
truth, counts = prepare_spotting_truth(sheet)
# kept per row so that the table says how many offsets were repaired (not only this log)
truth["offset_unannotated"] = unannotated
truth = truth[truth.expression_type.isin(["micro", "macro"])]
truth.to_csv(snakemake.output.truth, sep="\t", index=False)
log.info(
    "%d intervals; offset 0 -> apex in %d rows, apex from the mid-point in %d, still without "
    "offset (unfindable) %d",
    len(truth), counts["offset_from_apex"], counts["apex_from_midpoint"], counts["offset_missing"],
)  # fmt: skip
