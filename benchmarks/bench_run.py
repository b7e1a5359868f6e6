"""A finished run's cost by stage, from the rules' `benchmark:` files (issue 7 evidence).

For the run in MICROEXP_RUN (default: this checkout; e.g. a work dir of
`snakemake --configfile presets/paper.yaml`) it sums every job's wall and CPU seconds per rule
group (generate, ingest, face2d, cloud3d, lbptop, curvature, classify, fusion, tables), takes
each group's peak resident memory, and reads the run's wall time from its last Snakemake log.
Writes `<out>/run_<label>.json` and `<out>/run_<label>.png` (CPU seconds per stage);
MICROEXP_RUN_LABEL names them (default: the run folder's name).

    MICROEXP_RUN=/tmp/paper MICROEXP_RUN_LABEL=paper python -m benchmarks bench_run
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

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
    summary = {
        "run": str(run.resolve()),
        "wall_s_total": run_wall_seconds(run),
        "jobs": len(jobs),
        "cpu_s_total": float(jobs["cpu_s"].sum()),
        "peak_job_rss_mb": float(jobs["max_rss_mb"].max()),
        "stages": stages.round(2).to_dict(orient="index"),
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
