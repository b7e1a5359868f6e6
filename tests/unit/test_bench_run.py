"""bench_run reads a finished run from its Snakemake log and its jobs' logs: wall, jobs, CPU by
stage and the CPU outside the science, checked on a hand-written run with known figures."""

from __future__ import annotations

import math

import pytest

from benchmarks.bench_run import (
    cpu_by_stage,
    critical_path_s,
    job_dependencies,
    list_schedule_s,
    run_jobs,
    run_summary,
    stage_of_rule,
)

SNAKEMAKE_LOG = """Building DAG of jobs...
Provided cores: 2
Job stats:
job                      count
---------------------  -------
all                          1
face2d_synthetic_0           1
flow_synthetic_0             1
classify_radius              1
total                        4

Select jobs to execute...
Execute 2 jobs...
[Sun Dec  6 05:00:00 2026]
localrule face2d_synthetic_0:
    input: results/synthetic/clips/1_1.json
    output: results/synthetic/face2d/1_1.npz, results/synthetic/qc/face2d
    log: results/logs/synthetic/face2d/chunk_0.log
    jobid: 3
    benchmark: results/benchmarks/synthetic/face2d/chunk_0.tsv
    reason: Missing output files
Shell command: None
[Sun Dec  6 05:00:00 2026]
localrule classify_radius:
    log: results/logs/synthetic/classify/radius.log
    jobid: 5
    benchmark: results/benchmarks/synthetic/classify/radius.tsv
Shell command: None
[Sun Dec  6 05:00:10 2026]
Finished jobid: 3 (Rule: face2d_synthetic_0)
1 of 4 steps (25%) done
[Sun Dec  6 05:00:10 2026]
localrule flow_synthetic_0:
    input: results/synthetic/face2d/1_1.npz, results/synthetic/qc/face2d/1_1.png
    output: results/synthetic/flow/1_1.npz
    log: results/logs/synthetic/flow/chunk_0.log
    jobid: 4
Shell command: None
[Sun Dec  6 05:00:40 2026]
Finished jobid: 5 (Rule: classify_radius)
[Sun Dec  6 05:01:00 2026]
Finished jobid: 4 (Rule: flow_synthetic_0)
"""

BENCHMARK = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


@pytest.fixture
def run(tmp_path):
    (tmp_path / ".snakemake" / "log").mkdir(parents=True)
    (tmp_path / ".snakemake" / "log" / "2026-12-06T050000.snakemake.log").write_text(SNAKEMAKE_LOG)
    logs = tmp_path / "results" / "logs" / "synthetic"
    for folder in ("face2d", "flow", "classify"):
        (logs / folder).mkdir(parents=True)
    # face2d: an old-style log (no job_cpu_s): its benchmark file says 5, start-up + science 8
    (logs / "face2d" / "chunk_0.log").write_text(
        "x startup_cpu_s=1.000\nx sample 1_1: science_cpu_s=3.000\n"
        "x sample 1_2: science_cpu_s=4.000\n"
    )
    bench = tmp_path / "results" / "benchmarks" / "synthetic" / "face2d"
    bench.mkdir(parents=True)
    (bench / "chunk_0.tsv").write_text(BENCHMARK + "10\t0:00:10\t1\t1\t1\t1\t0\t0\t50\t5.0\n")
    (logs / "flow" / "chunk_0.log").write_text(
        "x startup_cpu_s=2.000\nx sample 1_1: science_cpu_s=20.000\nx job_cpu_s=25.000\n"
    )
    (logs / "classify" / "radius.log").write_text("x startup_cpu_s=3.000\nx job_cpu_s=33.000\n")
    return tmp_path


def test_jobs_their_wall_and_cpu(run):
    jobs = run_jobs(run).set_index("rule")
    assert jobs.loc["face2d_synthetic_0", ["start_s", "end_s", "wall_s"]].tolist() == [0, 10, 10]
    assert jobs.loc["flow_synthetic_0", ["start_s", "end_s", "wall_s"]].tolist() == [10, 60, 50]
    assert jobs.loc["classify_radius", "wall_s"] == 40
    assert jobs.loc["face2d_synthetic_0", "benchmark_cpu_s"] == 5.0
    assert jobs.loc["face2d_synthetic_0", "science_cpu_s"] == 7.0
    assert math.isnan(jobs.loc["face2d_synthetic_0", "job_cpu_s"])
    assert math.isnan(jobs.loc["flow_synthetic_0", "benchmark_cpu_s"])  # none declared


def test_cpu_by_stage_and_outside_the_science(run):
    stages = cpu_by_stage(run_jobs(run))
    # face2d: no job CPU logged, the larger of benchmark (5) and start-up + science (8)
    assert stages.loc["face2d", "cpu_s"] == 8.0 and not stages.loc["face2d", "cpu_exact"]
    assert stages.loc["face2d", "outside_science_cpu_s"] == 1.0
    # flow: 25 logged, 20 science: 5 outside (2 start-up, 3 around the samples)
    assert stages.loc["flow", "cpu_s"] == 25.0 and stages.loc["flow", "cpu_exact"]
    assert stages.loc["flow", "outside_science_cpu_s"] == 5.0
    # classify logs no samples: its work after start-up is its science
    assert stages.loc["classify", "science_cpu_s"] == 30.0
    assert stages.loc["classify", "outside_science_cpu_s"] == 3.0


def test_summary(run):
    summary = run_summary(run)
    assert summary["wall_s"] == 60
    assert summary["jobs_planned"] == 3 and summary["jobs_finished"] == 3
    assert summary["cpu_s"] == 8 + 25 + 33
    assert summary["outside_science_cpu_s"] == 1 + 5 + 3
    assert not summary["cpu_s_exact"]


def test_dependencies_from_the_jobs_inputs_and_outputs(run):
    jobs = run_jobs(run)
    # flow reads face2d's file and a file inside face2d's output folder; the clip file is no
    # job's output (made before this run)
    assert job_dependencies(jobs) == {3: set(), 5: set(), 4: {3}}
    assert jobs.set_index("rule").loc["face2d_synthetic_0", "threads"] == 1


def test_cores_projection_of_the_run(run):
    projected = run_summary(run)["cores_projected"]
    # face2d (10 s) -> flow (50 s); classify (40 s) alone
    assert projected["critical_path_s"] == 60
    assert projected["critical_path_rules"] == ["face2d_synthetic_0", "flow_synthetic_0"]
    assert projected["measured_cores"] == 2
    assert projected["schedule_at_measured_cores_s"] == 60
    by_cores = {row["cores"]: row for row in projected["by_cores"]}
    assert by_cores[1]["list_schedule_s"] == 100 and by_cores[1]["lower_bound_s"] == 100
    assert by_cores[4]["list_schedule_s"] == 60 and by_cores[4]["lower_bound_s"] == 60


def test_list_schedule_by_hand():
    # a (3 s) and b (2 s) before d (1 s); c (2 s) alone
    durations = {1: 3.0, 2: 2.0, 3: 2.0, 4: 1.0}
    needs = {1: set(), 2: set(), 3: set(), 4: {1, 2}}
    assert critical_path_s(durations, needs) == {1: 4.0, 2: 3.0, 3: 2.0, 4: 1.0}
    # 1 core: everything in turn; 2 cores: a, b at 0, c at 2 (b done), d at 3 (a done) -> 4
    assert [list_schedule_s(durations, needs, n) for n in (1, 2, 3)] == [8.0, 4.0, 4.0]


def test_list_schedule_starts_the_longest_chain_first():
    # Jobs 1 and 2 (5 s each) have lower ids than the chain 3 (1 s) -> 4 (10 s): starting by id
    # would finish at 16 s on 2 cores; the chain first finishes at 11 s.
    durations = {1: 5.0, 2: 5.0, 3: 1.0, 4: 10.0}
    needs = {1: set(), 2: set(), 3: set(), 4: {3}}
    assert list_schedule_s(durations, needs, 2) == 11.0


def test_list_schedule_gives_a_job_its_threads():
    # a 2-thread job (4 s) cannot share 2 cores: 4 + 3 s; on 3 cores the two run together
    durations, needs = {1: 4.0, 2: 3.0}, {1: set(), 2: set()}
    assert list_schedule_s(durations, needs, 2, threads={1: 2}) == 7.0
    assert list_schedule_s(durations, needs, 3, threads={1: 2}) == 4.0
    # more threads than cores: the job takes all of them
    assert list_schedule_s(durations, needs, 1, threads={1: 2}) == 7.0


@pytest.mark.parametrize(
    ("rule", "stage"),
    [
        ("synthetic_subject_3", "generate"),
        ("spotting_synthetic_video", "generate"),
        ("synthetic_figures_gallery", "report"),
        ("ingest_clip_lab_12", "ingest"),
        ("ingest_samples", "ingest"),
        ("flow_synthetic_0", "flow"),
        ("depth_flow_synthetic_0", "depth_flow"),
        ("lbptop_radius_synthetic_1", "lbptop"),
        ("curvature_rc6_rs15_eh0_01_ek0_0001_d5_m20_synthetic_5", "curvature"),
        ("fusion_table11", "fusion"),
        ("fusion_table11_emotion_dsme3d_kfold", "fusion"),
        ("fusion_table11_all", "fusion"),
        ("spotting_method", "spotting"),
        ("paper_table", "tables"),
        ("table12", "table12"),
    ],
)
def test_stage_of_rule(rule, stage):
    assert stage_of_rule(rule) == stage
