"""Rule face2d: a clip -> landmarks, alignment, aligned gray crop (results/{dataset}/face2d)."""

from microexp.face2d.stage import process_clip, save_face2d
from microexp.failures import run_sample_stage
from microexp.io.clips import load_clip
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])


def work() -> None:
    clip = load_clip(snakemake.input.clip)
    save_face2d(
        snakemake.output[0],
        process_clip(clip.color, clip.onset, clip.apex, snakemake.params.face2d),
    )


run_sample_stage(
    work,
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage="face2d",
    output=snakemake.output[0],
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.clip,),
)
