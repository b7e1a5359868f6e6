"""Failure records: a bad sample never stops the run and is never silently dropped.

A per-sample stage that cannot process a sample raises `SampleFailure` inside the package;
the rule script catches it, writes `results/{dataset}/failures/{stage}/{sample}.json` and
an output that says the sample failed, and the run goes on (docs/layout.md#failures).
Downstream stages skip failed samples; tables count them and the report lists each one
with its reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# The columns of an exclusion list: which sample, at which stage, why. An experiment's list
# (``scores/{entry}.excluded.tsv``) has these; the report's list adds the file a failure record
# names (`microexp.report.html.EXCLUSION_LIST_COLUMNS`).
EXCLUDED_COLUMNS = ["sample", "stage", "reason"]


class SampleFailure(Exception):
    """One sample cannot go through a stage. The message says what is wrong and where."""

    def __init__(self, reason: str, *, file: str | Path | None = None, **details: Any):
        super().__init__(reason)
        self.reason = reason
        self.file = None if file is None else str(file)
        self.details = details


@dataclass(frozen=True)
class FailureRecord:
    """Why a sample failed at a stage."""

    dataset: str
    sample: str
    stage: str
    reason: str
    file: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_exception(
        cls, dataset: str, sample: str, stage: str, error: BaseException
    ) -> FailureRecord:
        if isinstance(error, SampleFailure):
            return cls(dataset, sample, stage, error.reason, error.file, dict(error.details))
        return cls(dataset, sample, stage, f"{type(error).__name__}: {error}")


def write_failure(path: str | Path, record: FailureRecord) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2, default=str) + "\n")


def clear_failure(path: str | Path) -> None:
    """Remove a stale record when the sample now succeeds."""
    Path(path).unlink(missing_ok=True)


def read_failures(folder: str | Path) -> pd.DataFrame:
    """Every failure record under `folder` (e.g. results/{dataset}/failures) as a table."""
    import pandas as pd  # here: the per-sample jobs that import this module do not need it

    rows = [json.loads(p.read_text()) for p in sorted(Path(folder).rglob("*.json"))]
    columns = ["dataset", "sample", "stage", "reason", "file", "details"]
    return pd.DataFrame(rows, columns=columns)


def save_failed_output(path: str | Path, record: FailureRecord) -> None:
    """The `.npz` output of a per-sample stage for a sample that failed: it says so and why,
    and holds no data, so the DAG completes and downstream stages skip the sample."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, ok=False, failure=json.dumps(asdict(record), default=str))


def raise_if_failed(npz: Any, path: str | Path) -> None:
    """Raise SampleFailure if an opened stage output is a failure marker (upstream failed)."""
    if "ok" in npz.files and not bool(npz["ok"]):
        record = json.loads(npz["failure"].item())
        raise SampleFailure(
            f"upstream stage {record['stage']} failed: {record['reason']}",
            file=str(path),
            upstream_stage=record["stage"],
        )


def upstream_failure(*paths: str | Path) -> FailureRecord | None:
    """The failure record carried by the first input that is a failure marker, if any."""
    for path in paths:
        if Path(path).suffix != ".npz":
            continue
        with np.load(path) as npz:
            if "ok" in npz.files and not bool(npz["ok"]):
                return FailureRecord(**json.loads(npz["failure"].item()))
    return None


def run_sample_stage(
    work: Callable[[], None],
    *,
    dataset: str,
    sample: str,
    stage: str,
    output: str | Path,
    failure_file: str | Path,
    log: logging.Logger,
    inputs: tuple[str | Path, ...] = (),
) -> bool:
    """Run one sample through a stage; on SampleFailure record it instead of raising.

    `work` writes the stage's output itself. On failure the output becomes a failure marker
    and `failure_file` holds the record; on success a stale record is removed. A sample that
    failed upstream (an input is a failure marker) is skipped: the output passes the
    upstream record on, and no new record is written (the report lists each failure once).
    Errors other than SampleFailure are bugs, not bad input: they propagate and stop the job.
    Returns whether the sample went through.
    """
    upstream = upstream_failure(*inputs)
    if upstream is not None:
        save_failed_output(output, upstream)
        clear_failure(failure_file)
        log.info("sample %s skipped: %s failed (%s)", sample, upstream.stage, upstream.reason)
        return False
    try:
        work()
    except SampleFailure as error:
        record = FailureRecord.from_exception(dataset, sample, stage, error)
        write_failure(failure_file, record)
        save_failed_output(output, record)
        log.warning("sample %s failed at %s: %s", sample, stage, record.reason)
        return False
    clear_failure(failure_file)
    return True


# A job's log line per sample: bench_run sums these to split a job's CPU into the science
# and everything else (process start-up, imports, models).
SCIENCE_LOG = "science_cpu_s"


def run_chunk(
    work: Callable[[int], None],
    *,
    dataset: str,
    samples: Sequence[str],
    stage: str,
    outputs: Sequence[str | Path],
    failure_files: Sequence[str | Path],
    log: logging.Logger,
    inputs: Sequence[tuple[str | Path, ...]] | None = None,
) -> list[bool]:
    """`run_sample_stage` for each sample of a job, in order: `work(i)` processes sample i and
    writes `outputs[i]`; its failure record goes to `failure_files[i]`, its upstream files are
    `inputs[i]`. A sample that fails never stops the others. Logs each sample's CPU seconds
    (`science_cpu_s=`). Returns which samples went through."""
    n = len(samples)
    inputs = [()] * n if inputs is None else inputs
    if not len(outputs) == len(failure_files) == len(inputs) == n:
        raise ValueError(
            f"{stage}: {n} samples but {len(outputs)} outputs, {len(failure_files)} failure "
            f"files, {len(inputs)} input sets"
        )
    passed = []
    for i, sample in enumerate(samples):
        started = time.process_time()
        passed.append(
            run_sample_stage(
                lambda i=i: work(i),
                dataset=dataset,
                sample=sample,
                stage=stage,
                output=outputs[i],
                failure_file=failure_files[i],
                log=log,
                inputs=tuple(inputs[i]),
            )
        )
        log.info("sample %s: %s=%.3f", sample, SCIENCE_LOG, time.process_time() - started)
    return passed
