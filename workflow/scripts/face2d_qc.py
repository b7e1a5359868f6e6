"""Rule face2d_qc: onset/apex with landmarks, the aligned crop with its grid, mean difference."""

from microexp.face2d.qc import plot_face2d_qc
from microexp.face2d.stage import load_face2d
from microexp.failures import upstream_failure
from microexp.io.clips import load_clip
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
title = f"{snakemake.wildcards.dataset} / {snakemake.wildcards.sample}: 2D face"
failed = upstream_failure(snakemake.input.clip, snakemake.input.face2d)
if failed:
    failure_picture(snakemake.output[0], failed, title)
else:
    clip = load_clip(snakemake.input.clip)
    plot_face2d_qc(clip.color, load_face2d(snakemake.input.face2d), snakemake.output[0], title)
