"""A finished run's cost by stage: CPU and wall from the rules' `benchmark:` files, disk from
what the run wrote.

For the run in MICROEXP_RUN (default: this checkout; e.g. a work dir of
`snakemake --configfile presets/paper.yaml`) it sums every job's wall and CPU seconds per rule
group (generate, ingest, face2d, cloud3d, lbptop, curvature, classify, fusion, tables), takes
each group's peak resident memory, and reads the run's wall time from its last Snakemake log.
Disk: the bytes under `results/` by stage (`disk_by_stage`; the raw data set apart), the
number of input frames (the frames the clip files index) and the bytes written per input
frame, against the raw frame (color + depth at the clips' resolution, uncompressed) and the
raw data set's bytes per frame as stored. Writes `<out>/run_<label>.json` and
`<out>/run_<label>.png` (CPU seconds per stage); MICROEXP_RUN_LABEL names them (default: the
run folder's name).

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
    "lbptop": "lbptop",
    "curvature": "curvature",
    "classify": "classify",
    "fusion": "fusion",
    "tables": "tables",
}


def job_table(run: Path) -> pd.DataFrame:
    """One row per benchmark file: stage, wall s, CPU s, max RSS (MB)."""
    rows = []
    root = run / "results" / "benchmarks"
    for path in sorted(root.rglob("*.tsv")):
        parts = path.relative_to(root).parts
        folder = parts[0] if parts[0] == "generate" else (parts[1] if len(parts) > 2 else "")
        stage = _STAGE_OF.get(folder, folder or "other")
        table = pd.read_csv(path, sep="\t")
        rows.append(
            {
                "stage": stage,
                "file": str(path.relative_to(root)),
                "wall_s": float(table["s"].iloc[-1]),
                "cpu_s": float(table["cpu_time"].iloc[-1]),
                "max_rss_mb": float(table["max_rss"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


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


def logged_seconds(run: Path, key: str) -> dict[str, float]:
    """Sums of the `<key>=<seconds>` lines of the jobs' logs, by stage: `science_cpu_s`, each
    sample's CPU in the per-sample stages (from reading its inputs to writing its outputs);
    `startup_cpu_s`, each job's CPU before its work (interpreter, Snakemake's script
    preamble, imports)."""
    pattern = re.compile(rf"{key}=([0-9.]+)")
    totals: dict[str, float] = {}
    root = run / "results" / "logs"
    for path in sorted(root.rglob("*.log")) if root.is_dir() else []:
        parts = path.relative_to(root).parts
        folder = parts[0] if parts[0] == "generate" else (parts[1] if len(parts) > 2 else "")
        stage = _STAGE_OF.get(folder, folder or "other")
        seconds = sum(float(m) for m in pattern.findall(path.read_text(errors="replace")))
        if seconds:
            totals[stage] = totals.get(stage, 0.0) + seconds
    return totals


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


def run_job_count(run: Path) -> int | None:
    """Jobs of the last Snakemake run that has a job-stats table ("total N"): every job,
    those without a `benchmark:` file included."""
    for log in sorted((run / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True):
        match = re.search(r"(?m)^total\s+(\d+)\s*$", log.read_text())
        if match:
            return int(match.group(1))
    return None


def run_wall_seconds(run: Path) -> float | None:
    """ "Elapsed time" of the last Snakemake log of the run that has one."""
    for log in sorted((run / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True):
        match = re.search(r"Elapsed time: (\d+):(\d+):(\d+(?:\.\d+)?)", log.read_text())
        if match:
            h, m, s = match.groups()
            return int(h) * 3600 + int(m) * 60 + float(s)
    return None


def main(out_dir: Path) -> dict:
    run = Path(os.environ.get("MICROEXP_RUN", "."))
    label = os.environ.get("MICROEXP_RUN_LABEL", run.resolve().name)
    jobs = job_table(run)
    if jobs.empty:
        print(f"bench_run: no benchmark files under {run}/results/benchmarks")
        return {}
    disk = disk_summary(run / "results")
    order = list(dict.fromkeys([*_STAGE_OF.values(), *jobs["stage"]]))
    stages = (
        jobs.groupby("stage")
        .agg(
            jobs=("file", "size"),
            wall_s=("wall_s", "sum"),
            cpu_s=("cpu_s", "sum"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .reindex([s for s in order if s in set(jobs["stage"])])
    )
    # Snakemake's benchmark samples a job's CPU now and then, so short jobs are undercounted;
    # the jobs' own log lines (time.process_time) are exact
    science = logged_seconds(run, "science_cpu_s")
    startup = logged_seconds(run, "startup_cpu_s")
    stages["science_cpu_s"] = [science.get(stage, float("nan")) for stage in stages.index]
    stages["startup_cpu_s"] = [startup.get(stage, float("nan")) for stage in stages.index]
    per_sample = stages["science_cpu_s"].notna() & stages["startup_cpu_s"].notna()
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
    summary = {
        "run": str(run.resolve()),
        "wall_s_total": run_wall_seconds(run),
        "jobs": run_job_count(run),
        "jobs_with_benchmark_files": len(jobs),
        "cpu_s_total": float(jobs["cpu_s"].sum()),
        # the per-sample stages (their jobs log start-up and each sample's CPU): the share of
        # start-up (interpreter, preamble, imports) in start-up + science
        "per_sample_stages_science_cpu_s": float(stages.loc[per_sample, "science_cpu_s"].sum()),
        "per_sample_stages_startup_cpu_s": float(stages.loc[per_sample, "startup_cpu_s"].sum()),
        "peak_job_rss_mb": float(jobs["max_rss_mb"].max()),
        "stages": stages.round(2).to_dict(orient="index"),
        "disk": disk,
        "disk_projected": projections,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"run_{label}.json").write_text(json.dumps(summary, indent=1) + "\n")
    figure = Figure(figsize=(7, 3.8), layout="constrained")
    ax = figure.add_subplot()
    ax.barh(stages.index[::-1], stages["cpu_s"][::-1] / 60, color="tab:blue")
    for y, (value, count) in enumerate(
        zip(stages["cpu_s"][::-1], stages["jobs"][::-1], strict=True)
    ):
        ax.text(value / 60, y, f" {value / 60:.1f} min, {count} jobs", va="center", fontsize=8)
    wall = summary["wall_s_total"]
    ax.set_xlabel("CPU minutes (sum over jobs)")
    ax.set_title(
        f"{label}: {len(jobs)} jobs, {summary['cpu_s_total'] / 60:.1f} CPU-min"
        + (f", wall {wall / 60:.1f} min" if wall else ""),
        fontsize=10,
    )
    figure.savefig(out_dir / f"run_{label}.png", dpi=110)
    print(json.dumps(summary, indent=1))
    return summary
