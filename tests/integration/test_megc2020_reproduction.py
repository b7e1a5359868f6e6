"""The MEGC2020 baseline's published CAS(ME)^2 MDMD counts from its published predictions.

The predictions and ground truth belong to the baseline project (not shipped with microexp):
set MEGC2020_BASELINE to a clone of github.com/HeyingGithub/Baseline-project-for-MEGC2020_spotting
(work tree or git directory) to run this; without it the test is skipped, and says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from microexp.evaluate.spotting import evaluate_spotting

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not os.environ.get("MEGC2020_BASELINE"), reason="MEGC2020_BASELINE not set")
def test_published_casme2_mdmd_counts():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import megc2020_check
    finally:
        sys.path.pop(0)
    predictions, truth = megc2020_check.load(Path(os.environ["MEGC2020_BASELINE"]))
    megc = evaluate_spotting(predictions, truth, counting="megc2020")
    for kind, expected in megc2020_check.PUBLISHED.items():
        assert tuple(int(v) for v in megc.loc[kind, ["tp", "fp", "fn"]]) == expected
        assert megc.loc[kind, "f1"] == pytest.approx(megc2020_check.PUBLISHED_F1[kind], abs=1e-12)
    assert round(megc.loc["macro", "f1"], 4) == 0.1196
    assert round(megc.loc["micro", "f1"], 4) == 0.0082
    assert round(megc.loc["overall", "f1"], 4) == 0.0376
    # one_to_one: one prediction finding two macro intervals counts once -> macro TP 104
    one = evaluate_spotting(predictions, truth, counting="one_to_one")
    assert tuple(int(v) for v in one.loc["macro", ["tp", "fp", "fn"]]) == (104, 1419, 196)
