"""Logging for rule scripts: everything a job says goes to its Snakemake `log:` file."""

from __future__ import annotations

import atexit
import logging
import sys
import time
import warnings
from pathlib import Path


def rule_logger(log_path: str | Path, name: str = "microexp") -> logging.Logger:
    """Send the package's log records and Python warnings to `log_path` (and stderr).

    Uncaught exceptions are logged with their traceback before Snakemake sees the failure,
    so the job's log says why it died.
    """
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, mode="w"), logging.StreamHandler()]
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnings.simplefilter("default")

    def log_uncaught(exc_type, exc, tb):
        logging.getLogger(name).critical("uncaught exception", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = log_uncaught
    logger = logging.getLogger(name)
    # Scripts call this after their imports: the CPU spent so far is the job's start-up
    # (interpreter, Snakemake's script preamble, imports), which bench_run reports.
    logger.info("%s=%.3f", STARTUP_LOG, time.process_time())
    # ... and the CPU of the whole job when the process ends (Snakemake's benchmark files
    # sample a job's CPU now and then and miss most of a short job's).
    atexit.register(lambda: logger.info("%s=%.3f", JOB_CPU_LOG, time.process_time()))
    return logger


STARTUP_LOG = "startup_cpu_s"
JOB_CPU_LOG = "job_cpu_s"
