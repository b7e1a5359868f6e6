"""Synthetic long videos: plans with truth, and the CAS(ME)^2-style sheets read back."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml

from microexp.io.annotations import read_annotations
from microexp.synthetic.long_video import (
    LongVideoSettings,
    generic_sheet,
    head_motions,
    plan_long_videos,
    write_casme_sq_sheet,
)
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
