"""Rule synthetic_photo_landmarks: calibrate the source photograph's 68 landmarks with dlib once
a run (about 2 CPU-s); every subject job reads them instead of calibrating again."""

import time

import numpy as np

from microexp.failures import SCIENCE_LOG
from microexp.runlog import rule_logger
from microexp.synthetic.photo import astronaut_image, calibrate_photo_landmarks

log = rule_logger(snakemake.log[0])
started = time.process_time()
landmarks = calibrate_photo_landmarks(astronaut_image())
np.save(snakemake.output[0], landmarks)
log.info("photo landmarks: %s=%.3f", SCIENCE_LOG, time.process_time() - started)
