"""Rule depth_flow: clip + face2d -> the sample's RGB-D tensors' limits, depth flow at the face
surface, 2D flow and their block histograms (results/{dataset}/depth_flow), and the QC picture
(a failure picture for a sample that failed here or upstream). docs/depth_flow.md."""

from microexp.face2d.stage import load_face2d
from microexp.failures import SampleFailure, run_sample_stage, upstream_failure
from microexp.features.depth_qc import plot_depth_flow_qc
from microexp.features.depth_sample import (
    DepthFlowParams,
    depth_crop,
    process_depth_flow,
    save_depth_flow,
)
from microexp.io.clips import load_clip
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
output = snakemake.output
title = f"{snakemake.wildcards.dataset} / {snakemake.wildcards.sample}: depth flow"


def work() -> None:
    clip = load_clip(snakemake.input.clip)
    face2d = load_face2d(snakemake.input.face2d)
    if clip.apex < 0:
        raise SampleFailure("no apex frame annotated: depth flow needs onset and apex")
    frames = (clip.onset, clip.apex)
    gray = [face2d.aligned_gray[t] for t in frames]
    depth = [depth_crop(clip.depth[t], face2d.crop_transform, face2d.crop_size) for t in frames]
    params = DepthFlowParams.from_config(snakemake.params.depth_flow)
    result = process_depth_flow(gray[0], gray[1], depth[0], depth[1], params)
    shape = tuple(int(n) for n in result.tensor_shape)
    log.info(
        "near %d far %d, tensor %s, %d of %d windows empty",
        result.near, result.far, shape, result.windows_skipped, result.windows,
    )  # fmt: skip
    save_depth_flow(output.flow, result)
    plot_depth_flow_qc(output.picture, gray[0], result, title)


passed = run_sample_stage(
    work,
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="depth_flow",
    output=output.flow,
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.clip, snakemake.input.face2d),
)
if not passed:
    failure_picture(output.picture, upstream_failure(output.flow), title)
