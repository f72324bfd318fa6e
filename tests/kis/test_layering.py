"""kis/ talks to alerts (for its alerts) and to domain, never to the bot's WeCom side."""

from __future__ import annotations

import ast
from pathlib import Path

import kis


def test_no_module_of_kis_imports_the_bot():
    offenders = []
    for path in sorted(Path(kis.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n == "bot" or n.startswith("bot.")]
    assert offenders == []
