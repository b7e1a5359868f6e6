"""The conda environments in envs/ cover the code their rules run, with pyproject's pins.

For every rule with a `conda:` env and a `script:`, each module the script imports (statically,
through the `microexp` modules it imports, transitively) must come from the standard library,
from `microexp`, or from a distribution the env's pip section lists; every pip entry is pinned
to the version pyproject.toml pins. Dependencies pandas loads by name (pyarrow for parquet, the
calamine Excel engine) count as imports of the module that asks for them.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distributions
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "workflow" / "rules"
PACKAGE_ROOT = ROOT / "workflow"  # microexp/ lives here
FIRST_PARTY = "microexp"

# pandas imports these by name when a module uses the feature in the pattern.
INDIRECT_IMPORTS = {
    r"\b(?:read|to)_parquet\(": "pyarrow",
    r"engine=[\"']calamine[\"']": "python_calamine",
    r"engine=[\"']openpyxl[\"']": "openpyxl",
}


def normalize(name: str) -> str:
    """PEP 503 distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class RuleEnv:
    rule: str
    smk: Path
    env: Path
    script: Path


def rule_envs(rules_dir: Path = RULES) -> list[RuleEnv]:
    """Every rule (in every .smk file) that has both a conda env and a script."""
    found = []
    for smk in sorted(rules_dir.glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule \w+:)", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            conda = re.search(r"(?m)^    conda:\n\s+\"([^\"]+)\"", block)
            script = re.search(r"(?m)^    script:\n\s+\"([^\"]+)\"", block)
            if name and conda and script:
                found.append(
                    RuleEnv(
                        name.group(1),
                        smk,
                        (smk.parent / conda.group(1)).resolve(),
                        (smk.parent / script.group(1)).resolve(),
                    )
                )
    return found


def module_file(module: str, package_root: Path = PACKAGE_ROOT) -> Path | None:
    base = package_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements, without those under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped
    ]


def imported_modules(path: Path, package: str | None) -> set[str]:
    """Absolute names of the modules a file imports; for `from pkg import name`, also
    `pkg.name` (it may be a submodule). `package` resolves relative imports."""
    source = path.read_text()
    found: set[str] = set()
    for node in _runtime_imports(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
            continue
        if node.level:
            if package is None:
                raise ValueError(f"{path}: relative import outside a package")
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1])
            module = f"{base}.{node.module}" if node.module else base
        else:
            module = node.module or ""
        found.add(module)
        found |= {f"{module}.{alias.name}" for alias in node.names if alias.name != "*"}
    for pattern, module in INDIRECT_IMPORTS.items():
        if re.search(pattern, source):
            found.add(module)
    return found


def third_party_imports(script: Path, package_root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """Top-level third-party module -> the file that imports it, over the script and every
    first-party module it reaches (with the packages' __init__ files Python runs)."""
    third: dict[str, str] = {}
    todo: list[tuple[Path, str | None]] = [(script, None)]
    seen: set[Path] = set()
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path, package):
            top = module.split(".")[0]
            if top == FIRST_PARTY:
                parts = module.split(".")
                for i in range(1, len(parts) + 1):
                    name = ".".join(parts[:i])
                    file = module_file(name, package_root)
                    if file is not None:
                        pkg = name if file.name == "__init__.py" else name.rpartition(".")[0]
                        todo.append((file, pkg))
            elif top not in sys.stdlib_module_names and top != "__future__":
                third.setdefault(top, str(path.relative_to(package_root.parent)))
    return third


def env_pins(env: Path) -> dict[str, str]:
    """Normalized distribution -> pip requirement string of a conda env file's pip section."""
    spec = yaml.safe_load(env.read_text())
    pins = {}
    for dependency in spec.get("dependencies", []):
        if isinstance(dependency, dict) and "pip" in dependency:
            for requirement in dependency["pip"]:
                name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
                pins[normalize(name)] = requirement.replace(" ", "")
    return pins


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {
        normalize(re.match(r"[A-Za-z0-9_.-]+", r).group(0)): r.replace(" ", "")
        for r in requirements
    }


@cache
def modules_to_distributions() -> dict[str, set[str]]:
    """Top-level import name -> normalized names of the installed distributions providing it,
    from each distribution's file list (top_level.txt alone misses some: dlib-bin names only
    its extension module there, not the `dlib` package it installs)."""
    mapping: dict[str, set[str]] = {}
    for dist in distributions():
        tops = set((dist.read_text("top_level.txt") or "").split())
        for file in dist.files or []:
            first = file.parts[0]
            if first == ".." or first.endswith((".dist-info", ".egg-info", ".data")):
                continue
            tops.add(first.split(".")[0] if len(file.parts) == 1 else first)
        for top in tops:
            mapping.setdefault(top, set()).add(normalize(dist.metadata["Name"]))
    return mapping


def uncovered(rule: RuleEnv, package_root: Path = PACKAGE_ROOT) -> list[str]:
    """What the rule's code imports that its env does not install, as messages."""
    providers = modules_to_distributions()
    listed = set(env_pins(rule.env))
    problems = []
    for module, where in sorted(third_party_imports(rule.script, package_root).items()):
        dists = providers.get(module, set())
        if not dists:
            problems.append(f"{module} (imported in {where}): no installed distribution")
        elif not dists & listed:
            problems.append(f"{module} (imported in {where}) needs {'/'.join(sorted(dists))}")
    return problems


RULE_ENVS = rule_envs()


def test_rules_with_envs_are_found():
    names = {r.rule for r in RULE_ENVS}
    assert {"synthetic_frame_folder", "ingest_clip", "face2d", "cloud3d", "lbptop"} <= names
    for rule in RULE_ENVS:
        assert rule.env.is_file(), f"{rule.rule}: {rule.env} missing"
        assert rule.script.is_file(), f"{rule.rule}: {rule.script} missing"


@pytest.mark.parametrize("rule", RULE_ENVS, ids=lambda r: r.rule)
def test_env_covers_every_import_of_the_rule(rule):
    problems = uncovered(rule)
    assert not problems, f"{rule.env.name} lacks, for rule {rule.rule}:\n  " + "\n  ".join(
        problems
    )


def pin_problems(env: Path) -> list[str]:
    """Pip entries of an env that are unpinned, not in pyproject.toml or pinned differently;
    a Python that pyproject's requires-python (>= 3.11) excludes."""
    pins, project = env_pins(env), pyproject_pins()
    problems = [] if pins else ["no pip section"]
    for name, requirement in pins.items():
        if "==" not in requirement:
            problems.append(f"{requirement} is not pinned")
        elif name not in project:
            problems.append(f"{requirement} is not a pyproject.toml dependency")
        elif requirement != project[name]:
            problems.append(f"{requirement} != {project[name]} (pyproject.toml)")
    pythons = [
        d for d in yaml.safe_load(env.read_text())["dependencies"] if str(d).startswith("python=")
    ]
    if pythons != ["python=3.11"]:
        problems.append(f"python {pythons}: want python=3.11 (requires-python >= 3.11)")
    return problems


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_equal_pyproject_pins(env):
    problems = pin_problems(env)
    assert not problems, f"{env.name}:\n  " + "\n  ".join(problems)


# --- the checks themselves catch what they must ----------------------------------------


def make_case(tmp_path: Path, env_pip: list[str]) -> RuleEnv:
    """A rule file, an env and a script that imports yaml directly and, through a
    first-party module imported relatively, pandas with a parquet write (pyarrow)."""
    package = tmp_path / "workflow" / "microexp"
    (package / "io").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "io" / "__init__.py").write_text("")
    (package / "io" / "tables.py").write_text(
        "from . import helpers\n\ndef save(t, p):\n    t.to_parquet(p)\n"
    )
    (package / "io" / "helpers.py").write_text("import json\nimport pandas as pd\n")
    scripts = tmp_path / "workflow" / "scripts"
    scripts.mkdir()
    (scripts / "job.py").write_text(
        "import yaml\nfrom microexp.io import tables\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import sklearn\n"
    )
    env = tmp_path / "envs" / "job.yaml"
    env.parent.mkdir()
    env.write_text(yaml.safe_dump({"dependencies": ["python=3.11", "pip", {"pip": env_pip}]}))
    rules = tmp_path / "workflow" / "rules"
    rules.mkdir()
    (rules / "job.smk").write_text(
        'rule job:\n    output:\n        "x"\n    conda:\n        "../../envs/job.yaml"\n'
        '    script:\n        "../scripts/job.py"\n'
    )
    (found,) = rule_envs(rules)
    return found


def test_transitive_relative_and_indirect_imports_are_seen(tmp_path):
    rule = make_case(tmp_path, [])
    imports = third_party_imports(rule.script, tmp_path / "workflow")
    assert set(imports) == {"yaml", "pandas", "pyarrow"}  # not sklearn (TYPE_CHECKING only)
    assert imports["pandas"] == "workflow/microexp/io/helpers.py"


def test_a_missing_distribution_is_reported(tmp_path):
    rule = make_case(tmp_path, ["pyyaml==6.0.3", "pandas==3.1.1"])
    problems = uncovered(rule, tmp_path / "workflow")
    assert len(problems) == 1 and problems[0].startswith("pyarrow "), problems
    assert "workflow/microexp/io/tables.py" in problems[0]
    complete = make_case(tmp_path / "full", ["pyyaml==6.0.3", "pandas==3.1.1", "pyarrow==26.0.1"])
    assert uncovered(complete, tmp_path / "full" / "workflow") == []


def test_pins_that_differ_from_pyproject_are_caught(tmp_path):
    rule = make_case(tmp_path, ["numpy==1.0.0", "pandas>=2", "left-pad==1.0", "pyyaml==6.0.3"])
    problems = pin_problems(rule.env)
    assert len(problems) == 3, problems
    assert any(p.startswith("numpy==1.0.0 != numpy==") for p in problems)
    assert "pandas>=2 is not pinned" in problems
    assert "left-pad==1.0 is not a pyproject.toml dependency" in problems
