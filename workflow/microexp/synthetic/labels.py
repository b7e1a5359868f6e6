"""Labels of the synthetic data set, as real databases give them.

Objective classes follow Davison et al., "Objective classes for micro-facial expression
recognition" (2018), which DSME-3D uses for its objective labels (DSME-3D section 3.4): a
class is a list of AU combinations. The emotion (DSME-3D's "non-objective" class) comes from
AUs, stimulus and self-report together; here it is the emotion the class suggests, replaced
by another one with a small probability to mimic self-report disagreement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

OTHERS = "others"


def canonical_aus(aus: Sequence[str] | str) -> tuple[str, ...]:
    """AU names as a sorted, duplicate-free tuple ("AU12+AU6" -> ("AU6", "AU12"))."""
    items = aus.split("+") if isinstance(aus, str) else list(aus)
    names = {a.strip().upper() for a in items if a.strip()}
    return tuple(sorted(names, key=lambda name: int(name[2:])))


def others_class(objective_classes: Mapping[str, Mapping]) -> str:
    """The class that takes every AU combination no class lists (Davison's class VII)."""
    for name, spec in objective_classes.items():
        if spec["emotion"] == OTHERS:
            return name
    raise ValueError("objective_classes: no class has emotion 'others' to take unlisted AUs")


def objective_class(aus: Sequence[str] | str, objective_classes: Mapping[str, Mapping]) -> str:
    """Objective class of an AU combination: the class that lists exactly this combination."""
    combination = canonical_aus(aus)
    for name, spec in objective_classes.items():
        if any(canonical_aus(listed) == combination for listed in spec["aus"]):
            return name
    return others_class(objective_classes)


def emotion_labels(objective_classes: Mapping[str, Mapping]) -> tuple[str, ...]:
    """Every emotion label the classes can suggest, in config order."""
    return tuple(dict.fromkeys(spec["emotion"] for spec in objective_classes.values()))


def self_reported_emotion(
    suggested: str, labels: Sequence[str], noise: float, rng: np.random.Generator
) -> str:
    """The emotion label after self-report: the suggested one, or another with prob `noise`."""
    if rng.random() >= noise:
        return suggested
    alternatives = [label for label in labels if label != suggested]
    return str(rng.choice(alternatives)) if alternatives else suggested
