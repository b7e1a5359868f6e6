"""Rule face2d_<dataset>_<k>: each sample of a chunk -> landmarks, alignment, aligned gray
crop (results/{dataset}/face2d/<sample>.npz) and the QC picture (onset/apex with landmarks,
the aligned crop with its grid, mean difference; a failure picture for a sample that failed
here or upstream). The detector model is loaded once per job."""

from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.qc import plot_face2d_qc
from microexp.face2d.result import save_face2d
from microexp.face2d.stage import Face2DParams, process_clip
from microexp.failures import run_chunk, upstream_failure
from microexp.io.clips import load_clip
from microexp.report.pictures import failure_picture
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
params = snakemake.params
clips, outputs, pictures = params.files["clips"], snakemake.output.face2d, snakemake.output.pictures
settings = Face2DParams.from_config(params.face2d)
detector = []  # loaded on first use (not at all when every sample failed upstream)


def title(i: int) -> str:
    return f"{params.dataset_name} / {params.samples[i]}: 2D face"


def work(i: int) -> None:
    if not detector:
        detector.append(LandmarkDetector(upsample=settings.tracking.detector_upsample))
    clip = load_clip(clips[i], depth=False)  # color only: depth is not decoded
    result = process_clip(clip.color, clip.onset, clip.apex, settings, detector=detector[0])
    if params.face2d.get("precropped") and not result.detected[0]:
        log.info("pre-cropped: no face detected in the first frame; the crop is the face box")
    save_face2d(outputs[i], result)
    plot_face2d_qc(clip.color, result, pictures[i], title(i))


passed = run_chunk(
    work,
    dataset=params.dataset_name,
    samples=params.samples,
    stage="face2d",
    outputs=outputs,
    failure_files=params.failures,
    log=log,
    inputs=[(clip,) for clip in clips],
)
for i, ok in enumerate(passed):
    if not ok:
        failure_picture(pictures[i], upstream_failure(outputs[i]), title(i))
