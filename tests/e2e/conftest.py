"""End-to-end fixtures: a fresh stand-in and a fresh bot process per test (isolated, free ports)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import World, running_world


@pytest.fixture
async def world(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    marker = request.node.get_closest_marker("bot_config")
    overrides = marker.args[0] if marker else None
    async with running_world(tmp_path, overrides) as world:
        yield world
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(world.bot.log())
