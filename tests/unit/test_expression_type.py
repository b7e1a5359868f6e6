"""ME / macro-expression duration rules per data set (docs/methods.md#micro-vs-macro)."""

from __future__ import annotations

import pandas as pd
import pytest

from microexp.io.expression_type import (
    CASME3_RULE,
    CASME_SQ_RULE,
    DSME3D_RULE,
    DurationRule,
    classify_by_duration,
    compare_with_sheet,
    expression_duration_ms,
    parse_expression_type,
    rule_for_layout,
)

NA = pd.NA


@pytest.mark.parametrize(
    ("onset", "apex", "offset", "expected"),
    [
        (0, 20, 29, "micro"),  # 483 ms total < 500 ms
        (0, 15, 30, "micro"),  # 500 ms total, but onset-to-apex 250 ms < 260 ms
        (0, 16, 30, "macro"),  # 500 ms (not < 500) and 267 ms (not < 260)
        (0, 15, None, "micro"),  # fast rise decides without an offset
        (0, 16, None, NA),  # could still be short: unknown
        (0, None, 29, "micro"),  # short decides without an apex
        (0, None, 60, NA),  # could still rise fast: unknown
        (None, 5, 10, NA),
    ],
)
def test_dsme3d_rule_frames_at_60_fps(onset, apex, offset, expected) -> None:
    result = classify_by_duration(onset, apex, offset, DSME3D_RULE)
    assert result is NA if expected is NA else result == expected


def test_dsme3d_rule_uses_timestamps_when_given() -> None:
    # 31 frames at 60 fps would be 500 ms: not an ME by frames; the clock says 480 ms.
    assert classify_by_duration(0, 20, 30, "dsme3d") == "macro"
    assert (
        classify_by_duration(0, 20, 30, "dsme3d", onset_ms=1000.0, apex_ms=1300.0, offset_ms=1480.0)
        == "micro"
    )
    # onset-to-apex from timestamps: 250 ms < 260 ms although 17 frames would be 283 ms
    assert (
        classify_by_duration(0, 17, 40, "dsme3d", onset_ms=0.0, apex_ms=250.0, offset_ms=700.0)
        == "micro"
    )


@pytest.mark.parametrize(
    ("onset", "offset", "expected"),
    [(1, 15, "micro"), (100, 114, "micro"), (1, 16, "macro"), (1, None, NA)],
)
def test_casme3_rule_15_frames_inclusive(onset, offset, expected) -> None:
    for rule in (CASME3_RULE, "casme3_a", "casme3_c"):
        result = classify_by_duration(onset, None, offset, rule)
        assert result is NA if expected is NA else result == expected


@pytest.mark.parametrize(
    ("onset", "offset", "expected"),
    [(1, 15, "micro"), (1, 16, "macro"), (1, 120, "macro"), (1, 121, NA), (1, None, NA)],
)
def test_casme_sq_rule_500_ms_and_4_s(onset, offset, expected) -> None:
    result = classify_by_duration(onset, 3, offset, CASME_SQ_RULE)
    assert result is NA if expected is NA else result == expected


def test_duration_and_order_checks() -> None:
    assert expression_duration_ms(1, 15, 30.0) == pytest.approx(500.0)
    assert expression_duration_ms(0, 30, 60.0, frames_inclusive=False) == pytest.approx(500.0)
    assert expression_duration_ms(
        0, 30, 60.0, onset_ms=10.0, offset_ms=400.0, frames_inclusive=False
    ) == pytest.approx(390.0)
    with pytest.raises(ValueError, match="before onset"):
        classify_by_duration(10, None, 5, "casme3_a")
    with pytest.raises(ValueError, match="no built-in"):
        rule_for_layout("generic")


def test_rule_from_config() -> None:
    rule = DurationRule.from_config({"base": "casme3", "fps": 60.0, "name": "casme3-60fps"})
    assert rule.fps == 60.0 and rule.me_max_inclusive and rule.name == "casme3-60fps"
    assert classify_by_duration(1, None, 30, rule) == "micro"  # 30 frames at 60 fps = 500 ms
    custom = DurationRule.from_config({"fps": 30.0})
    assert custom.name == "custom" and custom.me_max_ms == 500.0
    with pytest.raises(ValueError, match="unknown duration-rule keys"):
        DurationRule.from_config({"fps": 30, "max_ms": 500})
    with pytest.raises(ValueError, match="fps"):
        DurationRule("bad", fps=0)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("micro", "micro"),
        ("Micro-expression", "micro"),
        (" ME ", "micro"),
        ("macro-expression", "macro"),
        ("MaE", "macro"),
        ("Macro", "macro"),
        (None, NA),
        ("", NA),
    ],
)
def test_parse_expression_type(cell, expected) -> None:
    result = parse_expression_type(cell)
    assert result is NA if expected is NA else result == expected


def test_parse_expression_type_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unreadable expression type"):
        parse_expression_type("blink")


def test_compare_with_sheet_counts_and_relabels_nothing() -> None:
    samples = pd.DataFrame(
        {
            "sample": ["a", "b", "c", "d", "e", "f"],
            "onset": pd.array([1, 1, 1, 1, 1, 10], dtype="Int64"),
            "apex": pd.array([5, 5, 5, 5, 5, 12], dtype="Int64"),
            "offset": pd.array([10, 40, 10, 40, None, 5], dtype="Int64"),
            "expression_type": pd.array(
                ["micro", "micro", "macro", "macro", "micro", None], dtype="string"
            ),
            "sheet_row": [2, 3, 4, 5, 6, 7],
        }
    )
    before = samples.copy()
    summary = compare_with_sheet(samples, "casme3_a")
    assert summary.as_dict() == {
        "rule": "casme3",
        "n_samples": 6,
        "agree": 2,
        "sheet_micro_rule_macro": 1,
        "sheet_macro_rule_micro": 1,
        "rule_undecided": 2,  # unknown offset; offset before onset
        "sheet_unlabelled": 1,
    }
    assert summary.disagreements["sample"].tolist() == ["b", "c"]
    assert summary.disagreements["rule_type"].tolist() == ["macro", "micro"]
    assert summary.disagreements["sheet_row"].tolist() == [3, 4]
    pd.testing.assert_frame_equal(samples, before)


def test_compare_uses_timestamp_columns() -> None:
    samples = pd.DataFrame(
        {
            "sample": ["x"],
            "onset": [0],
            "apex": [20],
            "offset": [30],
            "onset_ms": [0.0],
            "apex_ms": [300.0],
            "offset_ms": [480.0],
            "expression_type": ["micro"],
        }
    )
    assert compare_with_sheet(samples, DSME3D_RULE).agree == 1
