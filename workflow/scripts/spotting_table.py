"""Rule spotting_table: the data set's spotting table (both countings), F1-vs-threshold curve."""

from pathlib import Path

import pandas as pd

from microexp.evaluate.spotting_tables import (
    load_method_result,
    spotting_table,
    threshold_curve,
    write_f1_threshold_curve,
    write_spotting_table,
)
from microexp.failures import SampleFailure
from microexp.runlog import rule_logger
from microexp.spotting.spotters import method_params

log = rule_logger(snakemake.log[0])
spot_set = snakemake.wildcards.spot_set
config = snakemake.config["spotting"]
truth = pd.read_csv(snakemake.input.truth, sep="\t")
methods = list(snakemake.params.methods)
videos = list(snakemake.params.videos)
iou = float(config.get("iou", 0.5))

predictions, curves = {}, {}
for method in methods:
    tables, runs = [], []
    for video in videos:
        stem = Path(snakemake.params.method_dir) / method / video
        try:
            result, numbers, _, fps = load_method_result(f"{stem}.npz")
        except SampleFailure as failure:
            log.warning("%s %s skipped: %s", method, video, failure)
            continue
        tables.append(pd.read_csv(f"{stem}.tsv", sep="\t"))
        runs.append((video, result, numbers, fps))
    predictions[method] = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=["video", "onset", "offset", "expression_type"])
    )
    curves[method] = runs

table = spotting_table(predictions, truth, iou=iou)
title = f"Spotting on {spot_set}: {len(videos)} videos, IoU >= {iou}"
if "offset_unannotated" in truth:  # the MEGC2020 organisers' repair, counted (spotting_truth)
    repaired = int(truth["offset_unannotated"].sum())
    title += f"; {repaired} of {len(truth)} ground-truth offsets were 0 (set to the apex)"
write_spotting_table(table, Path(snakemake.output.tsv).with_suffix(""), title)
params = {m: method_params(config, m) for m in methods}
curve = threshold_curve(curves, params, truth, config["thresholds"], iou=iou)
curve.to_csv(snakemake.output.curve_tsv, sep="\t", index=False)
write_f1_threshold_curve(curve, snakemake.output.curve_png, f"{title}: F1 against p")
log.info("spotting table of %s:\n%s", spot_set, table.to_string())
