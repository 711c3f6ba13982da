"""``generation/`` never imports ``bot/``: the engine stays usable without Discord (the CLI, workers)."""

from __future__ import annotations

import ast
from pathlib import Path

GENERATION = Path(__file__).resolve().parents[2] / "generation"


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_generation_never_imports_bot() -> None:
    files = sorted(GENERATION.rglob("*.py"))
    assert len(files) > 20  # the package is where this test thinks it is
    offenders = {
        str(path.relative_to(GENERATION.parent)): sorted(
            n for n in _imported(ast.parse(path.read_text())) if n == "bot" or n.startswith("bot.")
        )
        for path in files
    }
    assert {path: names for path, names in offenders.items() if names} == {}
