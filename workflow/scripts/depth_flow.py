"""Rule depth_flow_<dataset>_<k>: each sample of a chunk (clip + face2d) -> its RGB-D tensors'
limits, depth flow at the face surface, 2D flow and their block histograms
(results/{dataset}/depth_flow/<sample>.npz), and the QC picture (a failure picture for a sample
that failed here or upstream). Imports and numba compilation are paid once per job.
docs/depth_flow.md."""

from microexp.face2d.result import load_face2d
from microexp.failures import SampleFailure, run_chunk, upstream_failure
from microexp.features.depth_qc import plot_depth_flow_qc
from microexp.features.depth_sample import (
    DepthFlowParams,
    depth_crop,
    process_depth_flow,
    save_depth_flow,
)
from microexp.io.clips import read_clip_frames_at, read_clip_index
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
clips, face2ds = snakemake.params.files["clips"], snakemake.params.files["face2d"]
outputs, pictures = snakemake.output.flows, snakemake.output.pictures
settings = DepthFlowParams.from_config(params.depth_flow)


def title(i: int) -> str:
    return f"{params.dataset_name} / {params.samples[i]}: depth flow"


def work(i: int) -> None:
    clip = read_clip_index(clips[i])
    face2d = load_face2d(face2ds[i])
    if clip.apex < 0:
        raise SampleFailure("no apex frame annotated: depth flow needs onset and apex")
    frames = (clip.onset, clip.apex)
    gray = [face2d.aligned_gray[t] for t in frames]
    _, depths = read_clip_frames_at(clip, frames)  # the two frames only, not the whole clip
    depth = [depth_crop(d, face2d.crop_transform, face2d.crop_size) for d in depths]
    result = process_depth_flow(gray[0], gray[1], depth[0], depth[1], settings)
    shape = tuple(int(n) for n in result.tensor_shape)
    log.info(
        "sample %s: near %d far %d, tensor %s, %d of %d windows empty",
        params.samples[i], result.near, result.far, shape, result.windows_skipped,
        result.windows,
    )  # fmt: skip
    save_depth_flow(outputs[i], result)
    plot_depth_flow_qc(pictures[i], gray[0], result, title(i))


passed = run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage="depth_flow",
    outputs=outputs,
    failure_files=params.failures,
    log=log,
    inputs=list(zip(clips, face2ds, strict=True)),
)
for i, ok in enumerate(passed):
    if not ok:
        failure_picture(pictures[i], upstream_failure(outputs[i]), title(i))
