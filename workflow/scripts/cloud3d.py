"""Rule cloud3d: clip + 2D landmarks -> registered face clouds (results/{dataset}/cloud3d)."""

from microexp.cloud3d.stage import Cloud3DParams, process_clip, save_cloud3d
from microexp.face2d.stage import load_face2d
from microexp.failures import run_sample_stage
from microexp.io.clips import load_clip
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])


def work() -> None:
    clip = load_clip(snakemake.input.clip)
    face2d = load_face2d(snakemake.input.face2d)
    result = process_clip(
        clip.color,
        clip.depth,
        face2d.landmarks68,
        clip.intrinsics,
        clip.depth_scale,
        Cloud3DParams.from_config(snakemake.params.cloud3d),
        qc_frame=clip.onset,
        keep_points=[clip.onset, clip.apex],  # what the curvature features and PLYs need
        fps=clip.fps,
    )
    save_cloud3d(snakemake.output[0], result)


run_sample_stage(
    work,
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="cloud3d",
    output=snakemake.output[0],
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.clip, snakemake.input.face2d),
)
