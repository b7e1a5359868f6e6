"""Rule spotting_method: one spotter on one video's crops -> score curves and intervals."""

import pandas as pd

from microexp.evaluate.spotting_tables import (
    INTERVAL_COLUMNS,
    intervals_to_frames,
    save_method_result,
)
from microexp.failures import SampleFailure, run_sample_stage
from microexp.runlog import rule_logger
from microexp.spotting.crops import load_video_crops
from microexp.spotting.spotters import DEPTH_METHODS, method_params, spot_video

log = rule_logger(snakemake.log[0])
method = snakemake.wildcards.method
video = snakemake.wildcards.spot_video
params = method_params(snakemake.config["spotting"], method)
fps = float(snakemake.params.fps)


def work() -> None:
    crops = load_video_crops(snakemake.input.crops)
    if method in DEPTH_METHODS and crops.block_depth is None:
        raise SampleFailure(f"{method} needs depth; the video has none", file=snakemake.input.crops)
    result = spot_video(params, fps, gray=crops.frames_for(params.crop), depth=crops.block_depth)
    save_method_result(
        snakemake.output.scores, result, crops.frame_numbers, crops.face_found, params, fps
    )
    table = intervals_to_frames(result.intervals, crops.frame_numbers, video)
    table.to_csv(snakemake.output.intervals, sep="\t", index=False)
    log.info("%s on %s: %d intervals at p = %s", method, video, len(table), params.p)


ok = run_sample_stage(
    work,
    dataset=snakemake.wildcards.spot_set,
    sample=f"{method}_{video}",
    stage="spotting",
    output=snakemake.output.scores,
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.crops,),
)
if not ok:
    pd.DataFrame(columns=list(INTERVAL_COLUMNS)).to_csv(
        snakemake.output.intervals, sep="\t", index=False
    )
