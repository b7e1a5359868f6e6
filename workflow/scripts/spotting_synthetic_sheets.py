"""Rule spotting_synthetic_sheets: the CAS(ME)^2-style workbook and the recordings' sheet."""

from pathlib import Path

from microexp.runlog import rule_logger
from microexp.synthetic.long_video import (
    LongVideoSettings,
    generic_sheet,
    plan_long_videos,
    write_casme_sq_sheet,
)
from microexp.synthetic.schedule import SyntheticSettings

log = rule_logger(snakemake.log[0])
settings = SyntheticSettings.from_config(snakemake.config)
long = LongVideoSettings.from_config(snakemake.config["spotting"].get("synthetic", {}))
plans = plan_long_videos(settings, long)
write_casme_sq_sheet(plans, Path(snakemake.output.casme_sq))
table = generic_sheet(plans)
table.to_csv(snakemake.output.generic, sep="\t", index=False)
log.info("%d long videos, %d expressions annotated", len(plans), len(table))
