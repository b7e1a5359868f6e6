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

3. The CAS(ME)^3-size DAG with the real-data stages only: a `generic` sheet of 4,206 RGB-D
   samples (Part A's count; 100 subjects) as the only data set, every experiment, fusion, depth
   flow and Table 12 entry pointed at it, no synthetic set and no spotting (a wrapper Snakefile
   includes the repository's and targets `rule all`'s files outside results/synthetic). Timed as
   (1), with its jobs by stage, and its CPU projected from a finished run's per-sample figures
   (MICROEXP_RUN, default: this checkout; its Snakemake log with the most finished jobs,
   `bench_run.run_jobs`): per stage, science per sample x 4,206 + start-up per job x the
   stage's planned jobs. Classification, fusion, tables and
   Table 12 are not projected (their cost grows with the sweeps and faster than the sample count).

Writes dag.json to `out_dir`. Run: python -m benchmarks bench_dag
(MICROEXP_DAG_ONLY=casme3 runs part 3 alone and writes dag_casme3.json.)
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = 50  # per subject
SUBJECTS = (20, 100)  # 1,000 and 5,000 samples
PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"


def write_generic_sheet(root: Path, samples: list[tuple[int, int]], half_length: int) -> Path:
    """A generic sheet of (subject, video) rows, recordings that need not exist."""
    rows = ["subject\tvideo\tsample\tsource\tonset\tapex\toffset\taus\texpression_type\t"
            "objective_class\temotion"]  # fmt: skip
    for subject, video in samples:
        onset = 100 + 7 * video
        rows.append(
            f"{subject}\t{video}\t{subject}_{video}\trecordings/{subject}/{video}.bag\t"
            f"{onset}\t{onset + half_length}\t{onset + 2 * half_length}\tAU4+AU7\tmicro\tIV\t"
            "disgust"
        )
    sheet = root / "annotations.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def write_sheet(root: Path, subjects: int) -> Path:
    pairs = [(s, v) for s in range(1, subjects + 1) for v in range(1, VIDEOS + 1)]
    return write_generic_sheet(root, pairs, 12)


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


CASME3_SAMPLES = 4206  # CAS(ME)^3 Part A (Li et al. 2022)
CASME3_SUBJECTS = 100
# Stages whose CPU is projected per sample (the rest grow with the sweeps, not the sample count).
PER_SAMPLE_STAGES = ("ingest", "face2d", "cloud3d", "flow", "depth_flow", "lbptop", "curvature")


def write_casme3_sheet(root: Path) -> Path:
    """4,206 rows over 100 subjects, recordings that need not exist (30 fps, CAS(ME)^3's)."""
    pairs = [(i % CASME3_SUBJECTS + 1, i // CASME3_SUBJECTS + 1) for i in range(CASME3_SAMPLES)]
    return write_generic_sheet(root, pairs, 6)


def casme3_config(root: Path) -> dict:
    """config.yaml with the CAS(ME)^3-size sheet as its only data set and every entry on it."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["datasets"] = {
        "casme3": {
            "layout": "generic",
            "root": str(root),
            "annotations": "annotations.tsv",
            "fps": 30,
            "depth": True,
            "duration_rule": "dsme3d",
        }
    }
    for section in ("experiments", "fusion", "deep"):
        for entry in (config.get(section) or {}).values():
            entry["dataset"] = "casme3"
    config["depth_flow"]["datasets"] = ["casme3"]
    config.setdefault("spotting", {})["in_default_run"] = False
    return config


WRAPPER = """include: {snakefile!r}


rule real_data_only:
    default_target: True
    input:
        # named through their rules, as in rule all (a copy of rule all's inputs would not be)
        chunk_job_outputs(),
        [path for path in rules.all.input if not path.startswith("results/synthetic")],
"""


def stage_jobs(output: str) -> dict[str, int]:
    """Planned jobs by stage from a dry run's job-stats table."""
    from benchmarks.bench_run import stage_of_rule

    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    counts: dict[str, int] = {}
    for name, count in re.findall(r"(?m)^(\w+)\s+(\d+)$", table):
        stage = stage_of_rule(name)
        counts[stage] = counts.get(stage, 0) + int(count)
    return counts


def busiest_log(run: Path) -> Path | None:
    """The run's Snakemake log with the most finished jobs: a later, smaller run in the same
    folder (a report, one table) would otherwise hide the per-sample stages."""
    logs = sorted((run / ".snakemake" / "log").glob("*.snakemake.log"))
    counts = [len(re.findall(r"(?m)^Finished job", p.read_text(errors="replace"))) for p in logs]
    return max(zip(counts, logs, strict=True))[1] if logs and max(counts) > 0 else None


def per_sample_figures(run: Path) -> pd.DataFrame:
    """Per stage of a finished run: science CPU per sample and start-up CPU per job (one-sample
    jobs that log no science: the job's CPU after start-up is the sample's)."""
    from benchmarks.bench_run import job_cpu, run_jobs

    jobs = run_jobs(run, busiest_log(run))
    if jobs.empty:
        raise RuntimeError(f"no finished jobs in a Snakemake log under {run}")
    jobs = jobs.assign(cpu_s=job_cpu(jobs))
    rows = {}
    for stage, group in jobs.groupby("stage"):
        if stage not in PER_SAMPLE_STAGES:
            continue
        samples = sum(
            len(re.findall(r"science_cpu_s=", (run / log).read_text(errors="replace")))
            for log in group["log"]
            if isinstance(log, str) and (run / log).is_file()
        )
        if samples:
            science = group["science_cpu_s"].fillna(0).sum() / samples
        else:  # one sample a job
            samples = len(group)
            science = float((group["cpu_s"] - group["startup_cpu_s"].fillna(0)).mean())
        rows[stage] = {
            "measured_samples": samples,
            "measured_jobs": len(group),
            "science_cpu_s_per_sample": float(science),
            "startup_cpu_s_per_job": float(group["startup_cpu_s"].mean()),
        }
    return pd.DataFrame(rows).T


def casme3_dag(tmp: Path, run: Path) -> dict:
    """Part 3: time the CAS(ME)^3-size dry run and project its per-sample CPU."""
    figures = per_sample_figures(run)
    work = tmp / "casme3"
    data = work / "data"
    data.mkdir(parents=True)
    write_casme3_sheet(data)
    (work / "config.yaml").write_text(yaml.safe_dump(casme3_config(data)))
    wrapper = work / "Snakefile"
    wrapper.write_text(WRAPPER.format(snakefile=str(ROOT / "Snakefile")))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(wrapper), "--directory", str(work),
        "--cores", "1", "-n", "--quiet", "rules",
    ]  # fmt: skip
    started, cpu = time.perf_counter(), os.times()
    done = subprocess.run(command, capture_output=True, text=True, cwd=work)
    seconds, after = time.perf_counter() - started, os.times()
    children_cpu = sum(after[2:4]) - sum(cpu[2:4])  # the snakemake process's user + system
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"CAS(ME)^3 dry run failed:\n{output[-4000:]}")
    jobs = stage_jobs(output)
    projected = {}
    for stage in PER_SAMPLE_STAGES:
        if stage not in figures.index or stage not in jobs:
            continue
        row = figures.loc[stage]
        # LBP-TOP and curvature: one job per chunk and setting (or sweep), each a pass over the
        # sample, as in the measured run (its science per sample is per such pass)
        passes = 1.0
        if stage in ("lbptop", "curvature"):
            passes = max(1.0, jobs[stage] / -(-CASME3_SAMPLES // 12))
        science = row["science_cpu_s_per_sample"] * CASME3_SAMPLES * passes
        startup = row["startup_cpu_s_per_job"] * jobs[stage]
        projected[stage] = {
            "jobs": jobs[stage],
            "science_cpu_s": round(float(science)),
            "startup_cpu_s": round(float(startup)),
        }
    total = sum(v["science_cpu_s"] + v["startup_cpu_s"] for v in projected.values())
    return {
        "samples": CASME3_SAMPLES,
        "subjects": CASME3_SUBJECTS,
        "jobs": job_count(output),
        "jobs_by_stage": jobs,
        "dry_run_wall_s": round(seconds, 1),
        "dry_run_cpu_s": round(children_cpu, 1),
        "per_sample_figures_from": str(run.resolve()),
        "per_sample_figures": figures.round(3).to_dict(orient="index"),
        "projected_per_sample_stages": projected,
        "projected_per_sample_cpu_s": total,
        "projected_per_sample_wall_h_on_2_cores": round(total / 2 / 3600, 2),
        "note": "per-sample stages only, at the measured run's clip lengths (CAS(ME)^3 is "
        "30 fps: its micro-expressions have fewer frames, its macro-expressions more)",
    }


def scale_only(out_dir: Path, subjects: int) -> dict:
    """Part 1 at one size (MICROEXP_DAG_ONLY=5000); writes dag_<samples>.json."""
    with tempfile.TemporaryDirectory(prefix="microexp-dag-") as tmp:
        entry = scale_dry_run(Path(tmp), subjects)
    record = {"machine": f"{platform.node()} ({platform.machine()})", "scale": [entry]}
    (out_dir / f"dag_{entry['samples']}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return record


def scale_dry_run(tmp: Path, subjects: int) -> dict:
    """Part 1 at one size: the lab sheet next to the integration synthetic set, timed."""
    integration = ROOT / "tests" / "integration" / "config.yaml"
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
    cpu = os.times()
    output, seconds = snakemake(work, "-n", "--quiet", "rules", *configs)
    after = os.times()
    entry = {
        "samples": subjects * VIDEOS,
        "jobs": job_count(output),
        "dry_run_s": round(seconds, 1),
        "dry_run_cpu_s": round(sum(after[2:4]) - sum(cpu[2:4]), 1),
    }
    print(f"{entry['samples']} samples: {entry['jobs']} jobs, dry run {seconds:.1f} s")
    return entry


def main(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    run = Path(os.environ.get("MICROEXP_RUN", ROOT))
    only = os.environ.get("MICROEXP_DAG_ONLY", "")
    if only == "5000":  # part 1 at 5,000 samples alone
        return scale_only(out_dir, SUBJECTS[-1])
    if only == "casme3":
        with tempfile.TemporaryDirectory(prefix="microexp-dag-") as tmp:
            record = {"machine": f"{platform.node()} ({platform.machine()})"}
            record["casme3"] = casme3_dag(Path(tmp), run)
        (out_dir / "dag_casme3.json").write_text(json.dumps(record, indent=1) + "\n")
        print(json.dumps(record, indent=1))
        return record
    record: dict = {"machine": f"{platform.node()} ({platform.machine()})", "scale": []}
    with tempfile.TemporaryDirectory(prefix="microexp-dag-") as tmp:
        tmp = Path(tmp)
        for subjects in SUBJECTS:
            record["scale"].append(scale_dry_run(tmp, subjects))
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
        record["casme3"] = casme3_dag(tmp, run)
    (out_dir / "dag.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))
    return record


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "bench")
