"""The RGB vs RGB-D study (CAS(ME)^3 Sec. 5, its "RGB vs RGB-D" recognition table; the 2D/3D
probability fusion after DSME-3D Eq. 13 / Table 11); docs/depth_flow.md.

Per data set, on the micro-expressions: the 2D optical-flow histograms (RGB) and the depth-flow
histograms (depth) of the depth_flow stage, each classified by an SVM with probabilities under
leave-one-subject-out, in CAS(ME)^3's 4-class (positive, negative, surprise, others) and 7-class
(six emotions and others) schemes; and RGB-D, the fusion P = (1 - a) p_RGB + a p_depth with a
chosen by a nested LOSO on each outer fold's training subjects (the honest figure) and, beside
it, the oracle a chosen on the test predictions (what DSME-3D reports). Scores: UF1 and UAR on
predictions pooled over the folds (the MEGC convention).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from microexp.evaluate.formatting import PaperTable, TableContext
from microexp.learn.classes import DEFAULT_CLASS_SCHEMES, apply_scheme
from microexp.learn.fusion import alpha_grid, nested_fusion_cv
from microexp.learn.metrics import summarize_scores
from microexp.learn.protocols import loso_splits
from microexp.learn.svm import SVMParams

__all__ = [
    "STUDY_SCHEMES",
    "StudyFeatures",
    "load_study_features",
    "rgbd_paper_table",
    "rgbd_table",
]

#: Scheme name in the table -> the class scheme (learn/classes.py) it uses.
STUDY_SCHEMES = {"4-class": "casme3_four_class", "7-class": "casme3_seven_class"}
INPUTS = ("RGB", "depth", "RGB-D (nested a)", "RGB-D (oracle a)")


@dataclass
class StudyFeatures:
    """Feature matrices of the samples that went through depth_flow, and those left out."""

    samples: list[str]
    hist2d: np.ndarray
    hist3d: np.ndarray
    excluded: pd.DataFrame


def load_study_features(paths: Mapping[str, str | Path]) -> StudyFeatures:
    """Read `hist2d` / `hist3d` from each sample's depth_flow file; failure markers excluded
    with their reason."""
    samples, rows2d, rows3d, excluded = [], [], [], []
    for sample, path in paths.items():
        with np.load(Path(path), allow_pickle=False) as data:
            if "ok" in data.files and not bool(data["ok"]):
                record = json.loads(data["failure"].item())
                excluded.append((sample, f"{record['stage']}: {record['reason']}"))
                continue
            rows2d.append(np.asarray(data["hist2d"], dtype=np.float64))
            rows3d.append(np.asarray(data["hist3d"], dtype=np.float64))
            samples.append(sample)
    empty = np.zeros((0, 0))
    return StudyFeatures(
        samples=samples,
        hist2d=np.vstack(rows2d) if rows2d else empty,
        hist3d=np.vstack(rows3d) if rows3d else empty,
        excluded=pd.DataFrame(excluded, columns=["sample", "reason"]),
    )


def _scheme(name: str, schemes: Mapping[str, Any], min_class_size: int) -> dict[str, Any]:
    spec = dict(schemes.get(name) or DEFAULT_CLASS_SCHEMES[name])
    spec["min_class_size"] = min_class_size
    return spec


def rgbd_table(
    sheet: pd.DataFrame,
    features: StudyFeatures,
    *,
    seed: int,
    svm: SVMParams | None = None,
    schemes: Mapping[str, Any] | None = None,
    expression_types: Sequence[str] = ("micro",),
    min_class_size: int = 2,
    alpha_step: float = 0.05,
    criterion: str = "uf1",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The study's long table and a report of what each scheme kept.

    ``sheet``: samples.tsv (sample, subject, expression_type, emotion...); the study keeps the
    samples of ``expression_types`` (CAS(ME)^3: micro-expressions). Rows of the table:
    scheme, input (RGB, depth, RGB-D nested a, RGB-D oracle a), uf1, uar, accuracy, n_samples,
    n_classes, a (the fusion weight: one value for the oracle, the mean over folds for nested).
    """
    svm = svm or SVMParams()
    schemes = schemes or {}
    sheet = sheet.set_index("sample", drop=False)
    if "expression_type" in sheet.columns:
        types = sheet["expression_type"].astype("string").fillna("").str.strip().str.lower()
        wanted = [t.strip().lower() for t in expression_types]
        micro = sheet[types.isin(wanted).to_numpy(dtype=bool)]
    else:
        micro = sheet
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "expression_types": list(expression_types),
        "excluded_features": features.excluded.to_dict("records"),
    }
    index = {s: i for i, s in enumerate(features.samples)}
    for table_name, scheme_name in STUDY_SCHEMES.items():
        scheme = _scheme(scheme_name, schemes, min_class_size)
        labels, scheme_report = apply_scheme(micro[scheme["source"]], scheme)
        keep = [s for s in labels.dropna().index if s in index]
        report[table_name] = {
            "scheme": scheme_name,
            "classes": scheme_report["classes"],
            "counts": scheme_report["counts"],
            "dropped_samples": scheme_report["dropped_samples"],
            "without_features": [s for s in labels.dropna().index if s not in index],
        }
        classes = [c for c in scheme_report["classes"] if c in set(labels[keep])]
        if len(classes) < 2 or len({micro.loc[s, "subject"] for s in keep}) < 3:
            report[table_name]["skipped"] = "fewer than 2 classes or 3 subjects"
            continue
        rows_of = [index[s] for s in keep]
        splits = loso_splits(keep, [str(micro.loc[s, "subject"]) for s in keep], list(labels[keep]))
        run = nested_fusion_cv(
            features.hist2d[rows_of],
            features.hist3d[rows_of],
            keep,
            splits,
            svm,
            svm,
            alpha_grid(alpha_step),
            seed=seed,
            classes=classes,
            outer_protocol="loso",
            criterion=criterion,
        )
        for name, predictions, alpha in (
            ("RGB", run.outer2d, np.nan),
            ("depth", run.outer3d, np.nan),
            ("RGB-D (nested a)", run.nested.predictions, _mean_alpha(run.nested)),
            ("RGB-D (oracle a)", run.oracle.predictions, _mean_alpha(run.oracle)),
        ):
            summary = summarize_scores(predictions)
            pooled = summary[summary["aggregation"] == "pooled"].set_index("metric")["mean"]
            rows.append(
                {
                    "scheme": table_name,
                    "input": name,
                    "uf1": float(pooled["uf1"]),
                    "uar": float(pooled["uar"]),
                    "accuracy": float(pooled["accuracy"]),
                    "n_samples": len(keep),
                    "n_classes": len(classes),
                    "a": alpha,
                }
            )
    columns = ["scheme", "input", "uf1", "uar", "accuracy", "n_samples", "n_classes", "a"]
    return pd.DataFrame(rows, columns=columns), report


def _mean_alpha(result: Any) -> float:
    # The weight used per outer fold (one value for the oracle), averaged.
    return float(pd.to_numeric(result.alphas["a"]).mean())


def rgbd_paper_table(
    table: pd.DataFrame, report: Mapping[str, Any], context: TableContext
) -> PaperTable:
    """The study as a paper table (TSV / Markdown / LaTeX / HTML, ``write_table_files``): rows
    (scheme, input) -- 4-class and 7-class, each with RGB, depth, RGB-D nested a and RGB-D
    oracle a --, columns UF1, UAR, accuracy (%), a, N and the number of classes ("n classes").
    A scheme that could not run (fewer than 2 classes or 3 subjects) has its rows empty and
    says why."""
    columns = ["UF1", "UAR", "Accuracy (%)", "a", "N", "n classes"]
    index, values, cells = [], [], []
    for scheme in STUDY_SCHEMES:
        for name in INPUTS:
            row = table[(table["scheme"] == scheme) & (table["input"] == name)]
            index.append((scheme, name))
            if row.empty:
                values.append([np.nan] * len(columns))
                cells.append(["—"] * len(columns))
                continue
            r = row.iloc[0]
            accuracy = 100.0 * float(r["accuracy"])
            values.append(
                [r["uf1"], r["uar"], accuracy, r["a"], int(r["n_samples"]), int(r["n_classes"])]
            )
            a_text = "" if np.isnan(r["a"]) else f"{r['a']:.2f}"
            cells.append(
                [
                    f"{r['uf1']:.4f}",
                    f"{r['uar']:.4f}",
                    f"{accuracy:.2f}",
                    a_text,
                    str(int(r["n_samples"])),
                    str(int(r["n_classes"])),
                ]
            )
    multi = pd.MultiIndex.from_tuples(index, names=["scheme", "input"])
    types = ", ".join(report.get("expression_types", ["micro"]))
    header = [
        f"Dataset: {context.dataset} (layout {context.layout}).",
        f"Samples: expression types {types} (CAS(ME)^3: micro-expressions); protocol LOSO; "
        "SVM with probabilities; UF1 and UAR on the predictions pooled over the folds.",
    ]
    for scheme in STUDY_SCHEMES:
        info = report.get(scheme, {})
        counts = ", ".join(f"{k} {v}" for k, v in info.get("counts", {}).items())
        skipped = f"; not run: {info['skipped']}" if "skipped" in info else ""
        header.append(f"{scheme} ({info.get('scheme', '')}): {counts or 'no samples'}{skipped}.")
    if context.n_excluded is not None:
        header.append(
            f"Samples without depth flow (failed here or upstream): {context.n_excluded}"
            + (f" (listed in {context.exclusion_list})" if context.exclusion_list else "")
        )
    header.extend(context.notes)
    return PaperTable(
        name="rgbd_vs_rgb",
        title="RGB vs RGB-D (CAS(ME)^3 Sec. 5): 2D flow, depth flow and their fusion",
        header=tuple(header),
        values=pd.DataFrame(values, index=multi, columns=columns),
        cells=pd.DataFrame(cells, index=multi, columns=columns),
        legend=(
            "RGB: 2D optical-flow direction histograms; depth: depth-flow direction histograms "
            "(docs/depth_flow.md).",
            "RGB-D: P = (1 - a) p_RGB + a p_depth (DSME-3D Eq. 13, as its Table 11); nested a: "
            "chosen per outer fold by LOSO on its training subjects (mean over folds shown); "
            "oracle a: chosen on the test predictions (optimistic).",
        ),
        subtitle=f"{context.dataset}, {types}, LOSO",
    )
