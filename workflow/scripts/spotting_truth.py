"""Rule spotting_truth: ground-truth intervals from the sheet, offsets 0 repaired (counted)."""

import pandas as pd

from microexp.evaluate.spotting import prepare_spotting_truth
from microexp.io.annotations import read_annotations
from microexp.io.expression_type import classify_samples
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
sheet_all = read_annotations(snakemake.input.sheet, snakemake.params.layout)
sheet = sheet_all.loc[:, ["subject", "video", "onset", "apex", "offset", "expression_type"]].copy()
if snakemake.params.layout == "casme3_a":
    # CAS(ME)^3 Part A names its videos a, b, ... within each subject (spNO.1/a): the key is
    # <subject>_<video> ("spNO.1_a"), as spotting_plan keys the video folders
    sheet["video"] = sheet["subject"].astype(str) + "_" + sheet["video"].astype(str)
sheet_problems = sheet_all["problems"].fillna("").astype(str).str.len() > 0
for column in ("apex", "offset"):  # the readers give <NA> for an unannotated (0) frame
    sheet[column] = pd.to_numeric(sheet[column], errors="coerce").fillna(0).astype("int64")
unannotated = sheet["offset"].to_numpy() == 0
truth, counts = prepare_spotting_truth(sheet)
# kept per row so that the table says how many offsets were repaired (not only this log)
truth["offset_unannotated"] = unannotated
if snakemake.params.layout == "casme3_a":
    # CAS(ME)^3 types by duration (<= 500 ms at 30 fps is micro, CASME3_RULE) on the sheet's
    # own frames; where the rule cannot say (offset not annotated: the duration is unknown, the
    # apex is only the repair; onset after offset), the sheet's own type stays
    by_rule = classify_samples(sheet_all.loc[:, ["onset", "apex", "offset"]], "casme3_a")
    known = by_rule.notna().to_numpy()
    sheet_type = truth["expression_type"].fillna("").to_numpy()
    differ = int((known & (by_rule.fillna("").to_numpy() != sheet_type)).sum())
    truth.loc[known, "expression_type"] = by_rule[known]
    log.info(
        "expression type by CAS(ME)^3's duration rule: %d rows typed, %d differ from the "
        "sheet's column, %d kept the sheet's type (the rule cannot type them)",
        int(known.sum()), differ, int((~known).sum()),
    )  # fmt: skip
typed = truth.expression_type.isin(["micro", "macro"]).to_numpy()
truth = truth[typed]
truth.to_csv(snakemake.output.truth, sep="\t", index=False)
log.info(
    "%d intervals; offset 0 -> apex in %d rows, apex from the mid-point in %d, still without "
    "offset (unfindable) %d; %d rows flagged by the reader (kept); %d without a type dropped",
    len(truth), counts["offset_from_apex"], counts["apex_from_midpoint"], counts["offset_missing"],
    int(sheet_problems.sum()), int((~typed).sum()),
)  # fmt: skip
