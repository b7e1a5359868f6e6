"""Reproduce the MEGC2020 baseline's published CAS(ME)^2 MDMD spotting counts.

Usage: python tools/megc2020_check.py PATH

PATH is a clone of the MEGC2020 spotting baseline project (He, Wang, Li and Yap, FG 2020;
github.com/HeyingGithub/Baseline-project-for-MEGC2020_spotting), as a work tree or a bare git
directory. Its published predictions (``MDMD_results/results_API/ME2_{micro,macro}_txtClips/p1``)
and CAS(ME)^2 ground truth (``dataset_new/data/CAS(ME)^2_Sets/all_Info.txt``, offsets already
repaired) are not shipped with microexp; this script reads them from PATH, keeps micro
predictions of 7-16 frames and macro predictions of >= 17 frames (the baseline's typing by
duration at 30 fps, <= 0.5 s micro), scores them with both countings and compares megc2020
with the published figures (MEGC2020_results.txt): macro 109 TP / 1414 FP / 191 FN,
F1 0.1196; micro 21 TP of 5035 predictions, F1 0.0082; overall F1 0.0376.
Exit status 0 when they agree exactly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from microexp.evaluate.spotting import evaluate_spotting

PUBLISHED = {"micro": (21, 5014, 36), "macro": (109, 1414, 191), "overall": (130, 6428, 227)}
PUBLISHED_F1 = {
    "micro": 0.008248232521602514,
    "macro": 0.11958310477235326,
    "overall": 0.03759942154736081,
}
LENGTHS = {"micro": (7, 16), "macro": (17, None)}


def _reader(root: Path):
    if (root / "MDMD_results").is_dir():
        return lambda rel: (root / rel).read_text()
    git_dir = root if (root / "HEAD").is_file() else root / ".git"

    def show(rel: str) -> str:
        cmd = ["git", f"--git-dir={git_dir}", "show", f"HEAD:{rel}"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    return show


def load(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = _reader(root)
    sets = "MDMD_results/dataset_new/data/CAS(ME)^2_Sets"
    truth = []
    for line in read(f"{sets}/all_Info.txt").splitlines():
        folder, code, cls, onset, _apex, offset = line.split()
        truth.append((f"{folder}_{code}", int(float(onset)), int(float(offset)), cls.split("-")[0]))
    preds = []
    for line in read(f"{sets}/ME2_all.txt").splitlines():
        folder, code = line.split()
        for cls, (shortest, longest) in LENGTHS.items():
            rel = f"MDMD_results/results_API/ME2_{cls}_txtClips/p1/{folder}_{code}.txt"
            for clip in read(rel).splitlines():
                onset, offset = (int(v) for v in clip.split()[:2])
                length = offset - onset + 1
                if length >= shortest and (longest is None or length <= longest):
                    preds.append((f"{folder}_{code}", onset, offset, cls))
    cols = ["video", "onset", "offset", "expression_type"]
    return pd.DataFrame(preds, columns=cols), pd.DataFrame(truth, columns=cols)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    predictions, truth = load(Path(argv[1]))
    ok = True
    for counting in ("megc2020", "one_to_one"):
        table = evaluate_spotting(predictions, truth, iou=0.5, counting=counting)
        print(f"counting={counting}\n{table.to_string()}\n")
        if counting == "megc2020":
            for kind, counts in PUBLISHED.items():
                got = tuple(int(v) for v in table.loc[kind, ["tp", "fp", "fn"]])
                ok &= got == counts and abs(table.loc[kind, "f1"] - PUBLISHED_F1[kind]) < 1e-12
    print("published MEGC2020 CAS(ME)^2 MDMD counts:", "reproduced" if ok else "NOT reproduced")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
