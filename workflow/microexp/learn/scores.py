"""The scores table: one row per experiment setting, protocol, metric and aggregation.

The classify and fusion jobs write it (``results/{dataset}/scores/{entry}.tsv``) by running
``summarize_scores`` on every setting's out-of-fold predictions (`setting_scores`,
`fusion_scores`); the evaluate stage reads it to build the paper tables.

Schema (one row per experiment setting x protocol x metric x aggregation):

=================== ========= =====================================================================
column              type      meaning
=================== ========= =====================================================================
dataset             str       key of ``config["datasets"]`` (optional)
kind                str       the study the setting belongs to, one of `KINDS`: ``radius`` (DSME-3D
                              Table 6), ``blocks`` (Tables 7-10), ``fusion`` (Table 11),
                              ``lbp_variant`` (CAS(ME)^2 Table 5)
scheme              str       class scheme name in config (``objective``, ``emotion_dsme3d``, ...)
protocol            str       ``loso``, ``kfold`` or ``lovo``
metric              str       ``accuracy``, ``uf1`` or ``uar`` (fractions in [0, 1])
aggregation         str       ``pooled`` (over all folds of a repeat) or ``per_fold`` (fold mean)
mean                float     over repeats
std_over_repeats    float     NaN for a single run (LOSO, LOVO)
mean_fold_std       float     per_fold only, else NaN
n_repeats           int       runs of the protocol (10 for 10 x 10-fold, 1 for LOSO)
n_samples           int       predictions per repeat = samples used
n_folds             int       folds per repeat (optional; labels "10-fold")
rx, ry, rt          int       LBP-TOP radii (kinds radius, lbp_variant; blocks/fusion optional)
p                   int       LBP neighbours, the same on XY, XT, YT (lbp_variant)
mapping             str       ``u2`` (uniform) or ``basic`` (lbp_variant)
grid_rows/grid_cols int       block grid (blocks, fusion)
overlap             int       block overlap in pixels (blocks, fusion)
descriptor          str       ``lbptop``, ``si``, ``hk``, ``si+hk`` (fusion: the 3D descriptor
                              fused with LBP-TOP; ``lbptop`` = 2D alone)
fusion              str       ``none``, ``oracle`` or ``nested`` (fusion)
a, a_min, a_max     float     fusion weight: oracle -> the one a; nested -> median, min, max of the
                              per-outer-fold a (fusion; NaN when fusion is ``none``)
=================== ========= =====================================================================

Other columns (kernel, curvature radius, ...) may be present; a table filters on them with
``where`` when two rows would fill one cell (that is an error, never a silent choice).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from microexp.learn.fusion import FusionResult
from microexp.learn.metrics import summarize_scores

SCORE_COLUMNS = (
    "kind",
    "scheme",
    "protocol",
    "metric",
    "aggregation",
    "mean",
    "std_over_repeats",
    "n_repeats",
    "n_samples",
)


KINDS = {
    "radius": "LBP-TOP radii (DSME-3D Table 6)",
    "blocks": "LBP-TOP block grid x overlap (DSME-3D Tables 7-10)",
    "fusion": "2D/3D probability fusion (DSME-3D Table 11)",
    "lbp_variant": "LBP-TOP radii x P x mapping (CAS(ME)^2 Table 5)",
    "other": "an experiment outside the paper tables (scores and predictions only)",
}


def setting_scores(
    predictions: pd.DataFrame,
    *,
    kind: str,
    scheme: str,
    protocol: str,
    dataset: str | None = None,
    **setting: Any,
) -> pd.DataFrame:
    """The scores rows of one setting: ``summarize_scores(predictions)`` (docs/methods.md#metrics:
    pooled and per-fold accuracy, UF1, UAR) with the setting's identity and parameters as columns.

    ``setting``: the parameters in the schema's column names (rx=1, ry=1, rt=4, grid_rows=5, ...).
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} not in {sorted(KINDS)}")
    summary = summarize_scores(predictions)
    n_folds = int(predictions.groupby("repeat")["fold"].nunique().max())
    identity = {"dataset": dataset, "kind": kind, "scheme": scheme, "protocol": protocol}
    duplicated = set(identity) & set(setting) | set(summary.columns) & set(setting)
    if duplicated:
        raise ValueError(f"setting columns {sorted(duplicated)} clash with the score columns")
    # The identity and setting columns in front, each a scalar broadcast over the rows (the
    # dtypes DataFrame.insert would infer), built at once: a sweep scores hundreds of settings.
    front = pd.DataFrame({**identity, **setting}, index=summary.index)
    summary = pd.concat([front, summary], axis=1)
    summary["n_folds"] = n_folds
    return summary


def fusion_scores(
    result: FusionResult,
    *,
    scheme: str,
    protocol: str,
    descriptor: str,
    dataset: str | None = None,
    **setting: Any,
) -> pd.DataFrame:
    """Scores rows of a fusion figure (kind ``fusion``, fusion = ``result.kind``): the fused
    predictions' scores with the weight: the oracle's single a, or the nested a's median and
    range over outer folds (``result.alphas``)."""
    rows = setting_scores(
        result.predictions,
        kind="fusion",
        scheme=scheme,
        protocol=protocol,
        dataset=dataset,
        descriptor=descriptor,
        fusion=result.kind,
        **setting,
    )
    alphas = result.alphas["a"].to_numpy(dtype=np.float64)
    rows["a"] = float(np.median(alphas))
    rows["a_min"] = float(alphas.min())
    rows["a_max"] = float(alphas.max())
    return rows


def check_scores(scores: pd.DataFrame, setting_columns: Iterable[str] = ()) -> None:
    """Raise ValueError naming the columns a table needs and the scores lack."""
    missing = [c for c in (*SCORE_COLUMNS, *setting_columns) if c not in scores.columns]
    if missing:
        raise ValueError(f"scores table lacks columns {missing} (schema: microexp.evaluate.tables)")
