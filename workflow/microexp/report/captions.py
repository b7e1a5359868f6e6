"""Report captions written by the jobs themselves (docs/tables.md: captions say what was computed).

Snakemake renders a report item's caption from a template when the report is built, with the
job's ``params`` in scope. A caption that states N samples, the folds or the fusion weights can
only be written once the job has run, so jobs write their captions to a JSON file next to their
pictures, and the rule passes a `Captions` object as a param: the template
(workflow/report/*.rst) calls ``snakemake.params.captions.get(name)``, which reads the file then.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["Captions", "join_captioned_figures", "write_captions"]


class Captions:
    """The captions in a JSON file, read when the report asks for one (not when the workflow
    is parsed: the file may not exist yet). Its repr is its path, so it never triggers a
    rerun by itself."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def __repr__(self) -> str:
        return f"Captions({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Captions) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def get(self, name: str) -> str:
        """The caption ``name`` (reStructuredText), or a line saying it is missing."""
        try:
            captions = json.loads(Path(self.path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return f"(caption file {self.path} not found: rerun the job that writes it)"
        return captions.get(name, f"(no caption {name!r} in {self.path})")


def write_captions(path: str | Path, captions: Mapping[str, str]) -> Path:
    """Write the captions of one job's report items."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(captions), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def join_captioned_figures(sources: Sequence[str | Path], folder: str | Path) -> dict[str, str]:
    """Copy the PNGs of several jobs' figure folders (each with its ``captions.json``) into one
    report folder and write their captions there, in the order of ``sources`` (e.g. the parts
    of a split fusion entry). A figure name given by two sources is an error: one picture would
    silently replace the other. Returns the joined captions."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    captions: dict[str, str] = {}
    for source in map(Path, sources):
        part = json.loads((source / "captions.json").read_text(encoding="utf-8"))
        twice = set(part) & set(captions)
        if twice:
            raise ValueError(f"{source}: figures {sorted(twice)} are in two sources")
        captions.update(part)
        for png in sorted(source.glob("*.png")):
            shutil.copyfile(png, folder / png.name)
    write_captions(folder / "captions.json", captions)
    return captions
