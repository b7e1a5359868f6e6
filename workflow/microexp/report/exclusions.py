"""All exclusions of a data set in one list (docs/layout.md#failures; docs/tables.md).

A sample is left out of a table either because it failed a per-sample stage (a failure record
under ``results/{dataset}/failures/``) or because an experiment did not use it: its expression
type is not the experiment's, its class is not in the scheme or too small, or its features are
not finite. The second kind are listed by the classify and fusion jobs per experiment
(``results/{dataset}/scores/{entry}.excluded.tsv``); here each (sample, stage, reason) appears
once, with the number of experiments it applies to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from microexp.failures import read_failures

__all__ = ["EXPERIMENT_STAGES", "all_exclusions"]

# Exclusion stages decided by an experiment, not by a failed stage.
EXPERIMENT_STAGES = ("expression_type", "class_scheme", "feature_matrix")


def all_exclusions(
    dataset: str, failures_dir: str | Path, experiment_lists: Sequence[str | Path]
) -> pd.DataFrame:
    """Failure records, then the experiments' own exclusions (stage, reason, how many
    experiments), as the table `microexp.report.html.excluded_samples` reads."""
    failures = read_failures(failures_dir)
    frames = [
        pd.read_csv(p, sep="\t", dtype="string", keep_default_na=False) for p in experiment_lists
    ]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if rows.empty:
        return failures
    rows = rows[rows["stage"].isin(EXPERIMENT_STAGES)]
    counted = (
        rows.groupby(["sample", "stage", "reason"], sort=False)["experiment"]
        .nunique()
        .reset_index(name="n")
    )
    counted["reason"] = [
        f"{reason} (in {n} experiment{'s' if n != 1 else ''})"
        for reason, n in zip(counted["reason"], counted["n"], strict=True)
    ]
    counted["dataset"] = dataset
    counted["file"] = ""
    counted["details"] = None
    return pd.concat([failures, counted[failures.columns]], ignore_index=True)
