"""Metrics and health of the real bot, end to end: jobs delivered, failed and cancelled, then a scrape
of ``/metrics`` parsed with prometheus_client's own parser agrees with the database; ``/readyz``
follows the gateway through an outage; the dashboard and the alerts name only scraped metrics."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.harness import World
from tests.e2e.helpers import (
    RESULT_TIMEOUT_S,
    Endpoints,
    ambient,
    free_port,
    is_result_post,
    rerollable,
    result_of,
    value,
)
from tests.metrics_names import exposed_names, unknown_names

pytestmark = pytest.mark.e2e


PORT = free_port()


@pytest.mark.bot_config({"metrics": {"port": PORT}})
async def test_metrics_agree_with_the_database_and_readyz_follows_the_gateway(world: World) -> None:
    bot, standin = world.bot, world.standin
    bot.expect_error(r"job \d+: generation failed")
    # discord.py logs its reconnect attempts at ERROR while the gateway refuses it.
    bot.expect_error(r"Attempting a reconnect")
    async with aiohttp.ClientSession() as session:
        scrape = Endpoints(session, PORT)
        assert await scrape.get("/healthz") == (200, "ok\n")
        # Ready once discord.py has seen every shard's guilds (a moment after the harness's READY).
        assert await scrape.until("/readyz", 200) == "ready\n"

        # Delivered: two jobs; Discord answers the first result (the edit of its status message) 500
        # after storing it (the bot finds it by its marker and posts nothing twice), which counts as
        # a Discord error.
        standin.inject_fault_after(
            "PATCH",
            rf"/webhooks/{standin.application_id}/[^/]+/messages/\d+$",
            status=500,
            when=is_result_post,
        )
        for user, words in ((world.alice, "gentle rain"), (world.bob, "wind in pines")):
            handle = await ambient(world, user, prompt=words, duration=2.5)
            await rerollable(world, await result_of(world, handle))  # recorded as done

        # Failed: the model fails on it.
        bot.fail_on("doomed")
        doomed = await ambient(world, world.carol, prompt="doomed drone", duration=2.5)
        await doomed.wait_original(lambda m: m["content"].startswith("⚠️"), timeout=RESULT_TIMEOUT_S)
        bot.fail_on()

        # Cancelled: queued behind a held job, then taken back; the gauges see both meanwhile.
        bot.hold("blocker")
        blocker = await ambient(world, world.alice, prompt="blocker hum", duration=2.5)
        await blocker.wait_original(lambda m: m["content"].startswith("Generating"), timeout=60)
        waiting = await ambient(world, world.bob, prompt="river stream", duration=2.5)
        await waiting.wait_original(lambda m: m["content"].startswith("Queued"), timeout=30)
        _text, during = await scrape.samples()
        assert value(during, "ambientgen_running_jobs") == 1
        assert value(during, "ambientgen_queue_jobs", model="tiny") == 1
        cancel = await standin.invoke_command(
            "cancel", user=world.bob, guild_id=world.guild.id, channel_id=world.channel_id
        )
        await cancel.wait_original(lambda m: m["content"].startswith("Cancelled job #"), timeout=10)
        bot.release()
        await rerollable(world, await result_of(world, blocker))

        text, values = await scrape.samples()
        rows = bot.db_rows("SELECT status, started_at FROM jobs")
        by_status = {s: sum(1 for r in rows if r["status"] == s) for s in ("done", "failed", "cancelled")}
        assert by_status == {"done": 3, "failed": 1, "cancelled": 1}
        counted = {
            outcome: value(values, "ambientgen_jobs_total", outcome=outcome, model="tiny")
            for outcome in ("accepted", "delivered", "failed", "cancelled", "refused")
        }
        assert counted == {
            "accepted": len(rows),
            "delivered": by_status["done"],
            "failed": by_status["failed"],
            "cancelled": by_status["cancelled"],
            "refused": 0,
        }
        # Every histogram counts every job it is about.
        assert value(values, "ambientgen_job_seconds_count") == by_status["done"]
        assert value(values, "ambientgen_queue_wait_seconds_count") == sum(1 for r in rows if r["started_at"])
        assert value(values, "ambientgen_job_seconds_bucket", le="+Inf") == by_status["done"]
        batches = value(values, "ambientgen_render_seconds_count", model="tiny")
        assert batches >= by_status["done"]  # the failed job's batch may or may not have reported
        assert value(values, "ambientgen_batch_size_count") == batches
        assert value(values, "ambientgen_gpu_busy_seconds_total", model="tiny") > 0
        assert value(values, "ambientgen_running_jobs") == 0
        assert value(values, "ambientgen_queue_jobs", model="tiny") == 0
        assert value(values, "ambientgen_ready") == 1 and value(values, "ambientgen_gateway_connected") == 1
        assert value(values, "ambientgen_discord_errors_total", status="500") == 1
        # Labels are models, outcomes and statuses only: never a user, a server or a prompt.
        assert {k for (_name, labels) in values for k, _ in labels} <= {"model", "outcome", "status", "le"}
        assert "gentle rain" not in text and "alice" not in text and str(world.guild.id) not in text

        # The dashboard's and the alerts' expressions name only metrics this bot exposes.
        assert unknown_names(exposed_names(text)) == {}

        # A gateway outage: not ready (with the reason) until the bot is connected again.
        assert await standin.take_gateway_down() == 1
        reason = await scrape.until("/readyz", 503)
        assert reason == "the Discord gateway is disconnected (shard 0)\n"
        assert await scrape.get("/healthz") == (200, "ok\n")  # the process itself is fine
        _text, down = await scrape.samples()
        assert value(down, "ambientgen_gateway_connected") == 0 and value(down, "ambientgen_ready") == 0
        await standin.wait_until(lambda: standin.refused_gateway_connections >= 1, timeout=30)
        standin.bring_gateway_up()
        assert await scrape.until("/readyz", 200) == "ready\n"
        await standin.wait_for_session()

        # And it serves users again.
        after = await ambient(world, world.carol, prompt="after the outage", duration=2.5)
        await rerollable(world, await result_of(world, after))
        _text, final = await scrape.samples()
        assert value(final, "ambientgen_jobs_total", outcome="delivered", model="tiny") == 4
