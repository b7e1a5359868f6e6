"""Per-subject picture of the synthetic data set for the report.

Neutral and apex color frames with the truth landmarks, the apex depth map, and the depth
change from neutral to apex (where the AUs move the surface).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.face import SyntheticSubject
from microexp.synthetic.generate import SyntheticFrame, render_sample, subject_for
from microexp.synthetic.render import render_frame
from microexp.synthetic.schedule import SamplePlan, SyntheticSettings, plan_for_sample


def _figure_key(expression_type: str, video: int) -> tuple[int, int]:
    # The subject's micro-expression with the lowest video number (else any sample).
    return (0 if expression_type == "micro" else 1, int(video))


def _first_micro_sample(truth_paths: list[Path]) -> Path:
    def key(path: Path) -> tuple[int, int]:
        with np.load(path) as truth:
            return _figure_key(truth["expression_type"].item(), int(truth["video"]))

    return min(truth_paths, key=key)


def figure_plan(plans: list[SamplePlan]) -> SamplePlan:
    """The plan of the sample `subject_figure` shows, known before anything is written: a
    generation job keeps that sample's apex frame while writing it (`write_sample`'s
    `on_frame`) instead of rendering the sample again for the figure."""
    return min(plans, key=lambda plan: _figure_key(plan.expression_type, plan.video))


def _face_box(landmarks: np.ndarray, shape: tuple[int, int], margin: float = 0.45):
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    pad = (hi - lo) * margin
    x0, y0 = np.maximum(np.floor(lo - pad), 0).astype(int)
    x1 = int(min(np.ceil(hi[0] + pad[0]), shape[1]))
    y1 = int(min(np.ceil(hi[1] + pad[1]), shape[0]))
    return x0, y0, x1, y1


def subject_figure(
    settings: SyntheticSettings,
    truth_paths: list[Path],
    out: Path,
    subject: SyntheticSubject | None = None,
    apex_frame: SyntheticFrame | None = None,
) -> None:
    """Write the subject's figure (PNG) to `out`; pass the built `subject` to reuse it, and
    the captured apex frame of the `figure_plan` sample (as written) to skip rendering that
    sample again up to its apex."""
    truth_path = _first_micro_sample(truth_paths)
    with np.load(truth_path) as truth:
        sample = truth["sample"].item()
        apex = int(truth["apex"])
        frame_numbers = truth["frame_numbers"]
        apex_index = int(np.flatnonzero(frame_numbers == apex)[0])
        apex_landmarks = truth["landmarks2d"][apex_index]
        title = (
            f"subject {truth['subject'].item()} - sample {sample}: {truth['aus'].item()}, "
            f"class {truth['objective_class'].item()}, {truth['emotion'].item()}, "
            f"face at {float(truth['distance_mm']):.0f} mm"
        )
    plan = plan_for_sample(settings, sample)
    if subject is None:
        subject = subject_for(settings, plan.subject_index)
    elif subject.index != plan.subject_index:
        raise ValueError(f"sample {sample}: subject {subject.index} is not its subject")
    neutral = render_frame(subject, np.zeros(len(AU_NAMES)), np.eye(4))
    if apex_frame is None:
        apex_frame = next(
            f for f in render_sample(plan, settings, subject) if f.frame_number == apex
        )
    elif apex_frame.frame_number != apex or apex_frame.color.size == 0:
        raise ValueError(
            f"sample {sample}: the figure needs the captured apex frame {apex}, got frame "
            f"{apex_frame.frame_number}" + (" without pixels" if apex_frame.color.size == 0 else "")
        )
    apex_render = render_frame(subject, apex_frame.au_intensity, np.eye(4))

    x0, y0, x1, y1 = _face_box(neutral.landmarks2d, neutral.color.shape[:2])
    crop = (slice(y0, y1), slice(x0, x1))
    offset = np.array([x0, y0])
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.6))
    axes[0].imshow(neutral.color[crop])
    axes[0].scatter(*(neutral.landmarks2d - offset).T, s=6, c="lime")
    axes[0].set_title("neutral (render) + truth landmarks")
    axes[1].imshow(apex_frame.color[crop])
    axes[1].scatter(*(apex_landmarks - offset).T, s=6, c="red")
    axes[1].set_title(f"apex frame {apex} (captured) + truth")
    depth = apex_frame.depth[crop].astype(float) * settings.depth_scale * 1000.0
    depth[depth == 0] = np.nan
    face_z = neutral.landmarks3d[:, 2]
    shown = axes[2].imshow(
        depth, cmap="viridis", vmin=face_z.min() - 15.0, vmax=face_z.max() + 60.0
    )
    fig.colorbar(shown, ax=axes[2], fraction=0.046, label="mm (0 = hole, white)")
    axes[2].set_title("apex depth as captured")
    change = apex_render.depth_mm[crop].astype(float) - neutral.depth_mm[crop].astype(float)
    limit = max(float(np.nanmax(np.abs(change))), 0.1)
    shown = axes[3].imshow(change, cmap="coolwarm", vmin=-limit, vmax=limit)
    fig.colorbar(shown, ax=axes[3], fraction=0.046, label="mm (negative = toward camera)")
    axes[3].set_title("depth change neutral -> apex (AUs)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
