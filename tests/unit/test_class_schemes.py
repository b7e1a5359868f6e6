"""Class schemes: label -> class mapping, unmapped and small classes reported
(docs/methods.md#class-schemes)."""

from __future__ import annotations

import pandas as pd
import pytest

from microexp.learn.classes import (
    DEFAULT_CLASS_SCHEMES,
    DEFAULT_MIN_CLASS_SIZE,
    apply_scheme,
    class_scheme,
)


def labels(*values: str | None) -> pd.Series:
    return pd.Series(list(values), index=[f"s{k}" for k in range(len(values))], dtype="string")


def test_objective_accepts_roman_and_arabic_and_reports_the_rest() -> None:
    scheme = {**DEFAULT_CLASS_SCHEMES["objective"], "min_class_size": 1}
    classes, report = apply_scheme(labels("I", " iii ", "3", "VII", "VIII", None, ""), scheme)
    assert classes.tolist()[:4] == ["I", "III", "III", "VII"]
    assert classes.iloc[4:].isna().all()
    assert classes.index.tolist() == [f"s{k}" for k in range(7)]
    assert str(classes.dtype) == "string"
    assert report["unmapped_labels"] == {"VIII": 1}
    assert report["missing_labels"] == 2
    assert report["classes"] == ["I", "III", "VII"]
    assert report["counts"] == {"I": 1, "III": 2, "VII": 1}
    assert report["empty_classes"] == ["II", "IV", "V", "VI"]
    assert (report["n_kept"], report["n_dropped"], report["n_labels"]) == (4, 3, 7)
    assert report["dropped_samples"] == {
        "s4": "label 'VIII' is not in the scheme",
        "s5": "no label",
        "s6": "no label",
    }


def test_dsme3d_emotion_leaves_sadness_out_and_drops_small_classes() -> None:
    scheme = {**DEFAULT_CLASS_SCHEMES["emotion_dsme3d"], "min_class_size": 3}
    values = ["happiness"] * 4 + ["Surprise"] * 3 + ["sadness"] * 5 + ["fear"] * 2 + ["others"]
    classes, report = apply_scheme(labels(*values), scheme)
    assert report["unmapped_labels"] == {"sadness": 5}
    assert report["dropped_small_classes"] == {"fear": 2, "others": 1}
    assert report["classes"] == ["happiness", "surprise"]
    assert report["counts"] == {"happiness": 4, "surprise": 3}
    assert classes.value_counts().to_dict() == {"happiness": 4, "surprise": 3}
    assert report["n_dropped"] == 8 == len(report["dropped_samples"])
    assert report["dropped_samples"]["s14"] == (
        "class 'others' has 1 samples, fewer than min_class_size 3"
    )


def test_three_class_drops_others_and_groups_negative_emotions() -> None:
    scheme = {**DEFAULT_CLASS_SCHEMES["three_class"], "min_class_size": 1}
    classes, report = apply_scheme(
        labels(
            "happiness",
            "anger",
            "disgust",
            "sadness",
            "fear",
            "surprise",
            "others",
            "negative",
            "positive",
        ),
        scheme,
    )
    assert classes.tolist()[:6] == [
        "positive",
        "negative",
        "negative",
        "negative",
        "negative",
        "surprise",
    ]
    assert pd.isna(classes.iloc[6])
    assert classes.tolist()[7:] == ["negative", "positive"]
    assert report["unmapped_labels"] == {"others": 1}


def test_casme3_four_and_seven_class() -> None:
    values = labels("happiness", "fear", "surprise", "others", "contempt")
    four, _ = apply_scheme(
        values, {**DEFAULT_CLASS_SCHEMES["casme3_four_class"], "min_class_size": 1}
    )
    assert four.tolist() == ["positive", "negative", "surprise", "others", "negative"]
    seven, report = apply_scheme(
        values, {**DEFAULT_CLASS_SCHEMES["casme3_seven_class"], "min_class_size": 1}
    )
    assert seven.tolist()[:4] == ["happiness", "fear", "surprise", "others"]
    assert report["unmapped_labels"] == {"contempt": 1}
    assert len(DEFAULT_CLASS_SCHEMES["casme3_seven_class"]["classes"]) == 7


def test_default_minimum_applies_when_config_omits_it() -> None:
    spec = {"source": "emotion", "classes": {"a": ["a"], "b": ["b"]}}
    classes, report = apply_scheme(labels(*(["a"] * DEFAULT_MIN_CLASS_SIZE + ["b"])), spec)
    assert report["dropped_small_classes"] == {"b": 1}
    assert classes.notna().sum() == DEFAULT_MIN_CLASS_SIZE


def test_bad_schemes_are_refused() -> None:
    with pytest.raises(ValueError, match="both"):
        class_scheme({"classes": {"x": ["anger"], "y": ["Anger"]}})
    with pytest.raises(ValueError, match="unknown keys"):
        class_scheme({"classes": {"x": ["a"]}, "min_size": 3})
    with pytest.raises(ValueError, match="min_class_size"):
        class_scheme({"classes": {"x": ["a"]}, "min_class_size": 0})
    with pytest.raises(ValueError, match="classes"):
        class_scheme({"classes": {}})


def test_class_order_is_config_order() -> None:
    scheme = class_scheme(DEFAULT_CLASS_SCHEMES["casme3_four_class"], name="four")
    assert scheme.class_order == ["positive", "negative", "surprise", "others"]
    assert scheme.name == "four" and scheme.source == "emotion"
