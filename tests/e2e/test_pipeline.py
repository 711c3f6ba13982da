"""The job pipeline under faults, end to end: every job answered exactly once, whatever Discord,
the disk or the process does. Real bot process, the stand-in, the tiny model."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.harness import World
from tests.e2e.helpers import (
    RESULT_TIMEOUT_S,
    ambient,
    details,
    field,
    is_result,
    is_result_post,
    job_id_of,
    rerollable,
    result_of,
    results,
    status_gone,
)
from tests.standin import InteractionHandle

pytestmark = pytest.mark.e2e

#: An edit of an interaction's message: how a slash job's status message becomes its result.
WEBHOOK_EDIT = r"/webhooks/{app}/[^/]+/messages/\d+$"
CHANNEL_POST = r"/channels/\d+/messages$"


def results_per_job(world: World) -> Counter[int]:
    return Counter(job_id_of(m) for m in results(world))


async def generating(handle: InteractionHandle) -> None:
    await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)


async def queued(handle: InteractionHandle) -> None:
    await handle.wait_original(lambda m: m["content"].startswith("Queued"), timeout=30)


def job_rows(world: World) -> dict[int, Any]:
    return {row["id"]: row for row in world.bot.db_rows("SELECT * FROM jobs ORDER BY id")}


@pytest.mark.bot_config({"discord": {"post_timeout_s": 2.0}})
async def test_faults_after_discord_stored_the_result_never_post_it_twice(world: World) -> None:
    standin = world.standin
    webhook = WEBHOOK_EDIT.format(app=standin.application_id)
    faults = [
        {"status": 500},  # created, then "500 Internal Server Error"
        {"disconnect": True},  # created, then the connection drops
        {"status": None, "hang_s": 6.0},  # created, then no answer within the bot's 2 s
    ]
    handles = []
    for number, fault in enumerate(faults, start=1):
        standin.inject_fault_after("PATCH", webhook, when=is_result_post, **fault)
        handle = await ambient(world, world.alice, prompt=f"gentle rain {number}", duration=2.5)
        await rerollable(world, await result_of(world, handle))
        await status_gone(world, handle)
        handles.append(handle)
    # A reroll posts in the channel: the same there.
    first = (await result_of(world, handles[0]))["id"]
    standin.inject_fault_after("POST", CHANNEL_POST, status=502, when=is_result_post)
    await standin.add_reaction(world.bob, world.channel_id, int(first), "🔁")
    await world.standin.wait_until(lambda: len(results(world)) == 4 or None, timeout=RESULT_TIMEOUT_S)
    await rerollable(world, results(world)[-1])

    assert results_per_job(world) == {1: 1, 2: 1, 3: 1, 4: 1}
    assert await world.bot.stop() == 0  # what is in flight settles before the bot exits
    rows = job_rows(world)
    assert {row["status"] for row in rows.values()} == {"done"}
    assert all(row["post_attempts"] == 1 for row in rows.values())  # found by its marker, not re-sent
    assert all(row["answered_at"] is not None and row["interaction_token"] is None for row in rows.values())
    log = world.bot.log()
    assert log.count("result post outcome unknown") == 4 and log.count("is in the channel after all") == 4


@pytest.mark.parametrize("busy_channel", [False, True], ids=["quiet", "300 messages meanwhile"])
async def test_killed_between_the_post_and_done_the_restart_closes_the_job(
    world: World, busy_channel: bool
) -> None:
    standin = world.standin
    killed: list[float] = []

    def kill(_request: object) -> None:
        world.bot.kill()  # SIGKILL the moment Discord has stored the result
        killed.append(time.monotonic())

    world.bot.hold("crackling fire")
    handle = await ambient(world, world.alice, prompt="crackling fire", duration=2.5)
    await generating(handle)
    if busy_channel:  # people talk while it generates: the result lands after 300 other messages
        for i in range(300):
            await standin.send_user_message(world.carol, world.channel_id, f"chatter {i}")
    # Its status message becomes the result: SIGKILL once that edit is stored, before the record.
    standin.inject_fault_after(
        "PATCH", WEBHOOK_EDIT.format(app=standin.application_id), status=500, on_hit=kill, when=is_result_post
    )
    world.bot.release()
    await world.bot.wait_exit(timeout=RESULT_TIMEOUT_S)
    assert killed and job_rows(world)[1]["status"] == "posting"

    await world.bot.start()
    await status_gone(world, handle, timeout=RESULT_TIMEOUT_S)
    (result,) = [m for m in standin.messages_in(world.channel_id) if is_result(m)]
    assert handle.original is not None and result["id"] == handle.original["id"]  # found, not re-sent
    await rerollable(world, result)  # the 🔁 was added by the restarted bot
    assert await world.bot.stop() == 0
    row = job_rows(world)[1]
    assert (row["status"], row["result_message_id"]) == ("done", int(result["id"]))
    assert row["answered_at"] is not None


async def test_killed_between_the_result_and_removing_its_status_the_restart_removes_it(
    world: World,
) -> None:
    """One message per job across a crash: SIGKILL after the result is recorded, before the job
    is settled (a slash job, whose status message became the result; then a reroll, whose status
    is a channel message of its own, still to delete); each restart ends with one result per job
    and no status left behind."""
    standin, bot = world.standin, world.bot
    killed: list[str] = []

    def kill(request: object) -> None:
        assert bot.process is not None
        bot.process.kill()  # the 🔁 is on: the job is recorded done, its status not yet deleted
        killed.append(str(request))

    reaction = r"/channels/\d+/messages/\d+/reactions/.+/@me$"
    standin.inject_fault_after("PUT", reaction, status=None, on_hit=kill)
    handle = await ambient(world, world.alice, prompt="crackling fire", duration=2.5)
    await bot.wait_exit(timeout=RESULT_TIMEOUT_S)
    assert killed and job_rows(world)[1]["status"] == "done" and handle.original is not None
    since = len(standin.events)
    await bot.start()

    def settling(event: object) -> bool:  # the restarted bot puts its 🔁 on again (idempotent)
        return getattr(event, "method", None) == "PUT" and "/reactions/" in getattr(event, "path", "")

    await standin.wait_for(settling, since=since, timeout=RESULT_TIMEOUT_S)
    await status_gone(world, handle, timeout=RESULT_TIMEOUT_S)
    (first,) = results(world)
    assert first["id"] == handle.original["id"]  # its status message became the result
    await rerollable(world, first)
    # Its Details button, posted by the killed bot, answers the restarted one (privately).
    assert field(await details(world, first, world.bob), "Asked by") == f"<@{world.alice.id}>"

    standin.inject_fault_after("PUT", reaction, status=None, on_hit=kill)
    await standin.add_reaction(world.bob, world.channel_id, int(first["id"]), "🔁")
    await bot.wait_exit(timeout=RESULT_TIMEOUT_S)
    assert len(killed) == 2 and job_rows(world)[2]["status"] == "done"
    status_id = job_rows(world)[2]["status_message_id"]
    assert standin.message(status_id) is not None  # the reroll's status, still there
    await bot.start()
    await standin.wait_until(lambda: _deleted(world, status_id), timeout=RESULT_TIMEOUT_S)
    assert results_per_job(world) == {1: 1, 2: 1}
    # The channel holds the two results and the reaction, nothing else from the bot.
    public = standin.messages_in(world.channel_id, include_ephemeral=False)  # not Details' answer
    mine = [m for m in public if m["author"]["id"] == str(standin.bot.id)]
    assert [job_id_of(m) for m in mine] == [1, 2]
    assert await bot.stop() == 0
    assert all(row["answered_at"] is not None for row in job_rows(world).values())


def _deleted(world: World, message_id: int) -> bool:
    try:
        return world.standin.message(message_id) is None
    except KeyError:
        return True


async def test_discord_unreachable_while_a_batch_of_two_fails(world: World) -> None:
    """Every request fails while a batch of two fails: both end failed and are told so once
    Discord is back, the next job is delivered, and SIGTERM still stops the bot in time."""
    standin, bot = world.standin, world.bot
    bot.expect_error(r"job [23]: generation failed")
    bot.hold("blocker")
    blocker = await ambient(world, world.alice, prompt="blocker", duration=2.5)
    await generating(blocker)
    doomed = [
        await ambient(world, user, prompt=f"doomed {i}", duration=2.5)
        for i, user in enumerate((world.bob, world.carol))
    ]
    for handle in doomed:
        await queued(handle)
    bot.fail_on("doomed")
    standin.inject_disconnect("*", r".*", times=1_000_000)  # Discord is unreachable
    bot.release()
    await bot.wait_for_log(r"job 2: failed: The model failed", timeout=60)
    await bot.wait_for_log(r"job 3: failed: The model failed", timeout=60)
    assert {row["status"] for row in job_rows(world).values() if row["id"] > 1} == {"failed"}
    bot.fail_on()
    standin.clear_faults()  # Discord is back

    for handle in doomed:
        await handle.wait_original(
            lambda m: m["content"].startswith("⚠️ The model failed"), timeout=RESULT_TIMEOUT_S
        )
    await rerollable(world, await result_of(world, blocker))
    after = await ambient(world, world.alice, prompt="after the outage", duration=2.5)
    await rerollable(world, await result_of(world, after))
    assert results_per_job(world) == {1: 1, 4: 1}
    started = time.monotonic()
    assert await bot.stop(signal.SIGTERM, timeout=45) == 0
    assert time.monotonic() - started < 40  # the 30 s grace plus a few seconds
    assert all(row["answered_at"] is not None for row in job_rows(world).values())


@pytest.mark.parametrize("fault", ["database", "disk"])
@pytest.mark.bot_config({"queue": {"max_pending_per_user": 1}})
async def test_a_storage_failure_while_delivering_fails_the_job_and_frees_the_slot(
    world: World, fault: str
) -> None:
    bot = world.bot
    bot.expect_error(r"job 1: storing the result failed")
    if fault == "database":
        with sqlite3.connect(bot.data_dir / "ambientgen.sqlite3") as conn:
            conn.execute(
                "CREATE TRIGGER full BEFORE INSERT ON generations "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
    else:
        (bot.data_dir / "mp3").write_text("a file where the MP3 folder should be")
    handle = await ambient(world, world.alice, prompt="ocean waves", duration=2.5)
    failure = await handle.wait_original(lambda m: m["content"].startswith("⚠️"), timeout=RESULT_TIMEOUT_S)
    assert "could not be saved" in failure["content"]
    assert job_rows(world)[1]["status"] == "failed"
    # The user's only slot is free again: a new request is accepted (and held while the store is broken).
    bot.hold("second try")
    again = await ambient(world, world.alice, prompt="second try", duration=2.5)
    await generating(again)
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    if fault == "database":
        with sqlite3.connect(bot.data_dir / "ambientgen.sqlite3") as conn:
            conn.execute("DROP TRIGGER full")
    else:
        (bot.data_dir / "mp3").unlink()
    bot.release()
    await bot.start()
    await rerollable(world, await result_of(world, again))
    rows = job_rows(world)
    assert (rows[1]["status"], rows[1]["attempts"]) == ("failed", 1)  # never generated again
    assert [r["job_id"] for r in bot.db_rows("SELECT job_id FROM generations")] == [2]


async def test_a_job_that_kills_the_bot_twice_fails_on_the_third_start(world: World) -> None:
    bot = world.bot
    bot.hold("poison")
    poison = await ambient(world, world.alice, prompt="poison", duration=2.5)
    await generating(poison)
    other = await ambient(world, world.bob, prompt="birdsong", duration=3.0)
    await queued(other)
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    await bot.start()
    await bot.wait_for_log(r"jobs 1(,\d+)*: generating", timeout=60)  # it runs again, and is held
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    assert job_rows(world)[1]["attempts"] == 2
    bot.release()
    await bot.start()
    await poison.wait_original(lambda m: "stopped the bot 2 times" in m["content"], timeout=RESULT_TIMEOUT_S)
    await rerollable(world, await result_of(world, other))
    rows = job_rows(world)
    assert (rows[1]["status"], rows[1]["attempts"], rows[2]["status"]) == ("failed", 2, "done")
    assert results_per_job(world) == {2: 1}


@pytest.mark.parametrize(
    "accepted",
    [
        pytest.param(3, id="cap of 3", marks=pytest.mark.bot_config({"queue": {"max_pending_per_user": 3}})),
        pytest.param(
            1, id="60 s cooldown",
            marks=pytest.mark.bot_config({"queue": {"max_pending_per_user": 3, "cooldown_s": 60.0}}),
        ),
        pytest.param(
            2, id="cost cap of 5 clips",
            marks=pytest.mark.bot_config(
                {"queue": {"max_pending_per_user": 10, "max_user_cost": 5.0, "max_job_cost": 5.0}}
            ),
        ),
    ],
)  # fmt: skip
async def test_ten_concurrent_commands_from_one_user_respect_the_limits(world: World, accepted: int) -> None:
    world.bot.hold("*")  # nothing finishes, so no slot frees up while the commands arrive
    # Each costs 2 clips (10 s at 50 steps, 2 variations): the cost cap of 5 admits two.
    handles = await asyncio.gather(
        *(ambient(world, world.alice, prompt=f"rain {i}", duration=10.0, variations=2) for i in range(10))
    )
    for handle in handles:
        await handle.response(timeout=30)
        await world.standin.wait_until(lambda h=handle: _answered(h) or None, timeout=30)
    queued_texts = [h for h in handles if any("Queued" in (e.payload.get("content") or "") for e in h.edits)]
    refused = [h for h in handles if h.followups]
    assert (len(queued_texts), len(refused)) == (accepted, 10 - accepted)
    assert world.bot.db_rows("SELECT COUNT(*) AS n FROM jobs")[0]["n"] == accepted
    world.bot.release()


def _answered(handle: InteractionHandle) -> bool:
    return bool(handle.followups) or any("content" in e.payload for e in handle.edits)


async def test_a_row_that_no_longer_decodes_fails_alone_and_cancel_still_works(world: World) -> None:
    bot = world.bot
    bot.expect_error(r"job 1: its stored request can't be read")
    bot.hold("*")
    broken = await ambient(world, world.alice, prompt="soon unreadable", duration=2.5)
    await generating(broken)
    waiting = await ambient(world, world.alice, prompt="waiting", duration=2.5)
    await queued(waiting)
    assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
    with sqlite3.connect(bot.data_dir / "ambientgen.sqlite3") as conn:
        conn.execute("UPDATE jobs SET request_json = '{\"from a newer version\": true}' WHERE id = 1")
    await bot.start()
    await broken.wait_original(lambda m: "could not be read back" in m["content"], timeout=RESULT_TIMEOUT_S)
    cancel = await world.standin.invoke_command(
        "cancel", user=world.alice, guild_id=world.guild.id, channel_id=world.channel_id
    )
    answer = await cancel.wait_original(lambda m: bool(m["content"]), timeout=10)
    assert answer["content"].startswith("Stopping job #2")  # it runs (held) after the restart
    await waiting.wait_original(lambda m: m["content"] == "🛑 Cancelled.", timeout=RESULT_TIMEOUT_S)
    assert {r["id"]: r["status"] for r in job_rows(world).values()} == {1: "failed", 2: "cancelled"}
    bot.release()


async def test_a_failed_queued_edit_never_says_nothing_was_queued(world: World) -> None:
    """Finding 9: showing "Queued" failed after the job was queued; the job runs and is posted."""
    standin = world.standin
    original = rf"/webhooks/{standin.application_id}/[^/]+/messages/@original$"
    standin.inject_fault("PATCH", original, status=400, body={"message": "Bad Request", "code": 0})
    handle = await ambient(world, world.alice, prompt="soft rain", duration=2.5)
    await rerollable(world, await result_of(world, handle))
    texts = [m.get("content", "") for m in standin.messages_in(world.channel_id)]
    assert not any("nothing was queued" in text for text in texts)
    assert job_rows(world)[1]["status"] == "done"
