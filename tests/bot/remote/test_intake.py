"""A worker's intake on a real Redis: only batches of its models, from every queue of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from saq.job import Job as SaqJob

from bot.remote import intake, routes
from bot.remote.broker import FUNCTION, Keys, ResilientQueue, connect
from bot.remote.gpu import GpuTurn
from bot.remote.intake import RoutedQueue
from bot.remote.routes import route_name, routes_served
from tests.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("redis_server")


@pytest.fixture
async def bot_side(redis_server: RedisServer) -> AsyncIterator[dict[str, ResilientQueue]]:
    client = connect(redis_server.url)
    queues = {
        models: ResilientQueue(client, route_name("ambientgen", models.split("+")))
        for models in ("tiny", "tiny-sao", "tiny+tiny-sao")
    }
    try:
        yield queues
    finally:
        await client.aclose()


async def put(queues: dict[str, ResilientQueue], models: str, key: str) -> None:
    await queues[models].enqueue(SaqJob(function=FUNCTION, key=key, kwargs={"orders": []}))


async def take(queue: RoutedQueue) -> SaqJob:
    job = await asyncio.wait_for(queue.dequeue(), 10)
    assert job is not None
    queue.turn.release(job.key)  # as when its GPU part is over
    return job


def intake_for(server: RedisServer, *models: str) -> RoutedQueue:
    return RoutedQueue(connect(server.url), "ambientgen", routes_served("ambientgen", models), turn=GpuTurn())


async def test_a_worker_takes_only_batches_of_its_models(
    redis_server: RedisServer, bot_side: dict[str, ResilientQueue]
) -> None:
    await put(bot_side, "tiny-sao", "1")
    await put(bot_side, "tiny+tiny-sao", "2")
    await put(bot_side, "tiny", "3")
    tiny = intake_for(redis_server, "tiny")
    try:
        job = await take(tiny)
        assert (job.key, job.queue.name) == ("3", "ambientgen@v3@tiny")
        waiting = asyncio.ensure_future(tiny.dequeue())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the others need a model it does not have: they stay queued
        waiting.cancel()
        assert await bot_side["tiny-sao"].count("queued") == 1
        assert await bot_side["tiny+tiny-sao"].count("queued") == 1
    finally:
        await tiny.redis.aclose()

    both = intake_for(redis_server, "tiny", "tiny-sao")
    try:
        assert {(await take(both)).key for _ in range(2)} == {"1", "2"}
        assert await bot_side["tiny-sao"].count("active") == 1  # moved as SAQ moves: to its active list
    finally:
        await both.redis.aclose()


async def test_the_bots_word_wakes_an_idle_worker_at_once(
    redis_server: RedisServer, bot_side: dict[str, ResilientQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "POLL_S", 60.0)  # so only the word can wake it in time
    worker = intake_for(redis_server, "tiny-sao")
    listening = asyncio.ensure_future(worker.listen_for_work())
    channel = Keys("ambientgen").work_channel
    try:
        waiting = asyncio.ensure_future(worker.dequeue())
        async with asyncio.timeout(10):  # until it listens (Redis counts its subscription)
            while True:
                if (await worker.redis.pubsub_numsub(channel))[0][1] >= 1:
                    break
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert not waiting.done()  # it looked, found nothing, and waits
        await put(bot_side, "tiny-sao", "7")
        await worker.redis.publish(channel, route_name("ambientgen", ["tiny"]))  # not its queue
        await worker.redis.publish(channel, route_name("ambientgen", ["tiny-sao"]))
        job = await asyncio.wait_for(waiting, 5)
        assert job is not None and job.key == "7"
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await worker.redis.aclose()


async def test_a_worker_of_another_protocol_never_takes_this_protocols_batches(
    redis_server: RedisServer, bot_side: dict[str, ResilientQueue], monkeypatch: pytest.MonkeyPatch
) -> None:
    await put(bot_side, "tiny", "5")  # a batch of this protocol's bot
    monkeypatch.setattr(routes, "PROTOCOL", routes.PROTOCOL + 1)  # the next release's worker
    newer = intake_for(redis_server, "tiny")
    try:
        assert all(f"@v{routes.PROTOCOL}@" in queue.name for queue in newer.routes)
        waiting = asyncio.ensure_future(newer.dequeue())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # it looked and found nothing of its own
        waiting.cancel()
        assert await bot_side["tiny"].count("queued") == 1  # left for a worker that can do it
    finally:
        await newer.redis.aclose()
    monkeypatch.undo()
    current = intake_for(redis_server, "tiny")
    try:
        assert (await take(current)).key == "5"
    finally:
        await current.redis.aclose()
