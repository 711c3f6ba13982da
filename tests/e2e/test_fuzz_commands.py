"""Fuzzing /ambient through the real protocol: every input gets an answer, nothing crashes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generation.presets import PRESETS
from tests.e2e.harness import BackgroundWorld
from tests.e2e.helpers import is_result
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
words = st.sampled_from(["rain", "crickets", "distant thunder", "wind", "ocean waves", "fire"])
#: Layered scenes, well-formed or not: "rain:0.8 + crickets", "+ wind:7", ...
layered = st.lists(
    st.tuples(words, st.one_of(st.none(), st.sampled_from(["0", "0.4", "1", "2", "2.5", "-1", "x"]))),
    min_size=1,
    max_size=6,
).map(lambda parts: " + ".join(w if g is None else f"{w}:{g}" for w, g in parts))
#: Lengths as people type them, valid (up to 10 min) or not.
lengths = st.one_of(
    st.sampled_from(["45s", "1:05", "2m", "10 min", "90", "0", "-3", "11m", "2:75", "abc", ""]),
    st.text(max_size=12),
)
options = st.fixed_dictionaries(
    {"prompt": st.one_of(text, layered)},
    optional={
        "preset": st.one_of(st.sampled_from(sorted(PRESETS)), st.text(max_size=20)),
        "duration": st.one_of(numbers, st.sampled_from([2.5, 4.0, 30.0])),
        "seed": st.integers(0, 2**32 - 1),
        "negative": text,
        "guidance": numbers,
        "variations": st.integers(1, 4),
        "raw": st.booleans(),
        "loop": st.booleans(),
        "length": lengths,
        "candidates": st.integers(1, 4),
        "quality": st.sampled_from(["standard", "fast"]),
    },
)
#: An accepted order is followed to its end: posted, or failed with a message.
ANSWER_TIMEOUT_S = 240.0


def _first_answer(handle: InteractionHandle) -> bool:
    return bool(handle.followups) or any("content" in e.payload for e in handle.edits)


def _ended(handle: InteractionHandle) -> str | None:
    """The result (or failure) of an accepted order, once there."""
    original = handle.original or {}
    if original.get("content", "").startswith("⚠️"):
        return original["content"]
    if is_result(original) or (handle.followups and handle.followups[0].get("attachments")):
        return "posted"  # the status message became the result (or, failing that, a follow-up)
    return None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(chosen=options)
def test_every_ambient_input_is_answered(background: BackgroundWorld, chosen: dict[str, Any]) -> None:
    """Any order — plain, loop, long render, best-of-N, quality, layers — is refused in plain
    words at once, or queued and then posted (or failed with a message): never left hanging."""
    world = background.world

    async def exchange() -> tuple[str, str]:
        handle = await world.standin.invoke_command(
            "ambient", chosen, user=world.alice, guild_id=world.guild.id, channel_id=world.channel_id
        )
        response = await handle.response(timeout=10)
        if response.type == 4:  # refused at once, privately
            assert response.ephemeral
            return "refused at once", response.data["content"]
        assert response.type == 5
        # The first answer after the defer: "Queued…" in the original response (a job, whatever
        # happened to it since), or a private follow-up (a refusal).
        await world.standin.wait_until(lambda: _first_answer(handle), timeout=10)
        queued = [e.payload["content"] for e in handle.edits if "content" in e.payload]
        if not queued:
            note = handle.followups[0]
            assert note["flags"] & 64
            return "refused after the defer", note["content"]
        assert queued[0].startswith("Queued"), queued
        ending = await world.standin.wait_until(lambda: _ended(handle), timeout=ANSWER_TIMEOUT_S)
        assert ending == "posted", ending  # a valid order is delivered, not failed
        return "queued and posted", queued[0]

    outcome, answer = background.run(exchange(), timeout=ANSWER_TIMEOUT_S + 30)
    event(outcome)
    assert answer.strip()
    assert "Something went wrong" not in answer  # no input may reach the unexpected-error path
    assert not world.standin.internal_errors
    assert "Traceback" not in world.bot.log()
    assert not world.bot.unexpected_errors()


#: Orders that pass validation, of every kind, so each is followed all the way to its post.
valid_orders = st.one_of(
    st.fixed_dictionaries(
        {"prompt": words, "duration": st.sampled_from([2.5, 4.0, 8.0])},
        optional={
            "loop": st.booleans(),
            "candidates": st.integers(1, 4),
            "quality": st.sampled_from(["standard", "fast"]),
            "seed": st.integers(0, 2**32 - 1),
        },
    ),
    st.fixed_dictionaries(
        # Long renders up to 2 minutes here: the 10-minute bound and its size are tested in
        # tests/generation/recipes/test_long_render.py, without a bot to wait for.
        {"prompt": words, "length": st.sampled_from(["35s", "1:05", "2m"])},
        optional={"loop": st.booleans(), "quality": st.sampled_from(["standard", "fast"])},
    ),
    st.fixed_dictionaries(
        {"prompt": st.lists(words, min_size=2, max_size=4).map(" + ".join), "duration": st.just(4.0)},
        optional={"loop": st.booleans(), "quality": st.sampled_from(["standard", "fast"])},
    ),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chosen=valid_orders)
def test_valid_orders_of_every_kind_are_posted(background: BackgroundWorld, chosen: dict[str, Any]) -> None:
    world = background.world

    async def exchange() -> str:
        handle = await world.standin.invoke_command(
            "ambient", chosen, user=world.alice, guild_id=world.guild.id, channel_id=world.channel_id
        )
        assert (await handle.response(timeout=10)).type == 5
        ending = await world.standin.wait_until(lambda: _ended(handle), timeout=ANSWER_TIMEOUT_S)
        return ending

    assert background.run(exchange(), timeout=ANSWER_TIMEOUT_S + 30) == "posted"
    event("long render" if "length" in chosen else "layers" if "+" in chosen["prompt"] else "clip")
    assert not world.bot.unexpected_errors()
