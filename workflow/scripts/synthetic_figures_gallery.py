"""Rule synthetic_figures_gallery: thumbnails of some of the synthetic subjects' figures for
the report (the full-size figures stay in results/synthetic/figures/)."""

from pathlib import Path

from microexp.report.gallery import choose_shown, thumbnail
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
figures = {Path(p).stem: Path(p) for p in snakemake.input}
folder = Path(snakemake.output[0])
folder.mkdir(parents=True, exist_ok=True)
shown = choose_shown(list(figures), snakemake.params.n_shown)
for name in shown:
    thumbnail(figures[name], folder / f"{name}.jpg", snakemake.params.width)
log.info("%d of %d subject figures shown: %s", len(shown), len(figures), ", ".join(shown))
