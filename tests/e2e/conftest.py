"""End-to-end fixtures: a fresh stand-in and a fresh bot process per test (isolated, free ports)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from tests.e2e.harness import World, running_world


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    report = yield
    item.stash.setdefault(_FAILED, False)
    if getattr(report, "failed", False):
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
async def world(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    marker = request.node.get_closest_marker("bot_config")
    overrides = marker.args[0] if marker else None
    async with running_world(tmp_path, overrides) as world:
        yield world
        if request.node.stash.get(_FAILED, False):
            # The bot's own log is the first thing to read when an end-to-end test fails.
            print(f"----- bot log -----\n{world.bot.log()}")
