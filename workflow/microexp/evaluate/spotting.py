"""Spotting evaluation: interval IoU matching and TP / FP / FN, P, R, F1 per expression type.

Spotting (CAS(ME)^2 Sec. 4; MEGC 2019-2025) predicts intervals ``[onset, offset]`` of frames in
long videos. The MEGC convention scores a predicted interval as a hit when its intersection over
union (IoU) with a ground-truth interval of the same video and type is at least 0.5, and reports
TP, FP, FN, precision, recall and F1 per type (micro, macro) and overall. Public implementations
of that sentence count differently; two countings are implemented here and always labelled:

``counting="megc2020"`` -- the MEGC2020 organisers' scorer (He, Wang, Li and Yap, FG 2020,
baseline project ``result_helper.py``), rule for rule:

* frames are counted inclusively: ``overlap = max(0, min(offsets) - max(onsets)) + 1``,
  ``union = (off1 - on1 + 1) + (off2 - on2 + 1) - overlap``, IoU = overlap / union. Note that the
  ``+ 1`` sits outside the ``max``: two *disjoint* intervals still get an overlap of one frame.
  For intervals longer than one frame their IoU is then at most 1/3, so this never matters at
  thresholds above 1/3 (the MEGC's 0.5), but it does below;
* an interval whose offset is not after its onset (``offset <= onset``) has IoU 0 with anything;
* a match needs IoU >= ``iou``;
* a prediction is compared only with ground truth of its own type in its own video;
* a ground-truth interval found by one or more predictions is one TP (so one prediction may
  find two ground-truth intervals and count two TPs; two predictions on one ground truth count
  one TP and one FP);
* FP = predictions - TP per video and type (can be negative in a video where one prediction
  found two intervals: the organisers' precision is TP / predictions, kept here);
* FN = ground-truth intervals not found;
* predictions on videos without ground truth (of that type) are all FP;
* counts are summed over the data set per type; ``overall`` sums both types' counts;
  P = TP / (TP + FP), R = TP / (TP + FN), F1 = 2 P R / (P + R), each 0 where its denominator is 0.

``counting="one_to_one"`` -- the honest variant: the same per-video, per-type scoring, but

* the overlap is the true inclusive overlap ``max(0, min(offsets) - max(onsets) + 1)``
  (disjoint intervals have IoU 0), and a one-frame interval (``offset == onset``) is valid;
  ``offset < onset`` has IoU 0;
* TP = the size of a maximum one-to-one matching between predictions and ground truth over
  the pairs with IoU >= ``iou`` (Hopcroft-Karp:
  ``scipy.sparse.csgraph.maximum_bipartite_matching``): a prediction finds at most one
  interval and an interval is found by at most one prediction;
* FP = predictions - TP and FN = ground truth - TP, both >= 0 everywhere.

On the MEGC threshold the two differ only when one prediction has IoU >= 0.5 with two
ground-truth intervals (possible: a prediction exactly twice as long as two adjacent intervals
it covers, or overlapping annotations) -- megc2020 counts both as found.

Ground truth: a sheet offset of 0 means "not annotated". :func:`prepare_spotting_truth` applies
the organisers' repair before scoring (offset := apex; apex := mid-point of onset and offset
when the apex is 0) and says how many rows it changed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from microexp.io.expression_type import classify_samples

__all__ = [
    "COUNTINGS",
    "EXPRESSION_TYPES",
    "SPOTTING_COLUMNS",
    "evaluate_spotting",
    "interval_iou",
    "prepare_spotting_truth",
    "scores_from_counts",
    "spotting_counts",
    "spotting_truth_from_sheet",
]

Counting = Literal["megc2020", "one_to_one"]
COUNTINGS: tuple[str, ...] = ("megc2020", "one_to_one")
EXPRESSION_TYPES: tuple[str, ...] = ("micro", "macro")
SPOTTING_COLUMNS: tuple[str, ...] = ("video", "onset", "offset", "expression_type")
INDEX = ("micro", "macro", "overall")


def interval_iou(
    pred_onset: np.ndarray,
    pred_offset: np.ndarray,
    true_onset: np.ndarray,
    true_offset: np.ndarray,
    counting: Counting = "megc2020",
) -> np.ndarray:
    """IoU of every predicted interval with every ground-truth interval, frames inclusive.

    Returns an array (n_pred, n_true). ``counting`` picks the overlap rule described in the
    module docstring (megc2020: ``max(0, .) + 1``; one_to_one: ``max(0, . + 1)``).
    """
    _check_counting(counting)
    po = np.asarray(pred_onset, dtype=np.int64)[:, None]
    pf = np.asarray(pred_offset, dtype=np.int64)[:, None]
    to = np.asarray(true_onset, dtype=np.int64)[None, :]
    tf = np.asarray(true_offset, dtype=np.int64)[None, :]
    span = np.minimum(pf, tf) - np.maximum(po, to)
    if counting == "megc2020":
        overlap = np.maximum(span, 0) + 1
        invalid = (pf <= po) | (tf <= to)
    else:
        overlap = np.maximum(span + 1, 0)
        invalid = (pf < po) | (tf < to)
    union = (pf - po + 1) + (tf - to + 1) - overlap
    invalid = invalid | (union <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(invalid, 0.0, overlap / np.where(union > 0, union, 1))
    return iou.astype(np.float64)


def _check_counting(counting: str) -> None:
    if counting not in COUNTINGS:
        raise ValueError(f"counting must be one of {COUNTINGS}, got {counting!r}")


def _check_intervals(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in SPOTTING_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; need {list(SPOTTING_COLUMNS)}")
    out = frame.loc[:, list(SPOTTING_COLUMNS)].copy()
    out["video"] = out["video"].astype(str)
    for col in ("onset", "offset"):
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() | (values != np.round(values))
        if bad.any():
            row = out.index[bad.to_numpy()][0]
            value = frame[col].iloc[row]
            raise ValueError(f"{what}: {col} must be whole frame numbers (row {row}: {value!r})")
        out[col] = values.astype(np.int64)
    types = out["expression_type"].astype(str)
    bad_type = ~types.isin(EXPRESSION_TYPES)
    if bad_type.any():
        row = out.index[bad_type.to_numpy()][0]
        raise ValueError(
            f"{what}: expression_type must be one of {EXPRESSION_TYPES} (row {row}: {types[row]!r})"
        )
    out["expression_type"] = types
    return out.reset_index(drop=True)


def _match_count(hits: np.ndarray, counting: Counting) -> int:
    """TP of one video and type from the boolean hit matrix (n_pred, n_true)."""
    if hits.size == 0:
        return 0
    if counting == "megc2020":
        return int(hits.any(axis=0).sum())
    matching = maximum_bipartite_matching(csr_matrix(hits.astype(np.int8)), perm_type="column")
    return int((matching >= 0).sum())


def spotting_counts(
    predictions: pd.DataFrame,
    truth: pd.DataFrame,
    iou: float = 0.5,
    counting: Counting = "megc2020",
) -> pd.DataFrame:
    """TP, FP, FN per video and expression type (every video in either frame, both types).

    Columns: video, expression_type, n_pred, n_true, tp, fp, fn (ints). The data-set figures
    of :func:`evaluate_spotting` are the sums of these rows.
    """
    _check_counting(counting)
    if not 0.0 < float(iou) <= 1.0:
        raise ValueError(f"iou must be in (0, 1], got {iou}")
    pred = _check_intervals(predictions, "predictions")
    true = _check_intervals(truth, "truth")
    videos = sorted(set(pred["video"]) | set(true["video"]))
    pred_groups = {k: g for k, g in pred.groupby(["video", "expression_type"], sort=False)}
    true_groups = {k: g for k, g in true.groupby(["video", "expression_type"], sort=False)}
    empty = pred.iloc[:0]
    rows = []
    for video in videos:
        for etype in EXPRESSION_TYPES:
            p = pred_groups.get((video, etype), empty)
            t = true_groups.get((video, etype), empty)
            if len(p) and len(t):
                ious = interval_iou(
                    p["onset"].to_numpy(), p["offset"].to_numpy(),
                    t["onset"].to_numpy(), t["offset"].to_numpy(), counting,
                )  # fmt: skip
                tp = _match_count(ious >= iou, counting)
            else:
                tp = 0
            rows.append((video, etype, len(p), len(t), tp, len(p) - tp, len(t) - tp))
    return pd.DataFrame(
        rows, columns=["video", "expression_type", "n_pred", "n_true", "tp", "fp", "fn"]
    ).astype({c: np.int64 for c in ("n_pred", "n_true", "tp", "fp", "fn")})


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den != 0 else 0.0


def scores_from_counts(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from summed counts; 0 where a denominator is 0."""
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2.0 * precision * recall, precision + recall)
    return precision, recall, f1


def evaluate_spotting(
    predictions: pd.DataFrame,
    truth: pd.DataFrame,
    iou: float = 0.5,
    counting: Counting = "megc2020",
) -> pd.DataFrame:
    """Spotting TP / FP / FN and precision, recall, F1 per type, summed over the data set.

    ``predictions`` and ``truth``: DataFrames with columns video (str), onset (int), offset
    (int), expression_type (``micro`` | ``macro``). Returns a DataFrame indexed ``micro``,
    ``macro``, ``overall`` with int columns tp, fp, fn and float columns precision, recall,
    f1. ``overall`` pools the two types' counts. The counting rules are in the module
    docstring; ``truth`` should have gone through :func:`prepare_spotting_truth`.
    """
    per_video = spotting_counts(predictions, truth, iou=iou, counting=counting)
    sums = per_video.groupby("expression_type")[["tp", "fp", "fn"]].sum()
    sums = sums.reindex(list(EXPRESSION_TYPES), fill_value=0)
    sums.loc["overall"] = sums.sum(axis=0)
    table = sums.loc[list(INDEX)].astype(np.int64)
    scores = [scores_from_counts(*row) for row in table[["tp", "fp", "fn"]].itertuples(index=False)]
    table[["precision", "recall", "f1"]] = np.asarray(scores, dtype=np.float64)
    table.index = pd.Index(list(INDEX), name="expression_type")
    return table


def prepare_spotting_truth(sheet: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Ground-truth intervals from an annotation sheet, with unannotated offsets repaired.

    The repair of the MEGC2020 organisers' CAS(ME)^2 reader, in this order: an offset of 0
    (not annotated) becomes the apex; then an apex of 0 becomes the mid-point of onset and
    offset (floored; the apex does not enter the scoring). A row with both apex and offset 0
    keeps offset 0, so its interval has IoU 0 and can only be a FN -- counted separately.

    ``sheet``: columns video, onset, apex, offset, expression_type (others are kept). Returns
    the repaired frame and the counts ``{"offset_from_apex", "apex_from_midpoint",
    "offset_missing", "rows"}``.
    """
    need = ["video", "onset", "apex", "offset", "expression_type"]
    missing = [c for c in need if c not in sheet.columns]
    if missing:
        raise ValueError(f"truth sheet: missing column(s) {missing}; need {need}")
    out = sheet.copy()
    for col in ("onset", "apex", "offset"):
        out[col] = pd.to_numeric(out[col], errors="raise").astype(np.int64)
    no_offset = out["offset"] == 0
    out.loc[no_offset, "offset"] = out.loc[no_offset, "apex"]
    no_apex = out["apex"] == 0
    out.loc[no_apex, "apex"] = (out.loc[no_apex, "onset"] + out.loc[no_apex, "offset"]) // 2
    counts = {
        "rows": len(out),
        "offset_from_apex": int((no_offset & (out["offset"] != 0)).sum()),
        "apex_from_midpoint": int(no_apex.sum()),
        "offset_missing": int((out["offset"] == 0).sum()),
    }
    return out, counts


def spotting_truth_from_sheet(
    sheet: pd.DataFrame, layout: str
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The scored ground truth of a spotting data set from its annotation sheet (a reader's
    table: subject, video, onset, apex, offset, expression_type, problems).

    Unannotated (0 / <NA>) apex and offset frames are repaired by `prepare_spotting_truth`;
    each row keeps ``offset_unannotated`` so the table can say how many were repaired.
    CAS(ME)^3 Part A (``casme3_a``, docs/methods.md#spotting): its videos are named a, b, ...
    within each subject, so a video is keyed ``<subject>_<video>`` (``spNO.1_a``), and the
    expression type comes from CAS(ME)^3's duration rule on the sheet's frames (<= 500 ms at
    30 fps is micro) wherever the rule can decide (not where the offset is unannotated or
    before the onset: there the sheet's type stays). Rows typed neither micro nor macro are
    dropped. Returns the truth and the counts of `prepare_spotting_truth` plus
    ``flagged`` (rows the reader flagged, kept), ``untyped`` (dropped) and, for casme3_a,
    ``typed_by_rule``, ``differ_from_sheet`` and ``kept_sheet_type``.
    """
    columns = ["subject", "video", "onset", "apex", "offset", "expression_type"]
    rows = sheet.loc[:, columns].copy()
    if layout == "casme3_a":
        rows["video"] = rows["subject"].astype(str) + "_" + rows["video"].astype(str)
    for column in ("apex", "offset"):  # the readers give <NA> for an unannotated (0) frame
        rows[column] = pd.to_numeric(rows[column], errors="coerce").fillna(0).astype("int64")
    unannotated = rows["offset"].to_numpy() == 0
    truth, counts = prepare_spotting_truth(rows)
    truth["offset_unannotated"] = unannotated
    if layout == "casme3_a":
        by_rule = classify_samples(sheet.loc[:, ["onset", "apex", "offset"]], "casme3_a")
        known = by_rule.notna().to_numpy()
        sheet_type = truth["expression_type"].fillna("").to_numpy()
        counts["typed_by_rule"] = int(known.sum())
        counts["differ_from_sheet"] = int(
            (known & (by_rule.fillna("").to_numpy() != sheet_type)).sum()
        )
        counts["kept_sheet_type"] = int((~known).sum())
        truth.loc[known, "expression_type"] = by_rule[known]
    problems = sheet["problems"] if "problems" in sheet else pd.Series("", index=sheet.index)
    counts["flagged"] = int((problems.fillna("").astype(str).str.len() > 0).sum())
    typed = truth["expression_type"].isin(["micro", "macro"]).to_numpy()
    counts["untyped"] = int((~typed).sum())
    return truth[typed], counts
