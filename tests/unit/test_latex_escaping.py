"""LaTeX tables with every character a title, header, label or cell can carry compile.

Data-set names, class names and scheme names come from the user's configuration and sheets;
the writer must escape LaTeX's specials and the Unicode symbols the tables use. Compiled with
pdflatex in the minimal document of tests/integration/test_latex_tables.py (texlive from
``bash tools/install-system-deps.sh --tex``).
"""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd

from microexp.evaluate.tables import PaperTable, to_latex

# LaTeX's ten specials, the symbols the table builders write (± — – † ≤ ×), the math symbols a
# name or note may hold, and accented / typographic characters.
NASTY = (
    r"a_b 5% x&y #1 $2 {c} ~d ^ e\f CAS(ME)^2 CAS(ME)^3 10^-3 "
    "± – — † ≤ ≥ × ≈ − α · → é ü ² µ ° … “q” ’"
)

DOCUMENT = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\begin{document}
\input{table}
\end{document}
"""


def nasty_table() -> PaperTable:
    columns = pd.MultiIndex.from_tuples([("objective " + NASTY, "LOSO"), ("objective " + NASTY,
                                         "10-fold ≥ 2")])  # fmt: skip
    index = pd.MultiIndex.from_tuples([(NASTY, "α = 0.5"), (NASTY, "Rt ≈ 3")], names=["a_b", "≥"])
    cells = pd.DataFrame([["66.67 ± 0.00", "—"], [NASTY, "50.00"]], index=index, columns=columns)
    values = pd.DataFrame([[66.67, None], [None, 50.0]], index=index, columns=columns)
    return PaperTable(
        name="nasty_table_1",
        title="Title " + NASTY,
        header=("Dataset: " + NASTY,),
        values=values,
        cells=cells,
        bold=frozenset({(0, 0)}),
        dagger=frozenset({(1, 1)}),
        legend=("†: " + NASTY,),
    )


def test_a_table_with_every_special_character_compiles(tmp_path):
    assert shutil.which("pdflatex"), "pdflatex not found: bash tools/install-system-deps.sh --tex"
    (tmp_path / "table.tex").write_text(to_latex(nasty_table()), encoding="utf-8")
    (tmp_path / "doc.tex").write_text(DOCUMENT)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
        capture_output=True, text=True, errors="replace", cwd=tmp_path, timeout=300,
    )  # fmt: skip
    log = (tmp_path / "doc.log").read_text(errors="replace")
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert done.returncode == 0, f"pdflatex failed: {errors}\n{log[-3000:]}"
    assert "Missing character" not in log
