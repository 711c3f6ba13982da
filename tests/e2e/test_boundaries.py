"""Boundaries end to end: what one user can see, send and make the bot do.

/queue stays within a server, user text is shown as typed and within Discord's limits, result
controls act only on their own message's job, only members add to a server's gallery, and no
credential outlives its use or reaches the log.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.library.service import NOT_A_MEMBER
from bot.ui.components import NOT_THIS_RESULT
from tests.e2e.harness import World, running_world
from tests.e2e.helpers import RESULT_TIMEOUT_S, ambient, job_id_of, rerollable
from tests.e2e.screens import answer, make, open_screen, option_values, pick, press
from tests.standin import Guild, InteractionHandle, User

pytestmark = pytest.mark.e2e


@pytest.fixture
async def two_servers(tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, second_guild=True) as world:
        yield world


@pytest.fixture
async def with_dms(tmp_path: Path) -> AsyncIterator[World]:
    """Two servers, and commands synced globally so they work in DMs with the bot too."""
    async with running_world(tmp_path, second_guild=True, global_commands=True) as world:
        yield world


async def command(
    world: World, name: str, user: User, guild: Guild | None, subcommand: str | None = None, **options: Any
) -> InteractionHandle:
    """``/name`` in ``guild``'s #general, or in the user's DM with the bot when ``guild`` is None."""
    channel = world.standin.text_channel(guild.id).id if guild is not None else None
    return await world.standin.invoke_command(
        name,
        options,
        user=user,
        guild_id=guild.id if guild else None,
        channel_id=channel,
        subcommand=subcommand,
    )


async def queue_seen_by(world: World, user: User, guild: Guild | None) -> str:
    response = await (await command(world, "queue", user, guild)).response()
    assert response.ephemeral
    return response.data["embeds"][0]["description"]


def job_count(world: World) -> int:
    return int(world.bot.db_rows("SELECT COUNT(*) AS n FROM jobs")[0]["n"])


async def test_queue_shows_other_servers_and_dms_only_as_counts(with_dms: World) -> None:
    world, other = with_dms, with_dms.other_guild
    assert other is not None
    world.bot.hold("held")
    here = await command(world, "ambient", world.alice, world.guild, prompt="held rain here", duration=2.5)
    await here.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
    waiting = [
        await command(world, "ambient", world.carol, other, prompt="held secret there", duration=2.5),
        await command(world, "ambient", world.carol, None, prompt="held secret dm words", duration=2.5),
        await command(world, "ambient", world.bob, world.guild, prompt="held wind here", duration=2.5),
    ]
    for handle in waiting:
        await handle.wait_original(lambda m: m["content"].startswith("Queued"))

    # Bob in the first server: its jobs in full, the other server's and Carol's DM only counted.
    bobs = await queue_seen_by(world, world.bob, world.guild)
    lines = bobs.splitlines()
    assert lines[0].startswith("▶️ **held rain here** — alice, running for")
    assert re.match(r"`\s*\d\.` \*\*held wind here\*\* — bob, waiting", lines[1]), lines
    assert lines[2:] == ["…and 2 from other servers"]
    assert "secret" not in bobs and "carol" not in bobs

    # Carol in her DM: her own jobs wherever she made them; nobody else's words.
    carols = await queue_seen_by(world, world.carol, None)
    assert "held secret there" in carols and "held secret dm words" in carols
    assert "held rain here" not in carols and "held wind here" not in carols
    assert carols.splitlines()[-1] == "…and 2 from other servers"

    # Alice in the second server: its job and her own in full; Bob's and Carol's DM counted.
    alices = await queue_seen_by(world, world.alice, other)
    assert "held rain here" in alices and "held secret there" in alices
    assert "held wind here" not in alices and "dm words" not in alices

    world.bot.release()
    for handle in (here, *waiting):
        await handle.followup(timeout=RESULT_TIMEOUT_S)


def shown_plainly(text: str, *, mention_id: int) -> None:
    """No link, masked link, mention, heading or code block made from what the user typed."""
    assert "://" not in text, text
    assert "@everyone" not in text, text
    assert f"<@{mention_id}>" not in text, text
    assert "```" not in text, text
    assert not re.search(r"(?<!\\)\]\(", text), text
    assert not re.search(r"(?m)^#", text), text


def message_texts(message: dict[str, Any]) -> list[str]:
    texts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        texts += [embed.get("title", ""), embed.get("description", "")]
        texts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return texts


async def test_user_text_is_shown_as_typed_and_whole_scenes_are_checked_at_once(world: World) -> None:
    bob, carol = world.bob, world.carol
    tricky = f"# [Claim Nitro](https://evil.example/gift) ```rain``` @everyone <@{carol.id}> __storm__"
    world.bot.hold("Claim Nitro")
    handle = await ambient(world, world.alice, prompt=tricky, duration=2.5)
    await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
    shown_plainly(await queue_seen_by(world, bob, world.guild), mention_id=carol.id)
    world.bot.release()
    result = await rerollable(world, await handle.followup(timeout=RESULT_TIMEOUT_S))
    for text in message_texts(result):
        shown_plainly(text, mention_id=carol.id)
    assert result["embeds"][0]["title"].startswith("\\# \\[Claim Nitro\\](https:\u200b//evil.example/gift)")

    # The gallery's Play post, and the history page, show it the same way.
    await world.standin.add_reaction(bob, world.channel_id, int(result["id"]), "⭐")
    page = await open_screen(world, "gallery", "browse", bob)
    card = await pick(world, page, option_values(page)[0], bob)
    played = await press(world, card, f"ambientgen:gal:play:{option_values(page)[0]}", bob)
    await played.response()
    post = await played.wait_original(lambda m: bool(m.get("attachments")), timeout=30)
    for text in [*message_texts(page), *message_texts(card), *message_texts(post)]:
        shown_plainly(text, mention_id=carol.id)
    for text in message_texts(await open_screen(world, "history", "list", world.alice)):
        shown_plainly(text, mention_id=carol.id)

    # Four layers, each within the prompt limit, but 330 characters in all: refused at once.
    before = job_count(world)
    scene = " + ".join(f"layer {n} " + "x" * 70 for n in range(4))
    refused = await ambient(world, world.alice, prompt=scene)
    response = await refused.response()
    assert response.type == 4 and response.ephemeral
    assert "the limit is 300 for the whole scene" in response.data["content"]
    assert job_count(world) == before


async def test_result_controls_act_only_on_their_own_message(two_servers: World) -> None:
    world, other = two_servers, two_servers.other_guild
    assert other is not None
    plain = await make(world, world.alice, "quiet harbour")
    scene_handle = await ambient(world, world.alice, prompt="rain:0.8 + crickets:0.4", duration=2.5)
    scene = await rerollable(world, await scene_handle.followup(timeout=RESULT_TIMEOUT_S))
    elsewhere = await make(world, world.alice, "city street", guild=other)
    await rerollable(world, plain)
    await rerollable(world, elsewhere)
    scene_job, other_job = job_id_of(scene), job_id_of(elsewhere)
    before = job_count(world)
    on_plain = int(plain["id"])

    # Clicks on one result naming another result's job, or a job of another server.
    forged = [
        await world.standin.forge_component(on_plain, f"ambientgen:reroll:{scene_job}", user=world.bob),
        await world.standin.forge_component(on_plain, f"ambientgen:reroll:{other_job}", user=world.bob),
        await world.standin.forge_component(on_plain, f"ambientgen:levels:{scene_job}", user=world.bob),
        await world.standin.forge_component(on_plain, f"ambientgen:gal:add:{other_job}", user=world.bob),
        # Play in voice naming a result of another message or server (the clicker is not even in voice:
        # the message is checked first).
        await world.standin.forge_component(
            on_plain, f"ambientgen:voice:play:job:{scene_job}", user=world.bob
        ),
        await world.standin.forge_component(
            on_plain, f"ambientgen:voice:play:job:{other_job}", user=world.bob
        ),
        await world.standin.forge_component(
            on_plain, f"ambientgen:layer:{scene_job}", user=world.bob, values=["0"]
        ),
        # A levels form that was never opened on that scene, from this server and from the other.
        await world.standin.forge_modal_submit(
            f"ambientgen:levels:{scene_job}",
            {"gain0": "0", "gain1": "2"},
            user=world.bob,
            message_id=on_plain,
        ),
        await world.standin.forge_modal_submit(
            f"ambientgen:levels:{scene_job}",
            {"gain0": "0", "gain1": "2"},
            user=world.bob,
            message_id=int(elsewhere["id"]),
        ),
    ]
    for handle in forged:
        assert (await answer(handle))["content"] == NOT_THIS_RESULT
    # A tweak form naming someone else's soundscape.
    alices = world.bot.db_rows("SELECT id FROM generations WHERE user_id = ?", (world.alice.id,))[0]["id"]
    tweak = await world.standin.forge_modal_submit(
        f"ambientgen:hist:tweaked:{alices}",
        {"prompt": "stolen", "duration": "3", "guidance": "3", "seed": ""},
        user=world.bob,
        guild_id=world.guild.id,
        channel_id=world.channel_id,
    )
    assert "isn't in your history" in (await answer(tweak))["content"]

    assert job_count(world) == before
    assert world.bot.db_rows("SELECT * FROM gallery_entries") == []
    # The real controls still work on their own message.
    own = await world.standin.click_button(int(scene["id"]), f"ambientgen:levels:{scene_job}", user=world.bob)
    assert (await own.response()).type == 9


async def test_adding_to_a_gallery_needs_membership_of_its_server(with_dms: World) -> None:
    world, other = with_dms, with_dms.other_guild
    assert other is not None
    await make(world, world.alice, "harbour bells", guild=other)
    (row,) = world.bot.db_rows("SELECT id FROM generations")
    share = f"ambientgen:hist:share:{row['id']}"
    world.standin.remove_member(other.id, world.alice)

    async def share_from(guild: Guild | None) -> str:
        page = await answer(await command(world, "history", world.alice, guild, subcommand="list"))
        card = await pick(world, page, row["id"], world.alice)
        return (await answer(await press(world, card, share, world.alice)))["content"]

    assert await share_from(None) == NOT_A_MEMBER  # from a DM
    assert await share_from(world.guild) == NOT_A_MEMBER  # from another server
    assert world.bot.db_rows("SELECT * FROM gallery_entries") == []

    world.standin.add_member(other.id, world.alice)
    assert (await share_from(None)).startswith("⭐ Added to the server's gallery as #")
    (entry,) = world.bot.db_rows("SELECT guild_id FROM gallery_entries")
    assert entry["guild_id"] == other.id


async def test_tokens_leave_the_database_and_never_reach_the_debug_log(tmp_path: Path) -> None:
    async with running_world(tmp_path, verbose=True) as world:
        handle = await ambient(world, world.alice, prompt="soft rain on leaves", duration=2.5)
        await rerollable(world, await handle.followup(timeout=RESULT_TIMEOUT_S))
        await handle.wait_original(lambda m: m["content"].startswith("✅ Done"), timeout=30)
        assert await world.bot.stop() == 0  # the answer given, the token is no longer needed
        log = world.bot.log()
        assert "level=DEBUG" in log and "/interactions/" in log  # discord.py's debug log is on
        assert handle.token not in log
        assert world.standin.token not in log
        assert "<redacted>" in log
        rows = world.bot.db_rows("SELECT interaction_token FROM jobs")
        assert [row["interaction_token"] for row in rows] == [None]


async def test_history_and_gallery_screens_edit_their_deferred_answer(world: World) -> None:
    # Discord deprecates the follow-up that replaces a deferred "thinking…": edit it instead.
    for name, sub in (("history", "list"), ("gallery", "browse"), ("gallery", "top")):
        screen = await command(world, name, world.alice, world.guild, subcommand=sub)
        assert (await answer(screen))["embeds"]
        calls = [(r.method, r.path) for r in world.standin.requests if screen.token in r.path]
        assert any(m == "PATCH" and p.endswith(f"{screen.token}/messages/@original") for m, p in calls), calls
        followups = [p for m, p in calls if m == "POST" and p.endswith(f"/{screen.token}")]
        assert followups == [], calls
