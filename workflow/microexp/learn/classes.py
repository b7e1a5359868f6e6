"""Class schemes: from a data set's labels to the classes a classifier learns
(docs/methods.md#class-schemes).

A scheme is a mapping in config (docs/methods.md#class-schemes):

```yaml
emotion_dsme3d:
  source: emotion          # the samples.tsv column it reads: objective_class or emotion
  min_class_size: 10       # classes with fewer samples (after mapping) are dropped
  classes:                 # class -> the labels that become it; key order = class order
    happiness: [happiness]
    surprise: [surprise]
    ...
```

Labels are matched after stripping and lower-casing (the annotation reader lower-cases
emotions; objective classes are written "I" in DSME-3D and "3" in CAS(ME)^3). The class order in
config is the column order of the probability table (``p_<class>``) and of confusion matrices.

Nothing is dropped silently (docs/layout.md#failures): `apply_scheme` reports the labels no
class takes (e.g. "sadness" in DSME-3D's emotion scheme, DSME-3D 4.3; "others" in the three-class
scheme, DSME-3D 4.3.3), the missing labels, and the classes dropped for being smaller than
``min_class_size``, each with its sample count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "DEFAULT_CLASS_SCHEMES",
    "DEFAULT_MIN_CLASS_SIZE",
    "ClassScheme",
    "apply_scheme",
    "class_scheme",
]

# Choice: 10 so that stratified 10-fold CV (docs/methods.md#protocols) can put a sample of every
# class in every test fold; it is also the scale at which DSME-3D dropped sadness "because the
# number of sadness samples is too small" (4.3). Config overrides it per scheme.
DEFAULT_MIN_CLASS_SIZE = 10

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
_NEGATIVE_EMOTIONS = ["negative", "anger", "disgust", "sadness", "fear", "contempt", "repression"]

DEFAULT_CLASS_SCHEMES: dict[str, dict[str, Any]] = {
    # Objective (FACS-based) classes I-VII (DSME-3D Table 3, after Davison et al. 2018). CAS(ME)^3
    # writes them as 1-7; both spellings are accepted.
    "objective": {
        "source": "objective_class",
        "min_class_size": DEFAULT_MIN_CLASS_SIZE,
        "classes": {roman: [roman, str(i)] for i, roman in enumerate(_ROMAN, start=1)},
    },
    # Non-objective / emotion classes as DSME-3D uses them: sadness is left out (4.3: "the number
    # of sadness samples is too small"), "others" is a class.
    "emotion_dsme3d": {
        "source": "emotion",
        "min_class_size": DEFAULT_MIN_CLASS_SIZE,
        "classes": {
            "happiness": ["happiness"],
            "surprise": ["surprise"],
            "anger": ["anger"],
            "disgust": ["disgust"],
            "fear": ["fear"],
            "others": ["others"],
        },
    },
    # Three classes by emotion (DSME-3D 4.3.3, MEGC2019): "others" is discarded. The identity
    # entries accept sheets already labelled positive / negative / surprise (CAS(ME)^2/^3).
    "three_class": {
        "source": "emotion",
        "min_class_size": DEFAULT_MIN_CLASS_SIZE,
        "classes": {
            "positive": ["positive", "happiness"],
            "negative": list(_NEGATIVE_EMOTIONS),
            "surprise": ["surprise"],
        },
    },
    # CAS(ME)^3 (and CAS(ME)^2) four emotion categories: positive, negative, surprise, others.
    "casme3_four_class": {
        "source": "emotion",
        "min_class_size": DEFAULT_MIN_CLASS_SIZE,
        "classes": {
            "positive": ["positive", "happiness"],
            "negative": list(_NEGATIVE_EMOTIONS),
            "surprise": ["surprise"],
            "others": ["others"],
        },
    },
    # CAS(ME)^3 seven categories: the six basic emotions and others.
    "casme3_seven_class": {
        "source": "emotion",
        "min_class_size": DEFAULT_MIN_CLASS_SIZE,
        "classes": {
            name: [name]
            for name in ("happiness", "disgust", "fear", "anger", "sadness", "surprise", "others")
        },
    },
}


@dataclass(frozen=True)
class ClassScheme:
    """A validated class scheme (docs/methods.md#class-schemes). ``classes`` maps class -> accepted
    labels."""

    name: str
    source: str
    classes: dict[str, tuple[str, ...]]
    min_class_size: int = DEFAULT_MIN_CLASS_SIZE

    @property
    def class_order(self) -> list[str]:
        return list(self.classes)

    def label_to_class(self) -> dict[str, str]:
        """Normalised label -> class; one label may feed only one class."""
        lookup: dict[str, str] = {}
        for name, labels in self.classes.items():
            for label in labels:
                key = _normalise(label)
                if key in lookup and lookup[key] != name:
                    raise ValueError(
                        f"class scheme {self.name!r}: label {label!r} is mapped to both "
                        f"{lookup[key]!r} and {name!r}"
                    )
                lookup[key] = name
        return lookup


def class_scheme(spec: Mapping[str, Any] | ClassScheme, name: str = "scheme") -> ClassScheme:
    """Validate a scheme mapping from config (see the module docstring) into a ClassScheme."""
    if isinstance(spec, ClassScheme):
        return spec
    unknown = set(spec) - {"name", "source", "classes", "min_class_size"}
    if unknown:
        raise ValueError(f"class scheme {name!r}: unknown keys {sorted(unknown)}")
    classes = spec.get("classes")
    if not isinstance(classes, Mapping) or not classes:
        raise ValueError(f"class scheme {name!r}: 'classes' must map class -> list of labels")
    parsed: dict[str, tuple[str, ...]] = {}
    for cls, labels in classes.items():
        if isinstance(labels, str):
            labels = [labels]
        if not isinstance(labels, Sequence) or not labels:
            raise ValueError(f"class scheme {name!r}: class {cls!r} has no labels")
        parsed[str(cls)] = tuple(str(label) for label in labels)
    min_size = int(spec.get("min_class_size", DEFAULT_MIN_CLASS_SIZE))
    if min_size < 1:
        raise ValueError(f"class scheme {name!r}: min_class_size must be >= 1")
    scheme = ClassScheme(
        name=str(spec.get("name", name)),
        source=str(spec.get("source", "emotion")),
        classes=parsed,
        min_class_size=min_size,
    )
    scheme.label_to_class()  # raises on a label claimed by two classes
    return scheme


def apply_scheme(
    labels: pd.Series, scheme: Mapping[str, Any] | ClassScheme
) -> tuple[pd.Series, dict[str, Any]]:
    """Map a data set's labels to a scheme's classes, dropping what it cannot use
    (docs/methods.md#class-schemes).

    ``labels`` is one column of the sample sheet (``scheme.source``), indexed by sample. Returns
    the class of every sample (same index; string dtype, <NA> for dropped samples) and a report:

    - ``classes``: the classes kept, in scheme order; ``counts``: their sample counts;
    - ``unmapped_labels``: {label as written: count} for labels no class takes;
    - ``missing_labels``: count of samples without a label;
    - ``dropped_small_classes``: {class: count} for classes below ``min_class_size``;
    - ``empty_classes``: scheme classes no sample maps to;
    - ``dropped_samples``: {sample (index value): reason} for every dropped sample;
    - ``n_labels``, ``n_kept``, ``n_dropped``, plus the scheme's name, source and minimum.
    """
    scheme = class_scheme(scheme)
    lookup = scheme.label_to_class()
    text = labels.astype("string")
    missing = text.isna() | (text.str.strip() == "")
    normalised = text.str.strip().str.lower()
    mapped = normalised.map(lookup).astype("string")
    mapped[missing] = pd.NA

    unmapped = text[~missing & mapped.isna()].str.strip()
    unmapped_counts = {str(k): int(v) for k, v in unmapped.value_counts(sort=False).items()}

    counts = mapped.value_counts()
    small = {
        cls: int(counts.get(cls, 0))
        for cls in scheme.class_order
        if 0 < counts.get(cls, 0) < scheme.min_class_size
    }
    result = mapped.mask(mapped.isin(list(small)))
    kept = [cls for cls in scheme.class_order if counts.get(cls, 0) >= scheme.min_class_size]
    report = {
        "scheme": scheme.name,
        "source": scheme.source,
        "min_class_size": scheme.min_class_size,
        "n_labels": len(labels),
        "n_kept": int(result.notna().sum()),
        "n_dropped": int(result.isna().sum()),
        "classes": kept,
        "counts": {cls: int(counts[cls]) for cls in kept},
        "dropped_small_classes": small,
        "empty_classes": [cls for cls in scheme.class_order if counts.get(cls, 0) == 0],
        "unmapped_labels": dict(sorted(unmapped_counts.items())),
        "missing_labels": int(missing.sum()),
        "dropped_samples": _drop_reasons(text, missing, mapped, small, scheme.min_class_size),
    }
    return result.rename(scheme.name), report


def _drop_reasons(
    text: pd.Series,
    missing: pd.Series,
    mapped: pd.Series,
    small: Mapping[str, int],
    min_class_size: int,
) -> dict[str, str]:
    """Why each dropped sample was dropped, in sample-sheet order (docs/layout.md#failures)."""
    reasons: dict[str, str] = {}
    for sample, label, is_missing, cls in zip(
        text.index, text.to_numpy(), missing.to_numpy(), mapped.to_numpy(), strict=True
    ):
        if is_missing:
            reasons[str(sample)] = "no label"
        elif pd.isna(cls):
            reasons[str(sample)] = f"label {str(label).strip()!r} is not in the scheme"
        elif cls in small:
            reasons[str(sample)] = (
                f"class {cls!r} has {small[cls]} samples, fewer than min_class_size "
                f"{min_class_size}"
            )
    return reasons


def _normalise(label: str) -> str:
    return str(label).strip().lower()
