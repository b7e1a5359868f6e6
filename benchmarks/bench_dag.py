"""Benchmark: the DAG at CAS(ME)^3 scale, and cluster job counts with and without grouping.

1. Writes a `generic`-layout sample sheet of 1,000 and of 5,000 expressions (x 50 videos,
   RealSense recordings that need not exist: a missing source is not an input, the clip job
   records the failure) into a temporary folder, adds it as data set `lab` next to the tiny
   integration synthetic set, and times `snakemake -n` (parse + DAG + dry-run listing) on it:
   the job count and the wall time.
2. Job counts of the default run (config.yaml, nothing built yet): the jobs Snakemake plans
   (`snakemake -n`, each one a SLURM job without groups), and the cluster jobs a SLURM run
   submits with the rules' groups (`sample`, `dataset`) one component per job and packed as
   profiles/slurm/ does (`group-components`; counted from the dry run's group listing).

Writes dag.json to `out_dir`. Run: python -m benchmarks bench_dag
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = 50  # per subject
SUBJECTS = (20, 100)  # 1,000 and 5,000 samples
PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"


def write_sheet(root: Path, subjects: int) -> Path:
    rows = ["subject\tvideo\tsample\tsource\tonset\tapex\toffset\taus\texpression_type\t"
            "objective_class\temotion"]  # fmt: skip
    for subject in range(1, subjects + 1):
        for video in range(1, VIDEOS + 1):
            onset = 100 + 7 * video
            rows.append(
                f"{subject}\t{video}\t{subject}_{video}\trecordings/{subject}/{video}.bag\t"
                f"{onset}\t{onset + 12}\t{onset + 24}\tAU4+AU7\tmicro\tIV\tdisgust"
            )
    sheet = root / "annotations.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def snakemake(workdir: Path, *args: str) -> tuple[str, float]:
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), "--cores", "1", *args,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{output[-4000:]}")
    return output, seconds


def job_count(output: str) -> int:
    match = re.search(r"(?m)^total\s+(\d+)$", output)
    if match is None:
        raise RuntimeError("no job count in the dry-run output")
    return int(match.group(1))


def cluster_jobs(output: str) -> int:
    """SLURM submissions a dry run plans: one per group job, one per job outside a group;
    `rule all` (no code) is never submitted."""
    groups = len(re.findall(r"Group job \S+ \(jobs in lexicogr\. order\)", output))
    alone = re.findall(r"(?m)^(?:local)?rule (\w+):", output)
    return groups + sum(1 for name in alone if name != "all")


def group_settings() -> dict[str, list[str]]:
    """--group-components values: one sample (or data set) per cluster job, and the SLURM
    profile's packing."""
    profile = yaml.safe_load(PROFILE.read_text())["group-components"]
    return {
        "one_component_per_group_job": [f"{group}=1" for group in profile],
        "profiles_slurm": [f"{group}={n}" for group, n in profile.items()],
    }


def main(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    record: dict = {"machine": f"{platform.node()} ({platform.machine()})", "scale": []}
    with tempfile.TemporaryDirectory(prefix="microexp-dag-") as tmp:
        tmp = Path(tmp)
        integration = ROOT / "tests" / "integration" / "config.yaml"
        for subjects in SUBJECTS:
            work = tmp / f"scale{subjects}"
            lab = work / "lab"
            lab.mkdir(parents=True)
            write_sheet(lab, subjects)
            lab_config = work / "lab.yaml"
            lab_config.write_text(
                yaml.safe_dump(
                    {
                        "datasets": {
                            "lab": {
                                "layout": "generic",
                                "root": str(lab),
                                "annotations": "annotations.tsv",
                                "fps": 60,
                                "duration_rule": "dsme3d",
                            }
                        },
                        # the default packing (the integration config's 4 exercises chunks)
                        "jobs": {"samples_per_job": 12},
                    }
                )
            )
            shutil.copy(ROOT / "config.yaml", work / "config.yaml")
            configs = ("--configfile", str(ROOT / "config.yaml"), str(integration), str(lab_config))
            output, seconds = snakemake(work, "-n", "--quiet", "rules", *configs)
            entry = {
                "samples": subjects * VIDEOS,
                "jobs": job_count(output),
                "dry_run_s": round(seconds, 1),
            }
            record["scale"].append(entry)
            print(f"{entry['samples']} samples: {entry['jobs']} jobs, dry run {seconds:.1f} s")
        record["scale_note"] = (
            "generic layout, RealSense recordings not present, plus the 6-sample integration "
            "synthetic set; snakemake -n --quiet rules: parse, sample sheet, DAG, job listing"
        )

        default = tmp / "default"
        default.mkdir()
        shutil.copy(ROOT / "config.yaml", default / "config.yaml")
        output, seconds = snakemake(default, "-n", "--quiet", "rules")
        jobs = job_count(output)
        record["default_run"] = {
            "jobs": jobs,
            "dry_run_s": round(seconds, 1),
            "cluster_jobs_without_groups": jobs - 1,  # every job but `rule all`
        }
        for name, components in group_settings().items():
            output, _ = snakemake(default, "-n", "--group-components", *components)
            record["default_run"][f"cluster_jobs_{name}"] = cluster_jobs(output)
            record["default_run"][f"group_components_{name}"] = " ".join(components)
    (out_dir / "dag.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return record


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "bench")
