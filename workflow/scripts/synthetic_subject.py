"""Rule synthetic_subject_<subject>: build one subject's face, then render and write each of
its samples (frame folder or RealSense recording) with its truth file."""

from pathlib import Path

from microexp.runlog import rule_logger
from microexp.synthetic.generate import subject_for, write_sample
from microexp.synthetic.schedule import SyntheticSettings, plan_for_sample

log = rule_logger(snakemake.log[0])
settings = SyntheticSettings.from_config(snakemake.config)
plans = [plan_for_sample(settings, sample) for sample in snakemake.params.samples]
subject = subject_for(settings, plans[0].subject_index)
for plan, truth in zip(plans, snakemake.output.truth, strict=True):
    source = write_sample(plan, settings, Path(snakemake.params.root), Path(truth), subject)
    log.info("sample %s: %d frames written to %s", plan.sample, len(plan.frame_numbers), source)
