"""Rule flow_<dataset>_<k>: each sample of a chunk, aligned gray crop -> onset-apex TV-L1 flow,
optical strain and the networks' inputs (results/{dataset}/flow/<sample>.npz), and the QC
picture (a failure picture for a sample that failed here or upstream)."""

from microexp.face2d.result import load_face2d
from microexp.failures import run_chunk, upstream_failure
from microexp.flow.qc import plot_flow_qc
from microexp.flow.stage import FlowParams, flow_from_frames, save_flow
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
inputs, outputs, pictures = params.files["face2d"], snakemake.output.flow, snakemake.output.pictures
settings = FlowParams.from_config(params.flow)


def title(i: int) -> str:
    return f"{params.dataset_name} / {params.samples[i]}: onset-apex flow"


def work(i: int) -> None:
    face = load_face2d(inputs[i])
    result = flow_from_frames(face.aligned_gray, face.onset, face.apex, settings)
    save_flow(outputs[i], result)
    gray = face.aligned_gray
    plot_flow_qc(
        gray[face.onset],
        gray[face.apex],
        result.u,
        result.v,
        result.strain,
        result.network_input,
        pictures[i],
        title(i),
    )


passed = run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage="flow",
    outputs=outputs,
    failure_files=params.failures,
    log=log,
    inputs=[(path,) for path in inputs],
)
for i, ok in enumerate(passed):
    if not ok:
        failure_picture(pictures[i], upstream_failure(outputs[i]), title(i))
