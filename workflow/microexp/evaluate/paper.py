"""The published figures the pipeline's tables are compared with (docs/tables.md), as data.

Every figure carries its source (paper, table) and the setting it was reached at, so a table can
print "paper: 66.29 % (3 x 10, overlap 30)" beside its own best. Published figures are printed
only beside results on the paper's own database: `published_for_layout` maps a dataset layout to
the paper whose tables apply (``dsme3d`` -> DSME-3D Tables 6-12, ``casme_sq`` -> CAS(ME)^2 Table 5)
and, for any other layout (the synthetic data set, CAS(ME)^3, a user's own recordings), returns no
figures and a note that says which database the published figures are for.

Units as published: accuracies in percent, F-scores in [0, 1], fusion gains in percentage
points. Where the text gives only a setting and no value (DSME-3D Table 6: "there is a high
recognition rate at radius 1, 1, 4"), ``value`` is None.

Sources. The tables were lost in the text extraction of the papers (seeds/README.md); what is kept
here is what the text states (DSME-3D 4.3.1-4.3.3), and CAS(ME)^2 Table 5 in full, whose
numbers survived. The LBP-TOP-alone figures of DSME-3D Table 11 are *derived*: the text gives
each fusion figure and its gain over LBP-TOP, and all three gains of a setting agree on the same
baseline (e.g. 67.97 - 2.21 = 67.34 - 1.58 = 68.73 - 2.97 = 65.76), so that baseline is kept
with a note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CASME2",
    "CASME2_TABLE5",
    "DSME3D",
    "DSME3D_BLOCK_BESTS",
    "DSME3D_TABLE6_BESTS",
    "DSME3D_TABLE11",
    "DSME3D_TABLE12_GAINS",
    "LAYOUT_PAPERS",
    "PUBLISHED_FIGURES",
    "PublishedComparison",
    "PublishedFigure",
    "casme2_table5_best",
    "find_published",
    "format_setting",
    "paper_for_layout",
    "published_for_layout",
]

DSME3D = "DSME-3D"
CASME2 = "CAS(ME)^2"

# Which paper's tables a dataset layout reproduces (docs/methods.md#annotation-sheets layouts).
# CAS(ME)^3 has no table here (docs/tables.md lists none), so its layouts map to nothing.
LAYOUT_PAPERS: dict[str, str] = {"dsme3d": DSME3D, "casme_sq": CASME2}

_DATABASE_OF_PAPER = {
    DSME3D: "the DSME-3D database (373 micro-expressions of 33 subjects)",
    CASME2: "the CAS(ME)^2 database (303 samples)",
}

_UNITS = {"accuracy": "%", "f1": "", "uf1": "", "uar": "", "accuracy_gain": "points"}


@dataclass(frozen=True)
class PublishedFigure:
    """One published number, or one published best setting when ``value`` is None.

    ``scheme``: "objective", "non-objective", "three-class" or None (not scheme-specific);
    ``protocol``: "loso", "kfold", "lovo"; ``metric``: "accuracy" (%), "f1" (the paper's
    F-score), "uf1"/"uar" (MEGC), "accuracy_gain" (percentage points); ``setting``: the
    parameters in the scores schema's column names (rx, ry, rt, p, mapping, grid_rows,
    grid_cols, overlap); ``descriptor``: "lbptop", "si", "hk", "si+hk" or a method name;
    ``fusion``: "none" or "oracle" (the paper's fusion figures use the best a on the test
    results, docs/tables.md).
    """

    paper: str
    table: str
    scheme: str | None
    protocol: str | None
    metric: str
    value: float | None
    setting: tuple[tuple[str, Any], ...] = ()
    descriptor: str = "lbptop"
    fusion: str = "none"
    is_best: bool = False
    note: str = ""

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.setting)

    @property
    def source(self) -> str:
        """E.g. "DSME-3D Table 7"."""
        return f"{self.paper} {self.table}"

    def format_value(self) -> str:
        """The number as published: "66.29 %", "F1 0.4311", "+2.08 points"."""
        if self.value is None:
            return "value not given"
        if self.metric == "accuracy":
            return f"{self.value:.2f} %"
        if self.metric == "accuracy_gain":
            return f"{self.value:+.2f} points"
        return f"{self.metric.upper()} {self.value:.4f}"

    def describe(self) -> str:
        """The figure beside ours, e.g. ``paper: 66.29 % (3 x 10, overlap 30)``; a setting-only
        figure reads ``paper: best at Rx = Ry = 1, Rt = 4 (value not given)``."""
        setting = format_setting(self.params)
        if self.value is None:
            return f"paper: best at {setting} (value not given)"
        return f"paper: {self.format_value()}" + (f" ({setting})" if setting else "")


def format_setting(params: Mapping[str, Any]) -> str:
    """A setting in the papers' words: "3 x 10, overlap 30", "Rx = Ry = 1, Rt = 4, P = 4,
    uniform". Unknown keys are written "key = value"."""
    params = {k: v for k, v in params.items() if v is not None and not _is_nan(v)}
    parts: list[str] = []
    if "rx" in params or "ry" in params or "rt" in params:
        rx, ry = params.pop("rx", None), params.pop("ry", None)
        radii = f"Rx = Ry = {_num(rx)}" if rx == ry else f"Rx = {_num(rx)}, Ry = {_num(ry)}"
        if "rt" in params:
            radii += f", Rt = {_num(params.pop('rt'))}"
        parts.append(radii)
    if "p" in params:
        parts.append(f"P = {_num(params.pop('p'))}")
    if "mapping" in params:
        mapping = params.pop("mapping")
        parts.append({"u2": "uniform", "basic": "basic"}.get(mapping, str(mapping)))
    if "grid_rows" in params and "grid_cols" in params:
        parts.append(f"{_num(params.pop('grid_rows'))} x {_num(params.pop('grid_cols'))}")
    if "overlap" in params:
        parts.append(f"overlap {_num(params.pop('overlap'))}")
    parts.extend(f"{k} = {v}" for k, v in params.items())
    return ", ".join(parts)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _num(value: Any) -> str:
    """Integers as integers even when they come through a float column."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _setting(**params: Any) -> tuple[tuple[str, Any], ...]:
    return tuple(params.items())


# --- DSME-3D (Wang et al.), section 4.3 --------------------------------------------------------

# Table 6 (4.3.1 (1)): 5 x 5 blocks, overlap 0, P = 8, 8, 8. The text names the best radii per
# protocol without values and without separating the two classifications.
DSME3D_TABLE6_BESTS: tuple[PublishedFigure, ...] = (
    PublishedFigure(
        DSME3D, "Table 6", None, "loso", "accuracy", None,
        _setting(rx=1, ry=1, rt=4), is_best=True,
        note="best radii under LOSO; the text gives no value and does not separate the "
        "objective and non-objective classifications",
    ),
    PublishedFigure(
        DSME3D, "Table 6", None, "kfold", "accuracy", None,
        _setting(rx=2, ry=2, rt=4), is_best=True,
        note="best radii under 10-fold; the text gives no value and does not separate the "
        "objective and non-objective classifications",
    ),
)  # fmt: skip

# Tables 7-10 (4.3.1 (2)): the best block grid and overlap of each (classification, protocol).
DSME3D_BLOCK_BESTS: tuple[PublishedFigure, ...] = (
    PublishedFigure(
        DSME3D, "Table 7", "objective", "loso", "accuracy", 66.29,
        _setting(grid_rows=3, grid_cols=10, overlap=30), is_best=True,
    ),
    PublishedFigure(
        DSME3D, "Table 8", "objective", "kfold", "accuracy", 74.29,
        _setting(grid_rows=7, grid_cols=10, overlap=30), is_best=True,
    ),
    PublishedFigure(
        DSME3D, "Table 9", "non-objective", "loso", "accuracy", 57.16,
        _setting(grid_rows=5, grid_cols=5, overlap=5), is_best=True,
    ),
    PublishedFigure(
        DSME3D, "Table 10", "non-objective", "kfold", "accuracy", 70.33,
        _setting(grid_rows=8, grid_cols=8, overlap=15), is_best=True,
    ),
)  # fmt: skip


def _table11(
    scheme: str,
    protocol: str,
    grid: tuple[int, int, int],
    fused: tuple[float, float, float],
    gains: tuple[float, float, float],
) -> tuple[PublishedFigure, ...]:
    """One block of Table 11 (4.3.2): SI, HK and SI+HK fused with LBP-TOP at oracle a, and the
    LBP-TOP-alone figure derived from the stated gains."""
    setting = _setting(grid_rows=grid[0], grid_cols=grid[1], overlap=grid[2])
    baselines = {round(f - g, 2) for f, g in zip(fused, gains, strict=True)}
    if len(baselines) != 1:  # the three gains must name one baseline, else the text was misread
        raise AssertionError(f"inconsistent Table 11 gains for {scheme} {protocol}")
    figures = [
        PublishedFigure(
            DSME3D, "Table 11", scheme, protocol, "accuracy", baselines.pop(), setting,
            descriptor="lbptop", fusion="none",
            note="derived: each fused figure minus its stated gain over LBP-TOP",
        )
    ]  # fmt: skip
    for descriptor, value in zip(("si", "hk", "si+hk"), fused, strict=True):
        figures.append(
            PublishedFigure(
                DSME3D, "Table 11", scheme, protocol, "accuracy", value, setting,
                descriptor=descriptor, fusion="oracle",
            )
        )  # fmt: skip
    return tuple(figures)


DSME3D_TABLE11: tuple[PublishedFigure, ...] = (
    *_table11("objective", "loso", (7, 9, 30), (67.97, 67.34, 68.73), (2.21, 1.58, 2.97)),
    *_table11("objective", "kfold", (7, 10, 30), (76.39, 75.93, 76.17), (2.10, 1.64, 1.88)),
    *_table11("non-objective", "loso", (3, 4, 5), (58.55, 58.10, 58.67), (2.13, 1.68, 2.25)),
    *_table11("non-objective", "kfold", (5, 9, 0), (71.39, 71.72, 71.51), (2.10, 2.43, 2.22)),
    # F-scores: the text gives one per setting, right after the SI+HK figure for LOSO ("The
    # highest recognition rate is 68.73 % ... F1-score is 0.4311"); for non-objective 10-fold it
    # says only "F1 up to 0.6874", so that one is not tied to a descriptor.
    PublishedFigure(
        DSME3D, "Table 11", "objective", "loso", "f1", 0.4311,
        _setting(grid_rows=7, grid_cols=9, overlap=30), descriptor="si+hk", fusion="oracle",
    ),
    PublishedFigure(
        DSME3D, "Table 11", "non-objective", "loso", "f1", 0.5312,
        _setting(grid_rows=3, grid_cols=4, overlap=5), descriptor="si+hk", fusion="oracle",
    ),
    PublishedFigure(
        DSME3D, "Table 11", "non-objective", "kfold", "f1", 0.6874,
        _setting(grid_rows=5, grid_cols=9, overlap=0), descriptor="", fusion="oracle",
        note="'F1 up to 0.6874': the text does not say for which fusion",
    ),
)  # fmt: skip

# Table 12 (4.3.3): three classes (positive, negative, surprise; "others" dropped), LOSO; deep 2D
# models fused with the 3D features. Only the gains survive in the text.
DSME3D_TABLE12_GAINS: tuple[PublishedFigure, ...] = tuple(
    PublishedFigure(
        DSME3D, "Table 12", "three-class", "loso", "accuracy_gain", gain,
        descriptor=model, fusion="oracle",
        note=f"accuracy gain of {model} fused with the 3D features over {model} alone",
    )
    for model, gain in (("3D-STCNN", 2.08), ("STSTNet", 4.68), ("EMR+AT", 2.94))
)  # fmt: skip


# --- CAS(ME)^2 (Qu et al.), section 3, Table 5 ---------------------------------------------------

# LBP-TOP on 36 ROIs after TIM to 120 frames, polynomial SVM (gamma 0.1, degree 4, coef0 1), LOVO.
# Rows (Rx = Ry, Rt); columns basic P = 4, basic P = 8, uniform P = 4, uniform P = 8.
_CASME2_TABLE5_ROWS: dict[tuple[int, int], tuple[float, float, float, float]] = {
    (1, 2): (71.05, 65.79, 71.05, 65.13),
    (1, 3): (75.00, 65.46, 75.66, 65.13),
    (1, 4): (74.67, 67.76, 74.01, 66.45),
    (2, 2): (71.38, 68.75, 71.38, 68.09),
    (2, 3): (72.37, 67.43, 72.37, 67.76),
    (2, 4): (72.37, 68.42, 72.37, 69.74),
    (3, 2): (70.72, 69.41, 70.72, 69.41),
    (3, 3): (72.04, 69.74, 72.04, 70.39),
    (3, 4): (74.01, 69.41, 73.68, 71.71),
    (4, 2): (71.05, 70.72, 71.05, 70.39),
    (4, 3): (73.03, 70.39, 73.03, 71.71),
    (4, 4): (73.36, 69.74, 73.36, 73.36),
}
_CASME2_COLUMNS = (("basic", 4), ("basic", 8), ("u2", 4), ("u2", 8))
_CASME2_BEST = (1, 3, "u2", 4)  # stated in the text: 75.66 % at Rx = Ry = 1, Rt = 3, P = 4, uniform

CASME2_TABLE5: tuple[PublishedFigure, ...] = tuple(
    PublishedFigure(
        CASME2, "Table 5", None, "lovo", "accuracy", value,
        _setting(rx=r, ry=r, rt=rt, p=p, mapping=mapping),
        is_best=(r, rt, mapping, p) == _CASME2_BEST,
    )
    for (r, rt), values in _CASME2_TABLE5_ROWS.items()
    for (mapping, p), value in zip(_CASME2_COLUMNS, values, strict=True)
)  # fmt: skip


def casme2_table5_best() -> PublishedFigure:
    """75.66 % at Rx = Ry = 1, Rt = 3, P = 4, uniform (CAS(ME)^2 section 3)."""
    return next(f for f in CASME2_TABLE5 if f.is_best)


PUBLISHED_FIGURES: tuple[PublishedFigure, ...] = (
    *DSME3D_TABLE6_BESTS,
    *DSME3D_BLOCK_BESTS,
    *DSME3D_TABLE11,
    *DSME3D_TABLE12_GAINS,
    *CASME2_TABLE5,
)


def find_published(
    paper: str | None = None,
    table: str | None = None,
    scheme: str | None = None,
    protocol: str | None = None,
    metric: str | None = None,
    descriptor: str | None = None,
    fusion: str | None = None,
    best_only: bool = False,
) -> list[PublishedFigure]:
    """The published figures matching every argument given. A figure whose ``scheme`` is None
    (not scheme-specific, e.g. DSME-3D Table 6) matches any scheme."""
    matches = []
    for figure in PUBLISHED_FIGURES:
        if paper is not None and figure.paper != paper:
            continue
        if table is not None and figure.table != table:
            continue
        if scheme is not None and figure.scheme not in (None, scheme):
            continue
        if protocol is not None and figure.protocol != protocol:
            continue
        if metric is not None and figure.metric != metric:
            continue
        if descriptor is not None and figure.descriptor != descriptor:
            continue
        if fusion is not None and figure.fusion != fusion:
            continue
        if best_only and not figure.is_best:
            continue
        matches.append(figure)
    return matches


@dataclass(frozen=True)
class PublishedComparison:
    """Whether a table on a dataset of ``layout`` may print the published figures of ``paper``:
    ``applies`` and the ``figures`` if so; ``note`` says why not otherwise."""

    layout: str
    paper: str
    applies: bool
    figures: tuple[PublishedFigure, ...] = field(default=())
    note: str = ""


def paper_for_layout(layout: str) -> str | None:
    """The paper whose tables a dataset layout reproduces: "DSME-3D", "CAS(ME)^2" or None."""
    return LAYOUT_PAPERS.get(layout)


def published_for_layout(layout: str, paper: str = DSME3D) -> PublishedComparison:
    """Published figures of ``paper`` for a table computed on a dataset of ``layout``.

    They apply only when the dataset is the paper's own database (docs/tables.md): the DSME-3D
    layout for DSME-3D Tables 6-12, the CAS(ME)^2 layout for CAS(ME)^2 Table 5. On any other
    layout, e.g. the synthetic data set, no figure is returned and ``note`` says that the
    published figure is for the real database, so a reader does not compare the two.
    """
    if paper not in _DATABASE_OF_PAPER:
        raise ValueError(f"unknown paper {paper!r}; expected one of {sorted(_DATABASE_OF_PAPER)}")
    if paper_for_layout(layout) == paper:
        figures = tuple(find_published(paper=paper))
        return PublishedComparison(layout, paper, True, figures, "")
    what = "the synthetic data set" if layout == "synthetic" else f"a {layout} data set"
    note = (
        f"The published figure is for {paper}: the paper's numbers are for "
        f"{_DATABASE_OF_PAPER[paper]}; these are computed on {what}, so none is shown beside them."
    )
    return PublishedComparison(layout, paper, False, (), note)
