"""Rule spotting_video_figure: score curves of every method on one video, truth and spotted."""

from pathlib import Path

import pandas as pd

from microexp.evaluate.spotting_tables import load_method_result, write_video_figure
from microexp.failures import SampleFailure
from microexp.runlog import rule_logger
from microexp.spotting.spotters import method_params

log = rule_logger(snakemake.log[0])
video = snakemake.wildcards.spot_video
config = snakemake.config["spotting"]
truth = pd.read_csv(snakemake.input.truth, sep="\t")
curves, predictions = {}, {}
for method, scores, intervals in zip(
    snakemake.params.methods, snakemake.input.scores, snakemake.input.intervals, strict=True
):
    try:
        result, numbers, _, _ = load_method_result(scores)
    except SampleFailure as failure:
        log.warning("%s skipped: %s", method, failure)
        continue
    curves[method] = (result, numbers, method_params(config, method))
    predictions[method] = pd.read_csv(intervals, sep="\t")
write_video_figure(
    video, curves, predictions, truth, Path(snakemake.output[0]),
    f"{snakemake.wildcards.spot_set} {video}: contrast per pass, truth and spotted intervals",
)  # fmt: skip
