"""Fuzzing /ambient through the real protocol: every input gets an answer, nothing crashes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generation.presets import PRESETS
from tests.e2e.harness import BackgroundWorld
from tests.standin import InteractionHandle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundWorld]:
    overrides = {"queue": {"max_pending_per_user": 100, "max_queue": 10_000}}
    world = BackgroundWorld(tmp_path_factory.mktemp("fuzz"), overrides)
    try:
        yield world
    finally:
        world.close()


text = st.text(st.characters(codec="utf-8"), max_size=420)
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
options = st.fixed_dictionaries(
    {"prompt": text},
    optional={
        "preset": st.one_of(st.sampled_from(sorted(PRESETS)), st.text(max_size=20)),
        "duration": numbers,
        "seed": st.integers(0, 2**32 - 1),
        "negative": text,
        "guidance": numbers,
        "variations": st.integers(1, 4),
        "raw": st.booleans(),
    },
)


def _first_answer(handle: InteractionHandle) -> bool:
    return bool(handle.followups) or any("content" in e.payload for e in handle.edits)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(chosen=options)
def test_every_ambient_input_is_answered(background: BackgroundWorld, chosen: dict[str, Any]) -> None:
    world = background.world

    async def exchange() -> str:
        handle = await world.standin.invoke_command(
            "ambient", chosen, user=world.alice, guild_id=world.guild.id, channel_id=world.channel_id
        )
        response = await handle.response(timeout=10)
        if response.type == 4:  # refused at once, privately
            assert response.ephemeral
            return response.data["content"]
        assert response.type == 5
        # The first answer after the defer: "Queued…" in the original response (a job, whatever
        # happened to it since), or a private follow-up (a refusal).
        await world.standin.wait_until(lambda: _first_answer(handle), timeout=10)
        queued = [e.payload["content"] for e in handle.edits if "content" in e.payload]
        if queued:
            assert queued[0].startswith("Queued"), queued
            return queued[0]
        note = handle.followups[0]
        assert note["flags"] & 64
        return note["content"]

    answer = background.run(exchange())
    assert answer.strip()
    assert "Something went wrong" not in answer  # no input may reach the unexpected-error path
    assert not world.standin.internal_errors
    assert "Traceback" not in world.bot.log()
