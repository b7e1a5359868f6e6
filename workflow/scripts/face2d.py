"""Rule face2d: a clip -> landmarks, alignment, aligned gray crop (results/{dataset}/face2d),
and the QC picture (onset/apex with landmarks, the aligned crop with its grid, mean
difference; a failure picture for a sample that failed here or upstream)."""

from microexp.face2d.qc import plot_face2d_qc
from microexp.face2d.stage import process_clip, save_face2d
from microexp.failures import run_sample_stage, upstream_failure
from microexp.io.clips import load_clip
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
output = snakemake.output
title = f"{snakemake.wildcards.dataset} / {snakemake.wildcards.sample}: 2D face"


def work() -> None:
    clip = load_clip(snakemake.input.clip)
    result = process_clip(clip.color, clip.onset, clip.apex, snakemake.params.face2d)
    if snakemake.params.face2d.get("precropped") and not result.detected[0]:
        log.info("pre-cropped: no face detected in the first frame; the crop is the face box")
    save_face2d(output.face2d, result)
    plot_face2d_qc(clip.color, result, output.picture, title)


passed = run_sample_stage(
    work,
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="face2d",
    output=output.face2d,
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.clip,),
)
if not passed:
    failure_picture(output.picture, upstream_failure(output.face2d), title)
