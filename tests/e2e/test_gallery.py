"""/gallery end to end: ⭐ adds and votes, top vs newest, play, removal rights, one gallery per server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import World, running_world
from tests.e2e.helpers import job_id_of
from tests.e2e.screens import (
    answer,
    custom_ids,
    delete_as_moderator,
    description_lines,
    make,
    open_screen,
    option_values,
    pick,
    press,
)
from tests.standin import Guild, Perm, User

pytestmark = pytest.mark.e2e

STAR = "⭐"


@pytest.fixture
async def two_servers(tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, second_guild=True) as world:
        yield world


async def browse(world: World, user: User, *, guild: Guild | None = None, **options: Any) -> dict[str, Any]:
    return await open_screen(world, "gallery", "browse", user, guild=guild, **options)


def scores(page: dict[str, Any]) -> list[tuple[int, str]]:
    """(votes, prompt) of each line of a gallery page."""
    found = []
    for line in description_lines(page):
        match = re.match(r"\*\*\d+\.\*\* ⭐ (\d+) · (.+?) — ", line)
        assert match, line
        found.append((int(match[1]), match[2]))
    return found


async def test_star_adds_to_the_gallery_and_counts_each_user_once(world: World) -> None:
    result = await make(world, world.alice, "rain on a tin roof", seed=11)
    result_id = int(result["id"])
    original_bytes = world.standin.attachment_bytes(result["attachments"][0])
    assert (await browse(world, world.carol))["embeds"][0]["description"].startswith("The gallery is empty")

    # Bob's ⭐ adds it (credited to Bob) and counts; re-starring and the author's ⭐ count once each.
    await world.standin.add_reaction(world.bob, world.channel_id, result_id, STAR)
    await world.standin.add_reaction(world.carol, world.channel_id, result_id, STAR)
    await world.standin.remove_reaction(world.bob, world.channel_id, result_id, STAR)
    await world.standin.add_reaction(world.bob, world.channel_id, result_id, STAR)
    await world.standin.add_reaction(world.alice, world.channel_id, result_id, STAR)
    # The bot handles events in order, and the browse reads after them: no waiting needed.
    assert scores(await browse(world, world.carol)) == [(3, "rain on a tin roof")]
    (entry,) = world.bot.db_rows("SELECT id, added_by, author_id, guild_id FROM gallery_entries")
    assert (entry["added_by"], entry["author_id"], entry["guild_id"]) == (
        world.bob.id,
        world.alice.id,
        world.guild.id,
    )

    # Removing a ⭐ withdraws that vote only.
    await world.standin.remove_reaction(world.carol, world.channel_id, result_id, STAR)
    page = await browse(world, world.carol)
    assert scores(page) == [(2, "rain on a tin roof")]
    votes = world.bot.db_rows("SELECT user_id FROM gallery_votes ORDER BY user_id")
    assert {v["user_id"] for v in votes} == {world.alice.id, world.bob.id}

    # Play posts the stored file in the channel, for everyone; a ⭐ there votes for the entry.
    card = await pick(world, page, entry["id"], world.carol)
    assert custom_ids(card) == [
        f"ambientgen:gal:play:{entry['id']}",
        f"ambientgen:gal:reroll:{entry['id']}",
        f"ambientgen:voice:play:gal:{entry['id']}",
    ]
    play = await press(world, card, f"ambientgen:gal:play:{entry['id']}", world.carol)
    response = await play.response()
    assert response.type == 5 and not response.ephemeral
    post = (await play.edit(0, timeout=10)).message
    assert world.standin.attachment_bytes(post["attachments"][0]) == original_bytes
    assert post["content"] == f"▶️ From the gallery, played by <@{world.carol.id}>" and not post["mentions"]
    await world.standin.wait_until(
        lambda: any(r["me"] for r in world.standin.message(int(post["id"])).get("reactions", []))
    )
    await world.standin.add_reaction(world.bob, world.channel_id, int(post["id"]), STAR)  # already voted
    await world.standin.add_reaction(world.carol, world.channel_id, int(post["id"]), STAR)
    assert scores(await browse(world, world.carol)) == [(3, "rain on a tin roof")]

    # The original message is deleted: the gallery and the database do not mind.
    await delete_as_moderator(world, world.channel_id, result_id)
    page = await browse(world, world.bob)
    again = await press(
        world,
        await pick(world, page, entry["id"], world.bob),
        f"ambientgen:gal:play:{entry['id']}",
        world.bob,
    )
    await again.response()
    replayed = (await again.edit(0, timeout=10)).message
    assert world.standin.attachment_bytes(replayed["attachments"][0]) == original_bytes
    assert [r[0] for r in world.bot.db_rows("PRAGMA integrity_check")] == ["ok"]
    assert world.bot.db_rows("PRAGMA foreign_key_check") == []


async def test_top_and_newest_orders_and_the_add_button(world: World) -> None:
    calm = await make(world, world.alice, "calm rain at dawn")
    thunder = await make(world, world.alice, "distant thunder")
    # Carol adds the first through its button (no vote), then two ⭐ make it the top one.
    add = f"ambientgen:gal:add:{job_id_of(calm)}"
    assert add in custom_ids(calm)
    added = await answer(await press(world, calm, add, world.carol))
    assert added["content"].startswith(f"{STAR} Added to this server's gallery (#")
    assert "already" in (await answer(await press(world, calm, add, world.bob)))["content"]
    for user in (world.alice, world.bob):
        await world.standin.add_reaction(user, world.channel_id, int(calm["id"]), STAR)
    await world.standin.add_reaction(world.bob, world.channel_id, int(thunder["id"]), STAR)  # added later

    top = await open_screen(world, "gallery", "top", world.carol, period="week")
    assert scores(top) == [(2, "calm rain at dawn"), (1, "distant thunder")]
    assert top["embeds"][0]["title"] == f"{STAR} Ambient Test Server gallery — top this week"
    newest = await browse(world, world.carol, sort="new")
    assert scores(newest) == [(1, "distant thunder"), (2, "calm rain at dawn")]
    assert scores(await browse(world, world.carol, search="THUNDER")) == [(1, "distant thunder")]
    assert scores(await browse(world, world.carol, preset="rain")) == [(2, "calm rain at dawn")]
    added_by = world.bot.db_rows("SELECT added_by FROM gallery_entries ORDER BY id")
    assert [row["added_by"] for row in added_by] == [world.carol.id, world.bob.id]


async def test_each_server_has_its_own_gallery_and_removal_needs_rights(two_servers: World) -> None:
    world = two_servers
    other = world.other_guild
    assert other is not None
    here = await make(world, world.alice, "forest at night")
    there = await make(world, world.alice, "city street", guild=other)
    await world.standin.add_reaction(world.bob, world.channel_id, int(here["id"]), STAR)
    await world.standin.add_reaction(
        world.carol, world.standin.text_channel(other.id).id, int(there["id"]), STAR
    )

    page_here = await browse(world, world.bob)
    page_there = await browse(world, world.bob, guild=other)
    assert scores(page_here) == [(1, "forest at night")]
    assert scores(page_there) == [(1, "city street")]
    for sort in ("top", "new"):
        assert scores(await browse(world, world.carol, sort=sort)) == [(1, "forest at night")]
    entry_here, entry_there = option_values(page_here)[0], option_values(page_there)[0]
    assert entry_here != entry_there

    # Bob neither made it nor manages messages: no remove button, and a crafted press is refused.
    card = await pick(world, page_here, entry_here, world.bob)
    assert f"ambientgen:gal:remove:{entry_here}" not in custom_ids(card)
    authors_card = await pick(world, await browse(world, world.alice), entry_here, world.alice)
    remove = f"ambientgen:gal:remove:{entry_here}"
    assert remove in custom_ids(authors_card)
    refused = await answer(await press(world, authors_card, remove, world.bob, forged=True))
    assert "Only its author or someone with **Manage Messages**" in refused["content"]

    # A moderator (Manage Messages) may remove it; the author may remove their own elsewhere.
    moderators = world.standin.add_role(world.guild.id, "Moderators", Perm.MANAGE_MESSAGES)
    dave = world.standin.make_user("dave")
    world.standin.add_member(world.guild.id, dave, roles=[moderators])
    mod_card = await pick(world, await browse(world, dave), entry_here, dave)
    removed = await answer(await press(world, mod_card, remove, dave))
    assert removed["content"] == f"🗑️ Removed **forest at night** (#{entry_here}) from the gallery."
    there_card = await pick(world, await browse(world, world.alice, guild=other), entry_there, world.alice)
    removed = await answer(
        await press(world, there_card, f"ambientgen:gal:remove:{entry_there}", world.alice)
    )
    assert removed["content"].startswith("🗑️ Removed **city street**")

    assert world.bot.db_rows("SELECT * FROM gallery_entries") == []
    assert world.bot.db_rows("SELECT * FROM gallery_votes") == []
    # The soundscapes stay in Alice's history, files included.
    for row in world.bot.db_rows("SELECT mp3_path FROM generations"):
        assert (world.bot.data_dir / row["mp3_path"]).is_file()
