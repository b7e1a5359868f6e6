"""The words of the tables and captions: protocols, metrics, fusion weights, table numbers.

One place for them, so a table's header block and the caption of its figure or report entry
cannot disagree.
"""

from __future__ import annotations

from microexp.evaluate.formatting import is_nan

# Table label -> scheme name in config (DSME-3D 4.3: objective = FACS classes I-VII,
# non-objective = emotions without sadness). Order = column order of Table 6.
DSME3D_CLASSIFICATIONS: dict[str, str] = {
    "objective": "objective",
    "non-objective": "emotion_dsme3d",
}


# DSME-3D Table 6 and CAS(ME)^2 Table 5 rows: Rx = Ry in 1..4, Rt in 2..4.
DSME3D_RADII: tuple[tuple[int, int], ...] = tuple((r, t) for r in range(1, 5) for t in range(2, 5))


# (classification, protocol) -> DSME-3D table number (captions of Tables 7-10).
BLOCK_TABLE_NUMBERS = {
    ("objective", "loso"): 7,
    ("objective", "kfold"): 8,
    ("non-objective", "loso"): 9,
    ("non-objective", "kfold"): 10,
}


DESCRIPTOR_LABELS = {"lbptop": "LBP-TOP", "si": "SI", "hk": "HK", "si+hk": "SI+HK"}


METRIC_LABELS = {"accuracy": "accuracy", "uf1": "F1 (UF1)", "uar": "UAR"}


def protocol_label(protocol: str, n_folds: int | None = None) -> str:
    """ "LOSO", "LOVO", "10-fold" (k from the scores; "k-fold" when unknown)."""
    if protocol == "kfold":
        return f"{int(n_folds)}-fold" if n_folds and not is_nan(n_folds) else "k-fold"
    return protocol.upper()


def describe_protocol(
    protocol: str, n_folds: int | None = None, n_repeats: int | None = None
) -> str:
    """One sentence on how a protocol tests (docs/tables.md; DSME-3D 4.3; CAS(ME)^2 section 3)."""
    if protocol == "loso":
        return (
            "LOSO: leave one subject out; each subject's samples form the test fold once "
            "(one run, no subject in both training and test)."
        )
    if protocol == "lovo":
        return "LOVO: leave one video out; each sample is the test set once (one run)."
    if protocol == "kfold":
        k = f"{int(n_folds)}-fold" if n_folds and not is_nan(n_folds) else "k-fold"
        runs = f"{int(n_repeats)} times" if n_repeats and not is_nan(n_repeats) else "repeatedly"
        return (
            f"{k}: stratified {k} cross-validation repeated {runs} with different seeds; a figure "
            "is the mean over repeats (± its standard deviation). Folds are not grouped by "
            "subject, so a subject's samples can be in training and test (docs/tables.md)."
        )
    raise ValueError(f"unknown protocol {protocol!r}")


def describe_decision(decision: str) -> str:
    """How the SVM decided each class (docs/methods.md#svm: the experiment's ``decision``)."""
    if decision == "vote":
        return (
            "SVM decision: LIBSVM's one-vs-one vote (svmpredict without -b 1; ties to the "
            "earlier class)."
        )
    if decision == "probability":
        return (
            "SVM decision: argmax of Platt-scaled class probabilities (LIBSVM -b 1; ties to the "
            "earlier class)."
        )
    raise ValueError(f"unknown SVM decision {decision!r}")


def describe_metric(metric: str, aggregation: str) -> str:
    """What a figure is: the metric and whether it is pooled over folds or a mean of folds."""
    what = {
        "accuracy": "Accuracy (%): correct / all predictions",
        "uf1": "F1 = UF1: unweighted mean over classes of the per-class F1",
        "uar": "UAR: unweighted mean over classes of the per-class recall",
    }
    if metric not in what:
        raise ValueError(f"unknown metric {metric!r}")
    if aggregation == "pooled":
        how = (
            "computed on the out-of-fold predictions pooled over all folds of a repeat "
            "(MEGC convention), then averaged over repeats"
        )
    elif aggregation == "per_fold":
        how = (
            "computed on each fold on its own and averaged over the folds (per-fold mean), "
            "then over repeats"
        )
    else:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    return f"{what[metric]}, {how}."


def describe_fusion(kind: str) -> str:
    """Oracle vs nested fusion weight (docs/tables.md; DSME-3D Eq. 13, 4.3.2)."""
    if kind == "oracle":
        return (
            "oracle a: one weight a in P = (1 - a) p2D + a p3D for the whole protocol, the one "
            "with the best accuracy on the test predictions, as the paper reports ('only the "
            "optimal fusion results are shown'); optimistic, since a has seen the test labels."
        )
    if kind == "nested":
        return (
            "nested a: a chosen for every outer fold by an inner cross-validation on that fold's "
            "training samples only, then applied to its test samples; an honest estimate. The "
            "a shown is the range (and median) over outer folds."
        )
    raise ValueError(f"unknown fusion kind {kind!r}")


def grid_label(rows: int, cols: int) -> str:
    """ "3 x 10" as the paper writes a block grid."""
    return f"{int(rows)} x {int(cols)}"
