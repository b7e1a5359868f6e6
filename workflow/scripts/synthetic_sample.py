"""Rule synthetic_frame_folder / synthetic_recording: render and write one sample."""

from pathlib import Path

from microexp.runlog import rule_logger
from microexp.synthetic.generate import write_sample
from microexp.synthetic.schedule import SyntheticSettings, plan_for_sample

log = rule_logger(snakemake.log[0])
settings = SyntheticSettings.from_config(snakemake.config)
plan = plan_for_sample(settings, f"{snakemake.wildcards.subject}_{snakemake.wildcards.video}")
source = write_sample(plan, settings, Path(snakemake.params.root), Path(snakemake.output.truth))
log.info("sample %s: %d frames written to %s", plan.sample, len(plan.frame_numbers), source)
