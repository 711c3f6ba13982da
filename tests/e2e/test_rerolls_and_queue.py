"""Rerolls (🔁 reaction and button), /queue and /cancel, end to end."""

from __future__ import annotations

import pytest

from tests.e2e.harness import World
from tests.e2e.helpers import (
    RESULT_TIMEOUT_S,
    ambient,
    asked_by,
    details,
    field,
    is_result,
    job_id_of,
    rerollable,
    result_for_job,
    result_of,
    results,
)

pytestmark = pytest.mark.e2e


async def _first_result(world: World) -> dict:
    handle = await ambient(world, world.alice, prompt="crackling fireplace", duration=2.5, seed=7)
    return await rerollable(world, await result_of(world, handle))


async def test_reroll_reaction_posts_a_new_take_as_a_reply_once_per_user(world: World) -> None:
    original = await _first_result(world)
    original_id = int(original["id"])

    await world.standin.add_reaction(world.bob, world.channel_id, original_id, "🔁")
    reroll = await world.standin.wait_for_message(
        world.channel_id,
        lambda m: is_result(m) and (m.get("message_reference") or {}).get("message_id") == str(original_id),
        timeout=RESULT_TIMEOUT_S,
    )
    assert reroll["type"] == 19  # a reply
    assert field(await details(world, reroll), "Seed") != field(await details(world, original), "Seed")
    assert asked_by(reroll) == f"<@{world.bob.id}>"  # credited to who reacted
    assert reroll["content"].startswith(f"<@{world.bob.id}>")
    assert [u["id"] for u in reroll["mentions"]] == [str(world.bob.id)]
    assert reroll["embeds"][0]["title"] == original["embeds"][0]["title"]

    # Bob reacts again (remove + add): no second reroll. Carol's reroll after it proves the
    # bot has handled Bob's second reaction by the time we count.
    await world.standin.remove_reaction(world.bob, world.channel_id, original_id, "🔁")
    await world.standin.add_reaction(world.bob, world.channel_id, original_id, "🔁")
    await world.standin.add_reaction(world.carol, world.channel_id, original_id, "🔁")
    carols = await world.standin.wait_until(
        lambda: next((m for m in results(world) if asked_by(m) == f"<@{world.carol.id}>"), None),
        timeout=RESULT_TIMEOUT_S,
    )
    await rerollable(world, carols)  # the bot reacts once the job is recorded as done
    by_user = [asked_by(m) for m in results(world)]
    assert by_user.count(f"<@{world.bob.id}>") == 1
    jobs = world.bot.db_rows("SELECT kind, user_id, status FROM jobs ORDER BY id")
    assert [(j["kind"], j["user_id"]) for j in jobs] == [
        ("ambient", world.alice.id),
        ("reroll", world.bob.id),
        ("reroll", world.carol.id),
    ]
    assert {j["status"] for j in jobs} == {"done"}
    # The reroll's status message was cleaned up: only results and no leftover "Queued" notes.
    await world.standin.wait_until(
        lambda: (
            not [
                m for m in world.standin.messages_in(world.channel_id) if "Reroll for" in m.get("content", "")
            ]
        )
    )


async def test_reroll_reaction_on_other_messages_does_nothing(world: World) -> None:
    original = await _first_result(world)
    chat = await world.standin.send_user_message(world.bob, world.channel_id, "nice one")
    await world.standin.add_reaction(world.bob, world.channel_id, int(chat["id"]), "🔁")
    await world.standin.add_reaction(world.bob, world.channel_id, int(original["id"]), "👍")
    # A real reroll afterwards: once it is done, the ignored events were certainly handled.
    await world.standin.add_reaction(world.carol, world.channel_id, int(original["id"]), "🔁")
    second = await world.standin.wait_until(lambda: results(world)[1:] or None, timeout=RESULT_TIMEOUT_S)
    await rerollable(world, second[0])
    assert len(world.bot.db_rows("SELECT * FROM jobs")) == 2


async def test_reroll_button(world: World) -> None:
    original = await _first_result(world)
    job_id = job_id_of(original)
    click = await world.standin.click_button(
        int(original["id"]), f"ambientgen:reroll:{job_id}", user=world.carol
    )
    response = await click.response()
    assert response.ephemeral
    # After a defer, the first follow-up replaces the "thinking…" placeholder (as on Discord).
    note = await click.wait_original(lambda m: bool(m["content"]), timeout=10)
    assert note["content"].startswith("🔁 Queued your reroll (job #")
    new_job = int(note["content"].split("#")[1].split(")")[0])
    reroll = await result_for_job(world, new_job)
    assert (reroll.get("message_reference") or {}).get("message_id") == original["id"]
    assert asked_by(reroll) == f"<@{world.carol.id}>"


async def test_queue_shows_positions_and_cancel_removes_a_queued_job(world: World) -> None:
    # A held job keeps the executor busy while three short ones wait behind it.
    world.bot.hold("deep space drone")
    busy = await ambient(world, world.alice, prompt="deep space drone", duration=5.0)
    await busy.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
    waiting = [
        await ambient(world, user, prompt=text, duration=2.5)
        for user, text in (
            (world.bob, "wind in pines"),
            (world.carol, "city street"),
            (world.bob, "river stream"),
        )
    ]
    for handle in waiting:
        await handle.wait_original(lambda m: m["content"].startswith("Queued"))

    queue = await world.standin.invoke_command(
        "queue", user=world.carol, guild_id=world.guild.id, channel_id=world.channel_id
    )
    response = await queue.response()
    assert response.ephemeral
    text = response.data["embeds"][0]["description"]
    lines = text.splitlines()
    assert lines[0].startswith("▶️ **deep space drone** — alice, running for")
    # Fair order: bob's second job waits behind carol's first.
    assert lines[1].startswith("` 1.` **wind in pines** — bob")
    assert lines[2].startswith("` 2.` **city street** — carol")
    assert lines[3].startswith("` 3.` **river stream** — bob")

    cancel = await world.standin.invoke_command(
        "cancel", user=world.carol, guild_id=world.guild.id, channel_id=world.channel_id
    )
    await cancel.response()
    answer = await cancel.wait_original(lambda m: bool(m["content"]), timeout=10)
    assert answer["content"].startswith("Cancelled job #") and "city street" in answer["content"]
    await waiting[1].wait_original(lambda m: m["content"] == "🛑 Cancelled.")

    # Someone else's job can't be cancelled by naming it.
    bobs_job = world.bot.db_rows("SELECT id FROM jobs WHERE user_id = ? ORDER BY id", (world.bob.id,))[0][
        "id"
    ]
    steal = await world.standin.invoke_command(
        "cancel", {"job": bobs_job}, user=world.carol, guild_id=world.guild.id, channel_id=world.channel_id
    )
    await steal.response()
    refusal = await steal.wait_original(lambda m: bool(m["content"]), timeout=10)
    assert "not one of your active jobs" in refusal["content"]

    world.bot.release()
    for handle in (busy, waiting[0], waiting[2]):
        await rerollable(world, await result_of(world, handle))  # recorded as done
    rows = world.bot.db_rows(
        "SELECT j.id, j.status, COUNT(g.id) AS n FROM jobs j"
        " LEFT JOIN generations g ON g.job_id = j.id GROUP BY j.id ORDER BY j.id"
    )
    assert [(r["status"], r["n"]) for r in rows] == [("done", 1), ("done", 1), ("cancelled", 0), ("done", 1)]
