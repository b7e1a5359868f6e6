"""The integration config through a real SLURM cluster equals the local run, file for file.

`make test-slurm` starts a one-node cluster (tools/slurm/local_cluster.py), exports SLURM_CONF
and MICROEXP_SLURM_TEST=1, and runs this module; elsewhere it is skipped. The SLURM run uses
tests/slurm/profile/ (profiles/slurm/ with the test cluster's partition and squeue status
queries); per-sample chains are packed into group jobs. Both runs go at once (the SLURM run
waits much of its time). Wall times and job counts go to
results/bench/slurm_test.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

from .compare import result_files, tree_differences

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.environ.get("MICROEXP_SLURM_TEST") != "1",
        reason="needs a SLURM cluster: make test-slurm",
    ),
]

PROFILE = ROOT / "tests" / "slurm" / "profile"
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+)")


def start(workdir: Path, configs: tuple[Path, ...], *extra: str) -> subprocess.Popen:
    """Start the default target in `workdir` on `configs` (output to workdir/snakemake.out)."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), "--cores", "2", *extra,
        "--configfile", *map(str, configs),
    ]  # fmt: skip
    with open(workdir / "snakemake.out", "w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)


def wait_all(processes: dict[str, subprocess.Popen], started: float) -> dict[str, float]:
    """Wait for every process; each one's wall time from `started`."""
    ended: dict[str, float] = {}
    while len(ended) < len(processes):
        for name, process in processes.items():
            if name not in ended and process.poll() is not None:
                ended[name] = time.perf_counter() - started
        time.sleep(0.5)
    return ended


def output_of(process: subprocess.Popen, workdir: Path) -> str:
    """A finished run's output; raises with it (and the last SLURM job logs) if it failed."""
    output = (workdir / "snakemake.out").read_text()
    if process.returncode != 0:
        logs = sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
        tails = "".join(f"\n== {p}\n" + p.read_text()[-3000:] for p in logs[-3:])
        raise AssertionError(f"snakemake failed ({process.returncode}):\n{output[-6000:]}{tails}")
    return output


def test_cluster_is_up():
    state = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True,
                           timeout=30)  # fmt: skip
    assert state.returncode == 0, state.stderr
    assert re.search(r"\b(idle|mix|alloc)", state.stdout), state.stdout


def test_slurm_run_equals_local_run(tmp_path):
    # One snapshot of the configs for both runs: the working tree may change meanwhile.
    configs = []
    for source in (ROOT / "config.yaml", ROOT / "tests" / "integration" / "config.yaml"):
        configs.append(tmp_path / f"{len(configs)}_{source.name}")
        shutil.copy(source, configs[-1])
    # Both at once: the SLURM run spends much of its time waiting (job start-up, status
    # polls), the local run fills those gaps on the same 2 cores.
    started, processes = time.perf_counter(), {}
    for name, extra in (("slurm", ("--profile", str(PROFILE))), ("local", ())):
        workdir = tmp_path / name
        workdir.mkdir()
        shutil.copy(configs[0], workdir / "config.yaml")
        processes[name] = (workdir, start(workdir, tuple(configs), *extra))
    try:
        seconds = wait_all({name: process for name, (_, process) in processes.items()}, started)
        runs = {
            name: (workdir, output_of(process, workdir), seconds[name])
            for name, (workdir, process) in processes.items()
        }
    finally:
        for _, process in processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)

    slurm_dir, slurm_output, slurm_seconds = runs["slurm"]
    local_dir, _, local_seconds = runs["local"]
    submitted = SUBMITTED.findall(slurm_output)
    log_dir = slurm_dir / ".snakemake" / "slurm_logs"
    logs = list(log_dir.rglob("*.log"))  # one per SLURM job: <rule or group>/.../<id>.log
    group_jobs = [p for p in logs if p.relative_to(log_dir).parts[0].startswith("group_")]
    differences = tree_differences(local_dir / "results", slurm_dir / "results")
    compared = len(result_files(local_dir / "results"))
    record = {
        "slurm_run_s": round(slurm_seconds, 1),
        "local_run_s": round(local_seconds, 1),
        "runs": "concurrent, on the same 2 cores",
        "slurm_jobs_submitted": len(submitted),
        "of_which_group_jobs": len(group_jobs),
        "files_compared": compared,
        "files_differing": len(differences),
    }
    bench = ROOT / "results" / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    (bench / "slurm_test.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record))

    # The cluster did the work: jobs went through sbatch, per-sample chains as group jobs.
    assert submitted, "no job was submitted to SLURM"
    assert len(logs) == len({slurm_id for _, slurm_id in submitted}) == len(submitted)
    assert group_jobs, "no group job: the per-sample rules were not packed"
    assert compared > 0
    assert not differences, "SLURM and local results differ:\n" + "\n".join(
        f"  {path}: {why}" for path, why in sorted(differences.items())
    )
