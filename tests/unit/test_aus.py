"""AU strings as the sheets write them (microexp.io.aus; docs/methods.md#annotation-sheets)."""

from __future__ import annotations

import pandas as pd
import pytest

from microexp.io.aus import AU, AUParseError, format_aus, parse_aus, uncertain_aus


@pytest.mark.parametrize(
    ("text", "au_style", "facs_style"),
    [
        ("4+7", "AU4+AU7", "4+7"),
        ("4,7", "AU4+AU7", "4+7"),
        ("AU4, AU7", "AU4+AU7", "4+7"),
        ("AU4 + AU7", "AU4+AU7", "4+7"),
        ("AU4 AU7", "AU4+AU7", "4+7"),
        ("  AU12  ", "AU12", "12"),
        ("R1+R2", "AU1+AU2", "R1+R2"),
        ("AU R1+R2", "AU1+AU2", "R1+R2"),
        ("L12", "AU12", "L12"),
        ("B23", "AU23", "B23"),
        ("T24", "AU24", "T24"),
        ("AU12C", "AU12", "12C"),
        ("R14a", "AU14", "R14A"),
        ("12+1+2+1", "AU1+AU2+AU12", "1+2+12"),  # sorted, unique
        ("L12+R12", "AU12", "L12+R12"),  # both sides kept in the lossless form
        ("4+", "AU4", "4"),  # a trailing "+" is a typo, not an AU
        ("ＡＵ４＋７", "AU4+AU7", "4+7"),  # full-width input from a Chinese keyboard
        ("12.0", "AU12", "12"),  # a number cell read back as text
        ("4；7", "AU4+AU7", "4+7"),
    ],
)
def test_parse_aus_spellings(text: str, au_style: str, facs_style: str) -> None:
    aus = parse_aus(text)
    assert format_aus(aus) == au_style
    assert format_aus(aus, style="facs") == facs_style


def test_parse_aus_keeps_position_and_intensity() -> None:
    assert parse_aus("R1+R2+AU12C") == (AU(1, "R"), AU(2, "R"), AU(12, "", "C"))


@pytest.mark.parametrize("empty", [None, "", "  ", "/", "-", "none", float("nan"), pd.NA])
def test_no_aus_coded(empty: object) -> None:
    assert parse_aus(empty) == ()
    assert format_aus(parse_aus(empty)) == ""


@pytest.mark.parametrize(("cell", "expected"), [(4, "AU4"), (12.0, "AU12")])
def test_number_cells(cell: object, expected: str) -> None:
    assert format_aus(parse_aus(cell)) == expected


@pytest.mark.parametrize("bad", ["12(k)", "R12 or", "AU", "X12", "0", "AU4??", 4.7, 0, True])
def test_unreadable_aus_raise(bad: object) -> None:
    with pytest.raises(AUParseError, match="unreadable AU string"):
        parse_aus(bad)


def test_uncertain_aus_are_kept_and_marked() -> None:
    # CAS(ME)^3 Part C writes an uncertain AU as "13?"; SAMM writes alternatives "R12 or R15"
    aus = parse_aus("4+13?")
    assert aus == (AU(4), AU(13, uncertain=True))
    assert format_aus(aus) == "AU4+AU13"  # the AU is kept
    assert format_aus(aus, style="facs") == "4+13?"  # and the mark, losslessly
    assert uncertain_aus(aus) == (AU(13, uncertain=True),)
    assert parse_aus("AU4？") == (AU(4, uncertain=True),)  # full-width question mark
    alternatives = parse_aus("R12 or R15")
    assert alternatives == (AU(12, "R", uncertain=True), AU(15, "R", uncertain=True))
    assert parse_aus(format_aus(alternatives, style="facs")) == alternatives
    assert uncertain_aus(parse_aus("1+2")) == ()


def test_facs_style_round_trips() -> None:
    aus = parse_aus("AU R1 + R2, 4, L12C, B23")
    assert parse_aus(format_aus(aus, style="facs")) == aus


def test_au_value_checks() -> None:
    with pytest.raises(ValueError):
        AU(0)
    with pytest.raises(ValueError):
        AU(4, "X")
    with pytest.raises(ValueError):
        format_aus((AU(4),), style="other")  # type: ignore[arg-type]
    assert str(AU(12, "R", "C")) == "AU12"
