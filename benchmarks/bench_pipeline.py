"""Stage accuracy against the synthetic truth and stage speed, for a finished run.

Reads `results/synthetic/` of a run (default: the repository's, from `make run`; or
MICROEXP_RUN=/path/to/workdir) and writes `<out>/pipeline_accuracy.tsv` (one row per
sample) and `<out>/pipeline.json` (summary: detection, 2D/3D landmark error, alignment
residual, ICP rotation/translation error, and per-stage CPU seconds per frame from the
rules' `benchmark:` files).

    python -m benchmarks bench_pipeline
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from microexp.testing.accuracy import run_accuracy

#: stage -> folder of its benchmark files under results/benchmarks/
STAGES = {
    "generate": "generate",
    "ingest": "synthetic/ingest",
    "face2d": "synthetic/face2d",
    "cloud3d": "synthetic/cloud3d",
    "lbptop": "synthetic/lbptop",
    "curvature": "synthetic/curvature",
}


def stage_seconds(run: Path, frames: pd.Series) -> dict[str, dict[str, float]]:
    """Mean wall and CPU seconds per job and per frame of each per-sample stage."""
    out = {}
    for stage, folder in STAGES.items():
        files = sorted((run / "results" / "benchmarks" / folder).rglob("*.tsv"))
        if not files:
            continue
        table = pd.concat([pd.read_csv(f, sep="\t").assign(sample=f.stem) for f in files])
        per_frame = table.set_index("sample")["s"] / frames.reindex(table["sample"]).to_numpy()
        out[stage] = {
            "jobs": len(table),
            "wall_s_per_job": float(table["s"].mean()),
            "cpu_s_per_job": float(table["cpu_time"].mean()),
            "wall_ms_per_clip_frame": float(1000 * np.nanmean(per_frame)),
        }
    return out


def main(out_dir: Path) -> dict:
    run = Path(os.environ.get("MICROEXP_RUN", "."))
    results = run / "results" / "synthetic"
    if not (results / "cloud3d").is_dir():
        print(f"bench_pipeline: no finished run under {run}; run `make run` first")
        return {}
    table, failed = run_accuracy(results)
    summary = {
        "run": str(run.resolve()),
        "samples": len(table) + len(failed),
        "failed": failed,
        "frames": int(table["frames"].sum()),
        "landmark_error_px": {
            "mean": float(table["landmark_error_px"].mean()),
            "p95_of_points": float(table["landmark_error_p95_px"].max()),
        },
        "landmark_error_over_iod_mean": float(table["landmark_error_iod"].mean()),
        "redetections": int(table["redetections"].sum()),
        "eye_corner_residual_px_max": float(table["eye_corner_residual_px"].max()),
        "icp_rotation_error_deg": {
            "median": float(table["rotation_error_deg"].median()),
            "max": float(table["rotation_error_deg"].max()),
        },
        "icp_translation_error_mm": {
            "median": float(table["translation_error_mm"].median()),
            "max": float(table["translation_error_mm"].max()),
        },
        "true_rotation_deg_max": float(table["true_rotation_deg"].max()),
        "landmark3d_error_mm_median": float(table["landmark3d_error_mm"].median()),
        "stages": stage_seconds(run, table.set_index("sample")["frames"]),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "pipeline_accuracy.tsv", sep="\t", index=False)
    (out_dir / "pipeline.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary
