"""Run the real workflow on the tiny integration config, once per test session."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_CONFIG = ROOT / "tests" / "integration" / "config.yaml"


def snakemake_command(
    workdir: Path,
    *targets: str,
    configfiles: tuple[Path, ...] = (),
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The snakemake command line of `run_snakemake`."""
    return [
        sys.executable, "-m", "snakemake",
        *targets,
        "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir),
        "--cores", "2",
        *extra,
        "--configfile", str(ROOT / "config.yaml"), str(INTEGRATION_CONFIG), *map(str, configfiles),
    ]  # fmt: skip


def run_snakemake(
    workdir: Path,
    *targets: str,
    configfiles: tuple[Path, ...] = (),
    extra: tuple[str, ...] = (),
) -> str:
    """Run snakemake from the repository's Snakefile in `workdir` on the integration config
    (plus `configfiles`); return its output."""
    command = snakemake_command(workdir, *targets, configfiles=configfiles, extra=extra)
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{output[-6000:]}")
    return output


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory) -> Path:
    """A working directory in which the default target (`rule all`) has been built on the
    tiny integration config."""
    workdir = tmp_path_factory.mktemp("workflow")
    shutil.copy(ROOT / "config.yaml", workdir / "config.yaml")
    run_snakemake(workdir)
    return workdir
