"""Rule lbptop_<entry>_<dataset>_<k>: each sample's aligned gray volume -> the LBP-TOP integral
histograms of every setting of a sweep's batch (one output file per setting and sample, as
rule lbptop writes). Outputs and failure files come setting-major: the chunk's samples for
the first setting, then for the next."""

import time

from microexp.face2d.result import load_face2d
from microexp.failures import SCIENCE_LOG, run_sample_stage
from microexp.features.blocks import save_integral
from microexp.features.sample import lbptop_integral
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
face2d, outputs = snakemake.params.files["face2d"], list(snakemake.output.features)
n = len(params.samples)


def work(i: int, loaded: list, setting, output) -> None:
    if not loaded:  # loaded once per sample, on first use (not when face2d failed upstream)
        loaded.append(load_face2d(face2d[i]))
    save_integral(output, lbptop_integral(loaded[0], setting))


for i, sample in enumerate(params.samples):
    started, loaded = time.process_time(), []
    for j, setting in enumerate(params.settings):
        run_sample_stage(
            lambda i=i, loaded=loaded, setting=setting, output=outputs[j * n + i]: work(
                i, loaded, setting, output
            ),
            dataset=params.dataset_name,
            sample=sample,
            stage=f"lbptop/{setting.name}",
            output=outputs[j * n + i],
            failure_file=params.failures[j * n + i],
            log=log,
            inputs=(face2d[i],),
        )
    log.info("sample %s: %s=%.3f", sample, SCIENCE_LOG, time.process_time() - started)
