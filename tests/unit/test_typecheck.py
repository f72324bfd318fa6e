"""`./run test` runs mypy with the project's settings: they must really check, not wave errors through."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]


def _check(tmp_path: Path, source: str) -> tuple[str, int]:
    module = tmp_path / "sample.py"
    module.write_text(source, encoding="utf-8")
    out, err, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental",
                                     "--cache-dir", str(tmp_path / "cache"), str(module)])
    return out + err, status


def test_the_project_settings_report_a_wrong_type(tmp_path: Path) -> None:
    out, status = _check(tmp_path, "def f() -> int:\n    return '3'\n")
    assert status == 1 and "Incompatible return value type" in out, out


def test_untyped_functions_are_checked_too(tmp_path: Path) -> None:
    # check_untyped_defs: a body without annotations is not a place where mistakes go unseen.
    out, status = _check(tmp_path, "def f(x):\n    y: int = 'a'\n    return y\n")
    assert status == 1 and "Incompatible types in assignment" in out, out


def test_every_first_party_package_is_checked() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # The packages a plant installs (setuptools' list) are the ones checked.
    packages = {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert set(config["tool"]["mypy"]["files"]) == packages
    assert "mypy" in " ".join(config["project"]["optional-dependencies"]["dev"])
    assert '"$VENV/bin/mypy"' in (ROOT / "run").read_text(encoding="utf-8")
