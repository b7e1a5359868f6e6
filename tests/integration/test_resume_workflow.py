"""A run killed with SIGKILL midway (power loss, an out-of-memory kill, a cancelled cluster job)
resumes, after ``snakemake --unlock``, with ``--rerun-incomplete`` to the tables of a clean run
(README "After a crash").

To stay cheap the killed run starts from a copy of the session's finished run with everything
from the features on removed (the synthetic data, clips and face stages are reused): it is
killed after some of the remaining jobs have finished, while others are running.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from .conftest import run_snakemake, snakemake_command

pytestmark = pytest.mark.integration

# What the killed run recomputes (and the clean run's copy loses).
RECOMPUTED = ("features", "predictions", "scores", "fusion")
STEPS = re.compile(r"(\d+) of (\d+) steps")


def _copy_without_downstream(source: Path, target: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        if Path(folder) == source / "results" / "synthetic":
            return {n for n in names if n in RECOMPUTED}
        if Path(folder) == source / "results":
            return {"tables", "figures"}
        return set()

    shutil.copytree(source, target, symlinks=True, ignore=ignore)  # keeps mtimes (copy2)


def _kill_midway(work: Path, timeout_s: float = 1800) -> tuple[int, int]:
    """Start the default target, SIGKILL snakemake and its jobs once a third of the steps are
    done (no cleanup: as on power loss); return (steps done, steps)."""
    log = work / "killed.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            snakemake_command(work),
            cwd=work,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the jobs die with it
        )
    started = time.monotonic()
    try:
        while True:
            found = STEPS.findall(log.read_text(errors="replace"))
            if found:
                done, total = map(int, found[-1])
                if done >= max(2, total // 3):
                    break
            if process.poll() is not None:
                raise AssertionError(
                    f"the run ended before it could be killed:\n{log.read_text()[-3000:]}"
                )
            if time.monotonic() - started > timeout_s:
                raise AssertionError(f"no progress to kill at:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert done < total, (done, total)
    return done, total


def _tables(root: Path) -> dict[str, bytes]:
    folder = root / "results" / "tables"
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.suffix in (".tsv", ".md", ".tex")
    }


def test_a_killed_run_resumes_to_the_tables_of_a_clean_run(synthetic_run, tmp_path):
    work = tmp_path / "killed"
    _copy_without_downstream(synthetic_run, work)
    done, total = _kill_midway(work)

    # What a user sees first: the dead run's lock is still there.
    retry = subprocess.run(
        snakemake_command(work, extra=("--rerun-incomplete",)),
        cwd=work, capture_output=True, text=True,
    )  # fmt: skip
    assert retry.returncode != 0
    assert "Directory cannot be locked" in retry.stdout + retry.stderr

    run_snakemake(work, extra=("--unlock",))
    resumed = run_snakemake(work, extra=("--rerun-incomplete",))
    resumed_steps = [tuple(map(int, m)) for m in STEPS.findall(resumed)]
    assert resumed_steps and resumed_steps[-1][0] == resumed_steps[-1][1]
    # The resumed run did the rest, not everything again.
    assert resumed_steps[-1][1] <= total - done + 2, (done, total, resumed_steps[-1])

    clean, after = _tables(synthetic_run), _tables(work)
    assert clean and sorted(after) == sorted(clean)
    for name, content in clean.items():
        assert after[name] == content, name
    predictions = sorted((synthetic_run / "results/synthetic/predictions").rglob("*.parquet"))
    assert predictions
    for path in predictions:
        twin = work / path.relative_to(synthetic_run)
        pd.testing.assert_frame_equal(pd.read_parquet(twin), pd.read_parquet(path))
    # And nothing is left to do.
    again = run_snakemake(work, extra=("--dry-run",))
    assert "Nothing to be done" in again, again[-2000:]
