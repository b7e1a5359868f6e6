"""Per-sample stages in jobs of `jobs.samples_per_job` samples (4 in the integration config: 6
samples make chunks of 4 and 2): every sample still has its own output file (and QC picture)
and exactly one science log line per stage; every job logs its start-up and its whole CPU once.
Each chunk job touches its marker (results/{dataset}/chunks/<stage>/<k>.done), which is what the
jobs after it take as input; a per-sample file that goes missing reruns its chunk only."""

from __future__ import annotations

import re

import pytest

from microexp.failures import SCIENCE_LOG
from microexp.runlog import JOB_CPU_LOG, STARTUP_LOG

from .conftest import run_snakemake

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
    markers = synthetic_run / "results" / "synthetic" / "chunks" / logs
    assert sorted(p.name for p in markers.iterdir()) == ["0.done", "1.done"]


def _planned_rules(output: str) -> set[str]:
    """The rules of a dry run's job-stats table."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return set(re.findall(r"(?m)^(\w+)\s+\d+$", table))


def test_a_missing_sample_file_reruns_its_chunk_and_what_reads_it(synthetic_run):
    face2d = synthetic_run / "results" / "synthetic" / "face2d" / f"{CHUNKS[0][1]}.npz"
    moved = face2d.with_name("moved.tmp")
    face2d.rename(moved)
    try:
        planned = _planned_rules(run_snakemake(synthetic_run, extra=("-n", "--quiet", "rules")))
    finally:
        moved.rename(face2d)
    # the chunk that wrote the file, the same chunk of the stages after it, what reads them all
    for rule in ("face2d_synthetic_0", "cloud3d_synthetic_0", "flow_synthetic_0"):
        assert rule in planned, (rule, sorted(planned))
    assert any(r.startswith("curvature_") and r.endswith("_synthetic_0") for r in planned)
    assert {"excluded_samples", "qc_gallery"} <= planned
    # nothing upstream, no other chunk
    assert not {r for r in planned if r.startswith("ingest_clip_") or r.endswith("_synthetic_1")}


def test_generation_logs_each_sample_once(synthetic_run):
    for subject in (1, 2, 3):
        text = (
            synthetic_run / "results" / "logs" / "generate" / f"subject_{subject}.log"
        ).read_text()
        logged = re.findall(rf"sample (\S+): {SCIENCE_LOG}=", text)
        assert logged == [f"{subject}_1", f"{subject}_2"]
        assert len(re.findall(rf"{JOB_CPU_LOG}=", text)) == 1
