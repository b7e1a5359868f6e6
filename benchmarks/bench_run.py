"""A finished run's cost: wall, jobs, CPU by stage and the CPU outside the science; disk.

For the run in MICROEXP_RUN (default: this checkout; e.g. the folder of a `make run`, or the
work dir of `snakemake --configfile presets/paper.yaml`) it reads the run's last Snakemake log
(`.snakemake/log/`): every finished job's rule, start and end, its `log:` and `benchmark:`
files. From each job's log: `startup_cpu_s` (interpreter, Snakemake's script preamble,
imports), each sample's `science_cpu_s` and `job_cpu_s` (the job's whole CPU, logged at exit;
runs before it was logged fall back to the `benchmark:` file's CPU, which misses much of a
short job, or start-up + science, whichever is larger: `cpu_s_exact` says which). It reports
the run's wall (first job start to last job end), the jobs planned and finished, CPU by stage
(`cpu_by_stage`) and the share outside the science. Snakemake's own CPU (scheduling, about a
quarter of a core) is not in any job log: time the `snakemake` command for it.

Disk: the bytes under `results/` by stage (`disk_by_stage`; the raw data set apart), the
number of input frames (the frames the clip files index) and the bytes written per input
frame, against the raw frame (color + depth at the clips' resolution, uncompressed) and the
raw data set's bytes per frame as stored. Writes `<out>/run_<label>.json` and
`<out>/run_<label>.png` (CPU minutes per stage, science and outside; wall against cores);
MICROEXP_RUN_LABEL names them (default: the run folder's name).

Other core counts (`cores_projected`, `project_cores`): the jobs' dependencies are read from the
log (a job needs the jobs whose outputs, or files inside whose output folders, it reads), and
the run's jobs, each with the wall it took in this run, are list-scheduled on 1-32 cores (the
longest chain after a job first), next to two lower bounds no scheduler beats: the critical
path and the summed job walls over the cores. A projection, not a measurement: a job's wall on
another machine, or beside more jobs sharing memory bandwidth, differs; the schedule at the
run's own core count against its measured wall says how far the model is off.

    MICROEXP_RUN=/tmp/paper MICROEXP_RUN_LABEL=paper python -m benchmarks bench_run

It also projects the disk of the default run and the paper preset from the measured one
(`project_disk`: per input frame, per sample and setting); MICROEXP_RUN_CONFIG names the
run's `--configfile`s besides config.yaml (comma-separated; unset for a default run), e.g.
for the integration run:

    MICROEXP_RUN=/tmp/work MICROEXP_RUN_CONFIG=tests/integration/config.yaml \
        python -m benchmarks bench_run
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]

# Benchmark folders (results/benchmarks/<dataset>/<folder>/...) -> stage; `generate` has no
# dataset level. Subfolders (QC pictures, settings, entries) count towards their stage.
_STAGE_OF = {
    "generate": "generate",
    "ingest": "ingest",
    "face2d": "face2d",
    "cloud3d": "cloud3d",
    "flow": "flow",
    "depth_flow": "depth_flow",
    "lbptop": "lbptop",
    "curvature": "curvature",
    "classify": "classify",
    "fusion": "fusion",
    "tables": "tables",
    "spotting": "spotting",
    "table12": "table12",
    "report": "report",
}

# Rule name (prefix) -> stage, for every rule of the workflow; chunk rules are
# <stage>_<dataset>_<k>, per-subject generation synthetic_subject_<subject>. First match wins.
_RULE_STAGES = (
    ("synthetic_", "generate"),
    ("spotting_synthetic_", "generate"),
    ("ingest", "ingest"),
    ("face2d", "face2d"),
    ("cloud3d", "cloud3d"),
    ("depth_flow", "depth_flow"),
    ("flow", "flow"),
    ("lbptop", "lbptop"),
    ("curvature", "curvature"),
    ("classify", "classify"),
    ("fusion", "fusion"),
    ("spotting", "spotting"),
    ("table12", "table12"),
    ("paper_table", "tables"),
    ("excluded_samples", "tables"),
    ("rgbd_table", "tables"),
    ("qc_gallery", "report"),
    ("all", "all"),
)


def stage_of_rule(rule: str) -> str:
    """The stage a rule belongs to (`other` if none)."""
    if rule == "synthetic_figures_gallery":
        return "report"
    for prefix, stage in _RULE_STAGES:
        if rule.startswith(prefix):
            return stage
    return "other"


# Folders directly under results/{dataset}/ -> stage (what wrote them).
_DISK_STAGE_OF = {
    "samples.tsv": "ingest",
    "ingest": "ingest",
    "clips": "ingest",
    "face2d": "face2d",
    "cloud3d": "cloud3d",
    "predictions": "classify",
    "scores": "classify",
    "fusion": "classify",
    "failures": "failures",
    "figures": "generate",  # results/synthetic/figures: the subject pictures
    "raw": "raw",
}
# Folders directly under results/ that are not data sets.
_RESULTS_STAGE_OF = {
    "tables": "tables",
    "figures": "tables",
    "logs": "logs+benchmarks",
    "benchmarks": "logs+benchmarks",
    "bench": "bench",
    "report.html": "report",
}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def disk_by_stage(results: Path) -> dict[str, int]:
    """Bytes under `results` by the stage that wrote them (`raw`: the synthetic data set's
    source files; `bench`: benchmark figures, not part of a run)."""
    sizes: dict[str, int] = {}
    for entry in sorted(results.iterdir()) if results.is_dir() else []:
        if entry.name in _RESULTS_STAGE_OF:
            stage = _RESULTS_STAGE_OF[entry.name]
            sizes[stage] = sizes.get(stage, 0) + _size(entry)
            continue
        if not entry.is_dir():
            sizes["other"] = sizes.get("other", 0) + _size(entry)
            continue
        for part in sorted(entry.iterdir()):  # a data set's folder
            if part.name == "features" and part.is_dir():
                for kind in sorted(part.iterdir()):  # lbptop, curvature
                    sizes[kind.name] = sizes.get(kind.name, 0) + _size(kind)
                continue
            stage = _DISK_STAGE_OF.get(part.name, "other")
            sizes[stage] = sizes.get(stage, 0) + _size(part)
    return sizes


def input_frames(results: Path) -> tuple[int, float | None]:
    """(frames the run's clip files index, bytes of one raw frame: color + 16-bit depth at
    the clips' resolution, uncompressed)."""
    frames, frame_bytes = 0, None
    for path in sorted(results.glob("*/clips/*.npz")):
        with np.load(path) as npz:
            if "ok" in npz.files and not bool(npz["ok"]):
                continue
            frames += len(npz["frame_numbers"])
            intrinsics = json.loads(npz["intrinsics"].item())
        frame_bytes = float(intrinsics["width"] * intrinsics["height"] * (3 + 2))
    return frames, frame_bytes


def raw_bytes_per_frame(results: Path) -> float | None:
    """The synthetic raw data set's bytes per source frame as stored (JPEG + PNG or .db3),
    from its truth files' frame numbers."""
    raw = results / "synthetic" / "raw"
    truths = sorted((raw / "truth").glob("*.npz"))
    if not truths:
        return None
    frames = 0
    for path in truths:
        with np.load(path) as npz:
            frames += len(npz["frame_numbers"])
    return (_size(raw) - _size(raw / "truth")) / frames if frames else None


def disk_summary(results: Path) -> dict:
    """Disk by stage, what the run wrote besides its raw data, and per input frame."""
    sizes = disk_by_stage(results)
    written = sum(v for k, v in sizes.items() if k not in ("raw", "bench"))
    frames, frame_bytes = input_frames(results)
    per_frame = written / frames if frames else None
    return {
        "bytes_by_stage": dict(sorted(sizes.items(), key=lambda kv: -kv[1])),
        "bytes_written_besides_raw": written,
        "input_frames": frames,
        "bytes_written_per_input_frame": per_frame,
        "raw_frame_bytes_uncompressed": frame_bytes,
        "written_per_frame_over_raw_frame": (
            per_frame / frame_bytes if per_frame is not None and frame_bytes else None
        ),
        "raw_bytes_per_frame_as_stored": raw_bytes_per_frame(results),
    }


_TIMESTAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_CPU_KEYS = ("startup_cpu_s", "science_cpu_s", "job_cpu_s")


def snakemake_log(run: Path) -> Path | None:
    """The run's last Snakemake log that planned jobs (has a job-stats table)."""
    for log in sorted((run / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True):
        if re.search(r"(?m)^total\s+\d+\s*$", log.read_text(errors="replace")):
            return log
    return None


def log_cpu(path: Path) -> dict[str, float]:
    """A job log's CPU lines: start-up, the sum of its samples' science, the whole job (NaN
    where the job did not log it: jobs of older runs have no job_cpu_s)."""
    text = path.read_text(errors="replace") if path.is_file() else ""
    found = {}
    for key in _CPU_KEYS:
        values = [float(v) for v in re.findall(rf"{key}=([0-9.]+)", text)]
        found[key] = sum(values) if values else float("nan")
    return found


def run_jobs(run: Path, log: Path | None = None) -> pd.DataFrame:
    """One row per job the Snakemake log says finished: rule, stage, start and end (s after the
    run started), wall s, threads, input and output paths, and the CPU its log and its
    `benchmark:` file report."""
    log = log or snakemake_log(run)
    if log is None:
        return pd.DataFrame()
    lines = log.read_text(errors="replace").splitlines()
    started_at = None
    stamp = None
    jobs: dict[str, dict] = {}
    current: dict | None = None
    for line in lines:
        match = _TIMESTAMP.match(line)
        if match:
            stamp = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
            started_at = started_at or stamp
            continue
        match = re.match(r"^(?:local)?rule (\S+):$", line)
        if match:
            current = {"rule": match.group(1), "start": stamp}
            continue
        if current is not None and line.startswith("    "):  # the job's fields
            key, _, value = line.strip().partition(": ")
            if key in ("log", "benchmark"):
                current[key] = value.split(", ")[0]
            elif key in ("input", "output"):
                current[key] = value.split(", ")
            elif key == "threads":
                current[key] = int(value)
            elif key == "jobid":
                jobs[value] = current
            continue
        current = None
        match = re.match(r"^Finished jobid: (\d+)", line)
        if match and match.group(1) in jobs:
            jobs[match.group(1)]["end"] = stamp
    rows = []
    for jobid, job in jobs.items():
        if "end" not in job or job["rule"] == "all":
            continue
        row = {
            "jobid": int(jobid),
            "rule": job["rule"],
            "stage": stage_of_rule(job["rule"]),
            "start_s": (job["start"] - started_at).total_seconds(),
            "end_s": (job["end"] - started_at).total_seconds(),
            "log": job.get("log"),
            "threads": job.get("threads", 1),
            "input": job.get("input", []),
            "output": job.get("output", []),
        }
        row["wall_s"] = row["end_s"] - row["start_s"]
        row.update(log_cpu(run / job["log"]) if "log" in job else dict.fromkeys(_CPU_KEYS, np.nan))
        bench = run / job["benchmark"] if "benchmark" in job else None
        if bench is not None and bench.is_file():
            row["benchmark_cpu_s"] = float(pd.read_csv(bench, sep="\t")["cpu_time"].iloc[-1])
        else:
            row["benchmark_cpu_s"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def job_cpu(jobs: pd.DataFrame) -> pd.Series:
    """Each job's CPU seconds: what the job logged at its end (exact), else the largest lower
    bound at hand (its benchmark file, which misses much of a short job; its start-up plus
    its samples' science)."""
    floor = jobs[["benchmark_cpu_s", "startup_cpu_s"]].fillna(0).max(axis=1)
    floor = np.maximum(floor, jobs["startup_cpu_s"].fillna(0) + jobs["science_cpu_s"].fillna(0))
    return jobs["job_cpu_s"].where(jobs["job_cpu_s"].notna(), floor)


def cpu_by_stage(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per stage: jobs, summed job wall, CPU (`job_cpu`; `cpu_exact`: every job logged its own),
    start-up, science and CPU outside the science. Science is what the jobs log per sample
    (reading its inputs to writing its outputs); a stage whose jobs log no samples (tables,
    classification...) counts all its work after start-up as science. Outside the science: the
    start-up (interpreter, Snakemake's script preamble, imports) and whatever the job does
    around its samples (models, log and file handling)."""
    jobs = jobs.assign(cpu_s=job_cpu(jobs))
    science = jobs["science_cpu_s"].where(
        jobs["science_cpu_s"].notna(), jobs["cpu_s"] - jobs["startup_cpu_s"].fillna(0)
    )
    jobs = jobs.assign(
        science_s=science.clip(lower=0), outside_s=jobs["cpu_s"] - science.clip(lower=0)
    )
    table = jobs.groupby("stage").agg(
        jobs=("rule", "size"),
        wall_s=("wall_s", "sum"),
        first_start_s=("start_s", "min"),
        last_end_s=("end_s", "max"),
        cpu_s=("cpu_s", "sum"),
        cpu_exact=("job_cpu_s", lambda v: bool(v.notna().all())),
        startup_cpu_s=("startup_cpu_s", "sum"),
        science_cpu_s=("science_s", "sum"),
        outside_science_cpu_s=("outside_s", "sum"),
    )
    return table.sort_values("cpu_s", ascending=False)


def load_config(*files: Path) -> dict:
    """config.yaml merged with presets as `--configfile` does (later files win, mapping by
    mapping), validated against the schema so that its defaults are filled in."""
    import yaml
    from snakemake.utils import validate

    def merge(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    config: dict = {}
    for path in files:
        merge(config, yaml.safe_load(Path(path).read_text()) or {})
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def planned_size(config: dict) -> dict[str, int]:
    """What a config's run holds, known without running it: synthetic samples, their input
    frames (the clips: onset - clip_margin .. offset + clip_margin, drops removed) and the
    LBP-TOP and curvature settings computed per sample."""
    from microexp.learn.entries import feature_settings
    from microexp.synthetic.schedule import SyntheticSettings, plan_samples

    margin = int(config["datasets"]["synthetic"].get("clip_margin", 0))
    frames = 0
    plans = plan_samples(SyntheticSettings.from_config(config))
    for plan in plans:
        numbers = plan.frame_numbers
        lo, hi = plan.expression.onset - margin, plan.expression.offset + margin
        frames += int(((numbers >= lo) & (numbers <= hi)).sum())
    lbptop, curvature = feature_settings(config)
    return {
        "samples": len(plans),
        "input_frames": frames,
        "lbptop_settings": len(lbptop),
        "curvature_settings": len(curvature),
    }


def project_disk(measured: dict[str, int], measured_size: dict, target_size: dict) -> dict:
    """Bytes by stage a target config would write, scaled from a measured run: the clip,
    face2d and cloud3d files (and their QC pictures, PLYs, failure records) per input frame;
    the feature files per sample and setting; everything else (scores, predictions, tables,
    figures, logs) as measured, a floor rather than a projection."""
    frames = target_size["input_frames"] / measured_size["input_frames"]
    samples = target_size["samples"] / measured_size["samples"]
    scale = {
        "ingest": frames,
        "face2d": frames,
        "cloud3d": frames,
        "failures": samples,
        "generate": samples,
        "lbptop": samples
        * target_size["lbptop_settings"]
        / max(measured_size["lbptop_settings"], 1),
        "curvature": samples
        * target_size["curvature_settings"]
        / max(measured_size["curvature_settings"], 1),
    }
    projected = {
        k: int(v * scale.get(k, 1.0)) for k, v in measured.items() if k not in ("bench", "raw")
    }
    written = sum(projected.values())
    return {
        "bytes_by_stage": dict(sorted(projected.items(), key=lambda kv: -kv[1])),
        "bytes_written_besides_raw": written,
        "input_frames": target_size["input_frames"],
        "bytes_written_per_input_frame": written / target_size["input_frames"],
        "scaled_as_measured": sorted(set(projected) - set(scale)),
    }


def job_dependencies(jobs: pd.DataFrame) -> dict[int, set[int]]:
    """For each job, the jobs whose outputs it reads: an input path that is another job's
    output, or lies inside another job's output folder (frame folders, PLY folders)."""
    producer = {}
    for jobid, outputs in zip(jobs["jobid"], jobs["output"], strict=True):
        producer.update(dict.fromkeys(outputs, jobid))
    needs: dict[int, set[int]] = {}
    for jobid, inputs in zip(jobs["jobid"], jobs["input"], strict=True):
        found = set()
        for path in inputs:
            for candidate in (Path(path), *Path(path).parents):
                if str(candidate) in producer:
                    found.add(producer[str(candidate)])
                    break
        found.discard(jobid)
        needs[int(jobid)] = found
    return needs


def _users(needs: dict[int, set[int]]) -> dict[int, list[int]]:
    """For each job, the jobs that need it (``needs`` turned around)."""
    users: dict[int, list[int]] = {job: [] for job in needs}
    for job, before in needs.items():
        for other in before:
            users[other].append(job)
    return users


def critical_path_s(durations: dict[int, float], needs: dict[int, set[int]]) -> dict[int, float]:
    """Each job's bottom level: its duration plus the longest chain of jobs that need it, in
    seconds (the critical path is the largest)."""
    users = _users(needs)
    level: dict[int, float] = {}
    # a job's level needs its users' levels: users first (reverse topological order)
    for job in reversed(_topological_order(needs)):
        level[job] = durations[job] + max((level[u] for u in users[job]), default=0.0)
    return level


def _topological_order(needs: dict[int, set[int]]) -> list[int]:
    waiting = {job: len(before) for job, before in needs.items()}
    users = _users(needs)
    ready = sorted(job for job, count in waiting.items() if count == 0)
    order = []
    while ready:
        job = ready.pop()
        order.append(job)
        for user in users[job]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if len(order) != len(needs):
        raise ValueError("job dependencies form a cycle")
    return order


def list_schedule_s(
    durations: dict[int, float],
    needs: dict[int, set[int]],
    cores: int,
    threads: dict[int, int] | None = None,
) -> float:
    """The wall (s) of running the jobs on ``cores`` cores with the classic critical-path list
    schedule: whenever cores are free, start the ready jobs with the longest chain after them
    first (ties: lower job id); a job takes its ``threads`` (at most ``cores``) for its
    duration. An estimate of what a good scheduler achieves, no Snakemake overhead."""
    threads = threads or {}
    level = critical_path_s(durations, needs)
    waiting = {job: set(before) for job, before in needs.items()}
    users = _users(needs)
    ready = {job for job, before in waiting.items() if not before}
    running: list[tuple[float, int]] = []  # (end, job)
    free, now, done = cores, 0.0, 0
    while done < len(durations):
        for job in sorted(ready, key=lambda j: (-level[j], j)):
            need = min(threads.get(job, 1), cores)
            if need <= free:
                free -= need
                ready.discard(job)
                running.append((now + durations[job], job))
        if not running:
            raise ValueError("no job can start: dependencies on jobs that are not in the run")
        running.sort()
        now, job = running.pop(0)
        free += min(threads.get(job, 1), cores)
        done += 1
        for user in users[job]:
            waiting[user].discard(job)
            if not waiting[user]:
                ready.add(user)
    return now


def project_cores(
    jobs: pd.DataFrame,
    cores: tuple[int, ...] = (1, 2, 4, 8, 16, 32),
    measured_cores: int | None = None,
) -> dict:
    """The run's wall on more (or fewer) cores, from its jobs' measured walls and the
    dependencies between them (`job_dependencies`): the critical-path list schedule
    (`list_schedule_s`), and two lower bounds no scheduler beats, the critical path and the
    summed job walls over the cores. Each job keeps the wall it took in this run (on this
    machine, beside the run's other jobs); the scheduler's own gaps between jobs are left out,
    so `schedule_at_measured_cores_s` against the measured wall says how far off the model is."""
    durations = dict(zip(jobs["jobid"].astype(int), jobs["wall_s"].astype(float), strict=True))
    threads = dict(zip(jobs["jobid"].astype(int), jobs["threads"].astype(int), strict=True))
    needs = job_dependencies(jobs)
    level = critical_path_s(durations, needs)
    path = max(level.values())
    work = sum(durations.values())
    rows = []
    for n in cores:
        core_seconds = sum(durations[j] * min(threads[j], n) for j in durations)
        rows.append(
            {
                "cores": n,
                "list_schedule_s": list_schedule_s(durations, needs, n, threads),
                "lower_bound_s": max(path, core_seconds / n),
            }
        )
    # the chain behind the critical path, first job first
    chain, job = [], max(level, key=level.get)
    users = _users(needs)
    while job is not None:
        chain.append(job)
        job = max(users[job], key=level.get, default=None)
    rules = dict(zip(jobs["jobid"].astype(int), jobs["rule"], strict=True))
    at_measured = (
        list_schedule_s(durations, needs, measured_cores, threads) if measured_cores else None
    )
    return {
        "measured_cores": measured_cores,
        "schedule_at_measured_cores_s": at_measured,
        "critical_path_s": path,
        "critical_path_rules": [rules[j] for j in chain],
        "job_wall_sum_s": work,
        "dependencies": int(sum(len(v) for v in needs.values())),
        "by_cores": rows,
    }


def run_summary(run: Path) -> dict:
    """Wall, jobs and CPU by stage of the finished run in `run` (its last Snakemake log)."""
    log = snakemake_log(run)
    jobs = run_jobs(run, log)
    if jobs.empty:
        return {}
    stages = cpu_by_stage(jobs)
    text = log.read_text(errors="replace")
    planned = re.search(r"(?m)^total\s+(\d+)\s*$", text)
    provided = re.search(r"(?m)^Provided cores: (\d+)", text)
    cpu = float(stages["cpu_s"].sum())
    outside = float(stages["outside_science_cpu_s"].sum())
    return {
        "snakemake_log": str(log),
        # from the first job's start to the last job's end (Snakemake's own parse and DAG
        # before the first job, a few seconds, not included)
        "wall_s": float(jobs["end_s"].max()),
        "jobs_planned": int(planned.group(1)) - 1 if planned else None,  # without `all`
        "jobs_finished": len(jobs),
        "cpu_s": cpu,
        "cpu_s_exact": bool(jobs["job_cpu_s"].notna().all()),
        "science_cpu_s": float(stages["science_cpu_s"].sum()),
        "outside_science_cpu_s": outside,
        "outside_science_share": outside / cpu if cpu else None,
        "startup_cpu_s": float(stages["startup_cpu_s"].sum()),
        # two cores: the wall the CPU needs at best, against the wall taken
        "cpu_s_over_2_cores": cpu / 2,
        "stages": stages.round(2).to_dict(orient="index"),
        # the same jobs on other core counts (list schedule and lower bounds)
        "cores_projected": project_cores(
            jobs, measured_cores=int(provided.group(1)) if provided else None
        ),
    }


def _plot_cores(ax, projected: dict, wall_s: float) -> None:
    """Wall against cores: the list schedule, the lower bound, the measured run."""
    rows = pd.DataFrame(projected["by_cores"])
    ax.plot(rows["cores"], rows["list_schedule_s"] / 60, "o-", label="list schedule (projected)")
    bound = "lower bound: max(critical path, job walls / cores)"
    ax.plot(rows["cores"], rows["lower_bound_s"] / 60, "k--", lw=0.8, label=bound)
    if projected.get("measured_cores"):
        ax.plot([projected["measured_cores"]], [wall_s / 60], "r*", ms=11, label="measured run")
    ax.axhline(projected["critical_path_s"] / 60, color="grey", lw=0.6, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_xticks(rows["cores"], [str(c) for c in rows["cores"]])
    ax.set_xlabel("cores")
    ax.set_ylabel("wall (min)")
    ax.set_ylim(bottom=0)
    ax.set_title(
        f"the same jobs on other core counts; critical path "
        f"{projected['critical_path_s'] / 60:.1f} min",
        fontsize=9,
    )
    ax.legend(fontsize=7)


def main(out_dir: Path) -> dict:
    run = Path(os.environ.get("MICROEXP_RUN", "."))
    label = os.environ.get("MICROEXP_RUN_LABEL", run.resolve().name)
    summary = run_summary(run)
    if not summary:
        print(f"bench_run: no finished jobs in a Snakemake log under {run}/.snakemake/log")
        return {}
    disk = disk_summary(run / "results")
    projections = {}
    # the run's --configfiles besides config.yaml (none: a default run)
    measured_config = os.environ.get("MICROEXP_RUN_CONFIG", "")
    if disk["input_frames"]:
        files = [Path(f) for f in measured_config.split(",") if f]
        measured_size = planned_size(load_config(ROOT / "config.yaml", *files))
        measured_size["input_frames"] = disk["input_frames"] or measured_size["input_frames"]
        for name, extra in (("default", []), ("paper", [ROOT / "presets" / "paper.yaml"])):
            target = planned_size(load_config(ROOT / "config.yaml", *extra))
            projections[name] = project_disk(disk["bytes_by_stage"], measured_size, target)
            projections[name]["planned"] = target
        projections["measured_run_planned"] = measured_size
    summary = {"run": str(run.resolve()), **summary, "disk": disk, "disk_projected": projections}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"run_{label}.json").write_text(json.dumps(summary, indent=1) + "\n")
    stages = pd.DataFrame(summary["stages"]).T
    figure = Figure(figsize=(12.5, 4.2), layout="constrained")
    ax, cores_ax = figure.subplots(1, 2, width_ratios=[1.6, 1])
    names = list(stages.index[::-1])
    science = stages["science_cpu_s"].astype(float)[::-1] / 60
    outside = stages["outside_science_cpu_s"].astype(float)[::-1] / 60
    ax.barh(names, science, color="tab:blue", label="science")
    ax.barh(names, outside, left=science, color="tab:orange", label="outside (start-up, I/O)")
    for y, (value, count) in enumerate(zip(science + outside, stages["jobs"][::-1], strict=True)):
        ax.text(value, y, f" {value:.1f} min, {int(count)} jobs", va="center", fontsize=8)
    ax.set_xlabel("CPU minutes (sum over jobs)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(
        f"{label}: {summary['jobs_finished']} jobs, "
        f"{'' if summary['cpu_s_exact'] else 'at least '}{summary['cpu_s'] / 60:.1f} CPU-min "
        f"({100 * summary['outside_science_share']:.0f} % outside the science), "
        f"wall {summary['wall_s'] / 60:.1f} min",
        fontsize=9,
    )
    _plot_cores(cores_ax, summary["cores_projected"], summary["wall_s"])
    figure.savefig(out_dir / f"run_{label}.png", dpi=110)
    print(
        json.dumps(
            {k: v for k, v in summary.items() if k not in ("disk", "disk_projected")}, indent=1
        )
    )
    return summary
