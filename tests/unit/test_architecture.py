"""The layers are checked, not only described: pyproject.toml's [tool.importlinter] contracts hold, and no
first-party module is part of an import circle (function-level imports count; `if TYPE_CHECKING:` ones,
which never run, do not).

Each rule is also shown to catch a break: a deliberately bad module in a copy of the code fails it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
FIRST_PARTY: list[str] = CONFIG["root_packages"]


def _lint_imports() -> Path:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert found, "lint-imports is missing: pip install -e '.[dev]' (import-linter)"
    return Path(found)


def _run_contracts(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the tree (it puts the working directory first on the import path)."""
    return subprocess.run([str(_lint_imports()), "--no-cache"], cwd=tree, capture_output=True, text=True,
                          timeout=120)


def _cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def import_cycles(*packages: str) -> list[list[str]]:
    """Import circles among the modules of these packages: grimp reads every import statement, the ones
    inside functions too, and leaves out the ones under `if TYPE_CHECKING:`."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=True, cache_dir=None)
    return _cycles({m: graph.find_modules_directly_imported_by(m) for m in graph.modules})


def test_the_import_contracts_hold() -> None:
    result = _run_contracts(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_first_party_module_is_part_of_an_import_circle() -> None:
    assert import_cycles(*FIRST_PARTY) == []


def test_run_test_checks_the_contracts_after_ruff() -> None:
    script = (ROOT / "run").read_text(encoding="utf-8")
    ruff, lint = script.index('"$VENV/bin/ruff" check .'), script.index('"$VENV/bin/lint-imports"')
    assert ruff < lint < script.index("-m pytest")


@pytest.fixture(scope="module")
def code_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first-party packages and pyproject.toml, copied: a bad module is added to the copy only."""
    tree = tmp_path_factory.mktemp("code")
    shutil.copy(ROOT / "pyproject.toml", tree)
    for package in FIRST_PARTY:
        shutil.copytree(ROOT / package, tree / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "migrations", "sql"))
    return tree


@pytest.mark.parametrize(("module", "source", "contract"), [
    ("domain/services/peek.py", "from forecast import service\n", "domain imports no layer above it"),
    ("domain/web.py", "def app():\n    import flask  # a function-level import counts too\n",
     "domain imports no layer above it"),
    ("kis/peek.py", "from factorybot.cli import main\n", "kis, alerts, reports and forecast import neither"),
    ("alerts/peek.py", "import bot.outbox\n", "kis, alerts, reports and forecast import neither"),
    ("wecom/peek.py", "from domain.models import Person\n", "wecom (the WeCom adapter) imports nothing above it"),
    ("bot/handlers/peek.py", "from sqlalchemy import select\n", "chat handlers call domain services, never SQLAlchemy"),
])
def test_a_module_that_breaks_a_layer_fails_the_contracts(code_copy: Path, module: str, source: str,
                                                          contract: str) -> None:
    bad = code_copy / module
    bad.write_text(source, encoding="utf-8")
    try:
        result = _run_contracts(code_copy)
    finally:
        bad.unlink()
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert len(broken) == 1 and broken[0].startswith(contract), result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout


def test_the_copy_itself_keeps_the_contracts(code_copy: Path) -> None:
    """So the failures above are the bad module's, not the copy's."""
    result = _run_contracts(code_copy)
    assert result.returncode == 0, result.stdout + result.stderr


def _package(root: Path, name: str, modules: Mapping[str, str]) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    for module, source in modules.items():
        (root / name / f"{module}.py").write_text(textwrap.dedent(source))


def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "circle_low", {"store": """
        def load():
            from circle_high.app import settings  # at call time, still a circle
            return settings
    """})
    _package(tmp_path, "circle_high", {"app": "from circle_low.store import load\nsettings = 1\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("circle_low", "circle_high") == [["circle_high.app", "circle_low.store"]]


def test_an_import_for_type_checking_only_makes_no_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "typed_low", {"store": """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from typed_high.app import Settings
    """})
    _package(tmp_path, "typed_high", {"app": "from typed_low import store\nclass Settings: ...\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("typed_low", "typed_high") == []
