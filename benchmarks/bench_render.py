"""Synthetic frame rendering speed: one 848 x 480 RGB-D frame of a subject with AUs, a blink
and rigid head motion (the generator's inner loop; the synthetic data set is part of every
fresh run). Writes the best and median of repeated renders to `<out>/render.json`, and the
median CPU of the rest of a written frame: the sensor models (color noise, depth artefacts)
and encoding the color JPEG and depth PNG of a DSME-3D frame folder; and a colour frame's
Gaussian deviates (848 x 480 x 3) drawn by the sensor model's `standard_normal` against
numpy's ziggurat (`Generator.standard_normal`, float32). Then one whole generation job as a
run starts it (a new Python process running `workflow/scripts/synthetic_subject.py` for subject
3 of config.yaml, a frame-folder subject, into a temporary folder; the run's
`photo_landmarks.npy` made first by the rule's own script): its CPU-s from start-up to exit,
frames written and CPU per written frame all-in (imports, the subject's face, PLY clouds, truth
files and figure included).

    python -m benchmarks bench_render
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from microexp.synthetic.actions import AU_NAMES, BLINK_AU
from microexp.synthetic.face import make_subject
from microexp.synthetic.motion import rigid_motion
from microexp.synthetic.render import render_frame
from microexp.synthetic.sensor import capture_color, capture_depth, standard_normal

REPEATS = 20
ROOT = Path(__file__).resolve().parents[1]
JOB_SUBJECT = "3"  # default config: a frame-folder subject, 9 samples, 216 frames
# Runs a rule's script as Snakemake would, with a stand-in for its `snakemake` object.
RUN_RULE_SCRIPT = """
import runpy, sys, types, yaml
root, script, out, subject = sys.argv[1:5]
config = yaml.safe_load(open(f"{root}/config.yaml"))
from microexp.synthetic.schedule import SyntheticSettings, plan_samples
plans = [p for p in plan_samples(SyntheticSettings.from_config(config)) if p.subject == subject]
snakemake = types.SimpleNamespace(
    config=config, threads=1, log=[f"{out}/job.log"],
    input=types.SimpleNamespace(photo_landmarks=f"{out}/photo_landmarks.npy"),
    output=types.SimpleNamespace(
        truth=[f"{out}/raw/truth/{p.sample}.npz" for p in plans], figure=f"{out}/figure.png"
    ),
    params=types.SimpleNamespace(samples=[p.sample for p in plans], root=f"{out}/raw"),
)
if script.endswith("synthetic_photo.py"):
    snakemake.output = [f"{out}/photo_landmarks.npy"]
runpy.run_path(script, init_globals={"snakemake": snakemake}, run_name="__main__")
print(sum(len(p.frame_numbers) for p in plans))
"""


def rule_script_cpu(script: str, out: Path, subject: str = JOB_SUBJECT) -> tuple[float, str]:
    """CPU-s (user + system) of one new process running a rule's script; its last line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_RULE_SCRIPT, str(ROOT), str(ROOT / script), str(out), subject],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def subject_job() -> dict:
    """One generation job of the default run, all-in, and the run's one photo-landmarks job."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        photo_cpu, _ = rule_script_cpu("workflow/scripts/synthetic_photo.py", out)
        job_cpu, frames = rule_script_cpu("workflow/scripts/synthetic_subject.py", out)
    return {
        "job_subject": JOB_SUBJECT,
        "job_frames_written": int(frames),
        "job_cpu_s": job_cpu,
        "job_cpu_ms_per_written_frame": 1e3 * job_cpu / int(frames),
        "photo_landmarks_job_cpu_s": photo_cpu,
    }


def main(out_dir: Path) -> dict:
    subject = make_subject(2, 20240611)
    intensities = np.zeros(len(AU_NAMES))
    for name, value in (("AU1", 1.0), ("AU12", 0.6), (BLINK_AU, 0.8)):
        intensities[AU_NAMES.index(name)] = value
    pivot = subject.neutral_landmarks3d[30] + np.array([0.0, 0.0, 90.0])
    motion = rigid_motion(np.array([1.0, 1.0, 0.5]), np.array([1.0, 2.0, 1.0]), pivot)
    render_frame(subject, intensities, motion)  # warm-up: caches, first-call allocations
    wall, cpu = [], []
    for _ in range(REPEATS):
        w0, c0 = time.perf_counter(), time.process_time()
        render_frame(subject, intensities, motion)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    frame = render_frame(subject, intensities, motion)
    rng = np.random.default_rng(0)
    color = capture_color(frame.color, rng)
    depth = capture_depth(frame.depth_mm, frame.color, rng)
    steps = {
        "capture_color": lambda: capture_color(frame.color, rng),
        "capture_depth": lambda: capture_depth(frame.depth_mm, frame.color, rng),
        "encode_jpeg": lambda: cv2.imencode(".jpg", color, [cv2.IMWRITE_JPEG_QUALITY, 95]),
        "encode_png": lambda: cv2.imencode(".png", depth),
        "standard_normal": lambda: standard_normal(rng, frame.color.shape),
        "numpy_standard_normal": lambda: rng.standard_normal(frame.color.shape, np.float32),
    }
    step_cpu = {}
    for name, step in steps.items():
        times = []
        for _ in range(REPEATS):
            c0 = time.process_time()
            step()
            times.append(time.process_time() - c0)
        step_cpu[f"{name}_cpu_ms_median"] = 1e3 * float(np.median(times))
    result = {
        "frame_px": [subject.intrinsics.width, subject.intrinsics.height],
        "repeats": REPEATS,
        "wall_ms_best": 1e3 * min(wall),
        "wall_ms_median": 1e3 * float(np.median(wall)),
        "cpu_ms_median": 1e3 * float(np.median(cpu)),
        **step_cpu,
    }
    written = ("capture_color", "capture_depth", "encode_jpeg", "encode_png")
    result["written_frame_cpu_ms_median"] = result["cpu_ms_median"] + sum(
        step_cpu[f"{name}_cpu_ms_median"] for name in written
    )
    result.update(subject_job())
    result["load_average"] = os.getloadavg()[0]
    (out_dir / "render.json").write_text(json.dumps(result, indent=2))
    print(
        f"render_frame: best {result['wall_ms_best']:.1f} ms, median "
        f"{result['wall_ms_median']:.1f} ms wall ({result['cpu_ms_median']:.1f} ms CPU); a "
        f"written frame {result['written_frame_cpu_ms_median']:.1f} ms CPU; a frame's deviates "
        f"{result['standard_normal_cpu_ms_median']:.1f} ms (numpy's ziggurat "
        f"{result['numpy_standard_normal_cpu_ms_median']:.1f} ms); load average "
        f"{result['load_average']:.1f}"
    )
    print(
        f"generation job (subject {JOB_SUBJECT}, {result['job_frames_written']} frames): "
        f"{result['job_cpu_s']:.2f} CPU-s, {result['job_cpu_ms_per_written_frame']:.1f} ms a "
        f"written frame all-in; the run's photo-landmarks job "
        f"{result['photo_landmarks_job_cpu_s']:.2f} CPU-s"
    )
    return result
