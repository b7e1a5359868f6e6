"""Rule cloud3d: clip + 2D landmarks -> registered face clouds (results/{dataset}/cloud3d), the
QC picture (depth before/after filtering, cloud front/side, ICP per frame; a failure picture
for a sample that failed here or upstream) and the onset and apex face clouds as PLY files
for people to open."""

from pathlib import Path

from microexp.cloud3d.qc import plot_cloud3d_qc
from microexp.cloud3d.result import save_cloud3d
from microexp.cloud3d.stage import Cloud3DParams, process_clip, write_ply
from microexp.face2d.result import load_face2d
from microexp.failures import run_sample_stage, upstream_failure
from microexp.io.clips import load_clip
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
output = snakemake.output
title = f"{snakemake.wildcards.dataset} / {snakemake.wildcards.sample}: 3D face"
ply = Path(output.ply)
ply.mkdir(parents=True, exist_ok=True)


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
    save_cloud3d(output.cloud3d, result)
    plot_cloud3d_qc(output.picture, result, title)
    for name, t in (("onset", clip.onset), ("apex", clip.apex)):
        write_ply(ply / f"{name}.ply", result.frame_points(t), result.frame_colors(t))


passed = run_sample_stage(
    work,
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="cloud3d",
    output=output.cloud3d,
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.clip, snakemake.input.face2d),
)
if not passed:
    failure_picture(output.picture, upstream_failure(output.cloud3d), title)
