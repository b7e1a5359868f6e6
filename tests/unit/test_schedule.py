"""The synthetic data set's plan: durations, labels, determinism, motion truth."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from microexp.synthetic.labels import canonical_aus, objective_class, self_reported_emotion
from microexp.synthetic.motion import (
    HeadTrajectory,
    head_pose_truth,
    rigid_motion,
    rotation_angle_deg,
)
from microexp.synthetic.schedule import (
    FORMAT_FRAMES,
    FORMAT_REALSENSE,
    SyntheticSettings,
    plan_for_sample,
    plan_samples,
)

ROOT = Path(__file__).resolve().parents[2]


def default_config() -> dict:
    """config.yaml with the schema's defaults filled in, as Snakemake sees it."""
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    return config


@pytest.fixture(scope="module")
def config() -> dict:
    return default_config()


@pytest.fixture(scope="module")
def settings(config) -> SyntheticSettings:
    return SyntheticSettings.from_config(config)


@pytest.fixture(scope="module")
def plans(settings):
    return plan_samples(settings)


def test_default_size_meets_the_issue(settings, plans):
    subjects = {p.subject for p in plans}
    micro = [p for p in plans if p.expression_type == "micro"]
    assert len(subjects) >= 8
    assert len(micro) >= 60
    assert {p.format for p in plans} == {FORMAT_REALSENSE, FORMAT_FRAMES}
    assert len({p.sample for p in plans}) == len(plans), "sample ids must be unique"


def test_paper_preset_matches_dsme3d(config):
    paper = copy.deepcopy(config)
    paper["synthetic"].update(
        yaml.safe_load((ROOT / "presets/paper.yaml").read_text())["synthetic"]
    )
    plans = plan_samples(SyntheticSettings.from_config(paper))
    micro = [p for p in plans if p.expression_type == "micro"]
    assert len({p.subject for p in plans}) == 33
    assert len(micro) == 373


def test_durations_follow_the_dsme3d_rule(settings, plans):
    """ME: offset - onset < 500 ms. Macro: >= 500 ms and onset-to-apex >= 260 ms, so that
    DSME-3D's rule (duration < 500 ms or onset-to-apex < 260 ms) separates them."""
    frame_ms = 1000.0 / settings.fps
    for plan in plans:
        e = plan.expression
        assert plan.first_frame < e.onset < e.apex < e.offset < plan.last_frame
        duration = (e.offset - e.onset) * frame_ms
        rise = (e.apex - e.onset) * frame_ms
        is_micro = duration < 500 or rise < 260
        assert is_micro == (plan.expression_type == "micro"), plan.sample
        if plan.expression_type == "macro":
            assert 500 <= duration <= 4000


def test_labels_follow_the_au_mapping(config, plans):
    classes = config["objective_classes"]
    for plan in plans:
        listed = [canonical_aus(c) for c in classes[plan.objective_class]["aus"]]
        assert plan.expression.aus in listed
    emotions = [p.emotion for p in plans]
    agree = np.mean([p.emotion == p.suggested_emotion for p in plans])
    assert 0.7 <= agree < 1.0, "self-reports agree with the AUs most of the time, not always"
    assert "others" in set(emotions) or "sadness" in set(emotions)


def test_objective_class_of_combinations(config):
    classes = config["objective_classes"]
    assert objective_class("AU12+AU6", classes) == "I"
    assert objective_class(["AU4", "AU7"], classes) == "III"
    assert objective_class("AU9+AU12+AU25", classes) == "VII", "unlisted -> others"


def test_self_report_noise_rate():
    rng = np.random.default_rng(0)
    labels = ["happiness", "surprise", "others"]
    draws = [self_reported_emotion("happiness", labels, 0.2, rng) for _ in range(4000)]
    assert abs(np.mean([d != "happiness" for d in draws]) - 0.2) < 0.03


def test_plans_are_deterministic_and_independent(config, settings, plans):
    again = plan_samples(SyntheticSettings.from_config(config))
    assert [repr(p) for p in again] == [repr(p) for p in plans]
    more = copy.deepcopy(config)
    more["synthetic"]["subjects"] += 2
    extended = {p.sample: repr(p) for p in plan_samples(SyntheticSettings.from_config(more))}
    assert all(extended[p.sample] == repr(p) for p in plans), "adding subjects moved samples"
    for plan in plans[:5]:
        assert repr(plan_for_sample(settings, plan.sample)) == repr(plan)


def test_drops_only_in_recordings_and_never_on_annotated_frames(settings, plans):
    for plan in plans:
        if plan.format == FORMAT_FRAMES:
            assert plan.dropped_frames == ()
        annotated = {plan.expression.onset, plan.expression.apex, plan.expression.offset}
        assert annotated.issubset(set(plan.frame_numbers.tolist()))


def test_head_motion_stays_within_bounds():
    rng = np.random.default_rng(3)
    pivot = np.array([0.0, 0.0, 650.0])
    for _ in range(20):
        trajectory = HeadTrajectory.draw(rng, max_deg=2.0, max_mm=3.0)
        motions = trajectory.motions(np.linspace(0, 4, 241), pivot)
        poses = head_pose_truth(motions)
        for m in motions:
            assert rotation_angle_deg(m) <= 2.0 + 1e-6
            # translation of the pivot itself is the pure translation part
            assert np.linalg.norm(m[:3, :3] @ pivot + m[:3, 3] - pivot) <= 3.0 + 1e-6
        assert np.allclose(poses[0], np.eye(4))


def test_head_pose_truth_maps_frame_t_points_to_frame_0():
    pivot = np.array([10.0, -5.0, 600.0])
    m0 = rigid_motion(np.array([0.5, -1.0, 0.2]), np.array([1.0, 0.0, -2.0]), pivot)
    m1 = rigid_motion(np.array([-1.0, 0.3, 1.2]), np.array([0.0, 2.0, 1.0]), pivot)
    neutral = np.array([[0.0, 0.0, 580.0, 1.0], [30.0, 20.0, 600.0, 1.0]])
    at0 = neutral @ m0.T
    at1 = neutral @ m1.T
    poses = head_pose_truth(np.stack([m0, m1]))
    assert np.allclose(at1 @ poses[1].T, at0)


def test_the_subject_figure_shows_the_micro_expression_with_the_lowest_video(plans):
    from microexp.synthetic.figures import figure_plan

    for subject in {p.subject for p in plans}:
        own = [p for p in plans if p.subject == subject]
        shown = figure_plan(list(reversed(own)))
        micro_videos = [p.video for p in own if p.expression_type == "micro"]
        assert shown.expression_type == "micro" and shown.video == min(micro_videos)
    macros = [p for p in plans if p.expression_type != "micro"]
    assert figure_plan(macros).video == min(p.video for p in macros)
