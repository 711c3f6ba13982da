"""The bot with GPU workers through a real Redis, on two gateway shards, end to end.

Every test runs a real ``redis-server``, real ``ambientgen worker`` processes (tiny model) and
the real ``ambientgen run`` with ``[executor] kind = "redis"`` against the stand-in.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.jobs.fairness import FairScheduler, Pending
from bot.remote.routes import route_name
from tests.e2e.harness import World
from tests.e2e.helpers import RESULT_TIMEOUT_S, Endpoints, free_port, is_result, job_id_of, rerollable, value
from tests.e2e.remote import hold_everywhere, release_everywhere, remote_world
from tests.e2e.workers import WorkerProcess
from tests.standin import Guild, InteractionHandle, User

pytestmark = pytest.mark.e2e


def channel_of(world: World, guild: Guild) -> int:
    return world.standin.text_channel(guild.id).id


async def ambient_in(world: World, guild: Guild, user: User, **options: Any) -> InteractionHandle:
    return await world.standin.invoke_command(
        "ambient", options, user=user, guild_id=guild.id, channel_id=channel_of(world, guild)
    )


def posts_per_job(world: World) -> dict[int, int]:
    """How many result messages each job has, over both servers' channels."""
    counts: dict[int, int] = {}
    for guild in world.bot.guilds:
        for message in world.standin.messages_in(channel_of(world, guild)):
            if is_result(message):
                counts[job_id_of(message)] = counts.get(job_id_of(message), 0) + 1
    return counts


def handed_out(world: World) -> list[str]:
    """Batch keys in the order the bot handed them to Redis (first time each)."""
    keys = re.findall(r"jobs ([\d+]+): handed to the GPU workers", world.bot.log())
    return list(dict.fromkeys(keys))


async def worker_running(world: World, job_id: int) -> WorkerProcess:
    """The worker that has started ``job_id`` (waits for its log line)."""
    pattern = rf"jobs (\d+\+)*{job_id}(\+\d+)*: starting"
    waits = {asyncio.ensure_future(w.wait_for_log(pattern, RESULT_TIMEOUT_S)): w for w in world.workers}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return waits[next(iter(done))]


async def worker_name(worker: WorkerProcess) -> str:
    return (await worker.wait_for_log(r"worker (\S+) serving queue")).group(1)


async def test_ten_jobs_three_users_two_servers_two_shards_two_workers(tmp_path: Path) -> None:
    overrides = {"queue": {"max_pending_per_user": 4}}
    async with remote_world(tmp_path, start_workers=False, overrides=overrides) as world:
        assert world.other_guild is not None
        assert world.standin.live_shards() == [(0, 2), (1, 2)]
        assert (world.guild.id >> 22) % 2 == 0 and (world.other_guild.id >> 22) % 2 == 1
        a, b = world.guild, world.other_guild
        # Arrival order favours alice; fairness must not. Distinct durations: one job per batch.
        asks = [(a, world.alice)] * 4 + [(a, world.bob)] * 3 + [(b, world.carol)] * 3
        handles = []
        for index, (guild, user) in enumerate(asks):
            handle = await ambient_in(
                world, guild, user, prompt=f"rain number {index}", duration=2.5 + 0.5 * index
            )
            handles.append(handle)
        # No worker online: every job waits in the bot's fair queue, and says why, with no ETA.
        for handle in handles:
            await handle.wait_original(
                lambda m: m["content"].endswith("waiting for a GPU worker"), timeout=30
            )
        status = await world.standin.invoke_command(
            "status", user=world.alice, guild_id=a.id, channel_id=channel_of(world, a)
        )
        embed = (await status.wait_original(lambda m: bool(m.get("embeds")), timeout=30))["embeds"][0]
        gpu = next(f["value"] for f in embed["fields"] if f["name"] == "GPU")
        assert gpu == "waiting for a GPU worker (redis)"
        assert handed_out(world) == []

        await asyncio.gather(*(w.start() for w in world.workers))
        # A result counts once the bot has finished it (its own 🔁 on it comes last).
        results = [await rerollable(world, await h.followup(timeout=RESULT_TIMEOUT_S)) for h in handles]
        ids = [job_id_of(message) for message in results]
        assert len(set(ids)) == 10
        assert posts_per_job(world) == dict.fromkeys(ids, 1)

        rows = world.bot.db_rows("SELECT id, user_id, guild_id, status FROM jobs ORDER BY id")
        assert [r["status"] for r in rows] == ["done"] * 10
        fair = FairScheduler().order([Pending(r["id"], r["user_id"], r["guild_id"]) for r in rows])
        assert handed_out(world) == [str(p.job_id) for p in fair]
        assert [r["user_id"] for r in rows] != [p.user_id for p in fair]  # fairness did reorder them

        names = {await worker_name(w) for w in world.workers}
        collected = re.findall(r"result collected from (\S+) ", world.bot.log())
        assert set(collected) == names  # both workers made results
        for worker in world.workers:
            assert re.search(r"jobs [\d+]+: done on ", worker.log())

        assert await world.bot.stop() == 0
        assert "torch was never loaded in this process" in world.bot.log()


async def test_a_worker_killed_mid_job_its_job_is_delivered_once_by_the_other(tmp_path: Path) -> None:
    async with remote_world(tmp_path) as world:
        hold_everywhere(world, "lighthouse")
        handle = await ambient_in(world, world.guild, world.alice, prompt="lighthouse in fog", duration=3.0)
        await handle.wait_original(lambda m: m["content"].startswith("Generating"), timeout=RESULT_TIMEOUT_S)
        job_id = world.bot.db_rows("SELECT id FROM jobs")[0]["id"]
        victim = await worker_running(world, job_id)
        survivor = next(w for w in world.workers if w is not victim)
        survivor.release()
        victim.kill()
        assert victim.process is not None and await victim.process.wait() < 0

        result = await rerollable(world, await handle.followup(timeout=RESULT_TIMEOUT_S))
        assert job_id_of(result) == job_id
        assert posts_per_job(world) == {job_id: 1}
        assert re.search(rf"jobs {job_id}: done on ", survivor.log())
        assert not re.search(rf"jobs {job_id}: done on ", victim.log())
        assert f"result collected from {await worker_name(survivor)} " in world.bot.log()
        # The surviving worker's sweep found it without a heartbeat and put it back in the queue.
        assert re.search(rf"batch {job_id}: its worker stopped heartbeating \(attempt 1\)", survivor.log())
        assert re.search(rf"Retrying Job<.*key: [0-9a-f]+/{job_id}\.[0-9a-f]+,", survivor.log())
        assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["done"]


async def test_redis_restarted_with_jobs_queued_and_running_all_are_delivered_once(tmp_path: Path) -> None:
    async with remote_world(tmp_path) as world:
        assert world.other_guild is not None
        hold_everywhere(world, "*")
        asks = [
            (world.guild, world.alice),
            (world.guild, world.bob),
            (world.other_guild, world.carol),
            (world.guild, world.alice),
            (world.guild, world.bob),
            (world.other_guild, world.carol),
        ]
        handles = [
            await ambient_in(world, guild, user, prompt=f"harbour night {i}", duration=2.5 + 0.5 * i)
            for i, (guild, user) in enumerate(asks)
        ]
        # Both workers run one (held), two wait in Redis for them, two in the bot's fair queue.
        for worker in world.workers:
            await worker.wait_for_log(r"jobs \d+: starting", RESULT_TIMEOUT_S)
        await world.bot.wait_for_log(r"(?s)(handed to the GPU workers.*){4}")
        await asyncio.to_thread(world.redis.restart)  # comes back empty: no persistence
        release_everywhere(world)

        results = [await rerollable(world, await h.followup(timeout=RESULT_TIMEOUT_S)) for h in handles]
        ids = [job_id_of(message) for message in results]
        assert sorted(ids) == list(range(1, 7))
        assert posts_per_job(world) == dict.fromkeys(ids, 1)
        assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["done"] * 6
        # The bot saw its batches vanish with Redis's data and handed them out again; a batch that
        # a worker was still running may have run twice, but each job was delivered once.
        assert "gone from Redis (restarted without its data?); resending" in world.bot.log()


async def test_cancel_stops_a_job_running_on_a_worker_between_steps(tmp_path: Path) -> None:
    async with remote_world(tmp_path, workers=1) as world:
        (worker,) = world.workers
        worker.hold("foghorn")
        handle = await ambient_in(world, world.guild, world.alice, prompt="foghorn at night", duration=3.0)
        shown = await handle.wait_original(
            lambda m: m["content"].startswith("Generating"), timeout=RESULT_TIMEOUT_S
        )
        assert re.search(r"step \d+/\d+", shown["content"])  # progress comes back from the worker
        cancel = await world.standin.invoke_command(
            "cancel", user=world.alice, guild_id=world.guild.id, channel_id=world.channel_id
        )
        answer = await cancel.wait_original(lambda m: bool(m["content"]), timeout=10)
        assert answer["content"].startswith("Stopping job #1")
        await handle.wait_original(lambda m: m["content"] == "🛑 Cancelled.", timeout=RESULT_TIMEOUT_S)
        await worker.wait_for_log(r"job 1: stopping \(cancelled by its user\)")
        await worker.wait_for_log(r"jobs 1: done on \S+ in [\d.]+s \(1: Cancelled\)")
        assert worker.hold_file.exists()  # it stopped while still held: between two steps
        assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["cancelled"]
        assert posts_per_job(world) == {}


def ran_on(worker: WorkerProcess, job_id: int) -> bool:
    return bool(re.search(rf"jobs (\d+\+)*{job_id}(\+\d+)*: done on ", worker.log()))


async def test_each_worker_serves_its_own_model_and_a_model_without_one_waits(tmp_path: Path) -> None:
    """Also: the bot's and the workers' ``/readyz`` and ``/metrics`` in Redis mode."""
    bot_port, tiny_port, sao_port = free_port(), free_port(), free_port()
    bot_models = {"model": {"also": [{"id": "tiny-sao"}]}, "metrics": {"port": bot_port}}
    async with (
        remote_world(
            tmp_path, worker_models=[["tiny"], ["tiny-sao"]], start_workers=False, overrides=bot_models
        ) as world,
        aiohttp.ClientSession() as session,
    ):
        assert world.other_guild is not None
        tiny_worker, sao_worker = world.workers
        bot_http, tiny_http = Endpoints(session, bot_port), Endpoints(session, tiny_port)
        # Connected to Discord, but no worker yet.
        await bot_http.until("/readyz", 503, "no GPU worker is online (or Redis is unreachable)\n")
        tiny_worker.overrides["metrics"] = {"port": tiny_port}
        sao_worker.overrides["metrics"] = {"port": sao_port}
        await tiny_worker.start()
        assert await tiny_http.get("/healthz") == (200, "ok\n")
        assert await tiny_http.get("/readyz") == (200, "ready\n")
        assert await bot_http.until("/readyz", 200) == "ready\n"  # once the worker's presence is read
        a, b = world.guild, world.other_guild
        # The tiny-sao jobs come first in fair order; no worker serves their model yet.
        sao_handles = [
            await ambient_in(world, a, world.alice, prompt="harbour wind", duration=2.5, model="tiny-sao"),
            await ambient_in(world, b, world.carol, prompt="harbour bells", duration=2.5, model="tiny-sao"),
        ]
        tiny_handles = [
            await ambient_in(world, a, world.bob, prompt="rain on leaves", duration=2.5, model="tiny"),
            await ambient_in(world, b, world.carol, prompt="rain on tin", duration=2.5),  # the default
        ]
        for handle in sao_handles:
            await handle.wait_original(
                lambda m: m["content"].endswith("waiting for a GPU worker with model tiny-sao"),
                timeout=RESULT_TIMEOUT_S,
            )
        # ... and do not hold up the model that has a worker.
        tiny_ids = [
            job_id_of(await rerollable(world, await h.followup(timeout=RESULT_TIMEOUT_S)))
            for h in tiny_handles
        ]
        status = await world.standin.invoke_command(
            "status", user=world.alice, guild_id=a.id, channel_id=channel_of(world, a)
        )
        embed = (await status.wait_original(lambda m: bool(m.get("embeds")), timeout=30))["embeds"][0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["GPU workers"] == "1 online · tiny ×1"  # counts only: no worker names (hosts)
        assert fields["Models without a GPU worker"] == "tiny-sao"
        assert fields["Waiting for a GPU worker"] == "2 jobs need a GPU worker with model tiny-sao"
        rows = world.bot.db_rows("SELECT id, status FROM jobs ORDER BY id")
        sao_ids = [r["id"] for r in rows if r["id"] not in tiny_ids]
        assert [r["status"] for r in rows if r["id"] in sao_ids] == ["queued", "queued"]
        # Priced by what each model computes, though this bot loads no model: a 2.5 s clip costs
        # Stable Audio Open its whole 47.55 s window, and AudioLDM2 its 2.52 s (whole latent frames).
        priced = world.bot.db_rows("SELECT id, cost, request_json FROM jobs")
        denoised = {r["id"]: r["cost"] * 500 / json.loads(r["request_json"])["steps"] for r in priced}
        assert [round(denoised[i], 2) for i in sao_ids] == [47.55, 47.55]
        assert [round(denoised[i], 2) for i in tiny_ids] == [2.52, 2.52]
        _text, bot_samples = await bot_http.samples()
        assert value(bot_samples, "ambientgen_workers", model="tiny") == 1
        assert value(bot_samples, "ambientgen_workers", model="tiny-sao") == 0  # AmbientGenNoWorker fires
        assert value(bot_samples, "ambientgen_queue_jobs", model="tiny-sao") == 2
        _text, worker_samples = await tiny_http.samples()
        batches = value(bot_samples, "ambientgen_render_seconds_count", model="tiny")
        assert (
            batches >= 1 and value(worker_samples, "ambientgen_render_seconds_count", model="tiny") == batches
        )
        assert value(worker_samples, "ambientgen_gpu_busy_seconds_total", model="tiny") > 0
        assert value(worker_samples, "ambientgen_ready") == 1

        await sao_worker.start()  # their worker comes: they go, each once, on it
        for handle in sao_handles:
            assert (
                job_id_of(await rerollable(world, await handle.followup(timeout=RESULT_TIMEOUT_S))) in sao_ids
            )
        assert posts_per_job(world) == dict.fromkeys(tiny_ids + sao_ids, 1)
        assert [r["status"] for r in world.bot.db_rows("SELECT status FROM jobs")] == ["done"] * 4
        for job_id in tiny_ids:
            assert ran_on(tiny_worker, job_id) and not ran_on(sao_worker, job_id)
        for job_id in sao_ids:
            assert ran_on(sao_worker, job_id) and not ran_on(tiny_worker, job_id)
        collected = set(re.findall(r"result collected from (\S+) ", world.bot.log()))
        assert collected == {await worker_name(tiny_worker), await worker_name(sao_worker)}
        assert route_name("ambientgen", ["tiny-sao"]) in world.bot.log()  # the route it was handed out on
        _text, bot_samples = await bot_http.samples()
        assert value(bot_samples, "ambientgen_workers", model="tiny-sao") == 1
        assert value(bot_samples, "ambientgen_jobs_total", outcome="delivered", model="tiny-sao") == 2
        assert value(bot_samples, "ambientgen_jobs_total", outcome="delivered", model="tiny") == 2
