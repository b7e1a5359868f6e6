"""Rule spotting_synthetic_video: render one synthetic long video, write it twice + truth."""

from pathlib import Path

import numpy as np

from microexp.runlog import rule_logger
from microexp.synthetic.long_video import LongVideoSettings, plan_long_videos, write_long_video
from microexp.synthetic.photo import photo_face_from_landmarks
from microexp.synthetic.schedule import SyntheticSettings

log = rule_logger(snakemake.log[0])
settings = SyntheticSettings.from_config(snakemake.config)
long = LongVideoSettings.from_config(snakemake.config["spotting"].get("synthetic", {}))
plan = {p.folder_name: p for p in plan_long_videos(settings, long)}[snakemake.wildcards.spot_folder]
# the photograph's landmarks come calibrated (rule synthetic_photo_landmarks, once a run)
try:
    photo = photo_face_from_landmarks(np.load(snakemake.input.photo_landmarks))
except (OSError, ValueError) as error:
    raise ValueError(f"{snakemake.input.photo_landmarks}: {error}") from error
write_long_video(
    plan, settings, long, Path(snakemake.params.root), Path(snakemake.output.truth), photo
)
log.info("long video %s: %d frames, %d events", plan.video, plan.n_frames, len(plan.events))
