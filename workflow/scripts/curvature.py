"""Rule curvature_<dataset>_<k>: each sample's onset/apex face clouds + 2D weights -> weighted
SI and HK descriptors for one setting (results/{dataset}/features/curvature/{setting}/)."""

from microexp.cloud3d.result import load_cloud3d
from microexp.face2d.result import load_face2d
from microexp.failures import run_chunk
from microexp.features.sample import curvature_features, save_curvature
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
inputs = params.files
outputs = list(snakemake.output.features)


def work(i: int) -> None:
    features = curvature_features(
        load_face2d(inputs["face2d"][i]),
        load_cloud3d(inputs["cloud3d"][i]),
        params.setting,
        params.landmarks,
    )
    save_curvature(outputs[i], features, params.setting)


run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage=f"curvature/{params.setting_name}",
    outputs=outputs,
    failure_files=params.failures,
    log=log,
    inputs=list(zip(inputs["face2d"], inputs["cloud3d"], strict=True)),
)
