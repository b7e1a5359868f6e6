"""Rule lbptop: aligned gray volume -> LBP-TOP integral histograms for one code setting."""

from microexp.face2d.result import load_face2d
from microexp.failures import run_sample_stage
from microexp.features.blocks import save_integral
from microexp.features.sample import lbptop_integral
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
run_sample_stage(
    lambda: save_integral(
        snakemake.output[0],
        lbptop_integral(load_face2d(snakemake.input.face2d), snakemake.params.setting),
    ),
    dataset=snakemake.wildcards.dataset,
    sample=snakemake.wildcards.sample,
    stage=f"lbptop/{snakemake.wildcards.lbp}",
    output=snakemake.output[0],
    failure_file=snakemake.params.failure,
    log=log,
    inputs=(snakemake.input.face2d,),
)
