"""The repository documents itself: no file cites a document the repository does not hold,
every citation of `docs/` (and every relative Markdown link in a Markdown file) points at a file
and a section that exist, and the docs index (docs/README.md) lists every document."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not match itself.
OUTSIDE = ("SPEC" + ".md", "ARCHITECTURE" + ".md", "../" + "shared")
DOCS_LINK = re.compile(r"docs/([A-Za-z0-9_-]+\.md)(#[A-Za-z0-9_-]+)?")
# A relative Markdown link: [text](other.md#section), [text](../README.md), [text](#section).
MARKDOWN_LINK = re.compile(r"\]\((?![a-z]+:)([^)\s#]*\.md)?(#[^)\s]*)?\)")


def tracked_text_files() -> list[Path]:
    """The files git tracks (or, outside a git checkout, every file but results and caches)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        paths = [ROOT / p for p in listed.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "results", ".snakemake", "__pycache__"}
        paths = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    texts = []
    for path in paths:
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary fixtures
        texts.append(path)
    return texts


def outside_references(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in OUTSIDE:
                if name in line:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    return found


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    return {
        "#" + github_anchor(line.lstrip("#"))
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def broken_docs_links(paths: list[Path]) -> list[str]:
    broken = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name, anchor in DOCS_LINK.findall(line):
                doc = ROOT / "docs" / name
                where = f"{path.relative_to(ROOT)}:{number}: docs/{name}{anchor}"
                if not doc.is_file():
                    broken.append(f"{where} (no such file)")
                elif anchor and anchor not in anchors(doc):
                    broken.append(f"{where} (no such section)")
    return broken


def broken_markdown_links(paths: list[Path]) -> list[str]:
    """Relative links of Markdown files whose target file or section does not exist."""
    broken = []
    for path in paths:
        if path.suffix != ".md":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for target, anchor in MARKDOWN_LINK.findall(line):
                if not target and not anchor:
                    continue
                doc = (path.parent / target).resolve() if target else path
                where = f"{path.relative_to(ROOT)}:{number}: ({target}{anchor})"
                if not doc.is_file():
                    broken.append(f"{where} (no such file)")
                elif anchor and anchor not in anchors(doc):
                    broken.append(f"{where} (no such section)")
    return broken


def unindexed_docs(docs: Path) -> list[str]:
    """Documents in docs/ that the index, docs/README.md, does not link."""
    index = (docs / "README.md").read_text(encoding="utf-8")
    linked = {target for target, _ in MARKDOWN_LINK.findall(index)}
    return sorted(
        doc.name for doc in docs.glob("*.md") if doc.name != "README.md" and doc.name not in linked
    )


def test_no_file_cites_a_document_outside_the_repository():
    found = outside_references(tracked_text_files())
    assert not found, "\n".join(found)


def test_every_docs_citation_points_at_an_existing_section():
    this_file = Path(__file__).resolve()  # its negative case cites sections that do not exist
    broken = broken_docs_links([p for p in tracked_text_files() if p.resolve() != this_file])
    assert not broken, "\n".join(broken)


def test_every_markdown_link_points_at_an_existing_file_and_section():
    broken = broken_markdown_links(tracked_text_files())
    assert not broken, "\n".join(broken)


def test_the_docs_index_lists_every_document():
    assert not unindexed_docs(ROOT / "docs"), "add these to the table in docs/README.md"


def test_the_checks_see_what_they_look_for(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "methods.md").write_text("# Methods\n\n## LBP-TOP\n\n## 3D face\n")
    bad = tmp_path / "module.py"
    bad.write_text(
        f'"""See {OUTSIDE[0]} 5.1 and {OUTSIDE[2]}/x."""\n'
        "# docs/methods.md#lbp-top docs/methods.md#3d-face docs/methods.md#blocks docs/none.md\n"
    )
    assert outside_references([bad]) == [f"module.py:1: {OUTSIDE[0]}", f"module.py:1: {OUTSIDE[2]}"]
    assert broken_docs_links([bad]) == [
        "module.py:2: docs/methods.md#blocks (no such section)",
        "module.py:2: docs/none.md (no such file)",
    ]
    (tmp_path / "docs" / "flow.md").write_text("# Flow\n\n## Optical strain\n")
    index = tmp_path / "docs" / "README.md"
    index.write_text(
        "[methods](methods.md#lbp-top) [gone](gone.md) [x](methods.md#nothing)\n"
        "[self](#flow) [web](https://example.org/a.md) [here](#index)\n# Index\n"
    )
    assert broken_markdown_links([index]) == [
        "docs/README.md:1: (gone.md) (no such file)",
        "docs/README.md:1: (methods.md#nothing) (no such section)",
        "docs/README.md:2: (#flow) (no such section)",
    ]
    assert unindexed_docs(tmp_path / "docs") == ["flow.md"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [("## 2D face", "2d-face"), ("## ROIs and TIM", "rois-and-tim"), ("## LBP-TOP", "lbp-top")],
)
def test_github_anchors(heading, anchor):
    assert github_anchor(heading.lstrip("#")) == anchor
