"""What the synthetic data set contains: subjects, their expressions, labels and timing.

Planning is cheap and deterministic (no pixels): the workflow calls `plan_samples` when it
parses, to know every sample, and each generation job renders one sample from its plan.
Every sample draws from its own random stream seeded by (seed, subject, video), so changing
one subject's settings never shifts another's data.

Timing follows the duration rules of the databases (docs/methods.md#micro-vs-macro): a
micro-expression lasts < 500 ms (DSME-3D, 60 fps); macro-expressions last 0.5-4 s and reach their
apex no sooner than 260 ms after onset, so that DSME-3D's rule (duration < 500 ms or onset-to-apex <
260 ms) calls them macro. Sample ids are DSME-3D's `<subject>_<video>`: one expression per video.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from microexp.synthetic.labels import (
    canonical_aus,
    emotion_labels,
    objective_class,
    self_reported_emotion,
)
from microexp.synthetic.motion import HeadTrajectory

FORMAT_REALSENSE = "realsense"
FORMAT_FRAMES = "frames"

# Streams of the per-sample random generator, so that adding a draw to one never shifts
# the others.
_STREAM_PLAN, _STREAM_MOTION, _STREAM_SENSOR = 0, 1, 2


@dataclass(frozen=True)
class SyntheticSettings:
    """The `synthetic` section of the config, typed (defaults from the config schema)."""

    seed: int
    subjects: int
    micro_per_subject: int
    micro_extra: int
    macro_per_subject: int
    realsense_subjects: int
    frame_folder_margin: int
    ply_frames: tuple[str, ...]
    recording_lead_in: tuple[int, int]
    recording_lead_out: tuple[int, int]
    recording_frame_drop_rate: float
    fps: float
    micro_duration_ms: tuple[float, float]
    macro_duration_ms: tuple[float, float]
    blink_rate: float
    emotion_noise: float
    head_motion_max_deg: float
    head_motion_max_mm: float
    class_weights: Mapping[str, float]
    camera: Mapping[str, float]
    depth_scale: float
    objective_classes: Mapping[str, Mapping] = field(repr=False)

    @classmethod
    def from_config(cls, config: Mapping) -> SyntheticSettings:
        """Settings from the whole (validated) workflow config."""
        section = config["synthetic"]
        return cls(
            seed=int(config["seed"]),
            subjects=int(section["subjects"]),
            micro_per_subject=int(section["micro_per_subject"]),
            micro_extra=int(section.get("micro_extra", 0)),
            macro_per_subject=int(section["macro_per_subject"]),
            realsense_subjects=int(section["realsense_subjects"]),
            frame_folder_margin=int(section["frame_folder_margin"]),
            ply_frames=tuple(section["ply_frames"]),
            recording_lead_in=tuple(section["recording_lead_in"]),
            recording_lead_out=tuple(section["recording_lead_out"]),
            recording_frame_drop_rate=float(section["recording_frame_drop_rate"]),
            fps=float(section["fps"]),
            micro_duration_ms=tuple(section["micro_duration_ms"]),
            macro_duration_ms=tuple(section["macro_duration_ms"]),
            blink_rate=float(section["blink_rate"]),
            emotion_noise=float(section["emotion_noise"]),
            head_motion_max_deg=float(section["head_motion_max_deg"]),
            head_motion_max_mm=float(section["head_motion_max_mm"]),
            class_weights=dict(section["class_weights"]),
            camera=dict(section["camera"]),
            depth_scale=float(section["depth_scale"]),
            objective_classes=config["objective_classes"],
        )


@dataclass(frozen=True)
class ExpressionEvent:
    """An onset -> apex -> offset movement of some AUs (source frame numbers)."""

    aus: tuple[str, ...]
    peak: Mapping[str, float]
    onset: int
    apex: int
    offset: int


@dataclass(frozen=True)
class SamplePlan:
    """Everything about one synthetic sample except its pixels."""

    subject: str
    subject_index: int
    video: int
    sample: str
    format: str
    expression_type: str
    expression: ExpressionEvent
    objective_class: str
    emotion: str
    suggested_emotion: str
    first_frame: int
    last_frame: int
    dropped_frames: tuple[int, ...]
    blink: ExpressionEvent | None
    trajectory: HeadTrajectory = field(repr=False)

    @property
    def frame_numbers(self) -> np.ndarray:
        """Source frame numbers present in the written sample (drops removed)."""
        frames = np.arange(self.first_frame, self.last_frame + 1)
        return frames[~np.isin(frames, self.dropped_frames)]

    @property
    def aus(self) -> str:
        return "+".join(self.expression.aus)


def sample_rng(seed: int, subject_index: int, video: int, stream: int) -> np.random.Generator:
    """The random stream of one sample (see module docstring)."""
    return np.random.default_rng([seed, subject_index, video, stream])


def subject_name(subject_index: int) -> str:
    """DSME-3D numbers participants from 1."""
    return str(subject_index + 1)


def subject_format(settings: SyntheticSettings, subject_index: int) -> str:
    return FORMAT_REALSENSE if subject_index < settings.realsense_subjects else FORMAT_FRAMES


def _subject_timing(settings: SyntheticSettings, subject_index: int) -> float:
    """A subject's tempo: some people's expressions are quicker than others'."""
    rng = np.random.default_rng([settings.seed, subject_index, 10_000])
    return float(rng.uniform(0.8, 1.2))


def _draw_expression_aus(
    settings: SyntheticSettings, rng: np.random.Generator
) -> tuple[str, tuple[str, ...]]:
    names = list(settings.class_weights)
    weights = np.array([settings.class_weights[n] for n in names], dtype=float)
    chosen = str(rng.choice(names, p=weights / weights.sum()))
    combinations = settings.objective_classes[chosen]["aus"]
    return chosen, canonical_aus(str(rng.choice(combinations)))


def _event_timing(
    settings: SyntheticSettings, expression_type: str, tempo: float, rng: np.random.Generator
) -> tuple[int, int]:
    """(onset-to-apex, onset-to-offset) in frames."""
    frame_ms = 1000.0 / settings.fps
    if expression_type == "micro":
        low, high = settings.micro_duration_ms
        duration_ms = float(np.clip(rng.uniform(low, high) * tempo, low, high))
        # duration_ms is offset - onset; keep it strictly below 500 ms after rounding.
        length = max(2, min(round(duration_ms / frame_ms), int(np.ceil(500 / frame_ms)) - 1))
        rise = round(length * rng.uniform(0.35, 0.6))
        return max(1, min(rise, length - 1)), length
    low, high = settings.macro_duration_ms
    duration_ms = float(np.clip(rng.uniform(low, high) * tempo, low, high))
    length = round(duration_ms / frame_ms)
    min_rise = int(np.ceil(300.0 / frame_ms))  # well clear of DSME-3D's 260 ms
    rise = max(min_rise, round(length * rng.uniform(0.35, 0.5)))
    return min(rise, length - 1), length


def _peak_intensities(aus: tuple[str, ...], rng: np.random.Generator) -> dict[str, float]:
    base = rng.uniform(0.6, 1.0)
    return {au: float(np.clip(base * rng.uniform(0.85, 1.15), 0.3, 1.0)) for au in aus}


def _blink(rng: np.random.Generator, fps: float, first: int, last: int) -> ExpressionEvent | None:
    """A blink somewhere in the window: 100-250 ms, closing faster than opening."""
    length = round(rng.uniform(0.10, 0.25) * fps)
    if last - first <= length + 2:
        return None
    onset = int(rng.integers(first, last - length))
    apex = onset + max(1, length // 3)
    return ExpressionEvent(("AU45",), {"AU45": 1.0}, onset, apex, onset + length)


def plan_sample(
    settings: SyntheticSettings, subject_index: int, video: int, expression_type: str
) -> SamplePlan:
    """The plan of one sample (deterministic in seed, subject and video)."""
    rng = sample_rng(settings.seed, subject_index, video, _STREAM_PLAN)
    fmt = subject_format(settings, subject_index)
    tempo = _subject_timing(settings, subject_index)
    chosen_class, aus = _draw_expression_aus(settings, rng)
    rise, length = _event_timing(settings, expression_type, tempo, rng)
    if fmt == FORMAT_REALSENSE:
        # A recording's own frame counter starts anywhere, as a camera's does.
        lead_in = int(
            rng.integers(settings.recording_lead_in[0], settings.recording_lead_in[1] + 1)
        )
        lead_out = int(
            rng.integers(settings.recording_lead_out[0], settings.recording_lead_out[1] + 1)
        )
        first = int(rng.integers(1000, 100_000))
        onset = first + lead_in
    else:
        # Frame folders keep the stimulus video's frame numbers around the expression.
        lead_in = lead_out = settings.frame_folder_margin
        onset = int(rng.integers(lead_in + 30, 3000))
        first = onset - lead_in
    expression = ExpressionEvent(
        aus, _peak_intensities(aus, rng), onset, onset + rise, onset + length
    )
    last = expression.offset + lead_out
    labelled_class = objective_class(aus, settings.objective_classes)
    if labelled_class != chosen_class:
        raise ValueError(f"AU combination {aus} listed under two objective classes")
    suggested = settings.objective_classes[labelled_class]["emotion"]
    emotion = self_reported_emotion(
        suggested, emotion_labels(settings.objective_classes), settings.emotion_noise, rng
    )
    blink = _blink(rng, settings.fps, first, last) if rng.random() < settings.blink_rate else None
    dropped: tuple[int, ...] = ()
    if fmt == FORMAT_REALSENSE and settings.recording_frame_drop_rate > 0:
        candidates = np.arange(first + 1, last)
        keep_out = {expression.onset, expression.apex, expression.offset}
        mask = rng.random(candidates.size) < settings.recording_frame_drop_rate
        dropped = tuple(int(f) for f in candidates[mask] if int(f) not in keep_out)
    trajectory = HeadTrajectory.draw(
        sample_rng(settings.seed, subject_index, video, _STREAM_MOTION),
        settings.head_motion_max_deg,
        settings.head_motion_max_mm,
    )
    subject = subject_name(subject_index)
    return SamplePlan(
        subject=subject,
        subject_index=subject_index,
        video=video,
        sample=f"{subject}_{video}",
        format=fmt,
        expression_type=expression_type,
        expression=expression,
        objective_class=labelled_class,
        emotion=emotion,
        suggested_emotion=suggested,
        first_frame=first,
        last_frame=last,
        dropped_frames=dropped,
        blink=blink,
        trajectory=trajectory,
    )


def subject_expression_types(settings: SyntheticSettings, subject_index: int) -> list[str]:
    """The expression type of each video of a subject, in video order."""
    n_micro = settings.micro_per_subject + (1 if subject_index < settings.micro_extra else 0)
    types = ["micro"] * n_micro + ["macro"] * settings.macro_per_subject
    order = np.random.default_rng([settings.seed, subject_index, 20_000]).permutation(len(types))
    return [types[i] for i in order]


def plan_samples(settings: SyntheticSettings) -> list[SamplePlan]:
    """Every sample of the data set, subject by subject, video by video."""
    return [
        plan_sample(settings, subject_index, video, expression_type)
        for subject_index in range(settings.subjects)
        for video, expression_type in enumerate(
            subject_expression_types(settings, subject_index), start=1
        )
    ]


def plan_for_sample(settings: SyntheticSettings, sample: str) -> SamplePlan:
    """The plan of one sample from its id `<subject>_<video>`, without planning the rest."""
    subject, video = (int(part) for part in sample.split("_"))
    types = subject_expression_types(settings, subject - 1)
    if not 1 <= video <= len(types) or not 1 <= subject <= settings.subjects:
        raise ValueError(f"synthetic sample {sample!r} is not in this configuration")
    return plan_sample(settings, subject - 1, video, types[video - 1])
