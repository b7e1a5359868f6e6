"""Synthetic long videos for spotting, with truth (config ``spotting.synthetic``).

Per subject a few videos of neutral face with, in random order and separated by neutral
stretches: micro-expressions, macro-expressions (the recognition set's AU combinations and
durations), blinks (AU45, not annotated, as in CAS(ME)^2), head turns (a yaw out and back,
2-5 degrees over 1-2 s by default) and a slow drift of the head (a few millimetres over the
video) plus the recognition set's small wobble. Every event's frames are known.

Expression strength: a macro-expression moves the face clearly more than a micro-expression
(and lasts longer), as in real recordings. Each expression's AU peaks are drawn per type
(``micro_intensity``, ``macro_intensity``: fractions of the AU's unit field, times the
subject's per-AU gain), so at the defaults a micro peaks at intensity 0.25-0.75 (under 1-2 px
in the 168 x 168 crop) and a macro at 1-1.8 (3-5 px, 2-3 mm of relief), beyond the
recognition set's [0, 1]: ``render.render_frame`` admits up to ``MAX_AU_INTENSITY`` there.
The bound is the AU model's: its narrowest bumps fold the image (the displacement's gradient
reaches 1) near intensity 2, so a macro is 2-3 times a micro, not ten times.

Each video is rendered once and written twice:

* CAS(ME)^2 layout (Qu et al. 2017; what the MEGC spotting challenges read):
  ``casme_sq/rawpic/s<NN>/<NN>_<code><word>/img<n>.jpg`` (color only, frames from 1) and the
  headerless ``CAS(ME)^2code_final.xlsx`` (first sheet: participant, ``<video name>_<i>``,
  onset, apex, offset, AUs, emotion, ``micro-expression`` | ``macro-expression``, self-report;
  sheets "naming rule1" (folder number, code, participant) and "naming rule2" (video code,
  video name)), read back by ``microexp.io.annotations`` layout ``casme_sq``;
* a RealSense recording ``realsense/s<NN>/<NN>_<code><word>.db3`` (color + registered depth,
  the same frame numbers) and a ``generic`` annotation sheet ``realsense/annotations.tsv``;
* truth ``truth/s<NN>/<NN>_<code><word>.npz``: every event (kind, onset, apex, offset), per-frame AU
  intensities, head motion and landmarks.

Frame rate and size are the configured ones (CAS(ME)^2: 30 fps, 640 x 480).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from microexp.camera import Intrinsics
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.face import SyntheticSubject, make_subject
from microexp.synthetic.generate import JPEG_QUALITY, SyntheticFrame, event_profile, head_pivot
from microexp.synthetic.labels import emotion_labels, objective_class, self_reported_emotion
from microexp.synthetic.motion import HeadTrajectory, rigid_motion
from microexp.synthetic.photo import PhotoFace
from microexp.synthetic.render import MAX_AU_INTENSITY
from microexp.synthetic.schedule import (
    ExpressionEvent,
    SyntheticSettings,
    _draw_expression_aus,
    _event_timing,
)
from microexp.synthetic.sensor import capture_color, capture_depth

__all__ = [
    "LongVideoPlan",
    "LongVideoSettings",
    "casme_sq_sheets",
    "generic_sheet",
    "plan_long_videos",
    "render_long_video",
    "write_long_video",
]

# CAS(ME)^2's video codes and names (naming rule2) and the words its folders append.
VIDEO_NAMES = (
    ("0101", "disgust1", "disgustingteeth"),
    ("0102", "disgust2", "eatingworms"),
    ("0401", "anger1", "angrywhip"),
    ("0402", "anger2", "awkwardface"),
    ("0502", "happy2", "funnyerrors"),
    ("0503", "happy3", "hitting"),
)
CASME_SQ_CAMERA = {"width": 640, "height": 480, "fx": 560.0, "fy": 560.0, "cx": 319.5, "cy": 239.5}
FIRST_FOLDER = 15  # CAS(ME)^2's subject folders start at s15
_STREAM = 30_000


@dataclass(frozen=True)
class LongVideoSettings:
    """The ``spotting.synthetic`` config section."""

    subjects: int = 2
    videos_per_subject: int = 1
    duration_s: tuple[float, float] = (20.0, 20.0)
    fps: float = 30.0
    micro_per_minute: float = 9.0
    macro_per_minute: float = 6.0
    blinks_per_minute: float = 9.0
    head_turns_per_minute: float = 3.0
    head_turn_deg: tuple[float, float] = (2.0, 5.0)
    head_turn_s: tuple[float, float] = (1.0, 2.0)
    # An expression's AU peak intensity, per AU, before the subject's gain (module docstring).
    micro_intensity: tuple[float, float] = (0.4, 0.8)
    macro_intensity: tuple[float, float] = (1.6, 2.2)
    drift_mm: float = 4.0
    lead_s: float = 1.5
    min_gap_s: float = 0.8
    camera: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(CASME_SQ_CAMERA))

    @classmethod
    def from_config(cls, section: Mapping) -> LongVideoSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"spotting.synthetic: unknown key(s) {sorted(unknown)}")
        values = dict(section)
        for key in (
            "duration_s", "head_turn_deg", "head_turn_s", "micro_intensity", "macro_intensity",
        ):  # fmt: skip
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
        return cls(**values)


@dataclass(frozen=True)
class LongEvent:
    """One event of a long video: kind is micro, macro, blink or head_turn."""

    kind: str
    onset: int
    apex: int
    offset: int
    aus: tuple[str, ...] = ()
    peak: Mapping[str, float] = dataclasses.field(default_factory=dict)
    objective_class: str = ""
    emotion: str = ""
    turn_deg: float = 0.0


@dataclass(frozen=True)
class LongVideoPlan:
    """Everything about one long video except its pixels. Frames are numbered 1..n_frames."""

    subject_index: int
    video_index: int
    folder: int  # CAS(ME)^2 subject folder number (s15, s16, ...)
    code: str
    name: str
    word: str
    n_frames: int
    fps: float
    events: tuple[LongEvent, ...]
    trajectory: HeadTrajectory = dataclasses.field(repr=False)
    drift_direction: np.ndarray = dataclasses.field(repr=False)

    @property
    def subject(self) -> str:
        return f"s{self.folder}"

    @property
    def video(self) -> str:
        """The id the casme_sq reader gives: ``<folder>_<code>``."""
        return f"{self.folder}_{self.code}"

    @property
    def frame_folder(self) -> str:
        return f"rawpic/{self.subject}/{self.folder_name}"

    @property
    def folder_name(self) -> str:
        """The frame folder's name, e.g. ``15_0101disgustingteeth`` (CAS(ME)^2 appends a word)."""
        return f"{self.video}{self.word}"

    @property
    def recording(self) -> str:
        return f"realsense/{self.subject}/{self.folder_name}.db3"

    @property
    def expressions(self) -> list[LongEvent]:
        return [e for e in self.events if e.kind in ("micro", "macro")]

    @property
    def frame_numbers(self) -> np.ndarray:
        return np.arange(1, self.n_frames + 1)


def _recognition_settings(settings: SyntheticSettings, long: LongVideoSettings):
    return dataclasses.replace(settings, fps=float(long.fps))


def plan_long_video(
    settings: SyntheticSettings, long: LongVideoSettings, subject_index: int, video_index: int
) -> LongVideoPlan:
    """The plan of one long video (deterministic in seed, subject and video)."""
    rng = np.random.default_rng([settings.seed, subject_index, video_index, _STREAM])
    fps = float(long.fps)
    rec = _recognition_settings(settings, long)
    duration = float(rng.uniform(*long.duration_s))
    minutes = duration / 60.0
    counts = {
        "micro": max(1, round(long.micro_per_minute * minutes)),
        "macro": max(1, round(long.macro_per_minute * minutes)),
        "blink": round(long.blinks_per_minute * minutes),
        "head_turn": round(long.head_turns_per_minute * minutes),
    }
    kinds = [k for k, n in counts.items() for _ in range(n)]
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    lengths = []
    for kind in kinds:
        if kind in ("micro", "macro"):
            rise, length = _event_timing(rec, kind, 1.0, rng)
        elif kind == "blink":
            length = max(2, round(rng.uniform(0.10, 0.25) * fps))
            rise = max(1, length // 3)
        else:
            length = round(rng.uniform(*long.head_turn_s) * fps)
            rise = length // 2
        lengths.append((rise, length))
    n_frames = round(duration * fps)
    lead = round(long.lead_s * fps)
    min_gap = round(long.min_gap_s * fps)
    busy = sum(length + 1 for _, length in lengths) + min_gap * max(0, len(kinds) - 1)
    free = n_frames - 2 * lead - busy
    if free < len(kinds):
        raise ValueError(
            f"a {duration:.1f} s video cannot hold {len(kinds)} events with {long.lead_s} s "
            "neutral at either end: lower the rates or lengthen the videos"
        )
    # Neutral gaps: the free frames split at random between the events.
    cuts = np.sort(rng.integers(0, free + 1, size=len(kinds)))
    gaps = np.diff(np.concatenate([[0], cuts]))
    events = []
    t = 1 + lead
    for i, (kind, (rise, length), gap) in enumerate(zip(kinds, lengths, gaps, strict=True)):
        onset = t + int(gap) + (min_gap if i else 0)
        if kind in ("micro", "macro"):
            _, aus = _draw_expression_aus(rec, rng)
            label = objective_class(aus, rec.objective_classes)
            emotion = self_reported_emotion(
                rec.objective_classes[label]["emotion"],
                emotion_labels(rec.objective_classes),
                rec.emotion_noise,
                rng,
            )
            events.append(
                LongEvent(kind, onset, onset + rise, onset + length, aus,
                          _peak_intensities(aus, long, kind, rng), label, emotion)
            )  # fmt: skip
        elif kind == "blink":
            events.append(
                LongEvent(kind, onset, onset + rise, onset + length, ("AU45",), {"AU45": 1.0})
            )
        else:
            sign = rng.choice([-1.0, 1.0])
            turn = float(sign * rng.uniform(*long.head_turn_deg))
            events.append(LongEvent(kind, onset, onset + rise, onset + length, turn_deg=turn))
        t = onset + length + 1
    code, name, word = VIDEO_NAMES[video_index % len(VIDEO_NAMES)]
    trajectory = HeadTrajectory.draw(
        np.random.default_rng([settings.seed, subject_index, video_index, _STREAM + 1]),
        settings.head_motion_max_deg * 0.5,
        settings.head_motion_max_mm * 0.5,
    )
    direction = rng.normal(size=3)
    return LongVideoPlan(
        subject_index=subject_index,
        video_index=video_index,
        folder=FIRST_FOLDER + subject_index,
        code=code,
        name=name,
        word=word,
        n_frames=n_frames,
        fps=fps,
        events=tuple(events),
        trajectory=trajectory,
        drift_direction=direction / np.linalg.norm(direction) * long.drift_mm,
    )


def _peak_intensities(
    aus: tuple[str, ...], long: LongVideoSettings, kind: str, rng: np.random.Generator
) -> dict[str, float]:
    """Per-AU peaks of one expression: one level for the event, jittered +-10 % per AU."""
    low, high = long.micro_intensity if kind == "micro" else long.macro_intensity
    base = rng.uniform(low, high)
    return {au: float(base * rng.uniform(0.9, 1.1)) for au in aus}


def plan_long_videos(settings: SyntheticSettings, long: LongVideoSettings) -> list[LongVideoPlan]:
    return [
        plan_long_video(settings, long, s, v)
        for s in range(long.subjects)
        for v in range(long.videos_per_subject)
    ]


def _intrinsics(long: LongVideoSettings) -> Intrinsics:
    cam = long.camera
    return Intrinsics(
        width=int(cam["width"]), height=int(cam["height"]), fx=float(cam["fx"]),
        fy=float(cam["fy"]), cx=float(cam["cx"]), cy=float(cam["cy"]),
    )  # fmt: skip


def long_subject(
    settings: SyntheticSettings,
    long: LongVideoSettings,
    subject_index: int,
    photo: PhotoFace | None = None,
):
    """The long videos' subject ``subject_index``; ``photo``: the calibrated source photograph
    (the workflow reads it from rule synthetic_photo_landmarks' file; default: calibrated here,
    with dlib, as `make_subject` does)."""
    return make_subject(subject_index, settings.seed, _intrinsics(long), photo)


def au_timeline(plan: LongVideoPlan, au_gain: np.ndarray) -> np.ndarray:
    """(T, n_AUs) AU intensities of every expression and blink: expressions (times the
    subject's gain) clipped to [0, MAX_AU_INTENSITY], the blink to [0, 1]."""
    frames = plan.frame_numbers
    intensity = np.zeros((len(frames), len(AU_NAMES)))
    for e in plan.events:
        if e.kind == "head_turn":
            continue
        profile = event_profile(ExpressionEvent(e.aus, e.peak, e.onset, e.apex, e.offset), frames)
        for au, peak in e.peak.items():
            column = AU_NAMES.index(au)
            gain = 1.0 if au == "AU45" else au_gain[column]
            intensity[:, column] += profile * peak * gain
    np.clip(intensity, 0.0, MAX_AU_INTENSITY, out=intensity)
    blink = AU_NAMES.index("AU45")
    np.clip(intensity[:, blink], 0.0, 1.0, out=intensity[:, blink])
    return intensity


def head_motions(plan: LongVideoPlan, pivot: np.ndarray) -> np.ndarray:
    """(T, 4, 4): wobble + head turns (yaw out and back) + linear drift."""
    frames = plan.frame_numbers
    times = (frames - 1) / plan.fps
    offsets = plan.trajectory.offsets(times)
    for e in plan.events:
        if e.kind == "head_turn":
            profile = event_profile(ExpressionEvent((), {}, e.onset, e.apex, e.offset), frames)
            offsets[:, 1] += e.turn_deg * profile
    offsets[:, 3:] += np.outer(times / max(times[-1], 1e-9), plan.drift_direction)
    return np.stack([rigid_motion(o[:3], o[3:], pivot) for o in offsets])


def render_long_video(
    plan: LongVideoPlan, settings: SyntheticSettings, subject: SyntheticSubject
) -> Iterator[SyntheticFrame]:
    """The video's frames through the sensor models, in order (streamed)."""
    from microexp.synthetic.render import render_frame

    motions = head_motions(plan, head_pivot(subject))
    intensities = au_timeline(plan, subject.au_gain)
    rng = np.random.default_rng([settings.seed, plan.subject_index, plan.video_index, _STREAM + 2])
    for frame_number, motion, intensity in zip(
        plan.frame_numbers, motions, intensities, strict=True
    ):
        rendered = render_frame(subject, intensity, motion, max_intensity=MAX_AU_INTENSITY)
        yield SyntheticFrame(
            frame_number=int(frame_number),
            timestamp_ms=float(frame_number - 1) * 1000.0 / plan.fps,
            color=capture_color(rendered.color, rng),
            depth=capture_depth(rendered.depth_mm, rendered.color, rng),
            landmarks2d=rendered.landmarks2d,
            landmarks3d=rendered.landmarks3d,
            motion=motion,
            au_intensity=intensity,
        )


def write_long_video(
    plan: LongVideoPlan,
    settings: SyntheticSettings,
    long: LongVideoSettings,
    root: Path,
    truth_path: Path,
    photo: PhotoFace | None = None,
) -> None:
    """Render once; write the CAS(ME)^2 frame folder, the RealSense recording and the truth.
    ``photo``: as in `long_subject`."""
    from microexp.io.containers import CaptureFrame
    from microexp.synthetic.recording import write_recording

    subject = long_subject(settings, long, plan.subject_index, photo)
    folder = root / "casme_sq" / plan.frame_folder
    folder.mkdir(parents=True, exist_ok=True)
    landmarks, motions = [], []

    def frames() -> Iterator[CaptureFrame]:
        for frame in render_long_video(plan, settings, subject):
            bgr = cv2.cvtColor(frame.color, cv2.COLOR_RGB2BGR)
            jpg = folder / f"img{frame.frame_number}.jpg"
            if not cv2.imwrite(str(jpg), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                raise OSError(f"could not write {jpg}")
            landmarks.append(frame.landmarks2d)
            motions.append(frame.motion)
            yield CaptureFrame(
                color=frame.color,
                depth=frame.depth,
                frame_number=frame.frame_number,
                timestamp_ms=frame.timestamp_ms,
            )

    recording = root / plan.recording
    recording.parent.mkdir(parents=True, exist_ok=True)
    write_recording(
        recording,
        frames(),
        color_intrinsics=subject.intrinsics,
        depth_scale=settings.depth_scale,
        fps=round(plan.fps),
    )
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    table = events_table(plan)
    np.savez_compressed(
        truth_path,
        video=plan.video,
        subject=plan.subject,
        fps=plan.fps,
        frame_numbers=plan.frame_numbers,
        event_kind=table["kind"].to_numpy(str),
        event_onset=table["onset"].to_numpy(np.int64),
        event_apex=table["apex"].to_numpy(np.int64),
        event_offset=table["offset"].to_numpy(np.int64),
        landmarks2d=np.stack(landmarks),
        head_motion=np.stack(motions),
    )


def events_table(plan: LongVideoPlan) -> pd.DataFrame:
    rows = [
        (plan.subject, plan.video, e.kind, e.onset, e.apex, e.offset, "+".join(e.aus))
        for e in plan.events
    ]
    return pd.DataFrame(
        rows, columns=["subject", "video", "kind", "onset", "apex", "offset", "aus"]
    )


def casme_sq_sheets(plans: list[LongVideoPlan]) -> dict[str, list[list[object]]]:
    """The three sheets of a CAS(ME)^2-style ``CAS(ME)^2code_final.xlsx`` (no header rows)."""
    code_rows, rule1, rule2 = [], [], {}
    for plan in plans:
        participant = plan.subject_index + 1
        rule1.append([plan.folder, f"casme_{plan.folder:03d}", participant])
        rule2[plan.code] = plan.name
        for i, e in enumerate(plan.expressions, start=1):
            aus = "+".join(a.removeprefix("AU") for a in e.aus)
            code_rows.append([
                participant, f"{plan.name}_{i}", e.onset, e.apex, e.offset, aus, e.emotion,
                f"{e.kind}-expression", e.emotion,
            ])  # fmt: skip
    rule1 = [list(r) for r in dict.fromkeys(tuple(r) for r in rule1)]
    return {
        "CASFEcode_final": code_rows,
        "naming rule1": rule1,
        "naming rule2": [[code, name] for code, name in rule2.items()],
    }


def write_casme_sq_sheet(plans: list[LongVideoPlan], path: Path) -> Path:
    import openpyxl

    from microexp.synthetic.sheet import save_workbook

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in casme_sq_sheets(plans).items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    return save_workbook(workbook, path)


def generic_sheet(plans: list[LongVideoPlan]) -> pd.DataFrame:
    """The ``generic`` annotation table of the recordings (one row per expression)."""
    rows = []
    for plan in plans:
        for e in plan.expressions:
            rows.append({
                "subject": plan.subject, "video": plan.video,
                "sample": f"{plan.video}_{e.onset}", "source": plan.recording,
                "onset": e.onset, "apex": e.apex, "offset": e.offset, "aus": "+".join(e.aus),
                "expression_type": e.kind, "objective_class": e.objective_class,
                "emotion": e.emotion,
            })  # fmt: skip
    return pd.DataFrame(rows)
