"""Maximum-size inputs through every command and screen: Discord never refuses what the bot builds.

A property test against the real bot process and the stand-in, which refuses every message,
embed, component and form beyond Discord's limits (400, code 50035) as Discord does. Each
example types the longest prompt, scene, negative prompt, search and form values the bot
accepts, made of the characters escaping lengthens most, as a user whose name and server's
name are also at their longest and full of markdown, then goes through everything: /ambient,
/queue and its autocomplete, the result's controls, the gallery and history screens, their
cards and actions, the Tweak and Levels forms. A scene longer than the bot accepts must be
refused at once. Nothing may be refused by Discord, fail or go unanswered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generation.request import MAX_NEGATIVE_CHARS, MAX_PROMPT_CHARS, MAX_SCENE_CHARS
from tests.e2e.harness import BackgroundWorld, World
from tests.e2e.helpers import is_result, job_id_of, rerollable, result_for_job, result_of
from tests.e2e.screens import answer, open_screen, option_values, pick, press
from tests.standin import User

pytestmark = pytest.mark.e2e

#: Discord's longest server name and user display name, made of markdown and mentions.
GUILD_NAME = ("*_~`|[a](https://x.y) @everyone <#1> # " * 3)[:100]
DISPLAY_NAME = "**[me](https://x.y)** @here `#`_~|"[:32]
#: What escaping lengthens most (markdown, mentions, links), no spaces (they would collapse),
#: no "+" (a layer separator), no digit, "." or "," (a layer's level could end a layer).
TOKENS = [
    *"*_~|`\\[]()<>#@:/-!&abcxyzé水",
    "🌧",
    "https://",
    "@everyone",
    "@here",
    "<@&>",
    "```",
    "[a](http://b)",
]


def exactly(size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(TOKENS), min_size=size, max_size=size).map(
        lambda parts: "".join(parts)[:size]
    )


def scene_of(layers: list[str]) -> str:
    """Four layers whose whole text is exactly the scene limit.

    Each layer ends in ":", so none ends in "@name" (which names a layer's own model, and a
    name that is not loaded is refused: tests/bot/test_errors.py shows that refusal inert).
    """
    room = MAX_SCENE_CHARS - 3 * len(" + ")
    sizes = [room // 4 + (1 if i < room % 4 else 0) for i in range(4)]
    return " + ".join(layer[: size - 1] + ":" for layer, size in zip(layers, sizes, strict=True))


four = st.lists(exactly(MAX_PROMPT_CHARS - 10), min_size=4, max_size=4)
orders = st.one_of(
    exactly(MAX_PROMPT_CHARS).map(lambda prompt: ("plain", prompt)),
    four.map(lambda layers: ("scene", scene_of(layers))),
    # Each layer within the prompt limit, the whole far beyond it: refused before anything runs.
    four.map(lambda layers: ("scene", " + ".join(layers))),
)


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundWorld]:
    overrides = {"queue": {"max_pending_per_user": 100, "max_queue": 10_000}}
    world = BackgroundWorld(tmp_path_factory.mktemp("limits"), overrides, guild_name=GUILD_NAME)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture(scope="module")
def user(background: BackgroundWorld) -> User:
    async def join() -> User:
        world = background.world
        maxi = world.standin.make_user("maxi", global_name=DISPLAY_NAME)
        world.standin.add_member(world.guild.id, maxi)
        return maxi

    return background.run(join())


def _queued_job(note: dict[str, Any]) -> int:
    match = re.search(r"\(job #(\d+)\)", note["content"])
    assert match, note["content"]
    return int(match[1])


async def exercise(world: World, user: User, kind: str, order: str, negative: str, tweak: str) -> None:
    """Every command and screen with ``order`` (a prompt, or a scene) at its longest."""
    standin, guild, channel, bob = world.standin, world.guild.id, world.channel_id, world.bob
    where = {"guild_id": guild, "channel_id": channel}
    options: dict[str, Any] = {"prompt": order, "duration": 2.5}
    if kind == "plain":
        options["negative"] = negative

    # /ambient, held running while /queue, /cancel's autocomplete and /status show it.
    world.bot.hold("*")
    try:
        handle = await standin.invoke_command("ambient", options, user=user, **where)
        first = await handle.response()
        if first.type == 4:  # refused at once, privately: only a scene beyond the limit may be
            assert first.ephemeral and len(order) > MAX_SCENE_CHARS, first.data
            assert f"the limit is {MAX_SCENE_CHARS} for the whole scene" in first.data["content"]
            return
        await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
        for viewer in (bob, user):
            assert (await (await standin.invoke_command("queue", user=viewer, **where)).response()).type == 4
        typed = await standin.invoke_autocomplete("cancel", {"job": 1}, focused="job", user=user, **where)
        assert (await typed.response()).type == 8
        long_length = await standin.invoke_autocomplete(
            "ambient", {"prompt": "x", "length": order[:100]}, focused="length", user=user, **where
        )
        assert (await long_length.response()).type == 8
        for simple in ("status", "presets"):
            assert (await (await standin.invoke_command(simple, user=user, **where)).response()).type in (
                4,
                5,
            )
    finally:
        world.bot.release()
    result = await rerollable(world, await result_of(world, handle))
    assert is_result(result)
    job, message = job_id_of(result), int(result["id"])
    pending: list[int] = []

    # The result's controls: reroll, add to the gallery, and for a scene its layers and levels.
    pending.append(
        _queued_job(await answer(await standin.click_button(message, f"ambientgen:reroll:{job}", user=bob)))
    )
    added = await answer(await standin.click_button(message, f"ambientgen:gal:add:{job}", user=user))
    assert added["content"].startswith("⭐ Added"), added["content"]
    if kind == "scene":
        layer = await standin.select_menu(message, f"ambientgen:layer:{job}", ["3"], user=user)
        pending.append(_queued_job(await answer(layer)))
        levels = await standin.click_button(message, f"ambientgen:levels:{job}", user=user)
        assert (await levels.response()).type == 9
        gains = {f"gain{index}": "2" for index in range(4)}
        remix = await standin.submit_modal(f"ambientgen:levels:{job}", gains, user=user, interaction=levels)
        pending.append(_queued_job(await answer(remix)))

    # The gallery: browse with the longest search, the card, Play for everyone, a take of one's own.
    search = order[:40]
    await open_screen(world, "gallery", "top", user, period="all")
    page = await open_screen(world, "gallery", "browse", user, search=search)
    entry = option_values(page)[0]
    card = await pick(world, page, entry, user)
    played = await press(world, card, f"ambientgen:gal:play:{entry}", user)
    await played.response()
    await played.wait_original(lambda m: bool(m.get("attachments")), timeout=30)
    pending.append(
        _queued_job(await answer(await press(world, card, f"ambientgen:gal:reroll:{entry}", user)))
    )

    # The history: list, card, replay, the Tweak form (pre-filled, then the longest values), delete.
    history = await open_screen(world, "history", "list", user, search=search)
    generation = option_values(history)[0]
    card = await pick(world, history, generation, user)
    replayed = await answer(await press(world, card, f"ambientgen:hist:replay:{generation}", user))
    assert replayed.get("attachments")
    form = await press(world, card, f"ambientgen:hist:tweak:{generation}", user)
    assert (await form.response()).type == 9
    values = {"prompt": tweak, "duration": "2.5", "guidance": "15", "seed": "4294967295"}
    tweaked = await standin.submit_modal(
        f"ambientgen:hist:tweaked:{generation}", values, user=user, interaction=form
    )
    pending.append(_queued_job(await answer(tweaked)))
    asked = await answer(await press(world, card, f"ambientgen:hist:delete:{generation}", user))
    assert asked["content"].startswith("Delete **")
    exported = await standin.invoke_command("history", {}, subcommand="export", user=user, **where)
    await exported.response()
    assert (await exported.edit(0, timeout=30)).message.get("attachments")

    for queued in pending:
        await result_for_job(world, queued)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(order=orders, negative=exactly(MAX_NEGATIVE_CHARS), tweak=exactly(MAX_PROMPT_CHARS))
# The characters escaping doubles, everywhere, in a prompt and in a scene.
@example(
    order=("plain", "*" * MAX_PROMPT_CHARS), negative="_" * MAX_NEGATIVE_CHARS, tweak="`" * MAX_PROMPT_CHARS
)
@example(order=("scene", scene_of(["<" * 80, "|" * 80, "~" * 80, "[" * 80])), negative="", tweak="#" * 300)
@example(order=("scene", " + ".join(["*" * 290] * 4)), negative="", tweak="")
def test_the_longest_inputs_pass_through_every_screen(
    background: BackgroundWorld, user: User, order: tuple[str, str], negative: str, tweak: str
) -> None:
    world = background.world
    start = len(world.standin.requests)
    kind, text = order
    background.run(exercise(world, user, kind, text, negative, tweak), timeout=600)
    refused = [(r.method, r.path, r.response) for r in world.standin.requests[start:] if r.status == 400]
    assert not refused, refused
    assert not world.standin.internal_errors
    log = world.bot.log()
    assert "Traceback" not in log and "level=ERROR" not in log, log[-3000:]
