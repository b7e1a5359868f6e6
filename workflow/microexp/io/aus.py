"""Action Unit (AU) strings as annotation sheets write them, parsed and written back.

FACS codes an expression as a combination of Action Units. The sheets of DSME-3D (Wang et al.,
Sec. 3.4-3.5), CAS(ME)^3 (Li et al., Sec. 4.2.2, e.g. "AU R1+R2") and CAS(ME)^2 (Qu et al.,
Sec. 2.3) all write that combination as free text, each in its own way
(docs/methods.md#annotation-sheets). This module reads every spelling met in those sheets into one
value and writes it back in two normalised styles.

Grammar of one AU token (case-insensitive, full-width characters folded by NFKC first)::

    [AU] [position] number [intensity]

- ``AU`` prefix: optional ("4", "AU4", "AU 4", "au4").
- position: one of ``L`` (left), ``R`` (right), ``B`` and ``T`` (FACS's bottom / top position
  codes; some coders use ``B`` for bilateral). It may stand before or after the ``AU`` prefix
  ("R12", "AU R12", "AUR12"). It is kept verbatim in :attr:`AU.laterality`.
- number: 1-3 digits, > 0; a float spelling "12.0" (a number cell read back as text) is accepted.
- intensity: an optional FACS intensity letter ``A``-``E`` ("AU12C", "R14A").
- uncertainty: a trailing ``?`` ("13?", "AU13?") marks an AU the coder was unsure of
  (CAS(ME)^3 Part C writes it). The AU is kept, with :attr:`AU.uncertain` set.

Tokens are separated by ``+``, ``,``, ``;``, ``&`` or the ideographic comma, with any spaces
around them ("4+7", "4,7", "AU4, AU7", "AU4 + AU7"); a piece that is not one token is split
once more on white space ("AU4 AU7"). A piece "X or Y" ("R12 or R15", SAMM) lists alternatives
the coder could not decide between: both AUs are kept, each marked uncertain. Empty pieces
(a trailing "+") are ignored. An empty cell,
"/", "-" or "none" means no AU was coded and gives ``()``. A number cell (4, 4.0) is one AU.
Anything else ("12(k)", "4.7" -- "4,7" turned into a decimal by a spreadsheet
locale) raises :class:`AUParseError`, because guessing would put a wrong label on a sample.

Normalised styles (see :func:`format_aus`):

- ``"au"``: AU numbers only, sorted, unique: ``"AU1+AU2+AU12"``. Position and intensity are
  dropped: this is the form classes and class schemes are keyed on.
- ``"facs"``: FACS notation without the "AU" prefix, every distinct (number, position,
  intensity, uncertainty) once, sorted by number: ``"R1+R2+4+L12C+13?"``. Lossless;
  :func:`parse_aus` reads it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import pandas as pd

__all__ = ["AU", "LATERALITIES", "AUParseError", "format_aus", "parse_aus", "uncertain_aus"]

#: FACS position prefixes accepted in front of an AU number.
LATERALITIES: tuple[str, ...] = ("L", "R", "B", "T")

# The spellings of "no AU coded" met in sheets; "-" and "/" are the same placeholders the sheets
# use for a missing apex.
_NO_AUS = frozenset({"", "/", "-", "none", "nan", "n/a", "na", "<na>"})
_SEPARATORS = re.compile(r"[+,;&、]")
_TOKEN = re.compile(
    r"""^(?P<lat1>[LRBT])?\s*          # position written first: R12, R AU12
        (?:AU)?\s*                     # optional AU prefix
        (?P<lat2>[LRBT])?\s*           # position after the prefix: AU R12, AUR12
        (?P<number>\d{1,3})(?:\.0+)?   # the AU number; "12.0" is a number cell read as text
        \s*(?P<intensity>[A-E])?       # FACS intensity letter
        \s*(?P<uncertain>\?)?$         # the coder's "not sure" mark
    """,
    re.IGNORECASE | re.VERBOSE,
)


class AUParseError(ValueError):
    """An AU string that does not follow the grammar in this module's docstring."""


@dataclass(frozen=True, order=True)
class AU:
    """One coded Action Unit: its FACS number, position prefix and intensity letter.

    Ordering is by number first, so sorting a combination gives the order FACS coders write.
    ``uncertain``: the sheet marks the AU as uncertain ("13?") or as one of alternatives
    ("R12 or R15").
    """

    number: int
    laterality: str = ""
    intensity: str = ""
    uncertain: bool = False

    def __post_init__(self) -> None:
        if self.number <= 0:
            raise ValueError(f"AU number must be positive, got {self.number}")
        if self.laterality not in ("", *LATERALITIES):
            raise ValueError(f"AU position must be one of {LATERALITIES}, got {self.laterality!r}")
        if self.intensity not in ("", "A", "B", "C", "D", "E"):
            raise ValueError(f"AU intensity must be a letter A-E, got {self.intensity!r}")

    @property
    def facs(self) -> str:
        """FACS notation of this AU, e.g. ``"R12C"`` (``"13?"`` when uncertain)."""
        mark = "?" if self.uncertain else ""
        return f"{self.laterality}{self.number}{self.intensity}{mark}"

    def __str__(self) -> str:
        return f"AU{self.number}"


def _parse_token(token: str) -> AU | None:
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    lat1, lat2 = match["lat1"], match["lat2"]
    if lat1 and lat2:  # "RAUL12" names two positions: not an AU we can trust
        return None
    number = int(match["number"])
    if number == 0:
        return None
    return AU(
        number,
        (lat1 or lat2 or "").upper(),
        (match["intensity"] or "").upper(),
        uncertain=bool(match["uncertain"]),
    )


def _number_cell(value: float) -> tuple[AU, ...]:
    # A cell typed as a number holds one AU; 4.7 is what "4,7" becomes in a locale with decimal
    # commas, and must not silently turn into AU4 or AU5.
    if math.isnan(value):
        return ()
    if not float(value).is_integer() or value <= 0:
        raise AUParseError(f"unreadable AU string {value!r}: not a whole AU number")
    return (AU(int(value)),)


def parse_aus(text: object) -> tuple[AU, ...]:
    """Parse an AU cell into its AUs, sorted and without repeats.

    ``text`` may be a string, a number (a cell Excel stored as a number) or a missing value
    (None / NaN / pandas NA), which gives ``()``. Raises :class:`AUParseError` naming the
    unreadable piece. Grammar: module docstring.
    """
    if text is None or text is pd.NA:
        return ()
    if isinstance(text, bool):
        raise AUParseError(f"unreadable AU string {text!r}")
    if isinstance(text, int):
        return _number_cell(float(text))
    if isinstance(text, float):
        return _number_cell(text)
    if not isinstance(text, str):
        raise AUParseError(f"unreadable AU string {text!r}: not text")
    folded = unicodedata.normalize("NFKC", text).strip()
    if folded.casefold() in _NO_AUS:
        return ()
    aus: set[AU] = set()
    for piece in _SEPARATORS.split(folded):
        if not piece.strip():
            continue
        single = _parse_token(piece)
        if single is not None:
            aus.add(single)
            continue
        alternatives = re.split(r"\s+or\s+", piece.strip(), flags=re.IGNORECASE)
        if len(alternatives) > 1:
            parsed_alternatives = [_parse_token(a) for a in alternatives]
            if all(au is not None for au in parsed_alternatives):
                aus.update(replace(au, uncertain=True) for au in parsed_alternatives if au)
                continue
        words = piece.split()
        parsed = [_parse_token(word) for word in words]
        if len(words) < 2 or any(au is None for au in parsed):
            raise AUParseError(f"unreadable AU string {text!r}: cannot read {piece.strip()!r}")
        aus.update(au for au in parsed if au is not None)
    return tuple(sorted(aus))


def format_aus(aus: Iterable[AU], *, style: Literal["au", "facs"] = "au") -> str:
    """Write AUs in a normalised style ("" for none).

    ``"au"``: sorted unique numbers, ``"AU1+AU2+AU12"``. ``"facs"``: sorted unique FACS codes,
    ``"R1+R2+4+L12C"``. See the module docstring.
    """
    if style == "au":
        return "+".join(f"AU{number}" for number in sorted({au.number for au in aus}))
    if style == "facs":
        return "+".join(au.facs for au in sorted(set(aus)))
    raise ValueError(f"unknown AU style {style!r}; use 'au' or 'facs'")


def uncertain_aus(aus: Iterable[AU]) -> tuple[AU, ...]:
    """The AUs marked uncertain ("13?", or one of "R12 or R15"), sorted."""
    return tuple(sorted(au for au in aus if au.uncertain))
