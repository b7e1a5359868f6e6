"""The Snakefile's `onstart`: a local run drops Snakemake's default job rate limit, whose 1-s
timers multiply with every finished job (Snakefile comment); a limit the user sets is kept."""

from __future__ import annotations

import shutil

from .conftest import ROOT, run_snakemake

TARGET = "results/synthetic/photo_landmarks.npy"  # the cheapest job of the default run
DROPPED = "Snakemake's default job rate limit (100 jobs/1 s) is not applied"


def test_default_rate_limit_dropped_on_local_runs(tmp_path):
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    output = run_snakemake(tmp_path, TARGET)
    assert DROPPED in output
    assert (tmp_path / TARGET).is_file()


def test_a_chosen_rate_limit_is_kept(tmp_path):
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    output = run_snakemake(tmp_path, TARGET, extra=("--max-jobs-per-timespan", "50/1s"))
    assert DROPPED not in output
    assert (tmp_path / TARGET).is_file()
