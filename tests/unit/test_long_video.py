"""Synthetic long videos: plans with truth, and the CAS(ME)^2-style sheets read back."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml

from microexp.io.annotations import read_annotations
from microexp.synthetic.actions import AU_NAMES
from microexp.synthetic.long_video import (
    LongVideoSettings,
    au_timeline,
    generic_sheet,
    head_motions,
    long_subject,
    plan_long_videos,
    write_casme_sq_sheet,
)
from microexp.synthetic.render import MAX_AU_INTENSITY, render_frame
from microexp.synthetic.schedule import SyntheticSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def settings() -> SyntheticSettings:
    return SyntheticSettings.from_config(yaml.safe_load((ROOT / "config.yaml").read_text()))


LONG = LongVideoSettings(
    subjects=2, videos_per_subject=2, duration_s=(40.0, 60.0), micro_per_minute=6,
    macro_per_minute=4, blinks_per_minute=10, head_turns_per_minute=3,
)  # fmt: skip


def test_plans_are_deterministic_and_events_do_not_overlap(settings):
    plans = plan_long_videos(settings, LONG)
    assert [repr(p) for p in plans] == [repr(p) for p in plan_long_videos(settings, LONG)]
    assert [p.events for p in plans] == [p.events for p in plan_long_videos(settings, LONG)]
    assert len(plans) == 4
    assert len({p.video for p in plans}) == 4
    for plan in plans:
        assert 40 * 30 <= plan.n_frames <= 60 * 30
        events = sorted(plan.events, key=lambda e: e.onset)
        assert events[0].onset > LONG.lead_s * 30
        assert events[-1].offset <= plan.n_frames - LONG.lead_s * 30
        for a, b in itertools.pairwise(events):
            assert b.onset - a.offset >= LONG.min_gap_s * 30  # neutral stretch between
        kinds = [e.kind for e in events]
        assert {"micro", "macro", "blink", "head_turn"} <= set(kinds)
        for e in events:
            duration_s = (e.offset - e.onset) / 30
            if e.kind == "micro":
                assert duration_s < 0.5
            if e.kind == "macro":
                assert duration_s > 0.5
            assert e.onset < e.apex < e.offset


def test_head_turns_and_drift_in_the_motion(settings):
    plan = plan_long_videos(settings, LONG)[0]
    motions = head_motions(plan, np.array([0.0, 0.0, 600.0]))
    turn = next(e for e in plan.events if e.kind == "head_turn")
    yaw = np.degrees(np.arcsin(np.clip(motions[:, 0, 2], -1, 1)))
    # at the turn's apex the yaw is the turn (plus a wobble of at most 1 degree)
    assert yaw[turn.apex - 1] == pytest.approx(turn.turn_deg, abs=1.5)
    drift = motions[-1, :3, 3] - motions[0, :3, 3]
    assert np.linalg.norm(drift) > 0.5 * LONG.drift_mm


def test_casme_sq_sheet_reads_back_with_the_truth(settings, tmp_path):
    plans = plan_long_videos(settings, LONG)
    path = write_casme_sq_sheet(plans, tmp_path / "CAS(ME)^2code_final.xlsx")
    table = read_annotations(path, "casme_sq", errors="raise")
    expected = [
        (p.subject, p.video, e.onset, e.apex, e.offset, e.kind)
        for p in plans
        for e in p.expressions
    ]
    got = list(
        table[["subject", "video", "onset", "apex", "offset", "expression_type"]].itertuples(
            index=False, name=None
        )
    )
    assert got == expected
    assert all(p.frame_folder.startswith(f"rawpic/{p.subject}/{p.video}") for p in plans)
    generic = generic_sheet(plans)
    assert len(generic) == len(expected)
    assert set(generic["source"]) == {p.recording for p in plans}


def _expression_peaks(plan, gain):
    """(kind, {AU: peak intensity}) of every expression, read from the rendered AU timeline."""
    intensity = au_timeline(plan, gain)
    peaks = []
    for e in plan.expressions:
        window = intensity[e.onset - 1 : e.offset]
        peaks.append((e.kind, {au: window[:, AU_NAMES.index(au)].max() for au in e.aus}))
    return peaks


def test_a_macro_expression_is_clearly_stronger_than_a_micro(settings):
    # Per AU and subject (the same gain), every macro peaks at least 1.5 times as high as any
    # micro: 1.6 x 0.9 / (0.8 x 1.1) >= 1.6 before the renderer's cap, which macros only reach.
    plans = plan_long_videos(settings, LONG)
    gain = np.full(len(AU_NAMES), 0.9)
    peaks = [p for plan in plans for p in _expression_peaks(plan, gain)]
    micro = [v for kind, aus in peaks if kind == "micro" for v in aus.values()]
    macro = [v for kind, aus in peaks if kind == "macro" for v in aus.values()]
    assert len(micro) >= 4 and len(macro) >= 4
    assert min(macro) >= 1.5 * max(micro)
    assert max(micro) <= 1.0 and max(macro) <= MAX_AU_INTENSITY


def test_a_macro_moves_the_face_more_than_a_micro(settings):
    # Rendered: the strongest micro and the weakest macro the defaults can draw, same AUs and
    # subject. The truth landmarks and the pixels both move more for the macro, by the
    # intensity ratio for the landmarks (the AU fields are linear in intensity).
    long = LongVideoSettings()
    subject = long_subject(settings, long, 0)
    aus = ("AU6", "AU12")
    levels = {
        "micro": long.micro_intensity[1] * 1.1,
        "macro": long.macro_intensity[0] * 0.9,
    }
    neutral = render_frame(subject, np.zeros(len(AU_NAMES)))
    moved, changed = {}, {}
    for kind, level in levels.items():
        a = np.zeros(len(AU_NAMES))
        for au in aus:
            a[AU_NAMES.index(au)] = level * subject.au_gain[AU_NAMES.index(au)]
        frame = render_frame(subject, a, max_intensity=MAX_AU_INTENSITY)
        moved[kind] = np.linalg.norm(frame.landmarks2d - neutral.landmarks2d, axis=1).max()
        changed[kind] = np.abs(frame.color.astype(float) - neutral.color).mean()
    assert moved["micro"] > 0.5  # a micro is visible: more than half a pixel
    ratio = levels["macro"] / levels["micro"]
    assert moved["macro"] == pytest.approx(moved["micro"] * ratio, rel=0.05)
    assert moved["macro"] >= 1.5 * moved["micro"]
    assert changed["macro"] >= 1.5 * changed["micro"]


def test_the_renderer_refuses_intensities_beyond_its_bound(settings):
    subject = long_subject(settings, LongVideoSettings(), 0)
    a = np.zeros(len(AU_NAMES))
    a[AU_NAMES.index("AU12")] = 1.2
    with pytest.raises(ValueError, match=r"\[0, 1.0\]"):
        render_frame(subject, a)  # the recognition set's bound is 1
    a[AU_NAMES.index("AU45")] = 1.2
    with pytest.raises(ValueError, match="blink"):
        render_frame(subject, a, max_intensity=MAX_AU_INTENSITY)


def test_the_long_videos_subject_from_the_runs_calibrated_landmarks_is_the_same(settings):
    # rule spotting_synthetic_video reads the photograph's landmarks from the run's file
    # (rule synthetic_photo_landmarks) instead of running dlib again: the same subject
    from microexp.synthetic.photo import photo_face, photo_face_from_landmarks

    long = LongVideoSettings()
    photo = photo_face_from_landmarks(np.array(photo_face().landmarks))
    built, reused = long_subject(settings, long, 1), long_subject(settings, long, 1, photo)
    for name in ("texture", "alpha", "depth_mm", "background_color", "neutral_landmarks2d"):
        np.testing.assert_array_equal(getattr(reused, name), getattr(built, name), err_msg=name)
