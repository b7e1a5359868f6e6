"""Spotting tables and figures of a data set: method x type under both countings.

The table (:func:`spotting_table`) has one row per method, counting (``megc2020``,
``one_to_one``) and expression type (micro, macro, overall) with TP, FP, FN, precision, recall
and F1 from :func:`microexp.evaluate.spotting.evaluate_spotting` -- both countings side by side,
the way oracle and nested fusion weights are shown. The F1-vs-threshold curve
(:func:`write_f1_threshold_curve`) re-thresholds the stored contrast curves at every p of
``spotting.thresholds`` (no features recomputed); the per-video picture
(:func:`write_video_figure`) draws the contrast curves of each pass with their thresholds, the
true intervals and the spotted ones. The spotters learn nothing (p is fixed in the config), so
no cross-validation is involved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from microexp.evaluate.spotting import COUNTINGS, evaluate_spotting
from microexp.spotting.signals import spotting_threshold
from microexp.spotting.spotters import MethodParams, SpottingResult, intervals_at

__all__ = [
    "INTERVAL_COLUMNS",
    "intervals_to_frames",
    "load_method_result",
    "save_method_result",
    "spotting_table",
    "threshold_curve",
    "write_f1_threshold_curve",
    "write_spotting_table",
    "write_video_figure",
]

INTERVAL_COLUMNS = ("video", "onset", "offset", "peak", "score", "expression_type")
TYPES = ("micro", "macro")


def intervals_to_frames(
    intervals: pd.DataFrame, frame_numbers: np.ndarray, video: str
) -> pd.DataFrame:
    """Signal positions -> the video's frame numbers, with the video id."""
    out = intervals.copy()
    for col in ("onset", "offset", "peak"):
        out[col] = np.asarray(frame_numbers)[out[col].to_numpy(np.int64)] if len(out) else []
    out.insert(0, "video", video)
    return out.loc[:, list(INTERVAL_COLUMNS)].reset_index(drop=True)


def save_method_result(
    path: str | Path, result: SpottingResult, frame_numbers: np.ndarray, face_found: np.ndarray,
    params: MethodParams, fps: float,
) -> None:  # fmt: skip
    arrays = {"frame_numbers": frame_numbers, "face_found": face_found, "fps": fps, "ok": True}
    for etype in TYPES:
        arrays[f"feature_{etype}"] = result.feature[etype]
        arrays[f"contrast_{etype}"] = result.contrast[etype]
        arrays[f"k_{etype}"] = result.k[etype]
    arrays["params_json"] = json.dumps(
        {**{k: v for k, v in vars(params).items() if k != "windows_s"},
         "windows_s": dict(params.windows_s)}, default=list,
    )  # fmt: skip
    np.savez_compressed(path, **arrays)


def load_method_result(path: str | Path) -> tuple[SpottingResult, np.ndarray, np.ndarray, float]:
    """(result without intervals, frame numbers, face found, fps); raises on a failure marker."""
    from microexp.failures import raise_if_failed

    with np.load(path) as z:
        raise_if_failed(z, path)
        result = SpottingResult(
            feature={t: z[f"feature_{t}"] for t in TYPES},
            contrast={t: z[f"contrast_{t}"] for t in TYPES},
            k={t: int(z[f"k_{t}"]) for t in TYPES},
        )
        return result, z["frame_numbers"], z["face_found"], float(z["fps"])


def spotting_table(
    predictions: Mapping[str, pd.DataFrame], truth: pd.DataFrame, iou: float = 0.5
) -> pd.DataFrame:
    """Rows method x counting x type; columns tp, fp, fn, precision, recall, f1."""
    parts = []
    for method, pred in predictions.items():
        for counting in COUNTINGS:
            scores = evaluate_spotting(pred, truth, iou=iou, counting=counting).reset_index()
            scores.insert(0, "counting", counting)
            scores.insert(0, "method", method)
            parts.append(scores)
    return pd.concat(parts, ignore_index=True)


def write_spotting_table(table: pd.DataFrame, stem: str | Path, title: str) -> dict[str, Path]:
    """``<stem>.tsv``, ``.md`` and ``.html``; floats to 4 decimals in md and html."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = {ext: stem.with_suffix(f".{ext}") for ext in ("tsv", "md", "html")}
    table.to_csv(paths["tsv"], sep="\t", index=False)
    shown = table.copy()
    for col in ("precision", "recall", "f1"):
        shown[col] = shown[col].map(lambda v: f"{v:.4f}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    lines = [f"# {title}", "", header, rule]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.to_numpy()]
    paths["md"].write_text("\n".join(lines) + "\n")
    paths["html"].write_text(f"<h3>{title}</h3>\n" + shown.to_html(index=False) + "\n")
    return paths


def threshold_curve(
    results: Mapping[str, Sequence[tuple[str, SpottingResult, np.ndarray, float]]],
    params: Mapping[str, MethodParams],
    truth: pd.DataFrame,
    thresholds: Sequence[float],
    iou: float = 0.5,
) -> pd.DataFrame:
    """F1 per method, counting, type and p: every video re-thresholded at p."""
    rows = []
    for method, videos in results.items():
        for p in thresholds:
            pred = pd.concat(
                [
                    intervals_to_frames(intervals_at(r, params[method], fps, p), numbers, video)
                    for video, r, numbers, fps in videos
                ]
                or [pd.DataFrame(columns=list(INTERVAL_COLUMNS))],
                ignore_index=True,
            )
            for counting in COUNTINGS:
                scores = evaluate_spotting(pred, truth, iou=iou, counting=counting)
                for etype, row in scores.iterrows():
                    rows.append((method, counting, etype, float(p), float(row["f1"])))
    return pd.DataFrame(rows, columns=["method", "counting", "expression_type", "p", "f1"])


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)
    return path


def write_f1_threshold_curve(curve: pd.DataFrame, path: str | Path, title: str) -> Path:
    """One panel per type; a line per method, solid megc2020, dashed one_to_one."""
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, etype in zip(axes, ("micro", "macro", "overall"), strict=True):
        for i, (method, part) in enumerate(curve[curve.expression_type == etype].groupby("method")):
            for counting, style in (("megc2020", "-"), ("one_to_one", "--")):
                line = part[part.counting == counting].sort_values("p")
                ax.plot(line.p, line.f1, style, color=f"C{i}", label=f"{method} ({counting})")
        ax.set_title(etype)
        ax.set_xlabel("threshold fraction p")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("F1 (IoU >= 0.5)")
    axes[-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    return _save(fig, path)


def write_video_figure(
    video: str,
    curves: Mapping[str, tuple[SpottingResult, np.ndarray, MethodParams]],
    predictions: Mapping[str, pd.DataFrame],
    truth: pd.DataFrame,
    path: str | Path,
    title: str,
) -> Path:
    """Per method a panel of both passes' contrast curves, thresholds, truth and spotted."""
    methods = list(curves)
    fig = Figure(figsize=(12, 1.0 + 2.0 * max(1, len(methods))), layout="constrained")
    axes = np.atleast_1d(fig.subplots(max(1, len(methods)), 1, sharex=True))
    colours = {"micro": "C3", "macro": "C0"}
    video_truth = truth[truth.video == video]
    for ax, method in zip(axes, methods, strict=False):
        result, numbers, params = curves[method]
        for etype in TYPES:
            c = result.contrast[etype]
            scale = np.nanmax(np.abs(c)) if np.isfinite(c).any() else 1.0
            scale = scale if scale > 0 else 1.0
            ax.plot(numbers, c / scale, color=colours[etype], lw=0.8, label=f"{etype} pass")
            ax.axhline(
                spotting_threshold(c, params.p) / scale, color=colours[etype], ls=":", lw=0.8
            )
        for _, row in video_truth.iterrows():
            ax.axvspan(row.onset, row.offset, color=colours[row.expression_type], alpha=0.15)
        pred = predictions.get(method)
        if pred is not None:
            for _, row in pred[pred.video == video].iterrows():
                ax.plot([row.onset, row.offset], [-0.15, -0.15], color=colours[row.expression_type],
                        lw=3, solid_capstyle="butt")  # fmt: skip
        ax.set_ylabel(f"{method}\ncontrast / max")
        ax.set_ylim(-0.3, 1.1)
    axes[0].legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("frame (shaded: truth; bars: spotted; dotted: threshold)")
    fig.suptitle(title)
    return _save(fig, path)
