"""Rule lbptop_<entry>: one sample's aligned gray volume -> the LBP-TOP integral histograms
of every setting of a sweep's batch (one output file per setting, as rule lbptop writes)."""

from pathlib import Path

from microexp.face2d.result import load_face2d
from microexp.failures import run_sample_stage
from microexp.features.blocks import save_integral
from microexp.features.sample import lbptop_integral
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
dataset, sample = snakemake.wildcards.dataset, snakemake.wildcards.sample
# results/{dataset}/features/lbptop/{setting}/{sample}.npz -> results/{dataset}/failures/...
failures = Path(snakemake.output[0]).parents[3] / "failures" / "lbptop"
face2d = []  # loaded once, on first use (not at all when face2d failed upstream)


def work(output, setting):
    if not face2d:
        face2d.append(load_face2d(snakemake.input.face2d))
    save_integral(output, lbptop_integral(face2d[0], setting))


for setting, output in zip(snakemake.params.settings, snakemake.output, strict=True):
    run_sample_stage(
        lambda setting=setting, output=output: work(output, setting),
        dataset=dataset,
        sample=sample,
        stage=f"lbptop/{setting.name}",
        output=output,
        failure_file=failures / setting.name / f"{sample}.json",
        log=log,
        inputs=(snakemake.input.face2d,),
    )
