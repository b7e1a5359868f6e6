"""Benchmark: CPU per sample of the frame stages' jobs (face2d, LBP-TOP at DSME-3D's 12 radii,
curvature) and of their imports, each step next to the way it was done before issue 13's cuts.

Reads the per-sample files of a run (MICROEXP_RUN, default: this checkout; e.g. the folder of
an integration or default run with `results/synthetic/{clips,face2d,cloud3d}`), and for every
sample with all three files times with ``time.process_time``, in rounds that alternate the
former and the current way (the machine is shared; CPU time, not wall):

- face2d: reading the clip with depth (former: depth decoded, or registered for a recording,
  then unused) and color only (``load_clip(depth=False)``); tracking, alignment and crop
  (``process_clip``, unchanged); the npz; the QC picture through ``fig.savefig`` (RGBA, zlib
  level 6) and through ``save_figure_png`` (RGB, level 1; the same pixels, checked here);
- LBP-TOP, per setting, for the 12 radius settings of Table 6 ((R, R, Rt), R 1-4, Rt 2-4, P 8,
  u2, nearest): the code pass and integral histograms (unchanged), and writing the integral
  file with the per-pixel counts differenced once per plane (former: three times) at zlib
  level 6 (former, ``np.savez_compressed``) and level 1 (current; the same arrays, checked
  here), with the file sizes;
- curvature: descriptors and file (unchanged; for scale);
- imports of each job's script in a fresh interpreter, with pandas added for the former clip
  readers (``microexp.io.exceptions`` imported it) and scipy.spatial plus the curvature module
  for the former LBP-TOP jobs (``microexp.features`` imported them).

Writes frame_stages.json (everything) and frame_stages.tsv (mean CPU-s per sample, setting
or job, former and current; file sizes in MB) to `out_dir`. The machine is shared: figures
are indicative.

Run: MICROEXP_RUN=<run folder> python -m benchmarks bench_frame_stages
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
from PIL import Image

from microexp.cloud3d.result import load_cloud3d
from microexp.face2d import qc
from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.result import load_face2d, save_face2d
from microexp.face2d.stage import Face2DParams, process_clip
from microexp.features.blocks import _smallest_unsigned, save_integral
from microexp.features.sample import (
    CurvatureSetting,
    LbptopSetting,
    curvature_features,
    lbptop_integral,
    save_curvature,
)
from microexp.io.clips import load_clip

ROUNDS = 3
RADII = tuple((r, r, t) for r in range(1, 5) for t in range(2, 5))
CURVATURE = {"radius_curv_mm": 6, "radius_sphere_mm": 15, "eps_H": 0.01, "eps_K": 0.0001}
CURVATURE_LANDMARKS = (17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 36, 39, 42, 45, 30, 31, 35, 48, 54)
CURVATURE_LANDMARKS += (51, 57, 50, 52)
# What each job's script imports (workflow/scripts/), and what the former package layout
# added on top of it.
JOB_IMPORTS = {
    "ingest": ("microexp.failures", "microexp.io.clips", "microexp.runlog"),
    "face2d": (
        "microexp.face2d.detector", "microexp.face2d.qc", "microexp.face2d.result",
        "microexp.face2d.stage", "microexp.failures", "microexp.io.clips",
        "microexp.report.pictures", "microexp.runlog",
    ),
    "lbptop": (
        "microexp.face2d.result", "microexp.failures", "microexp.features.blocks",
        "microexp.features.sample", "microexp.runlog",
    ),
}  # fmt: skip
FORMER_IMPORTS = {
    "ingest": ("pandas",),
    "face2d": ("pandas",),
    "lbptop": ("scipy.spatial", "microexp.features.curvature"),
}


def _cpu(step: Callable[..., object], *args: object) -> tuple[float, object]:
    started = time.process_time()
    value = step(*args)
    return time.process_time() - started, value


def _former_save_integral(path: Path, integral) -> None:
    """save_integral as it was: counts differenced for each plane's access, zlib level 6."""
    np.savez_compressed(
        path,
        counts_xy=_smallest_unsigned(integral.counts[0]),
        counts_xt=_smallest_unsigned(integral.counts[1]),
        counts_yt=_smallest_unsigned(integral.counts[2]),
        time_bounds=integral.time_bounds,
        meta=np.array(json.dumps({"radii": list(integral.radii)})),
    )


def _same_arrays(a: Path, b: Path) -> bool:
    with np.load(a) as x, np.load(b) as y:
        return all(np.array_equal(x[k], y[k]) for k in ("counts_xy", "counts_xt", "counts_yt"))


def _qc(color, result, path: Path, former: bool) -> None:
    saver = qc.save_figure_png
    if former:
        qc.save_figure_png = lambda fig, target, dpi: fig.savefig(target, dpi=dpi)
    try:
        qc.plot_face2d_qc(color, result, path, "benchmark")
    finally:
        qc.save_figure_png = saver


def _read_clip(path: Path, depth: bool):
    return load_clip(path, depth=depth)


def _process(clip, settings: Face2DParams, detector: LandmarkDetector):
    return process_clip(clip.color, clip.onset, clip.apex, settings, detector=detector)


def _import_cpu(modules: tuple[str, ...]) -> float:
    code = (
        "import time\nimport " + "\nimport ".join(modules)
        + "\nprint(time.process_time())"
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return float(done.stdout.strip().splitlines()[-1])


def _samples(run: Path) -> list[str]:
    base = run / "results" / "synthetic"
    names = sorted(p.stem for p in (base / "clips").glob("*.npz"))
    keep = []
    for name in names:
        paths = [base / stage / f"{name}.npz" for stage in ("face2d", "cloud3d")]
        if all(p.is_file() for p in paths):
            with np.load(paths[0]) as data:
                if "ok" not in data.files or bool(data["ok"]):
                    keep.append(name)
    return keep


def main(out_dir: str | os.PathLike[str] = "results/bench") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = Path(os.environ.get("MICROEXP_RUN", ".")).resolve()
    samples = _samples(run)
    if not samples:
        raise SystemExit(
            f"bench_frame_stages: no sample with clip, face2d and cloud3d files under {run}/"
            "results/synthetic; set MICROEXP_RUN to a run's folder"
        )
    os.chdir(run)  # clip files name their sources relative to the run's folder
    base = Path("results/synthetic")
    settings = Face2DParams()
    detector = LandmarkDetector(upsample=settings.tracking.detector_upsample)
    lbp_settings = [LbptopSetting(radii=r) for r in RADII]
    curv_setting = CurvatureSetting.from_config(CURVATURE)
    rows: dict[str, list[float]] = {}
    facts: dict[str, object] = {"samples": samples, "rounds": ROUNDS}
    frames = 0

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        for round_index in range(ROUNDS):
            for name in samples:
                clip_path = base / "clips" / f"{name}.npz"
                # face2d: former and current ways alternate within each sample
                order = (True, False) if round_index % 2 == 0 else (False, True)
                for former in order:
                    tag = "former" if former else "current"
                    seconds, clip = _cpu(_read_clip, clip_path, former)
                    add(f"face2d read clip [{tag}]", seconds)
                    stored = load_face2d(base / "face2d" / f"{name}.npz")
                    picture = tmp_dir / f"{name}_{tag}.png"
                    seconds, _ = _cpu(_qc, clip.color, stored, picture, former)
                    add(f"face2d QC picture [{tag}]", seconds)
                if round_index == 0:
                    frames += len(clip.color)
                    former_px = np.asarray(Image.open(tmp_dir / f"{name}_former.png"))
                    current_px = np.asarray(Image.open(tmp_dir / f"{name}_current.png"))
                    facts.setdefault("qc_same_pixels", []).append(
                        bool(np.array_equal(former_px[..., :3], current_px))
                        and bool((former_px[..., 3] == 255).all())
                    )
                seconds, result = _cpu(_process, clip, settings, detector)
                add("face2d process_clip", seconds)
                seconds, _ = _cpu(save_face2d, tmp_dir / "f.npz", result)
                add("face2d npz", seconds)

                # LBP-TOP, 12 radius settings, per setting
                face = load_face2d(base / "face2d" / f"{name}.npz")
                for setting in lbp_settings:
                    seconds, integral = _cpu(lbptop_integral, face, setting)
                    add("lbptop codes + integral, per setting", seconds)
                    current, previous = tmp_dir / "current.npz", tmp_dir / "former.npz"
                    for former in order:
                        if former:
                            seconds, _ = _cpu(_former_save_integral, previous, integral)
                            add("lbptop write, per setting [former]", seconds)
                        else:
                            seconds, _ = _cpu(save_integral, current, integral)
                            add("lbptop write, per setting [current]", seconds)
                    if round_index == 0:
                        facts.setdefault("lbptop_same_arrays", []).append(
                            _same_arrays(current, previous)
                        )
                        add("lbptop file MB [former]", previous.stat().st_size / 1e6)
                        add("lbptop file MB [current]", current.stat().st_size / 1e6)

                # curvature (unchanged)
                cloud = load_cloud3d(base / "cloud3d" / f"{name}.npz")
                seconds, features = _cpu(
                    curvature_features, face, cloud, curv_setting, CURVATURE_LANDMARKS
                )
                add("curvature descriptors", seconds)
                seconds, _ = _cpu(save_curvature, tmp_dir / "c.npz", features, curv_setting)
                add("curvature npz", seconds)

    for job, modules in JOB_IMPORTS.items():
        for _ in range(ROUNDS):
            add(f"{job} job imports [former]", _import_cpu(modules + FORMER_IMPORTS[job]))
            add(f"{job} job imports [current]", _import_cpu(modules))

    facts["clip_frames"] = frames
    # means: per sample (or setting, or job) over every sample and round
    medians = {key: statistics.fmean(values) for key, values in rows.items()}
    facts["mean_cpu_s"] = medians
    facts["all_cpu_s"] = rows
    facts["qc_same_pixels"] = all(facts.get("qc_same_pixels", [False]))
    facts["lbptop_same_arrays"] = all(facts.get("lbptop_same_arrays", [False]))
    facts["load_average"] = os.getloadavg()
    (out / "frame_stages.json").write_text(json.dumps(facts, indent=1))
    with open(out / "frame_stages.tsv", "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["step", "mean_cpu_s", "n"])
        for key in rows:
            writer.writerow([key, f"{medians[key]:.4f}", len(rows[key])])
    print(f"{len(samples)} samples, {frames} clip frames, load {os.getloadavg()[0]:.1f}")
    for key in rows:
        print(f"  {key:45s} {medians[key]:.4f}")
    print(f"  QC pixels identical: {facts['qc_same_pixels']}; "
          f"integral arrays identical: {facts['lbptop_same_arrays']}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "results/bench")
