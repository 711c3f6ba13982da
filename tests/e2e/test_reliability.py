"""Never lose a job: restarts, token expiry, fairness, limits and faults, end to end."""

from __future__ import annotations

import json
import signal
from collections import Counter

import pytest

from tests.e2e.harness import World
from tests.e2e.helpers import (
    RESULT_TIMEOUT_S,
    ambient,
    details,
    field,
    is_result,
    job_id_of,
    rerollable,
    result_of,
    results,
    status_gone,
)
from tests.standin import InteractionHandle, Perm

pytestmark = pytest.mark.e2e


async def _running(handle: InteractionHandle) -> None:
    """Wait until the (held) job shows its progress."""
    await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)


async def _queued(handle: InteractionHandle) -> None:
    await handle.wait_original(lambda m: m["content"].startswith("Queued"), timeout=30)


async def test_sigkill_with_six_jobs_then_restart_delivers_each_exactly_once(world: World) -> None:
    world.bot.hold("thunderstorm at night")
    running = await ambient(world, world.alice, prompt="thunderstorm at night", duration=5.0)
    await _running(running)
    queued = [
        await ambient(world, user, prompt=f"gentle wind {i}", duration=2.5)
        for i, user in enumerate((world.alice, world.alice, world.bob, world.bob, world.carol))
    ]
    for handle in queued:
        await _queued(handle)
    assert await world.bot.stop(signal.SIGKILL) == -signal.SIGKILL
    states = Counter(r["status"] for r in world.bot.db_rows("SELECT status FROM jobs"))
    assert states == {"running": 1, "queued": 5}

    world.bot.release()
    await world.bot.start()
    for handle in [running, *queued]:
        await result_of(world, handle)
    # Every job's status message was brought up to date by the restarted bot.
    for handle in [running, *queued]:
        await status_gone(world, handle)
    posted = Counter(job_id_of(m) for m in results(world))
    assert posted == dict.fromkeys(range(1, 7), 1)
    # A result is shown (its status message edited into it) a moment before its row says "done".
    await world.standin.wait_until(
        lambda: {r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")} == {"done"}, timeout=30
    )
    attempts = {r["id"]: r["attempts"] for r in world.bot.db_rows("SELECT id, attempts FROM jobs")}
    assert attempts[1] == 2  # the interrupted job ran again after the restart


async def test_sigterm_finishes_the_running_job_and_keeps_the_queue(world: World) -> None:
    world.bot.hold("river stream")
    running = await ambient(world, world.alice, prompt="river stream", duration=5.0)
    await _running(running)
    waiting = await ambient(world, world.bob, prompt="city street", duration=2.5)
    await _queued(waiting)
    world.bot.send_signal(signal.SIGTERM)
    await world.bot.wait_for_log(r"received SIGTERM: shutting down gracefully")
    world.bot.release()  # the running job finishes within the grace period; the queued one waits
    assert await world.bot.wait_exit() == 0
    assert "kept for the next start" in world.bot.log()
    states = {r["id"]: r["status"] for r in world.bot.db_rows("SELECT id, status FROM jobs")}
    assert states == {1: "done", 2: "queued"}
    await result_of(world, running, timeout=5)  # delivered before the bot exited
    await world.bot.start()
    await result_of(world, waiting)


async def test_result_after_the_interaction_token_expired_arrives_in_the_channel(world: World) -> None:
    world.bot.hold("deep space drone")
    handle = await ambient(world, world.alice, prompt="deep space drone", duration=5.0)
    await _running(handle)
    world.standin.advance_clock(16 * 60)  # Discord's interaction tokens last 15 minutes
    world.bot.release()
    message = await world.standin.wait_for_message(world.channel_id, is_result, timeout=RESULT_TIMEOUT_S)
    assert message.get("webhook_id") is None  # a plain channel message, not an interaction follow-up
    assert message["content"].startswith(f"<@{world.alice.id}>")
    assert [u["id"] for u in message["mentions"]] == [str(world.alice.id)]
    await rerollable(world, message)
    # Not a reply to its status message: that is deleted once the result is recorded (by the
    # bot's own channel delete, the token being gone).
    assert message.get("message_reference") is None
    await status_gone(world, handle)
    assert world.bot.db_rows("SELECT status FROM jobs")[0]["status"] == "done"


async def test_round_robin_and_the_per_user_limit(world: World) -> None:
    world.bot.hold("ocean waves")  # the first job runs until everyone has queued
    first = await ambient(world, world.alice, prompt="ocean waves", duration=5.0)
    await _running(first)
    alice_more = [await ambient(world, world.alice, prompt=f"ocean waves {i}", duration=2.5) for i in (2, 3)]
    for handle in alice_more:
        await _queued(handle)
    # A fourth pending job of one user is refused, privately, and nothing is queued.
    await ambient(world, world.alice, prompt="one too many", duration=2.5)
    refusal = await world.standin.wait_for_message(
        world.channel_id, lambda m: "You already have 3 soundscapes in the queue" in m.get("content", "")
    )
    assert refusal["flags"] & 64  # ephemeral
    bob = await ambient(world, world.bob, prompt="birdsong at dawn", duration=2.5)
    await _queued(bob)
    world.bot.release()
    for handle in (first, *alice_more, bob):
        await rerollable(world, await result_of(world, handle))  # recorded as done

    rows = world.bot.db_rows(
        "SELECT request_json, status FROM jobs WHERE status = 'done' ORDER BY started_at"
    )
    order = [json.loads(r["request_json"])["user_text"] for r in rows]
    # Bob queued after Alice's three, yet his job runs second.
    assert order == ["ocean waves", "birdsong at dawn", "ocean waves 2", "ocean waves 3"]
    texts = [
        json.loads(r["request_json"])["user_text"] for r in world.bot.db_rows("SELECT request_json FROM jobs")
    ]
    assert "one too many" not in texts


async def test_discord_faults_end_with_every_job_delivered_or_reported(world: World) -> None:
    standin = world.standin
    app = standin.application_id
    # 5xx on the result upload and a dropped connection on a status edit: retried, delivered.
    standin.inject_fault("POST", rf"/webhooks/{app}/[^/]+$", status=502, times=2)
    standin.inject_disconnect("PATCH", rf"/webhooks/{app}/[^/]+/messages/\d+$", times=1)
    ok = await ambient(world, world.alice, prompt="crackling fireplace", duration=2.5)
    delivered = await rerollable(world, await result_of(world, ok))

    # An upload over the server's limit is re-encoded at a lower bitrate and delivered.
    standin.set_upload_limit(world.guild.id, 120_000)
    big = await ambient(world, world.bob, prompt="heavy rain on a tent", duration=10.0)
    shrunk = await result_of(world, big)
    (attachment,) = shrunk["attachments"]
    assert attachment["size"] <= 120_000
    assert "image" not in shrunk["embeds"][0]  # the picture was dropped to make room for the sound

    # No Attach Files permission: the reroll's channel post is refused; the job fails and says why.
    standin.deny_bot_permissions(world.channel_id, Perm.ATTACH_FILES)
    await standin.add_reaction(world.carol, world.channel_id, int(delivered["id"]), "🔁")
    failure = await standin.wait_for_message(
        world.channel_id, lambda m: "missing a permission" in m.get("content", ""), timeout=RESULT_TIMEOUT_S
    )
    assert "Attach Files" in failure["content"]

    jobs = world.bot.db_rows("SELECT status, error FROM jobs ORDER BY id")
    assert [j["status"] for j in jobs] == ["done", "done", "failed"]
    assert "missing a permission" in jobs[2]["error"]
    assert field(await details(world, delivered), "Model") == "tiny"

    # /status counts them, privately.
    status = await standin.invoke_command(
        "status", user=world.alice, guild_id=world.guild.id, channel_id=world.channel_id
    )
    assert (await status.response()).ephemeral
    card = await status.wait_original(lambda m: bool(m.get("embeds")), timeout=10)
    (users,) = card["embeds"]  # alice has no Manage Server: health and counts only
    assert users["footer"]["text"].startswith("2 done · 1 failed · up for")
    assert "tiny (default)" in field(card, "Models") and "cpu" not in json.dumps(users)
