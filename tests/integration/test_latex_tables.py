"""Every LaTeX table the run writes compiles with pdflatex in a minimal document.

The tables are booktabs ``table`` floats (``longtable`` for the 33-row Tables 7-10) meant to be
``\\input`` into a paper: the document below is all a user needs (``booktabs``, ``longtable``; T1
fonts so that accented names typeset). pdflatex
comes from Debian's texlive-latex-base and booktabs from texlive-latex-recommended
(``bash tools/install-system-deps.sh --tex``, which ``make test`` runs).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DOCUMENT = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\usepackage{longtable}
\begin{document}
\input{%s}
\end{document}
"""


def compile_table(table: Path, folder: Path) -> tuple[int, str]:
    """pdflatex on a document that inputs `table`; (return code, log text)."""
    document = folder / f"{table.stem}.doc.tex"
    document.write_text(DOCUMENT % table.resolve().as_posix())
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
         "-output-directory", str(folder), str(document)],
        capture_output=True, text=True, errors="replace", cwd=folder, timeout=300,
    )  # fmt: skip
    log = folder / f"{table.stem}.doc.log"
    text = log.read_text(errors="replace") if log.exists() else done.stdout + done.stderr
    return done.returncode, text


def test_every_latex_table_compiles(synthetic_run, tmp_path):
    assert shutil.which("pdflatex"), (
        "pdflatex not found: `bash tools/install-system-deps.sh --tex` installs it "
        "(texlive-latex-base, texlive-latex-recommended)"
    )
    tables = sorted((synthetic_run / "results" / "tables").rglob("*.tex"))
    # Tables 6-11 of DSME-3D (7, 8, 9, 10 are the block grids) and CAS(ME)^2 Table 5.
    assert len(tables) >= 7, tables
    for table in tables:
        code, log = compile_table(table, tmp_path)
        errors = [line for line in log.splitlines() if line.startswith("!")]
        assert code == 0, f"{table.name}: pdflatex failed: {errors}\n{log[-3000:]}"
        assert (tmp_path / f"{table.stem}.doc.pdf").stat().st_size > 1000, table.name
        # A character the fonts lack is only a warning; it would be missing from the table.
        assert "Missing character" not in log, table.name
        # A float taller than the page is typeset over the margins.
        assert "Float too large" not in log, table.name
