"""Rule cloud3d_qc: QC picture (depth before/after filtering, cloud front/side, ICP per
frame) and the onset and apex face clouds as PLY files for people to open."""

from pathlib import Path

from microexp.cloud3d.qc import plot_cloud3d_qc
from microexp.cloud3d.stage import load_cloud3d, write_ply
from microexp.failures import upstream_failure
from microexp.io.clips import clip_markers
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
title = f"{snakemake.wildcards.dataset} / {snakemake.wildcards.sample}: 3D face"
ply = Path(snakemake.output.ply)
ply.mkdir(parents=True, exist_ok=True)
failed = upstream_failure(snakemake.input.clip, snakemake.input.cloud3d)
if failed:
    failure_picture(snakemake.output.picture, failed, title)
else:
    result = load_cloud3d(snakemake.input.cloud3d)
    plot_cloud3d_qc(snakemake.output.picture, result, title)
    for name, t in clip_markers(snakemake.input.clip).items():
        if name in ("onset", "apex"):
            write_ply(ply / f"{name}.ply", result.frame_points(t), result.frame_colors(t))
