"""Saving and loading a stage's result dataclass as one ``.npz`` file (numpy only).

Each per-sample stage's file format (``face2d.result``, ``cloud3d.result``) names its array
fields, its scalar fields with their Python types and its optional arrays (absent from the file
when ``None``); these two functions do the rest, so every format writes and reads its file the
same way (docs/data-contracts.md).
"""

from __future__ import annotations

import os
import zipfile
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


def savez_compressed(path: str | os.PathLike[str], level: int, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` at zlib level ``level`` (numpy's is fixed at 6), to the exact
    ``path`` (no ".npz" appended). The file is the same npz: ``np.load`` reads any level. Level
    1 costs about a fifth of level 6's CPU on sparse count arrays for files about a quarter
    larger (benchmarks/bench_lbptop.py)."""
    with zipfile.ZipFile(
        path, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=level, allowZip64=True
    ) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


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
