"""Rules synthetic_dsme3d_sheet / synthetic_recording_sheet: annotation sheets from truth."""

from pathlib import Path

from microexp.runlog import rule_logger
from microexp.synthetic.annotate import write_annotations

log = rule_logger(snakemake.log[0])
table = write_annotations(
    [Path(p) for p in snakemake.input], Path(snakemake.output[0]), Path(snakemake.params.root)
)
log.info("%d annotated samples written to %s", len(table), snakemake.output[0])
