"""Write (or check) the generated documentation pages.

    python -m bot.reference           # rewrite the pages listed in PAGES
    python -m bot.reference --check   # exit 1, naming each stale page, when one differs

``tests/docs/test_references.py`` runs the same comparison, so a command, option, config key or
user-facing text changed without regenerating fails the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from bot.reference import command_reference, config_reference, example_outputs

ROOT = Path(__file__).resolve().parents[2]  # the repository (a developer tool: run from a checkout)

#: Page (relative to the repository) -> how to make it.
PAGES: dict[str, Callable[[], str]] = {
    "docs/using/reference.md": lambda: asyncio.run(command_reference.render()),
    "docs/using/examples.md": example_outputs.render,
    "docs/running/configuration.md": config_reference.render,
}


def stale(root: Path = ROOT) -> list[str]:
    """The generated pages whose committed text differs from a fresh generation."""
    found = []
    for page, make in PAGES.items():
        path = root / page
        if not path.exists() or path.read_text(encoding="utf-8") != make():
            found.append(page)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report pages that differ")
    args = parser.parse_args(argv)
    if args.check:
        pages = stale()
        for page in pages:
            print(f"{page} is stale: run python -m bot.reference", file=sys.stderr)
        return 1 if pages else 0
    for page, make in PAGES.items():
        path = ROOT / page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
        print(f"wrote {page}")
    return 0
