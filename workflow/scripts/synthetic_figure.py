"""Rule synthetic_subject_figure: neutral and apex frame with truth landmarks, depth map."""

from pathlib import Path

from microexp.runlog import rule_logger
from microexp.synthetic.figures import subject_figure
from microexp.synthetic.schedule import SyntheticSettings

log = rule_logger(snakemake.log[0])
settings = SyntheticSettings.from_config(snakemake.config)
subject_figure(settings, [Path(p) for p in snakemake.input], Path(snakemake.output[0]))
log.info("figure written to %s", snakemake.output[0])
