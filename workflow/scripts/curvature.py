"""Rule curvature: onset/apex face clouds + 2D weights -> weighted SI and HK descriptors."""

from microexp.cloud3d.result import load_cloud3d
from microexp.face2d.result import load_face2d
from microexp.failures import run_sample_stage
from microexp.features.sample import curvature_features, save_curvature
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
setting = snakemake.params.setting
run_sample_stage(
    lambda: save_curvature(
        snakemake.output[0],
        curvature_features(
            load_face2d(snakemake.input.face2d),
            load_cloud3d(snakemake.input.cloud3d),
            setting,
            snakemake.params.landmarks,
        ),
        setting,
    ),
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage=f"curvature/{snakemake.wildcards.curv}",
    output=snakemake.output[0],
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.face2d, snakemake.input.cloud3d),
)
