"""What the hand-written pages claim about the code still holds: every test they name exists,
and every file path they name is in the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
PATH_REF = re.compile(r"`((?:bot|generation|tests|bench)/[\w/]+\.py)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_docs_name_exists() -> None:
    named = [(page, *ref) for page in PAGES for ref in TEST_REF.findall(page.read_text(encoding="utf-8"))]
    assert len(named) >= 20  # the invariants page names its guards
    missing = [
        f"{page.relative_to(ROOT)}: {file}::{test}"
        for page, file, test in named
        if not (ROOT / file).exists() or test not in _tests_in(ROOT / file)
    ]
    assert missing == []


def test_every_source_file_the_docs_name_exists() -> None:
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in PAGES
        for path in PATH_REF.findall(page.read_text(encoding="utf-8"))
        if "<" not in path and not (ROOT / path).exists()
    ]
    assert missing == []
