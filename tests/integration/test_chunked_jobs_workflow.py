"""Per-sample stages in jobs of `jobs.samples_per_job` samples (4 in the integration config: 6
samples make chunks of 4 and 2): every sample still has its own output file (and QC picture)
and exactly one science log line per stage; every job logs its start-up and its whole CPU once."""

from __future__ import annotations

import re

import pytest

from microexp.failures import SCIENCE_LOG
from microexp.runlog import JOB_CPU_LOG, STARTUP_LOG

pytestmark = pytest.mark.integration

SAMPLES = ("1_1", "1_2", "2_1", "2_2", "3_1", "3_2")
CHUNKS = (SAMPLES[:4], SAMPLES[4:])
# stage -> (log folder under results/logs/synthetic, output folder, picture folder or None)
STAGES = {
    "ingest": ("ingest", "clips", None),
    "face2d": ("face2d", "face2d", "face2d/qc"),
    "cloud3d": ("cloud3d", "cloud3d", "cloud3d/qc"),
    "flow": ("flow", "flow", "flow/qc"),
    "curvature": ("curvature/rc6_rs15_eh0.01_ek0.0001_d5_m20", None, None),
}


@pytest.mark.parametrize("stage", STAGES)
def test_one_job_per_chunk_one_file_and_log_line_per_sample(synthetic_run, stage):
    logs, outputs, pictures = STAGES[stage]
    results = synthetic_run / "results" / "synthetic"
    for k, chunk in enumerate(CHUNKS):
        text = (
            synthetic_run / "results" / "logs" / "synthetic" / logs / f"chunk_{k}.log"
        ).read_text()
        logged = re.findall(rf"sample (\S+): {SCIENCE_LOG}=[0-9.]+", text)
        assert logged == list(chunk), f"{stage} chunk {k}: science lines for {logged}"
        assert len(re.findall(rf"{STARTUP_LOG}=[0-9.]+", text)) == 1
        job_cpu = re.findall(rf"{JOB_CPU_LOG}=([0-9.]+)", text)
        assert len(job_cpu) == 1
        science = sum(map(float, re.findall(rf"{SCIENCE_LOG}=([0-9.]+)", text)))
        assert float(job_cpu[0]) >= science
        for sample in chunk:
            if outputs:
                assert (results / outputs / f"{sample}.npz").is_file()
            if pictures:
                assert (results / pictures / f"{sample}.png").is_file()
    assert not (synthetic_run / "results" / "logs" / "synthetic" / logs / "chunk_2.log").exists()


def test_generation_logs_each_sample_once(synthetic_run):
    for subject in (1, 2, 3):
        text = (
            synthetic_run / "results" / "logs" / "generate" / f"subject_{subject}.log"
        ).read_text()
        logged = re.findall(rf"sample (\S+): {SCIENCE_LOG}=", text)
        assert logged == [f"{subject}_1", f"{subject}_2"]
        assert len(re.findall(rf"{JOB_CPU_LOG}=", text)) == 1
