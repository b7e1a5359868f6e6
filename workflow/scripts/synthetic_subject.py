"""Rule synthetic_subject_<subject>: build one subject's face, then render and write each of
its samples (frame folder or RealSense recording) with its truth file, and the subject's
figure."""

import time
from pathlib import Path

import cv2
import numpy as np

from microexp.failures import SCIENCE_LOG
from microexp.runlog import rule_logger
from microexp.synthetic.figures import figure_plan, subject_figure
from microexp.synthetic.generate import SyntheticFrame, subject_for, write_sample
from microexp.synthetic.photo import photo_face_from_landmarks
from microexp.synthetic.schedule import SyntheticSettings, plan_for_sample

log = rule_logger(snakemake.log[0])
cv2.setNumThreads(snakemake.threads)  # the job's core budget (OpenCV takes every core by default)
settings = SyntheticSettings.from_config(snakemake.config)
plans = [plan_for_sample(settings, sample) for sample in snakemake.params.samples]
started = time.process_time()
# the photograph's landmarks come calibrated (rule synthetic_photo_landmarks, once a run)
try:
    photo = photo_face_from_landmarks(np.load(snakemake.input.photo_landmarks))
except (OSError, ValueError) as error:
    raise ValueError(f"{snakemake.input.photo_landmarks}: {error}") from error
subject = subject_for(settings, plans[0].subject_index, photo)  # once per job: 0.3 CPU-s
log.info("subject %s face: %s=%.3f", plans[0].subject, SCIENCE_LOG, time.process_time() - started)
shown = figure_plan(plans)  # the figure's apex frame is kept as it is written
kept: list[SyntheticFrame] = []


def keep_apex(frame: SyntheticFrame) -> None:
    if frame.frame_number == shown.expression.apex:
        kept.append(frame)


for plan, truth in zip(plans, snakemake.output.truth, strict=True):
    started = time.process_time()
    tap = keep_apex if plan is shown else None
    source = write_sample(
        plan, settings, Path(snakemake.params.root), Path(truth), subject, on_frame=tap
    )
    log.info("sample %s: %d frames written to %s", plan.sample, len(plan.frame_numbers), source)
    log.info("sample %s: %s=%.3f", plan.sample, SCIENCE_LOG, time.process_time() - started)
subject_figure(
    settings,
    [Path(p) for p in snakemake.output.truth],
    Path(snakemake.output.figure),
    subject,
    apex_frame=kept[0] if kept else None,
)
log.info("figure written to %s", snakemake.output.figure)
