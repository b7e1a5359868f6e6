"""The paper tables: one import point for building, formatting and reading them (docs/tables.md).

Layouts follow the papers: DSME-3D Table 6 (LBP-TOP radii), Tables 7-10 (33 block grids x 7
overlaps, one table per classification x protocol), Table 11 (fusion of LBP-TOP with SI, HK,
SI+HK, with the oracle a *and* the nested a, docs/tables.md) and CAS(ME)^2 Table 5 (radii x P x
mapping under LOVO). Every table carries a header block: dataset, samples used and excluded (with
a pointer to the exclusion list), protocol, SVM decision rule, metric definition (pooled vs
per-fold mean), and the published figure beside ours when the dataset is the paper's own
(docs/tables.md; `paper.py`), or a note that the published figures are for the real database.

Where each piece lives:

- `microexp.learn.scores`: the scores table the tables are built from (its schema, and
  `setting_scores` / `fusion_scores` that the classify jobs use to write it);
- `microexp.evaluate.wording`: protocol, metric and fusion-weight wording, table numbers;
- `microexp.evaluate.formatting`: `PaperTable`, `TableContext` and the TSV / Markdown / LaTeX /
  HTML writers;
- `microexp.evaluate.cells`: what the builders share (row selection, best cells, header block);
- `microexp.evaluate.dsme3d_tables`, `microexp.evaluate.casme2_tables`: the builders.

New table builders go in a module of their own beside these and reuse the formatting helpers.
"""

from __future__ import annotations

from microexp.evaluate.casme2_tables import casme2_table5
from microexp.evaluate.dsme3d_tables import (
    dsme3d_block_table,
    dsme3d_block_tables,
    dsme3d_table6,
    dsme3d_table11,
)
from microexp.evaluate.formatting import (
    PaperTable,
    TableContext,
    read_table_tsv,
    to_latex,
    to_markdown,
    to_tsv,
    write_table,
)
from microexp.evaluate.wording import (
    DSME3D_CLASSIFICATIONS,
    DSME3D_RADII,
    describe_fusion,
    describe_metric,
    describe_protocol,
    grid_label,
    protocol_label,
)
from microexp.learn.scores import KINDS, SCORE_COLUMNS, check_scores, fusion_scores, setting_scores

__all__ = [
    "DSME3D_CLASSIFICATIONS",
    "DSME3D_RADII",
    "KINDS",
    "SCORE_COLUMNS",
    "PaperTable",
    "TableContext",
    "casme2_table5",
    "check_scores",
    "describe_fusion",
    "describe_metric",
    "describe_protocol",
    "dsme3d_block_table",
    "dsme3d_block_tables",
    "dsme3d_table6",
    "dsme3d_table11",
    "fusion_scores",
    "grid_label",
    "protocol_label",
    "read_table_tsv",
    "setting_scores",
    "to_latex",
    "to_markdown",
    "to_tsv",
    "write_table",
]
