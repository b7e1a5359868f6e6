"""Saving and loading a stage's result dataclass as one ``.npz`` file (numpy only).

Each per-sample stage's file format (``face2d.result``, ``cloud3d.result``) names its array
fields, its scalar fields with their Python types and its optional arrays (absent from the file
when ``None``); these two functions do the rest, so every format writes and reads its file the
same way (docs/data-contracts.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def save_result(
    path: str | os.PathLike[str],
    result: object,
    arrays: Sequence[str],
    scalars: Sequence[str],
    optional: Sequence[str] = (),
) -> None:
    """Write the named fields of ``result`` to ``path`` (compressed), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    values: dict[str, np.ndarray] = {name: np.asarray(getattr(result, name)) for name in arrays}
    for name in optional:
        if getattr(result, name) is not None:
            values[name] = np.asarray(getattr(result, name))
    for name in scalars:
        values[name] = np.array(getattr(result, name))
    # savez appends ".npz" to names without it; write to the exact path through a handle.
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **values)


def load_result(
    path: str | os.PathLike[str],
    result_type: Callable[..., T],
    arrays: Sequence[str],
    scalars: Mapping[str, Callable[[Any], Any]],
    optional: Sequence[str] = (),
) -> T:
    """Read what ``save_result`` wrote: scalars converted by their type, a missing optional
    array as ``None``."""
    with np.load(Path(path), allow_pickle=False) as data:
        values: dict[str, Any] = {name: data[name] for name in arrays}
        for name in optional:
            values[name] = data[name] if name in data.files else None
        for name, convert in scalars.items():
            values[name] = convert(data[name])
    return result_type(**values)
