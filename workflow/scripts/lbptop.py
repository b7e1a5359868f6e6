"""Rule lbptop_<dataset>_<k>: each sample's aligned gray volume -> LBP-TOP integral histograms
for one code setting (results/{dataset}/features/lbptop/{setting}/<sample>.npz)."""

from microexp.face2d.result import load_face2d
from microexp.failures import run_chunk
from microexp.features.blocks import save_integral
from microexp.features.sample import lbptop_integral
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
face2d, outputs = snakemake.params.files["face2d"], list(snakemake.output.features)


def work(i: int) -> None:
    save_integral(outputs[i], lbptop_integral(load_face2d(face2d[i]), params.setting))


run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage=f"lbptop/{params.setting_name}",
    outputs=outputs,
    failure_files=params.failures,
    log=log,
    inputs=[(path,) for path in face2d],
)
