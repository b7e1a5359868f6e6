"""Rule flow: the aligned gray crop -> onset-apex TV-L1 flow, optical strain and the networks'
inputs (results/{dataset}/flow), and the QC picture (a failure picture for a sample that failed
here or upstream)."""

from microexp.face2d.result import load_face2d
from microexp.failures import run_sample_stage, upstream_failure
from microexp.flow.qc import plot_flow_qc
from microexp.flow.stage import FlowParams, flow_from_frames, save_flow
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
output = snakemake.output
title = f"{snakemake.wildcards.dataset} / {snakemake.wildcards.sample}: onset-apex flow"


def work() -> None:
    face = load_face2d(snakemake.input.face2d)
    params = FlowParams.from_config(snakemake.params.flow)
    result = flow_from_frames(face.aligned_gray, face.onset, face.apex, params)
    save_flow(output.flow, result)
    gray = face.aligned_gray
    plot_flow_qc(
        gray[face.onset],
        gray[face.apex],
        result.u,
        result.v,
        result.strain,
        result.network_input,
        output.picture,
        title,
    )


passed = run_sample_stage(
    work,
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="flow",
    output=output.flow,
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.face2d,),
)
if not passed:
    failure_picture(output.picture, upstream_failure(output.flow), title)
