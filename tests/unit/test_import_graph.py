"""The package's imports run with the flow of the pipeline, and no two modules import each other.

The parts of `workflow/microexp`, in flow order (docs/layout.md): the helpers (the top-level
modules: camera, failures, runlog, grids, ...) < io < face2d < cloud3d < flow < features <
spotting < learn < evaluate < report. A module may import its own part and the parts before it,
never a later one. `synthetic` (the generated data set) sits on top: no library part imports it.
`testing` (fixtures, phantoms, accuracy against ground truth) is for tests/, benchmarks/ and
tools/ only: no other part imports it; it may import anything, `synthetic` included.

Imports inside functions count (a lazy import is still a dependency); imports under
``if TYPE_CHECKING:`` do not. A new part (a new sub-package) fails the test until it is placed in
`FLOW_ORDER`, so every addition is checked.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workflow" / "microexp"
HELPERS = "helpers"
FLOW_ORDER = (
    HELPERS,
    "io",
    "face2d",
    "cloud3d",
    "flow",
    "features",
    "spotting",
    "learn",
    "evaluate",
    "report",
)
TOP = "synthetic"  # imports anything; imported by no library part
SUPPORT = "testing"  # imports anything; imported by nothing in the package


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def subpackages(package: Path) -> set[str]:
    return {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}


def part_of(module: str, parts: set[str]) -> str:
    """``microexp.io.realsense`` -> ``io``; a top-level module (``microexp.camera``) is a helper."""
    names = module.split(".")
    return names[1] if len(names) > 1 and names[1] in parts else HELPERS


def _type_checking_lines(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    skipped.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return skipped


def imports_of(path: Path, package: Path) -> list[tuple[str, int]]:
    """(imported module, line) of every import of `package`'s own modules in `path`."""
    root = package.name
    module = module_name(path, package)
    is_init = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_lines(tree)
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_init else 0)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from microexp.io import realsense` imports the submodule microexp.io.realsense.
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target == root or target.startswith(root + "."):
                found.append((_existing(target, package), node.lineno))
    return found


def _existing(module: str, package: Path) -> str:
    """The longest prefix of `module` that is a module or package of `package`."""
    parts = module.split(".")
    while len(parts) > 1:
        base = package.parent.joinpath(*parts)
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return ".".join(parts)
        parts = parts[:-1]
    return parts[0]


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: first line}."""
    graph: dict[str, dict[str, int]] = {}
    for path in sorted(package.rglob("*.py")):
        module = module_name(path, package)
        edges = graph.setdefault(module, {})
        for target, line in imports_of(path, package):
            if target != module and target != package.name:
                edges.setdefault(target, line)
    return graph


def flow_violations(package: Path) -> list[str]:
    """Every import against the flow order, and every part not placed in it."""
    graph = import_graph(package)
    subs = subpackages(package)
    rank = {part: k for k, part in enumerate(FLOW_ORDER)}
    problems = []
    for part in sorted(subs - set(rank) - {TOP, SUPPORT}):
        problems.append(f"part {part!r} is not placed in FLOW_ORDER (test_import_graph.py)")
    for module, edges in sorted(graph.items()):
        source = part_of(module, subs)
        for target, line in sorted(edges.items()):
            dest = part_of(target, subs)
            if dest == source or source == SUPPORT:
                continue
            where = f"{module} (line {line}) imports {target}"
            if dest == SUPPORT:
                problems.append(f"{where}: `testing` is for tests and benchmarks only")
            elif dest == TOP:
                problems.append(f"{where}: nothing in the library imports `synthetic`")
            elif source == TOP:
                continue
            elif dest in rank and source in rank and rank[dest] > rank[source]:
                problems.append(f"{where}: {source} comes before {dest} in the flow")
    return problems


def import_cycles(package: Path) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph = import_graph(package)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(cycles)


def part_cycles(package: Path) -> list[list[str]]:
    """Cycles between parts: groups of parts that import each other, directly or not."""
    graph = import_graph(package)
    subs = subpackages(package)
    parts: dict[str, set[str]] = {}
    for module, edges in graph.items():
        source = part_of(module, subs)
        parts.setdefault(source, set()).update(
            part_of(t, subs) for t in edges if part_of(t, subs) != source
        )
    cycles = []
    for a in sorted(parts):
        for b in sorted(parts[a]):
            if a < b and a in _reachable(parts, b):
                cycles.append([a, b])
    return cycles


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        v = todo.pop()
        for w in graph.get(v, ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


# ---------------------------------------------------------------------------------------------
# The package itself
# ---------------------------------------------------------------------------------------------


def test_every_import_runs_with_the_flow():
    problems = flow_violations(PACKAGE)
    assert not problems, "\n".join(problems)


def test_no_import_cycles_between_parts():
    assert part_cycles(PACKAGE) == []


def test_no_import_cycles_between_modules():
    assert import_cycles(PACKAGE) == []


def test_the_graph_sees_the_package():
    graph = import_graph(PACKAGE)
    assert "microexp.io.realsense" in graph
    # Known edges, so a parser that sees nothing cannot pass the tests above.
    assert "microexp.learn.svm" in graph["microexp.learn.experiments"]
    assert "microexp.evaluate.formatting" in graph["microexp.evaluate.plan"]


# ---------------------------------------------------------------------------------------------
# The checker on a package with the violations main had before the split
# ---------------------------------------------------------------------------------------------


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "microexp"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for parent in path.parents:
            if parent == root:
                break
            (parent / "__init__.py").touch()
    return package


@pytest.fixture
def bad_package(tmp_path):
    # The shapes of the violations the package had: learn <-> evaluate, evaluate -> report,
    # io -> synthetic, face2d -> features, a library module importing test support, an unknown
    # part, and a lazy (function-level) upward import.
    package = write_package(
        tmp_path,
        {
            "camera.py": "",
            "io/realsense.py": "from microexp.synthetic.recording import CaptureFrame\n",
            "synthetic/recording.py": "from microexp.io import aus\n",
            "io/aus.py": "",
            "face2d/qc.py": "from microexp.features.blocks import block_bounds\n",
            "features/blocks.py": "from ..camera import Intrinsics\n",
            "learn/entries.py": "from microexp.evaluate.tables import setting_scores\n",
            "evaluate/tables.py": "from microexp.learn import entries\n",
            "evaluate/plan.py": "def f():\n    from microexp.report import html\n",
            "report/html.py": "from microexp.evaluate import tables\n",
            "cloud3d/icp.py": "import microexp.testing.phantom\n",
            "testing/phantom.py": "from microexp.synthetic.recording import CaptureFrame\n",
            "gadgets/x.py": "from microexp.io import aus\n",
        },
    )
    return package


def test_the_checker_reports_each_kind_of_violation(bad_package):
    problems = "\n".join(flow_violations(bad_package))
    assert "microexp.io.realsense (line 1) imports microexp.synthetic.recording" in problems
    assert "microexp.face2d.qc (line 1) imports microexp.features.blocks" in problems
    assert "microexp.learn.entries (line 1) imports microexp.evaluate.tables" in problems
    assert "microexp.evaluate.plan (line 2) imports microexp.report.html" in problems
    assert "microexp.cloud3d.icp (line 1) imports microexp.testing.phantom" in problems
    assert "part 'gadgets' is not placed in FLOW_ORDER" in problems
    # Allowed: synthetic -> io, testing -> synthetic, evaluate -> learn, a relative helper import.
    assert "microexp.synthetic.recording (line" not in problems
    assert "microexp.testing.phantom (line" not in problems
    assert "microexp.evaluate.tables (line" not in problems
    assert "microexp.features.blocks (line" not in problems
    assert part_cycles(bad_package) == [
        ["evaluate", "learn"],
        ["evaluate", "report"],
        ["io", "synthetic"],
    ]
    assert import_cycles(bad_package) == [["microexp.evaluate.tables", "microexp.learn.entries"]]


# ---------------------------------------------------------------------------------------------
# What a stage's readers pull in
# ---------------------------------------------------------------------------------------------

HEAVY = ("dlib", "cv2", "open3d", "pyrealsense2", "torch", "matplotlib", "pandas", "sklearn")


def imported_heavy(module: str) -> list[str]:
    """The heavy libraries a fresh interpreter has loaded after importing `module`."""
    code = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
    )
    return done.stdout.split()


@pytest.mark.parametrize("module", ["microexp.face2d.result", "microexp.cloud3d.result"])
def test_stage_file_formats_import_only_numpy(module):
    assert imported_heavy(module) == []


def test_learning_does_not_import_the_face_stages_libraries():
    # learn reads the face2d file (CAS(ME)^2 ROIs) through face2d.result, not face2d.stage.
    loaded = imported_heavy("microexp.learn.entries")
    assert not {"dlib", "cv2", "open3d", "pyrealsense2"} & set(loaded), loaded
