"""One job, several samples (`failures.run_chunk`): each sample gets its own output or failure
marker and record, a failing sample never stops the others, an upstream failure is passed on
without a new record, and each sample's CPU seconds are logged."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from microexp.failures import (
    SCIENCE_LOG,
    FailureRecord,
    SampleFailure,
    run_chunk,
    save_failed_output,
)


def test_each_sample_gets_its_output_or_its_failure(tmp_path, caplog):
    samples = ["a", "b", "c", "d"]
    outputs = [tmp_path / "out" / f"{s}.npz" for s in samples]
    failures = [tmp_path / "failures" / "stage" / f"{s}.json" for s in samples]
    inputs = [(tmp_path / "in" / f"{s}.npz",) for s in samples]
    for (path,), sample in zip(inputs, samples, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        if sample == "d":  # failed upstream
            save_failed_output(path, FailureRecord("ds", "d", "ingest", "no frames"))
        else:
            np.savez(path, ok=True, x=np.arange(3))
    failures[0].parent.mkdir(parents=True)
    outputs[0].parent.mkdir(parents=True)
    failures[0].write_text("{}")  # a stale record from an earlier failed run
    done = []

    def work(i: int) -> None:
        if samples[i] == "b":
            raise SampleFailure("no face in the first frame", frame=0)
        np.savez(outputs[i], ok=True, value=i)
        done.append(samples[i])

    with caplog.at_level(logging.INFO):
        passed = run_chunk(
            work,
            dataset="ds",
            samples=samples,
            stage="stage",
            outputs=outputs,
            failure_files=failures,
            log=logging.getLogger("test"),
            inputs=inputs,
        )
    assert passed == [True, False, True, False]
    assert done == ["a", "c"]  # c ran after b failed; d was skipped
    assert not failures[0].exists() and not failures[2].exists()  # stale record removed
    record = json.loads(failures[1].read_text())
    assert (record["sample"], record["stage"]) == ("b", "stage")
    assert record["reason"] == "no face in the first frame"
    with np.load(outputs[1]) as marker:
        assert not bool(marker["ok"])
    assert not failures[3].exists()  # the upstream stage holds d's record
    with np.load(outputs[3]) as marker:
        assert json.loads(marker["failure"].item())["stage"] == "ingest"
    for i in (0, 2):
        with np.load(outputs[i]) as npz:
            assert int(npz["value"]) == i
    logged = [r.getMessage() for r in caplog.records if SCIENCE_LOG in r.getMessage()]
    assert [m.split(":")[0] for m in logged] == [f"sample {s}" for s in samples]


def test_a_bug_is_not_a_sample_failure(tmp_path):
    """Errors other than SampleFailure are bugs: they stop the job."""
    with pytest.raises(ZeroDivisionError):
        run_chunk(
            lambda i: 1 / 0,
            dataset="ds",
            samples=["a"],
            stage="stage",
            outputs=[tmp_path / "a.npz"],
            failure_files=[tmp_path / "a.json"],
            log=logging.getLogger("test"),
        )


def test_lists_of_different_lengths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="2 samples but 1 outputs"):
        run_chunk(
            lambda i: None,
            dataset="ds",
            samples=["a", "b"],
            stage="stage",
            outputs=[tmp_path / "a.npz"],
            failure_files=[tmp_path / "a.json", tmp_path / "b.json"],
            log=logging.getLogger("test"),
        )
