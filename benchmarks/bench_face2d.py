"""Benchmark: the 2D face stage (detect, track, align, crop) for speed and accuracy.

DSME-3D 4.1.1. Clips are samples of the default synthetic data set (config.yaml:
the same subjects, AU timelines, blinks and head trajectories <= 2 deg / 3 mm as `make run`),
rendered with the colour sensor's noise and a JPEG quality-95 round trip (what frame folders
store), 848 x 480 at 60 fps; truth landmarks come from the renderer's geometry.

Speed: frames/s of `process_clip` as a whole and milliseconds of each step, on one core
(OpenCV limited to one thread; dlib's detector and predictor are single-threaded), for the
first micro-expression clip. Accuracy over several subjects' micro- and macro-expression clips:
landmark error (mean, p95; px and fraction of the outer inter-ocular distance) with tracking
(the stage) and with per-frame detection (the expensive alternative); first-frame detection at
full and at half resolution; eye-corner alignment residual (first frame, later frames, and
against the transform the truth landmarks give); crop margins of the truth brows and chin; the
appearance-NCC of genuine fits against faces that are not (background, shifted fits, other
subjects) behind the re-detection threshold.

Writes to `out_dir`: face2d.json (everything), face2d_speed.tsv, face2d_accuracy.tsv,
face2d.png and face2d_qc_example.png. Timings come from a shared 2-core machine: indicative,
not exact.

Run: python benchmarks/bench_face2d.py [out_dir]   (default results/bench)
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import cv2
import dlib
import matplotlib.pyplot as plt
import numpy as np
import yaml

from microexp.face2d.align import (
    apply_affine,
    eye_corner_alignment,
    similarity_parameters,
)
from microexp.face2d.crop import warp_clip
from microexp.face2d.detector import LandmarkDetector
from microexp.face2d.landmarks import INNER_EYE_CORNERS, interocular_distance
from microexp.face2d.qc import plot_face2d_qc
from microexp.face2d.result import Face2DResult
from microexp.face2d.stage import Face2DParams, align_and_crop, process_clip
from microexp.face2d.track import (
    _face_patch,
    _normalised,
    _reference_patch_frame,
    appearance_ncc,
    tracked_box,
)
from microexp.synthetic.generate import render_sample, subject_for
from microexp.synthetic.motion import rotation_angle_deg
from microexp.synthetic.schedule import SyntheticSettings, plan_samples

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = 6
CLIPS_PER_SUBJECT = 2  # the first micro-expression and the macro-expression when present
SPEED_REPEATS = 5
JPEG_QUALITY = 95


@dataclass
class Clip:
    name: str
    expression_type: str
    color: np.ndarray
    truth: np.ndarray
    onset: int
    apex: int
    max_motion_deg: float


# --------------------------------------------------------------------------------------------
# clips
# --------------------------------------------------------------------------------------------


def jpeg_round_trip(color: np.ndarray) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", color[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy()


def synthetic_clips() -> tuple[list[Clip], SyntheticSettings]:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    settings = SyntheticSettings.from_config(config)
    clips = []
    all_plans = plan_samples(settings)
    for subject_index in range(SUBJECTS):
        plans = [p for p in all_plans if p.subject_index == subject_index]
        chosen = [next(p for p in plans if p.expression_type == "micro")]
        chosen += [p for p in plans if p.expression_type == "macro"][: CLIPS_PER_SUBJECT - 1]
        subject = subject_for(settings, subject_index)
        for plan in chosen:
            frames = list(render_sample(plan, settings, subject))
            numbers = [f.frame_number for f in frames]
            clips.append(
                Clip(
                    name=plan.sample,
                    expression_type=plan.expression_type,
                    color=np.stack([jpeg_round_trip(f.color) for f in frames]),
                    truth=np.stack([f.landmarks2d for f in frames]),
                    onset=numbers.index(plan.expression.onset),
                    apex=numbers.index(plan.expression.apex),
                    max_motion_deg=max(
                        rotation_angle_deg(np.linalg.inv(frames[0].motion) @ f.motion)
                        for f in frames
                    ),
                )
            )
    return clips, settings


# --------------------------------------------------------------------------------------------
# speed
# --------------------------------------------------------------------------------------------


def best_and_median(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.min(times)), float(np.median(times))


def step_timings(clip: Clip, detector: LandmarkDetector) -> dict[str, tuple[float, float]]:
    """Milliseconds per call (best, median) of each step, and of the stage per frame."""
    n = len(clip.color)
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip.color])
    rgb0, gray0 = clip.color[0], gray[0]
    (box, _), *_ = detector.detect_faces_scored(gray0)
    landmarks0 = detector.landmarks_in_box(gray0, box)
    reference = _normalised(_face_patch(gray0, _reference_patch_frame(landmarks0)))
    _, _, image_to_crop = align_and_crop(landmarks0, Face2DParams())
    size = Face2DParams().crop.output_size
    ms = 1000.0

    def per_frame(function: Callable[[], object], repeats: int = SPEED_REPEATS):
        best, median = best_and_median(function, repeats)
        return best * ms / n, median * ms / n

    def per_call(function: Callable[[], object], repeats: int = SPEED_REPEATS):
        best, median = best_and_median(function, repeats)
        return best * ms, median * ms

    return {
        "process_clip (whole stage, per frame)": per_frame(
            lambda: process_clip(clip.color, clip.onset, clip.apex, detector=detector)
        ),
        "RGB -> gray (per frame)": per_frame(
            lambda: [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip.color]
        ),
        "HOG detection, gray full 848x480 (per call)": per_call(
            lambda: detector.detect_faces_scored(gray0, 1.0)
        ),
        "HOG detection, gray at 0.5 (per call)": per_call(
            lambda: detector.detect_faces_scored(gray0, 0.5)
        ),
        "HOG detection, RGB full (per call)": per_call(lambda: detector.detect_faces(rgb0)),
        "68-point predictor, gray (per frame)": per_frame(
            lambda: [detector.landmarks_in_box(g, box) for g in gray]
        ),
        "68-point predictor, RGB (per frame)": per_frame(
            lambda: [detector.landmarks_in_box(c, box) for c in clip.color]
        ),
        "tracked box (per frame)": per_frame(
            lambda: [tracked_box(landmarks0, box, landmarks0) for _ in range(n)]
        ),
        "appearance NCC (per frame)": per_frame(
            lambda: [appearance_ncc(g, landmarks0, landmarks0, reference) for g in gray]
        ),
        "crop warp (per frame)": per_frame(lambda: warp_clip(gray, image_to_crop, size)),
        "detect + predict every frame (per frame)": per_frame(
            lambda: [detector.landmarks_in_box(g, detector.detect_faces(g)[0]) for g in gray], 2
        ),
    }


# --------------------------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------------------------


def _error_stats(errors: np.ndarray, iod: np.ndarray) -> dict[str, float]:
    relative = errors / iod[:, None]
    return {
        "mean_px": float(errors.mean()),
        "p95_px": float(np.percentile(errors, 95)),
        "mean_iod": float(relative.mean()),
        "p95_iod": float(np.percentile(relative, 95)),
    }


def detection_at(detector: LandmarkDetector, gray: np.ndarray, scale: float):
    faces = detector.detect_faces_scored(gray, scale)
    if not faces:
        return None
    return detector.landmarks_in_box(gray, faces[0][0])


def crop_margins(result: Face2DResult, truth: np.ndarray) -> float:
    """Smallest distance (output px) of the truth brows and chin to the crop's border."""
    h, w = result.crop_size
    points = apply_affine(result.crop_transform, truth)
    brows, chin = points[:, 17:27], points[:, 8]
    return float(
        min(
            brows[..., 0].min(),
            w - 1 - brows[..., 0].max(),
            brows[..., 1].min(),
            (h - 1 - chin[:, 1]).min(),
        )
    )


def accuracy_row(clip: Clip, result: Face2DResult, detector: LandmarkDetector) -> dict:
    canonical = np.asarray(Face2DParams().canonical_eye_corners)
    iod = interocular_distance(clip.truth)
    errors = np.linalg.norm(result.landmarks68 - clip.truth, axis=2)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip.color]
    per_frame = []
    for g in gray:
        faces = detector.detect_faces(g)
        per_frame.append(
            detector.landmarks_in_box(g, faces[0]) if faces else np.full((68, 2), np.nan)
        )
    per_frame_errors = np.linalg.norm(np.stack(per_frame) - clip.truth, axis=2)
    found = ~np.isnan(per_frame_errors[:, 0])
    corners = apply_affine(result.similarity, result.landmarks68[:, list(INNER_EYE_CORNERS)])
    residual = np.linalg.norm(corners - canonical, axis=-1).max(axis=1)
    truth_corners = apply_affine(result.similarity, clip.truth[:, list(INNER_EYE_CORNERS)])
    truth_residual = np.linalg.norm(truth_corners - canonical, axis=-1).max(axis=1)
    scale, angle, *_ = similarity_parameters(result.similarity)
    truth_scale, truth_angle, *_ = similarity_parameters(
        eye_corner_alignment(clip.truth[0], canonical)
    )
    first = {}
    for scale_name, s in (("full", 1.0), ("half", 0.5)):
        fit = detection_at(detector, gray[0], s)
        first[f"first_frame_found_{scale_name}"] = fit is not None
        first[f"first_frame_err_mean_px_{scale_name}"] = (
            float(np.linalg.norm(fit - clip.truth[0], axis=1).mean()) if fit is not None else None
        )
    stage = _error_stats(errors, iod)
    detect_all = _error_stats(per_frame_errors[found], iod[found])
    return {
        "clip": clip.name,
        "type": clip.expression_type,
        "frames": len(clip.color),
        "face_width_px": float(np.ptp(clip.truth[0, :17, 0])),
        "inner_eye_distance_px": float(np.linalg.norm(clip.truth[0, 42] - clip.truth[0, 39])),
        "max_head_motion_deg": clip.max_motion_deg,
        "redetected_frames": len(result.redetected_frames),
        **{f"tracked_err_{k}": v for k, v in stage.items()},
        **{f"per_frame_detect_err_{k}": v for k, v in detect_all.items()},
        "per_frame_detection_rate": float(found.mean()),
        **first,
        "eye_residual_first_px": float(residual[0]),
        "eye_residual_max_px": float(residual.max()),
        "eye_residual_truth_max_px": float(truth_residual.max()),
        "eye_residual_vs_truth_max_px": float(np.abs(residual - truth_residual).max()),
        "alignment_rotation_err_deg": float(abs(angle - truth_angle)),
        "alignment_scale_err_pct": float(100 * abs(scale / truth_scale - 1)),
        "determinant": float(np.linalg.det(result.similarity[:, :2])),
        "crop_margin_brows_chin_px": crop_margins(result, clip.truth),
        "appearance_ncc_min": float(result.appearance_ncc.min()),
        "landmark_jump_max": float(result.landmark_jump.max()),
    }


def ncc_separation(clips: list[Clip], settings: SyntheticSettings, detector) -> dict:
    """Appearance NCC of genuine fits and of fits that are not on the (same) face."""
    genuine, background, shifted, other = [], [], [], []
    for k, clip in enumerate(clips):
        gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip.color])
        result = process_clip(clip.color, clip.onset, clip.apex, detector=detector)
        lm0 = result.landmarks68[0]
        reference = _normalised(_face_patch(gray[0], _reference_patch_frame(lm0)))
        genuine.extend(result.appearance_ncc[1:])
        subject = subject_for(settings, int(clip.name.split("_")[0]) - 1)
        wall = cv2.cvtColor(subject.background_color, cv2.COLOR_RGB2GRAY)
        background.append(appearance_ncc(wall, lm0, lm0, reference))
        quarter = 0.25 * float(np.linalg.norm(lm0[42] - lm0[39]))
        for direction in ([1, 0], [0, 1], [-1, 0], [0, -1]):
            shifted.append(
                appearance_ncc(gray[0], lm0 + quarter * np.array(direction), lm0, reference)
            )
        nxt = clips[(k + 2) % len(clips)]  # another subject (two clips per subject)
        other_gray = cv2.cvtColor(nxt.color[0], cv2.COLOR_RGB2GRAY)
        other.append(
            appearance_ncc(other_gray, detection_at(detector, other_gray, 1.0), lm0, reference)
        )

    def stats(values: list[float]) -> dict[str, float]:
        v = np.asarray(values)
        return {
            "n": len(v),
            "min": float(v.min()),
            "p01": float(np.percentile(v, 1)),
            "median": float(np.median(v)),
            "max": float(v.max()),
        }

    return {
        "genuine (tracked frames)": stats(genuine),
        "background (head removed)": stats(background),
        "fit shifted by 1/4 eye-corner distance": stats(shifted),
        "another subject's face": stats(other),
        "threshold": Face2DParams().tracking.min_appearance_ncc,
        "_values": {
            "genuine": genuine,
            "background": background,
            "shifted": shifted,
            "other": other,
        },
    }


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def _write_tsv(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, keys, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def figure(path: Path, speed: dict, rows: list[dict], ncc: dict) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    names = list(speed)
    axes[0].barh(names, [speed[k][1] for k in names], color="tab:blue")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("ms (median; per frame or per call), one core")
    axes[0].invert_yaxis()
    axes[0].tick_params(axis="y", labelsize=7)
    total = speed["process_clip (whole stage, per frame)"][1]
    axes[0].set_title(f"speed: stage {1000 / total:.0f} frames/s at 848 x 480", fontsize=9)

    x = np.arange(len(rows))
    axes[1].bar(x - 0.2, [r["tracked_err_mean_px"] for r in rows], 0.4, label="stage (tracked)")
    axes[1].bar(
        x + 0.2, [r["per_frame_detect_err_mean_px"] for r in rows], 0.4, label="detect every frame"
    )
    axes[1].plot(x, [r["tracked_err_p95_px"] for r in rows], "k_", ms=12, label="stage p95")
    axes[1].set_xticks(x, [f"{r['clip']}\n{r['type']}" for r in rows], fontsize=7)
    axes[1].set_ylabel("landmark error vs truth (px)")
    axes[1].legend(fontsize=7)
    axes[1].set_title("landmark error per clip", fontsize=9)

    values = ncc["_values"]
    bins = np.linspace(-0.4, 1.0, 57)
    for key, colour in (
        ("genuine", "tab:green"),
        ("background", "tab:grey"),
        ("shifted", "tab:orange"),
        ("other", "tab:purple"),
    ):
        axes[2].hist(values[key], bins=bins, alpha=0.6, color=colour, label=key, density=True)
    axes[2].axvline(ncc["threshold"], color="red", ls="--", label="re-detect below")
    axes[2].set_xlabel("appearance NCC with frame 0 (band-passed face patch)")
    axes[2].legend(fontsize=7)
    axes[2].set_title("fit-quality measure: genuine fits vs non-faces", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    threads_before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        detector = LandmarkDetector(upsample=0)
        clips, settings = synthetic_clips()
        speed_clip = clips[0]
        process_clip(speed_clip.color, speed_clip.onset, speed_clip.apex, detector=detector)
        speed = step_timings(speed_clip, detector)
        rows, results = [], []
        for clip in clips:
            result = process_clip(clip.color, clip.onset, clip.apex, detector=detector)
            results.append(result)
            rows.append(accuracy_row(clip, result, detector))
        ncc = ncc_separation(clips, settings, detector)
    finally:
        cv2.setNumThreads(threads_before)

    speed_rows = [{"step": k, "best_ms": v[0], "median_ms": v[1]} for k, v in speed.items()]
    _write_tsv(out_dir / "face2d_speed.tsv", speed_rows)
    _write_tsv(out_dir / "face2d_accuracy.tsv", rows)
    figure(out_dir / "face2d.png", speed, rows, ncc)
    example = next((i for i, c in enumerate(clips) if c.expression_type == "macro"), 0)
    plot_face2d_qc(
        clips[example].color,
        results[example],
        out_dir / "face2d_qc_example.png",
        title=f"synthetic {clips[example].name} ({clips[example].expression_type})",
    )

    def pooled(prefix: str) -> dict[str, float]:
        keys = ("mean_px", "p95_px", "mean_iod", "p95_iod")
        return {k: float(np.mean([r[f"{prefix}_{k}"] for r in rows])) for k in keys}

    total = speed["process_clip (whole stage, per frame)"]
    summary = {
        "note": "timings on a shared 2-core machine with other jobs running: indicative only",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": 1,
        "versions": {
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "dlib": dlib.__version__,
        },
        "image_size": list(speed_clip.color.shape[1:3][::-1]),
        "speed_clip_frames": len(speed_clip.color),
        "defaults": Face2DParams().as_dict(),
        "stage_frames_per_s": {"best": 1000.0 / total[0], "median": 1000.0 / total[1]},
        "speed_ms": {k: {"best": v[0], "median": v[1]} for k, v in speed.items()},
        "accuracy_summary": {
            "clips": len(rows),
            "frames": int(sum(r["frames"] for r in rows)),
            "clips_failed": 0,
            "first_frame_detection_rate_full": float(
                np.mean([r["first_frame_found_full"] for r in rows])
            ),
            "first_frame_detection_rate_half": float(
                np.mean([r["first_frame_found_half"] for r in rows])
            ),
            "first_frame_err_mean_px_full (mean over clips)": float(
                np.mean([r["first_frame_err_mean_px_full"] for r in rows])
            ),
            "first_frame_err_mean_px_half (mean over clips)": float(
                np.mean([r["first_frame_err_mean_px_half"] or np.nan for r in rows])
            ),
            "tracked_error (mean over clips)": pooled("tracked_err"),
            "per_frame_detection_error (mean over clips)": pooled("per_frame_detect_err"),
            "eye_residual_first_px_max": max(r["eye_residual_first_px"] for r in rows),
            "eye_residual_later_px_max": max(r["eye_residual_max_px"] for r in rows),
            "eye_residual_vs_truth_px_max": max(r["eye_residual_vs_truth_max_px"] for r in rows),
            "alignment_rotation_err_deg_max": max(r["alignment_rotation_err_deg"] for r in rows),
            "alignment_scale_err_pct_max": max(r["alignment_scale_err_pct"] for r in rows),
            "max_head_motion_deg": max(r["max_head_motion_deg"] for r in rows),
            "crop_margin_brows_chin_px_min": min(r["crop_margin_brows_chin_px"] for r in rows),
            "redetections": int(sum(r["redetected_frames"] for r in rows)),
        },
        "appearance_ncc": {k: v for k, v in ncc.items() if not k.startswith("_")},
        "accuracy": rows,
    }
    (out_dir / "face2d.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"bench_face2d: stage {1000 / total[0]:.0f} frames/s best, {1000 / total[1]:.0f} median "
        f"(848 x 480, one core, {len(speed_clip.color)}-frame clip)"
    )
    for key, value in summary["accuracy_summary"].items():
        print(f"  {key}: {value}")
    for key, value in summary["appearance_ncc"].items():
        print(f"  NCC {key}: {value}")
    return summary


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "bench")
