"""Rule cloud3d_<dataset>_<k>: each sample of a chunk, clip + 2D landmarks -> registered face
clouds (results/{dataset}/cloud3d/<sample>.npz), the QC picture (depth before/after
filtering, cloud front/side, ICP per frame; a failure picture for a sample that failed here
or upstream) and the onset and apex face clouds as PLY files for people to open."""

from pathlib import Path

from microexp.cloud3d.qc import plot_cloud3d_qc
from microexp.cloud3d.result import save_cloud3d
from microexp.cloud3d.stage import Cloud3DParams, process_clip, write_ply
from microexp.face2d.result import load_face2d
from microexp.failures import run_chunk, upstream_failure
from microexp.io.clips import load_clip
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
inputs, output = snakemake.params.files, snakemake.output
settings = Cloud3DParams.from_config(params.cloud3d)


def title(i: int) -> str:
    return f"{params.dataset_name} / {params.samples[i]}: 3D face"


def work(i: int) -> None:
    clip = load_clip(inputs["clips"][i])
    face2d = load_face2d(inputs["face2d"][i])
    result = process_clip(
        clip.color,
        clip.depth,
        face2d.landmarks68,
        clip.intrinsics,
        clip.depth_scale,
        settings,
        qc_frame=clip.onset,
        keep_points=[clip.onset, clip.apex],  # what the curvature features and PLYs need
        fps=clip.fps,
    )
    save_cloud3d(output.cloud3d[i], result)
    plot_cloud3d_qc(output.pictures[i], result, title(i))
    for name, t in (("onset", clip.onset), ("apex", clip.apex)):
        ply = Path(output.ply[i]) / f"{name}.ply"
        write_ply(ply, result.frame_points(t), result.frame_colors(t))


for folder in output.ply:
    Path(folder).mkdir(parents=True, exist_ok=True)
passed = run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage="cloud3d",
    outputs=output.cloud3d,
    failure_files=params.failures,
    log=log,
    inputs=list(zip(inputs["clips"], inputs["face2d"], strict=True)),
)
for i, ok in enumerate(passed):
    if not ok:
        failure_picture(output.pictures[i], upstream_failure(output.cloud3d[i]), title(i))
