"""DSME-3D Table 12: deep 2D networks alone and fused with the 3D curvature features (4.3.3).

Three classes by emotion (positive, negative, surprise; "others" discarded: the
``three_class`` scheme of learn/classes.py), LOSO. Each network of learn/deep/ is trained
from scratch per fold (fixed epochs, last epoch evaluated) on the flow stage's inputs; its
softmax probabilities are fused with the SVM probabilities of each curvature descriptor (SI, HK,
SI+HK) exactly like LBP-TOP in Table 11: P = (1 - a) p2D + a p3D (DSME-3D Eq. 13), with the
oracle a (best on the pooled test predictions, as the paper reports) and the nested a (chosen
per outer fold on inner LOSO predictions of its training subjects: the networks and the SVMs
are both retrained inside every outer fold, learn/fusion.py). Accuracy, UF1 and UAR are computed
on the predictions pooled over the LOSO folds.

The paper gives only the accuracy gains of fusion (4.3.3: 3D-STCNN +2.08, STSTNet +4.68, EMR+AT
+2.94 points); they are printed beside ours when the data set is DSME-3D. The paper's EMR+AT is
not implemented (its gain has no row here); OFF-ApexNet takes its place as the issue asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from microexp.evaluate import paper
from microexp.evaluate.formatting import PaperTable, TableContext
from microexp.learn import deep, metrics
from microexp.learn.fusion import alpha_grid, nested_fusion, oracle_fusion
from microexp.learn.protocols import loso_splits, nested_splits
from microexp.learn.svm import SVMParams, cross_validate_svm

__all__ = [
    "DESCRIPTORS",
    "NETWORK_LABELS",
    "Table12Result",
    "deep_prediction_table",
    "dsme3d_table12",
    "run_table12",
    "table12_scores",
]

NETWORK_LABELS = {"ststnet": "STSTNet", "offapexnet": "OFF-ApexNet", "stcnn3d": "3D CNN"}
# The paper's name of the network a row reproduces, for its published gain.
_PUBLISHED_NAMES = {"ststnet": "STSTNet", "stcnn3d": "3D-STCNN"}
DESCRIPTORS = ("si", "hk", "si+hk")
_DESCRIPTOR_LABELS = {"none": "-", "si": "SI", "hk": "HK", "si+hk": "SI+HK"}


def deep_prediction_table(table: pd.DataFrame, samples: Sequence[str]) -> pd.DataFrame:
    """``fit_predict_loso`` / ``fit_predict_nested_loso`` output in the prediction-table form
    of learn/svm.py (sample ids, repeat 0, label, predicted), so that learn/fusion.py fuses it."""
    samples = np.asarray([str(s) for s in samples], dtype=object)
    out = pd.DataFrame(
        {
            "sample": pd.array(samples[table["sample"].to_numpy()].tolist(), dtype="string"),
            "subject": table["subject"].astype("string").to_numpy(),
            "repeat": np.int64(0),
            "fold": table["fold"].to_numpy(dtype=np.int64),
            "label": table["y_true"].astype("string").to_numpy(),
            "predicted": table["y_pred"].astype("string").to_numpy(),
        }
    )
    for column in [c for c in table.columns if c.startswith("p_")]:
        out[column] = table[column].to_numpy(dtype=np.float64)
    if "outer_fold" in table.columns:
        out.insert(0, "outer_fold", table["outer_fold"].to_numpy(dtype=np.int64))
        out.insert(0, "outer_repeat", np.int64(0))
    return out


def _scores(predictions: pd.DataFrame) -> dict[str, float]:
    y, p = predictions["label"].to_numpy(), predictions["predicted"].to_numpy()
    return {
        "accuracy": 100 * metrics.accuracy(y, p),
        "uf1": metrics.uf1(y, p),
        "uar": metrics.uar(y, p),
    }


def table12_scores(
    network: str,
    outer2d: pd.DataFrame,
    inner2d: pd.DataFrame,
    outer3d: Mapping[str, pd.DataFrame],
    inner3d: Mapping[str, pd.DataFrame],
    alphas: Sequence[float],
    criterion: str = "accuracy",
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """One network's rows: alone, and fused with each descriptor (oracle a, nested a).

    Returns the score rows (network, descriptor, fusion, accuracy (%), uf1, uar, a, a_low, a_high)
    and the fused prediction tables by "<descriptor>/<fusion>".
    """
    rows = [{"network": network, "descriptor": "none", "fusion": "none", **_scores(outer2d)}]
    fused: dict[str, pd.DataFrame] = {}
    for descriptor, p3d in outer3d.items():
        oracle = oracle_fusion(outer2d, p3d, alphas, criterion)
        nested = nested_fusion(outer2d, p3d, inner2d, inner3d[descriptor], alphas, criterion)
        for kind, result in (("oracle", oracle), ("nested", nested)):
            a = result.alphas["a"]
            rows.append(
                {
                    "network": network,
                    "descriptor": descriptor,
                    "fusion": kind,
                    **_scores(result.predictions),
                    "a": float(a.median()),
                    "a_low": float(a.min()),
                    "a_high": float(a.max()),
                }
            )
            fused[f"{descriptor}/{kind}"] = result.predictions
    return pd.DataFrame(rows), fused


@dataclass
class Table12Result:
    """Scores of every row, and every prediction table (for the files a rule writes)."""

    scores: pd.DataFrame
    predictions: dict[str, pd.DataFrame]


def run_table12(
    flow_inputs: np.ndarray,
    clips: np.ndarray,
    features3d: Mapping[str, np.ndarray],
    samples: Sequence[str],
    labels: Sequence[str],
    subjects: Sequence[str],
    classes: Sequence[str],
    networks: Mapping[str, Mapping[str, Any]],
    svm3d: SVMParams,
    *,
    seed: int,
    alpha_step: float = 0.05,
    criterion: str = "accuracy",
    n_threads: int | None = None,
) -> Table12Result:
    """The whole study on arrays whose rows follow ``samples``.

    ``flow_inputs`` (N, 3, 28, 28) feed STSTNet and OFF-ApexNet, ``clips`` (N, 1, T, H, W) the 3D
    CNN; ``features3d``: descriptor -> (N, d) curvature features; ``networks``: network ->
    training settings (epochs, batch_size, learning_rate). The SVMs run on the same outer LOSO
    split and on its nested inner LOSO splits (learn/protocols.py).
    """
    samples = [str(s) for s in samples]
    classes = list(classes)
    alphas = alpha_grid(alpha_step)
    outer = loso_splits(samples, subjects, labels)
    inner = nested_splits(outer, "loso", seed=seed)
    outer3d, inner3d = {}, {}
    for descriptor, features in features3d.items():
        outer3d[descriptor] = cross_validate_svm(
            features, samples, outer, svm3d, seed=seed, classes=classes
        )
        inner3d[descriptor] = cross_validate_svm(
            features, samples, inner, svm3d, seed=seed, classes=classes
        )
    predictions = {f"3d/{d}/outer": p for d, p in outer3d.items()}
    score_parts = []
    for network, training in networks.items():
        inputs = clips if network == "stcnn3d" else flow_inputs
        settings = {
            "model": network,
            "epochs": int(training["epochs"]),
            "seed": seed,
            "batch_size": int(training["batch_size"]),
            "learning_rate": float(training["learning_rate"]),
            "classes": classes,
            "n_threads": n_threads,
        }
        outer2d = deep_prediction_table(
            deep.fit_predict_loso(inputs, labels, subjects, **settings), samples
        )
        inner2d = deep_prediction_table(
            deep.fit_predict_nested_loso(inputs, labels, subjects, **settings), samples
        )
        scores, fused = table12_scores(
            network, outer2d, inner2d, outer3d, inner3d, alphas, criterion
        )
        score_parts.append(scores)
        predictions[f"{network}/outer"] = outer2d
        predictions.update({f"{network}/{k}": v for k, v in fused.items()})
    scores = pd.concat(score_parts, ignore_index=True)
    scores.insert(3, "n_samples", len(samples))
    return Table12Result(scores, predictions)


def _a_text(row: pd.Series) -> str:
    if row["fusion"] == "none":
        return "-"
    if row["fusion"] == "oracle" or row["a_low"] == row["a_high"]:
        return f"{row['a']:.2f}"
    return f"{row['a']:.2f} ({row['a_low']:.2f}-{row['a_high']:.2f})"


def dsme3d_table12(scores: pd.DataFrame, context: TableContext) -> PaperTable:
    """Table 12 from ``run_table12``'s scores: rows (network, 3D features, fusion weight),
    columns accuracy (%), UF1, UAR, a, gain over the network alone (points) and, on DSME-3D,
    the paper's gain."""
    comparison = paper.published_for_layout(context.layout, paper.DSME3D)
    published = {
        f.descriptor: f for f in comparison.figures if f.table == "Table 12"
    } if comparison.applies else {}  # fmt: skip
    index, values, cells = [], [], []
    for network, rows in scores.groupby("network", sort=False):
        alone = float(rows.loc[rows["fusion"] == "none", "accuracy"].iloc[0])
        name = NETWORK_LABELS.get(network, network)
        figure = published.get(_PUBLISHED_NAMES.get(network, ""))
        for _, row in rows.iterrows():
            fusion = {"none": "2D alone", "oracle": "oracle a", "nested": "nested a"}[row["fusion"]]
            index.append((name, _DESCRIPTOR_LABELS[row["descriptor"]], fusion))
            gain = np.nan if row["fusion"] == "none" else row["accuracy"] - alone
            paper_gain = (
                figure.value if figure is not None and row["fusion"] == "oracle" else np.nan
            )
            values.append(
                [row["accuracy"], row["uf1"], row["uar"], row.get("a", np.nan), gain, paper_gain]
            )
            cells.append(
                [
                    f"{row['accuracy']:.2f}",
                    f"{row['uf1']:.4f}",
                    f"{row['uar']:.4f}",
                    _a_text(row),
                    "" if np.isnan(gain) else f"{gain:+.2f}",
                    "" if np.isnan(paper_gain) else f"{paper_gain:+.2f}",
                ]
            )
    names = ["network", "3D features", "fusion"]
    columns = ["Accuracy (%)", "UF1", "UAR", "a", "gain (points)", "paper gain (points)"]
    multi = pd.MultiIndex.from_tuples(index, names=names)
    value_frame = pd.DataFrame(values, index=multi, columns=columns)
    cell_frame = pd.DataFrame(cells, index=multi, columns=columns)
    n = int(scores["n_samples"].iloc[0]) if "n_samples" in scores else None
    header = [
        f"Dataset: {context.dataset} (layout {context.layout}).",
        "Classes: the data set's three-class scheme (DSME-3D: positive, negative, surprise; "
        "'others' discarded); protocol LOSO.",
        "Metrics on the predictions pooled over the LOSO folds. Networks trained from scratch "
        "per fold for a fixed number of epochs, the last epoch evaluated.",
        "Fusion P = (1 - a) p2D + a p3D with the curvature SVM's probabilities (DSME-3D Eq. 13): "
        "oracle a = best on the test predictions (as the paper reports); nested a = chosen per "
        "outer fold by inner LOSO on its training subjects (median and range over folds).",
    ]
    header.append(f"Samples used: {n}.")
    if context.n_excluded is not None:
        header.append(
            f"Samples excluded: {context.n_excluded}"
            + (f" (listed in {context.exclusion_list})" if context.exclusion_list else "")
        )
    if comparison.applies:
        header.append(
            "Paper gains (DSME-3D 4.3.3, fusion with 3D, best a): 3D-STCNN +2.08, STSTNet "
            "+4.68, EMR+AT +2.94 points (EMR+AT is not implemented; OFF-ApexNet has no "
            "published gain)."
        )
    else:
        header.append(comparison.note)
    header.extend(context.notes)
    return PaperTable(
        name="table12",
        title="Table 12: deep 2D networks alone and fused with 3D curvature features",
        header=tuple(header),
        values=value_frame,
        cells=cell_frame,
        legend=(
            "gain: accuracy of the fused row minus the network alone, in points.",
            "3D CNN: the small spatio-temporal CNN of learn/deep/ (the paper's 3D-STCNN "
            "stands for it).",
        ),
        subtitle=f"{context.dataset}, three classes, LOSO, N = {n}",
    )
