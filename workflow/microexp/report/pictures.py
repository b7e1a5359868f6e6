"""Pictures for samples that have none: a QC slot that says why the sample failed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from microexp.failures import FailureRecord


def failure_picture(path: str | Path, record: FailureRecord, title: str) -> None:
    """A small PNG stating the sample, the stage that failed and the reason."""
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.axis("off")
    reason = "\n".join(textwrap.wrap(record.reason, 95))
    ax.text(0.0, 1.0, title, fontsize=13, weight="bold", va="top", transform=ax.transAxes)
    ax.text(
        0.0, 0.72, f"sample {record.sample}: failed at stage '{record.stage}'\n{reason}",
        fontsize=10, va="top", color="firebrick", transform=ax.transAxes,
    )  # fmt: skip
    if record.file:
        ax.text(0.0, 0.08, f"file: {record.file}", fontsize=8, transform=ax.transAxes)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
