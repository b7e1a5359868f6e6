"""Spotting evaluation: every counting rule pinned with hand-made intervals (hand-computed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from microexp.evaluate.spotting import (
    evaluate_spotting,
    interval_iou,
    prepare_spotting_truth,
    spotting_counts,
)


def frame(*rows):
    return pd.DataFrame(rows, columns=["video", "onset", "offset", "expression_type"])


def counts(table, kind):
    return tuple(int(v) for v in table.loc[kind, ["tp", "fp", "fn"]])


def test_contract_index_columns_and_dtypes():
    t = evaluate_spotting(frame(("v", 1, 10, "micro")), frame(("v", 1, 10, "micro")))
    assert list(t.index) == ["micro", "macro", "overall"]
    assert list(t.columns) == ["tp", "fp", "fn", "precision", "recall", "f1"]
    for c in ("tp", "fp", "fn"):
        assert t[c].dtype == np.int64
    for c in ("precision", "recall", "f1"):
        assert t[c].dtype == np.float64


def test_iou_frames_inclusive():
    # [1, 10] vs [6, 15]: overlap frames 6..10 = 5, union 1..15 = 15 -> 1/3.
    for counting in ("megc2020", "one_to_one"):
        assert interval_iou([1], [10], [6], [15], counting)[0, 0] == pytest.approx(5 / 15)
    # identical 2-frame intervals: 2/2
    assert interval_iou([4], [5], [4], [5])[0, 0] == 1.0
    # [1, 10] vs [1, 5]: 5 / 10 = 0.5 exactly -> a match at 0.5
    assert interval_iou([1], [10], [1], [5])[0, 0] == 0.5


def test_iou_offset_not_after_onset_is_zero_in_megc2020():
    assert interval_iou([5], [5], [5], [5], "megc2020")[0, 0] == 0.0
    assert interval_iou([5], [4], [1], [10], "megc2020")[0, 0] == 0.0
    assert interval_iou([1], [10], [7], [7], "megc2020")[0, 0] == 0.0
    # one_to_one: a one-frame interval is valid, offset < onset is not
    assert interval_iou([5], [5], [5], [5], "one_to_one")[0, 0] == 1.0
    assert interval_iou([5], [4], [1], [10], "one_to_one")[0, 0] == 0.0


def test_iou_disjoint_intervals_megc2020_quirk():
    # The organisers' overlap is max(0, .) + 1: disjoint [1, 2] and [4, 5] get 1 / (2 + 2 - 1).
    assert interval_iou([1], [2], [4], [5], "megc2020")[0, 0] == pytest.approx(1 / 3)
    assert interval_iou([1], [2], [4], [5], "one_to_one")[0, 0] == 0.0
    # ... which matters only below 1/3:
    p, t = frame(("v", 1, 2, "micro")), frame(("v", 4, 5, "micro"))
    assert counts(evaluate_spotting(p, t, iou=0.3), "micro") == (1, 0, 0)
    assert counts(evaluate_spotting(p, t, iou=0.3, counting="one_to_one"), "micro") == (0, 1, 1)
    assert counts(evaluate_spotting(p, t, iou=0.5), "micro") == (0, 1, 1)


def test_threshold_is_inclusive():
    truth = frame(("v", 1, 5, "macro"))
    t = evaluate_spotting(frame(("v", 1, 10, "macro")), truth)  # IoU exactly 0.5
    assert counts(t, "macro") == (1, 0, 0)
    t = evaluate_spotting(frame(("v", 1, 11, "macro")), truth)  # 5 / 11 < 0.5
    assert counts(t, "macro") == (0, 1, 1)


@pytest.mark.parametrize("counting", ["megc2020", "one_to_one"])
def test_per_type(counting):
    # A perfect interval of the wrong type is a FP of its type and the truth a FN of its own.
    p, t = frame(("v", 10, 20, "micro")), frame(("v", 10, 20, "macro"))
    t = evaluate_spotting(p, t, counting=counting)
    assert counts(t, "micro") == (0, 1, 0)
    assert counts(t, "macro") == (0, 0, 1)
    assert counts(t, "overall") == (0, 1, 1)


@pytest.mark.parametrize("counting", ["megc2020", "one_to_one"])
def test_per_video(counting):
    p, t = frame(("a", 10, 20, "micro")), frame(("b", 10, 20, "micro"))
    t = evaluate_spotting(p, t, counting=counting)
    assert counts(t, "micro") == (0, 1, 1)


def test_prediction_overlapping_two_truths():
    # [1, 10] has IoU 0.5 with [1, 5] and with [6, 10].
    pred = frame(("v", 1, 10, "macro"))
    truth = frame(("v", 1, 5, "macro"), ("v", 6, 10, "macro"))
    megc = evaluate_spotting(pred, truth, counting="megc2020")
    assert counts(megc, "macro") == (2, -1, 0)  # FP = predictions - TP, as the organisers
    assert megc.loc["macro", "precision"] == 2.0  # TP / predictions
    one = evaluate_spotting(pred, truth, counting="one_to_one")
    assert counts(one, "macro") == (1, 0, 1)
    assert one.loc["macro", "precision"] == 1.0
    assert one.loc["macro", "recall"] == 0.5
    assert one.loc["macro", "f1"] == pytest.approx(2 / 3)


def test_one_truth_found_by_two_predictions():
    pred = frame(("v", 10, 20, "micro"), ("v", 11, 20, "micro"))
    truth = frame(("v", 10, 20, "micro"))
    for counting in ("megc2020", "one_to_one"):
        t = evaluate_spotting(pred, truth, counting=counting)
        assert counts(t, "micro") == (1, 1, 0)
        assert t.loc["micro", "precision"] == 0.5
        assert t.loc["micro", "recall"] == 1.0


def test_one_to_one_is_a_maximum_matching():
    # Greedy would give p1 -> t1 and leave t2 unmatched; the maximum matching finds both.
    # p1 = [1, 10] hits t1 = [1, 6] (0.6) and t2 = [5, 10] (0.6); p2 = [1, 7] hits only t1.
    pred = frame(("v", 1, 10, "macro"), ("v", 1, 7, "macro"))
    truth = frame(("v", 1, 6, "macro"), ("v", 5, 10, "macro"))
    ious = interval_iou([1, 1], [10, 7], [1, 5], [6, 10])
    assert (ious >= 0.5).tolist() == [[True, True], [True, False]]
    assert counts(evaluate_spotting(pred, truth, counting="one_to_one"), "macro") == (2, 0, 0)
    assert counts(evaluate_spotting(pred, truth, counting="megc2020"), "macro") == (2, 0, 0)


def test_predictions_on_videos_without_truth_are_fp():
    pred = frame(("v", 1, 10, "micro"), ("w", 1, 10, "micro"), ("w", 30, 50, "macro"))
    truth = frame(("v", 1, 10, "micro"))
    for counting in ("megc2020", "one_to_one"):
        t = evaluate_spotting(pred, truth, counting=counting)
        assert counts(t, "micro") == (1, 1, 0)
        assert counts(t, "macro") == (0, 1, 0)


def test_overall_pools_counts_not_scores():
    pred = frame(
        ("v", 1, 10, "micro"), ("v", 40, 45, "micro"), ("v", 40, 45, "micro"),
        ("v", 100, 150, "macro"),
    )  # fmt: skip
    truth = frame(("v", 1, 10, "micro"), ("v", 100, 150, "macro"), ("v", 300, 350, "macro"))
    t = evaluate_spotting(pred, truth)
    assert counts(t, "micro") == (1, 2, 0)
    assert counts(t, "macro") == (1, 0, 1)
    assert counts(t, "overall") == (2, 2, 1)
    p, r = 2 / 4, 2 / 3
    assert t.loc["overall", "precision"] == pytest.approx(p)
    assert t.loc["overall", "recall"] == pytest.approx(r)
    assert t.loc["overall", "f1"] == pytest.approx(2 * p * r / (p + r))
    # not the mean of the per-type F1s
    assert t.loc["overall", "f1"] != pytest.approx(t.loc[["micro", "macro"], "f1"].mean())


def test_zero_denominators_give_zero():
    empty = frame()
    t = evaluate_spotting(empty, empty)
    assert (t[["tp", "fp", "fn"]].to_numpy() == 0).all()
    assert (t[["precision", "recall", "f1"]].to_numpy() == 0.0).all()
    # predictions but no truth: P = 0, R = 0 (denominator 0), F1 = 0
    t = evaluate_spotting(frame(("v", 1, 10, "micro")), empty)
    assert counts(t, "micro") == (0, 1, 0)
    assert t.loc["micro", "recall"] == 0.0 and t.loc["micro", "f1"] == 0.0
    # truth but no predictions: precision 0 (0 / 0)
    t = evaluate_spotting(empty, frame(("v", 1, 10, "macro")))
    assert counts(t, "macro") == (0, 0, 1)
    assert t.loc["macro", "precision"] == 0.0


def test_truth_with_offset_not_after_onset_is_a_fn():
    t = evaluate_spotting(frame(("v", 5, 5, "micro")), frame(("v", 5, 5, "micro")))
    assert counts(t, "micro") == (0, 1, 1)
    one = frame(("v", 5, 5, "micro"))
    t = evaluate_spotting(one, one, counting="one_to_one")
    assert counts(t, "micro") == (1, 0, 0)


def test_per_video_counts_sum_to_the_table():
    pred = frame(("a", 1, 10, "micro"), ("b", 1, 10, "macro"), ("c", 5, 9, "micro"))
    truth = frame(("a", 1, 10, "micro"), ("b", 50, 60, "macro"))
    per = spotting_counts(pred, truth)
    assert len(per) == 3 * 2  # every video x both types
    row = per[(per.video == "c") & (per.expression_type == "micro")].iloc[0]
    assert (row.n_pred, row.tp, row.fp, row.fn) == (1, 0, 1, 0)
    t = evaluate_spotting(pred, truth)
    assert int(per.tp.sum()) == int(t.loc["overall", "tp"])


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="expression_type"):
        evaluate_spotting(frame(("v", 1, 10, "mikro")), frame())
    with pytest.raises(ValueError, match="missing column"):
        evaluate_spotting(pd.DataFrame({"video": ["v"]}), frame())
    with pytest.raises(ValueError, match="onset must be whole frame numbers"):
        evaluate_spotting(frame(("v", 1.5, 10, "micro")), frame())
    with pytest.raises(ValueError, match="counting"):
        evaluate_spotting(frame(), frame(), counting="greedy")


def test_prepare_truth_offset_zero_becomes_apex():
    sheet = pd.DataFrame(
        [
            ("v", 100, 110, 120, "micro"),  # untouched
            ("v", 200, 210, 0, "macro"),  # offset := apex = 210
            ("v", 300, 0, 320, "macro"),  # apex := (300 + 320) // 2 = 310
            ("v", 400, 0, 0, "micro"),  # both missing: offset stays 0 (unfindable)
        ],
        columns=["video", "onset", "apex", "offset", "expression_type"],
    )
    out, n = prepare_spotting_truth(sheet)
    assert out["offset"].tolist() == [120, 210, 320, 0]
    assert out["apex"].tolist() == [110, 210, 310, 200]
    assert n == {"rows": 4, "offset_from_apex": 1, "apex_from_midpoint": 2, "offset_missing": 1}
    assert sheet["offset"].tolist() == [120, 0, 320, 0]  # input not modified
    t = evaluate_spotting(frame(("v", 200, 210, "macro")), out)
    assert int(t.loc["macro", "tp"]) == 1


def test_spotting_truth_from_a_casme3_a_sheet():
    from microexp.evaluate.spotting import spotting_truth_from_sheet

    sheet = pd.DataFrame(
        {
            "subject": ["spNO.1", "spNO.2", "spNO.2", "spNO.2"],
            "video": ["a", "a", "a", "b"],
            # 10 frames at 30 fps (333 ms: micro, the sheet says macro); offset 0 (kept the
            # sheet's micro, offset -> apex); 60 frames (2 s: macro); no type at all
            "onset": [100, 200, 300, 10],
            "apex": [105, 210, 330, 12],
            "offset": [109, pd.NA, 359, pd.NA],
            "expression_type": ["macro", "micro", "macro", None],
            "problems": ["", "", "onset after offset", ""],
        }
    )
    truth, counts = spotting_truth_from_sheet(sheet, "casme3_a")
    assert truth["video"].tolist() == ["spNO.1_a", "spNO.2_a", "spNO.2_a"]
    assert truth["expression_type"].tolist() == ["micro", "micro", "macro"]
    assert truth["offset"].tolist() == [109, 210, 359]
    assert truth["offset_unannotated"].tolist() == [False, True, False]
    assert counts["offset_from_apex"] == 2 and counts["untyped"] == 1 and counts["flagged"] == 1
    assert counts["differ_from_sheet"] == 1 and counts["kept_sheet_type"] == 2
    # any other layout keeps the sheet's video names and types
    other, _ = spotting_truth_from_sheet(sheet, "casme_sq")
    assert other["video"].tolist() == ["a", "a", "a"]
    assert other["expression_type"].tolist() == ["macro", "micro", "macro"]
