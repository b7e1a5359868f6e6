"""A database's official exception lists: frames that cannot be opened or are of bad quality.

CAS(ME)^3 ships text files that list such frames, one per line, in two spellings:

    spNO.3 J 498.jpg  the image cannot open
    /home/.../RGB/spNO.138/a/color/1294.jpg

The first names subject, video and frame file with a reason; the second is a path whose last
components are ``<subject>/<video>/[color|depth/]<frame>.<ext>`` (the list's file name says
why: e.g. images of bad quality). Both are read into one table (:func:`read_exception_lists`):
subject, video (lower-cased: the lists write "J" for the folder "j"), frame, stream ("color",
"depth" or "" when the line does not say), reason, file, line.

A data-set entry names its lists (``exceptions:``, relative to root) and what to do with a
listed frame (``exception_frames: exclude | interpolate``, default exclude). A listed frame is
treated like a dropped frame, in whichever stream it is listed: ``exclude`` leaves it out of
the clip (it is reported with the clip's dropped frames), ``interpolate`` replaces it by the
linear interpolation of its nearest readable neighbours in time (the clip lists it in
``interpolated_frames``). A listed onset, apex or offset frame is never used without a
record: the sample's ``problems`` say "exception-listed frame"; with ``exclude`` recognition
leaves such a sample out (the reason in its failure record), with ``interpolate`` it keeps it
with the flag.

Lines that are blank or start with "#" are skipped; a line naming no subject (a title) is
skipped with a warning; a line that names a subject but no frame is an error naming the file
and line.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a table is built: the clip readers (ingest,
    # face2d, cloud3d jobs) use `interpolate_frames` only, and importing pandas cost ~0.8 s
    import pandas as pd

__all__ = [
    "EXCEPTION_COLUMNS",
    "ExceptionListError",
    "exception_frames_of",
    "interpolate_frames",
    "read_exception_lists",
]

EXCEPTION_COLUMNS = ("subject", "video", "frame", "stream", "reason", "file", "line")

_SUBJECT = re.compile(r"^sp\s*no\.?\s*\d+$", re.IGNORECASE)
_FRAME = re.compile(r"^(\d+)(?:\.(?:jpe?g|png|bmp))?$", re.IGNORECASE)
_STREAMS = {"color": "color", "rgb": "color", "depth": "depth"}


class ExceptionListError(ValueError):
    """An exception list line that names a subject but cannot be read."""


def _subject_name(token: str) -> str:
    number = re.search(r"\d+", token)
    assert number is not None
    return f"spNO.{int(number.group())}"


def _parse_line(text: str, default_reason: str) -> dict[str, Any] | None:
    """One line -> a record, None for a line with no subject; raises ExceptionListError."""
    folded = unicodedata.normalize("NFKC", text).strip()
    parts = [p for p in re.split(r"[\\/\s]+", folded) if p]
    start = next((i for i, p in enumerate(parts) if _SUBJECT.match(p)), None)
    if start is None:
        # "spNO. 3" written with a space: join the two tokens
        joined = [f"{a}{b}" for a, b in itertools.pairwise(parts)]
        start = next((i for i, p in enumerate(joined) if _SUBJECT.match(p)), None)
        if start is None:
            return None
        parts = [*parts[:start], joined[start], *parts[start + 2 :]]
    rest = parts[start + 1 :]
    if len(rest) < 2:
        raise ExceptionListError("a subject but no video and frame")
    video, stream = rest[0].casefold(), ""
    position = 1
    if position < len(rest) and rest[position].casefold() in _STREAMS:
        stream = _STREAMS[rest[position].casefold()]
        position += 1
    frame = _FRAME.match(rest[position]) if position < len(rest) else None
    if frame is None:
        raise ExceptionListError(f"no frame number after subject and video in {folded!r}")
    # a path naming the stream above the subject (".../RGB/spNO.138/...") says it there
    above = [p.casefold() for p in parts[:start]]
    if not stream:
        stream = next((_STREAMS[p] for p in reversed(above) if p in _STREAMS), "")
    reason = " ".join(rest[position + 1 :]) or default_reason
    return {
        "subject": _subject_name(parts[start]),
        "video": video,
        "frame": int(frame.group(1)),
        "stream": stream,
        "reason": reason,
    }


def read_exception_lists(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Every listed frame of the given exception lists (columns ``EXCEPTION_COLUMNS``).

    A line without its own reason takes the list's file name ("bad quality images.txt" ->
    "listed in bad quality images.txt"). Raises FileNotFoundError for a missing list and
    ExceptionListError (file and line named) for a line that names a subject but no frame.
    """
    records, skipped = [], []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"exception list not found: {path}")
        default = f"listed in {path.name}"
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                record = _parse_line(line, default)
            except ExceptionListError as error:
                raise ExceptionListError(f"{path}, line {number}: {error}") from error
            if record is None:
                skipped.append(f"{path.name}:{number}")
                continue
            records.append({**record, "file": str(path), "line": number})
    if skipped:
        warnings.warn(
            f"exception lists: lines without a subject skipped ({', '.join(skipped[:10])})",
            stacklevel=2,
        )
    import pandas as pd

    table = pd.DataFrame.from_records(records, columns=list(EXCEPTION_COLUMNS))
    return table.astype({"frame": "int64", "line": "int64"})


def exception_frames_of(listed: pd.DataFrame, subject: str, video: str) -> dict[int, str]:
    """Listed frame -> reason for one video (subjects compared as ``spNO.<n>``, videos
    case-insensitively)."""
    if listed.empty or not _SUBJECT.match(str(subject).replace(" ", "")):
        return {}
    mask = (listed["subject"] == _subject_name(str(subject))) & (
        listed["video"] == str(video).casefold()
    )
    return dict(zip(listed.loc[mask, "frame"], listed.loc[mask, "reason"], strict=True))


def interpolate_frames(
    frames: np.ndarray, numbers: np.ndarray, wanted: Iterable[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Frames at ``wanted`` numbers, by linear interpolation in time between the nearest
    frames present (``frames`` (T, ...) at ascending ``numbers``); the ends repeat the
    nearest frame. Returns (frames at sorted(wanted ∪ numbers), their numbers)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    targets = np.union1d(numbers, np.fromiter(wanted, dtype=np.int64))
    if len(numbers) == 0:
        raise ValueError("no readable frame to interpolate from")
    after = np.clip(np.searchsorted(numbers, targets), 0, len(numbers) - 1)
    before = np.clip(after - 1, 0, len(numbers) - 1)
    exact = numbers[after] == targets
    before[exact] = after[exact]
    span = (numbers[after] - numbers[before]).astype(np.float64)
    weight = np.where(span > 0, (targets - numbers[before]) / np.where(span > 0, span, 1), 0.0)
    weight = np.clip(weight, 0.0, 1.0).reshape((-1,) + (1,) * (frames.ndim - 1))
    mixed = (1.0 - weight) * frames[before].astype(np.float64) + weight * frames[after].astype(
        np.float64
    )
    return np.round(mixed).astype(frames.dtype), targets


def dataset_exception_lists(dataset: Mapping[str, Any]) -> pd.DataFrame:
    """The listed frames of a data-set entry's ``exceptions:`` (empty table without)."""
    files = dataset.get("exceptions") or []
    files = [files] if isinstance(files, str) else list(files)
    root = Path(dataset["root"])
    return read_exception_lists(root / f for f in files)
