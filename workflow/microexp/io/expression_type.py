"""Micro- (ME) versus macro-expression by duration, per data set (docs/methods.md#micro-vs-macro).

Each data set defines an ME by its duration, in its own words:

- DSME-3D (Wang et al., Sec. 3.3): "the total duration less than 500ms or the onset duration
  less than 260ms", measured on the frame timestamps of a 60 fps recording.
- CAS(ME)^3 (Li et al., Sec. 4.2.2, Eq. 2): ME if ``f_offset - f_onset + 1 <= 15`` at 30 fps,
  otherwise macro-expression (MaE).
- CAS(ME)^2 (Qu et al., Sec. 2): ME up to 500 ms; macro-expressions 500 ms to 4 s.

The sheets already say which is which (the ``expression_type`` column of
:func:`microexp.io.annotations.read_annotations`), and **the sheet wins**: nothing here
relabels a sample. :func:`compare_with_sheet` only counts where a sheet and its own rule
disagree, so the report can say so.

Choices (docs/methods.md#micro-vs-macro: the rule is per layout in config):

- Duration of an expression with frames counted inclusively (CAS(ME)^3 Eq. 2, and CAS(ME)^2 from
  the same lab): ``(offset - onset + 1) / fps``. DSME-3D measures time between the onset and
  offset frames on timestamps, so its frame-count fallback is ``(offset - onset) / fps``; the
  rule's ``frames_inclusive`` flag says which.
- With timestamps (ms) of the onset / apex / offset frames, the durations are their differences
  (plus one frame period when ``frames_inclusive``); otherwise frame numbers and ``fps``.
- Unknown offset or apex gives <NA> unless the other half of an "or" rule already decides.
- CAS(ME)^2 durations above the 4 s macro-expression limit fit neither definition: <NA>.
- Comparisons allow 1e-6 ms of floating-point slack, so 15 frames at 30 fps is exactly 500 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

__all__ = [
    "CASME3_RULE",
    "CASME_II_RULE",
    "CASME_SQ_RULE",
    "DSME3D_RULE",
    "MACRO",
    "MICRO",
    "RULES",
    "SAMM_RULE",
    "DurationRule",
    "TypeAgreement",
    "classify_by_duration",
    "classify_samples",
    "compare_with_sheet",
    "expression_duration_ms",
    "parse_expression_type",
    "rule_for_layout",
]

MICRO = "micro"
MACRO = "macro"
_SLACK_MS = 1e-6


@dataclass(frozen=True)
class DurationRule:
    """The ME / macro-expression duration rule of one data set (docs/methods.md#micro-vs-macro).

    A sample is an ME when its duration is below ``me_max_ms`` (``<=`` when
    ``me_max_inclusive``, else ``<``), **or**, if ``me_max_onset_to_apex_ms`` is set, when its
    onset-to-apex time is strictly below that. Otherwise it is a macro-expression, up to
    ``macro_max_ms`` (inclusive) when set; longer is neither (<NA>).
    """

    name: str
    fps: float
    me_max_ms: float = 500.0
    me_max_inclusive: bool = True
    frames_inclusive: bool = True
    me_max_onset_to_apex_ms: float | None = None
    macro_max_ms: float | None = None

    def __post_init__(self) -> None:
        if not self.fps > 0:
            raise ValueError(f"rule {self.name!r}: fps must be positive, got {self.fps}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DurationRule:
        """Build a rule from a config mapping with this class's field names as keys.

        A ``base`` key names a built-in rule (``dsme3d``, ``casme3``, ``casme_sq`` or a layout
        name) whose fields the other keys override.
        """
        settings = dict(config)
        base = settings.pop("base", None)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown duration-rule keys {unknown}; known: {sorted(known)}")
        start = asdict(rule_for_layout(base)) if base is not None else {}
        start.update(settings)
        if "name" not in start:
            start["name"] = "custom"
        return cls(**start)


DSME3D_RULE = DurationRule(
    "dsme3d",
    fps=60.0,
    me_max_ms=500.0,
    me_max_inclusive=False,
    frames_inclusive=False,
    me_max_onset_to_apex_ms=260.0,
)
CASME3_RULE = DurationRule("casme3", fps=30.0, me_max_ms=500.0, me_max_inclusive=True)
CASME_SQ_RULE = DurationRule(
    "casme_sq", fps=30.0, me_max_ms=500.0, me_max_inclusive=True, macro_max_ms=4000.0
)
# CASME II (Yan et al. 2014) and SAMM (Davison et al. 2018): 200 fps, an ME lasts at most
# 500 ms. Their ME sheets say "micro" for every row; the rule only checks the durations.
CASME_II_RULE = DurationRule("casme_ii", fps=200.0, me_max_ms=500.0, me_max_inclusive=True)
SAMM_RULE = DurationRule("samm", fps=200.0, me_max_ms=500.0, me_max_inclusive=True)

#: Built-in rules by annotation layout (``generic`` has none: configure one).
RULES: dict[str, DurationRule] = {
    "dsme3d": DSME3D_RULE,
    "casme3": CASME3_RULE,
    "casme3_a": CASME3_RULE,
    "casme3_c": CASME3_RULE,
    "casme_sq": CASME_SQ_RULE,
    "casme_ii": CASME_II_RULE,
    "samm": SAMM_RULE,
}


def rule_for_layout(layout: str) -> DurationRule:
    """The built-in duration rule of an annotation layout (docs/methods.md#micro-vs-macro)."""
    if layout == "casme2":
        raise ValueError("duration rule 'casme2' is now called 'casme_sq' (CAS(ME)^2)")
    try:
        return RULES[layout]
    except KeyError:
        raise ValueError(
            f"no built-in ME duration rule for layout {layout!r} (known: {sorted(RULES)}); "
            "give one in config with DurationRule.from_config"
        ) from None


def _known(value: object) -> bool:
    if value is None or value is pd.NA:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _number(value: object) -> float | None:
    """A frame number or timestamp as float; None when missing (None, NaN, pandas NA)."""
    return float(value) if _known(value) else None  # type: ignore[arg-type]


def expression_duration_ms(
    onset: float,
    offset: float,
    fps: float,
    *,
    frames_inclusive: bool = True,
    onset_ms: float | None = None,
    offset_ms: float | None = None,
) -> float:
    """Duration of an expression in ms, from timestamps when both are given, else frames.

    ``frames_inclusive`` counts the offset frame itself (``offset - onset + 1`` frames, or one
    frame period added to the timestamp difference), as CAS(ME)^3 Eq. 2 does.
    """
    if offset < onset:
        raise ValueError(f"offset {offset} is before onset {onset}")
    period_ms = 1000.0 / fps
    extra = period_ms if frames_inclusive else 0.0
    if onset_ms is not None and offset_ms is not None:
        return offset_ms - onset_ms + extra
    return (offset - onset) * period_ms + extra


def _onset_to_apex_ms(
    onset: float, apex: float, fps: float, onset_ms: float | None, apex_ms: float | None
) -> float:
    if apex < onset:
        raise ValueError(f"apex {apex} is before onset {onset}")
    if onset_ms is not None and apex_ms is not None:
        return apex_ms - onset_ms
    return (apex - onset) * 1000.0 / fps


def _below(value: float, limit: float, inclusive: bool) -> bool:
    return value <= limit + _SLACK_MS if inclusive else value < limit - _SLACK_MS


def classify_by_duration(
    onset: object,
    apex: object,
    offset: object,
    rule: DurationRule | str,
    *,
    onset_ms: object = None,
    apex_ms: object = None,
    offset_ms: object = None,
) -> str | Any:
    """``"micro"``, ``"macro"`` or ``pd.NA`` for one expression by ``rule``
    (docs/methods.md#micro-vs-macro).

    Frames are the sheet's frame numbers (None / NA when not annotated); the ``*_ms`` keywords
    are the timestamps of those frames when the recording has them. ``rule`` is a
    :class:`DurationRule` or a layout name. Raises ``ValueError`` when offset or apex comes
    before onset. Choices: module docstring.
    """
    rule = rule_for_layout(rule) if isinstance(rule, str) else rule
    start = _number(onset)
    if start is None:
        return pd.NA
    end, peak = _number(offset), _number(apex)
    start_ms = _number(onset_ms)
    duration = None
    if end is not None:
        duration = expression_duration_ms(
            start,
            end,
            rule.fps,
            frames_inclusive=rule.frames_inclusive,
            onset_ms=start_ms,
            offset_ms=_number(offset_ms),
        )
    rise_limit = rule.me_max_onset_to_apex_ms
    rise = None
    if rise_limit is not None and peak is not None:
        rise = _onset_to_apex_ms(start, peak, rule.fps, start_ms, _number(apex_ms))

    short = duration is not None and _below(duration, rule.me_max_ms, rule.me_max_inclusive)
    fast_rise = rise is not None and rise_limit is not None and _below(rise, rise_limit, False)
    if short or fast_rise:
        return MICRO
    # Not (yet) an ME: a macro-expression only if every criterion that could still make it an
    # ME is known to fail.
    if duration is None or (rise_limit is not None and rise is None):
        return pd.NA
    if rule.macro_max_ms is not None and not _below(duration, rule.macro_max_ms, True):
        return pd.NA
    return MACRO


def parse_expression_type(value: object) -> str | Any:
    """Read a sheet's expression-type cell as ``"micro"``, ``"macro"`` or ``pd.NA`` (blank).

    Accepts "micro", "Micro-expression", "ME", "macro-expression", "MaE", "Macro" in any case.
    Raises ``ValueError`` for anything else.
    """
    if not _known(value):
        return pd.NA
    text = str(value).strip().casefold().replace("_", "-")
    if text == "":
        return pd.NA
    if text in {"me", "micro"} or text.startswith("micro"):
        return MICRO
    if text in {"mae", "ma", "macro"} or text.startswith("macro"):
        return MACRO
    raise ValueError(f"unreadable expression type {value!r} (expected micro / macro)")


def _optional(row: Mapping[str, Any], column: str) -> object:
    return row[column] if column in row else None


def classify_samples(samples: pd.DataFrame, rule: DurationRule | str) -> pd.Series:
    """The rule's type for every row of an annotation table (``onset``, ``apex``, ``offset``,
    optional ``onset_ms`` / ``apex_ms`` / ``offset_ms``), as a "string" Series.

    A row whose offset or apex comes before its onset gets <NA> (the reader reports those rows).
    """
    rule = rule_for_layout(rule) if isinstance(rule, str) else rule
    result = []
    for row in samples.to_dict("records"):
        try:
            kind = classify_by_duration(
                row.get("onset"),
                row.get("apex"),
                row.get("offset"),
                rule,
                onset_ms=_optional(row, "onset_ms"),
                apex_ms=_optional(row, "apex_ms"),
                offset_ms=_optional(row, "offset_ms"),
            )
        except ValueError:
            kind = pd.NA
        result.append(kind)
    return pd.Series(result, index=samples.index, dtype="string", name="rule_type")


@dataclass(frozen=True)
class TypeAgreement:
    """How a sheet's own ME / macro labels compare with its duration rule (the sheet wins)."""

    rule: str
    n_samples: int
    agree: int
    sheet_micro_rule_macro: int
    sheet_macro_rule_micro: int
    rule_undecided: int
    sheet_unlabelled: int
    disagreements: pd.DataFrame = field(repr=False)

    def as_dict(self) -> dict[str, int | str]:
        """The counts, for a report table or a JSON log."""
        return {
            "rule": self.rule,
            "n_samples": self.n_samples,
            "agree": self.agree,
            "sheet_micro_rule_macro": self.sheet_micro_rule_macro,
            "sheet_macro_rule_micro": self.sheet_macro_rule_micro,
            "rule_undecided": self.rule_undecided,
            "sheet_unlabelled": self.sheet_unlabelled,
        }


def compare_with_sheet(samples: pd.DataFrame, rule: DurationRule | str) -> TypeAgreement:
    """Count where ``samples["expression_type"]`` disagrees with ``rule``; relabel nothing.

    ``rule_undecided``: the rule cannot tell (unknown offset / apex, or beyond the macro
    limit). ``sheet_unlabelled``: the sheet gives no type. ``disagreements`` lists the samples
    the two label differently (``sample``, ``expression_type``, ``rule_type``, and
    ``sheet_row`` when present).
    """
    rule = rule_for_layout(rule) if isinstance(rule, str) else rule
    by_rule = classify_samples(samples, rule)
    by_sheet = samples["expression_type"].astype("string")
    both = by_rule.notna() & by_sheet.notna()
    differ = both & (by_rule != by_sheet)
    keep = [c for c in ("sample", "sheet_row", "expression_type") if c in samples.columns]
    disagreements = samples.loc[differ.fillna(False).to_numpy(), keep].copy()
    disagreements["rule_type"] = by_rule[differ.fillna(False)]
    return TypeAgreement(
        rule=rule.name,
        n_samples=len(samples),
        agree=int((both & (by_rule == by_sheet)).fillna(False).sum()),
        sheet_micro_rule_macro=int((differ & (by_sheet == MICRO)).fillna(False).sum()),
        sheet_macro_rule_micro=int((differ & (by_sheet == MACRO)).fillna(False).sum()),
        rule_undecided=int(by_rule.isna().sum()),
        sheet_unlabelled=int(by_sheet.isna().sum()),
        disagreements=disagreements.reset_index(drop=True),
    )
