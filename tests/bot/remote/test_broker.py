"""The queue's sweep on a real Redis: dead workers' batches go back, healthy ones are left alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from saq.job import Job as SaqJob
from saq.job import Status

from bot.remote.broker import FUNCTION, ResilientQueue, batch_key, connect, job_ids_of, label, parse_key
from tests.redis_server import RedisServer


@pytest.fixture
async def queue(redis_server: RedisServer) -> AsyncIterator[ResilientQueue]:
    made = ResilientQueue(connect(redis_server.url), "test")
    await made.connect()
    try:
        yield made
    finally:
        await made.disconnect()


async def sweep(queue: ResilientQueue) -> list[str]:
    await queue.redis.delete(queue.namespace("sweep"))  # the lock is for workers, not for this test
    return await queue.sweep(lock=60)


async def enqueue(queue: ResilientQueue, key: str, retries: int = 2) -> SaqJob:
    job = await queue.enqueue(SaqJob(function=FUNCTION, key=key, timeout=0, heartbeat=3, retries=retries))
    assert job is not None
    return job


def test_batch_keys_are_their_databases_identity_and_their_jobs_tickets() -> None:
    key = batch_key("ab12", [(4, "n4"), (5, "n5"), (9, "")])
    assert key == "ab12/4.n4+5.n5+9" and parse_key(key) == ("ab12", [(4, "n4"), (5, "n5"), (9, "")])
    assert job_ids_of(key) == [4, 5, 9] and label(key) == "4+5+9"
    # Keys of protocol 2 (job ids alone) and of others are no batch of this protocol.
    assert parse_key("4+5+9") is None and job_ids_of("4+5+9") == [] and job_ids_of("cron:cleanup") == []
    assert parse_key("ab12/x.1") is None and parse_key("/4.n") is None


async def test_a_batch_just_moved_to_active_is_not_taken_for_dead(queue: ResilientQueue) -> None:
    job = await enqueue(queue, "1")
    # A worker's BLMOVE happened; its "active" status write has not (the instant SAQ's sweep misreads).
    await queue.redis.lmove(queue.namespace("queued"), queue.namespace("active"), "LEFT", "RIGHT")
    assert await sweep(queue) == []
    stored = await queue.job("1")
    assert stored is not None and stored.status is Status.QUEUED
    # Still "queued" in the active list at the next sweep: its worker died between the two.
    assert await sweep(queue) == [job.id]
    assert await queue.redis.lrange(queue.namespace("queued"), 0, -1) == [job.id.encode()]


async def test_a_silent_active_batch_goes_back_then_ends_past_its_attempts(queue: ResilientQueue) -> None:
    await enqueue(queue, "2", retries=2)
    for attempt in (1, 2):
        taken = await queue.dequeue(timeout=1)
        assert taken is not None
        taken.attempts = attempt
        await taken.update(status=Status.ACTIVE, touched=1)  # its heartbeat stopped long ago
        assert await sweep(queue) == [taken.id]
    final = await queue.job("2")
    assert final is not None and final.status is Status.ABORTED and final.error
    assert await queue.count("queued") == 0 and await queue.count("active") == 0


async def test_a_heartbeating_batch_is_left_alone(queue: ResilientQueue) -> None:
    await enqueue(queue, "3")
    taken = await queue.dequeue(timeout=1)
    assert taken is not None
    await taken.update(status=Status.ACTIVE)
    assert await sweep(queue) == [] and await sweep(queue) == []
    stored = await queue.job("3")
    assert stored is not None and stored.status is Status.ACTIVE


async def test_the_redis_password_comes_from_its_env_var_only(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.asyncio import Redis

    from bot.config import REDIS_PASSWORD_ENV, Config, ExecutorConfig
    from bot.jobs.executor import ExecutorUnavailable
    from bot.remote.executor import RemoteExecutor

    admin = Redis.from_url(redis_server.url)
    await admin.config_set("requirepass", "s3cret")
    await admin.aclose()
    config = Config(executor=ExecutorConfig(kind="redis", redis_url=redis_server.url))
    monkeypatch.delenv(REDIS_PASSWORD_ENV, raising=False)
    refused = RemoteExecutor.from_config(config, "ab" * 8)
    with pytest.raises(ExecutorUnavailable, match="can't reach Redis"):
        await refused.start()  # NOAUTH: one clear line, as for an unreachable Redis
    await refused.close()
    monkeypatch.setenv(REDIS_PASSWORD_ENV, "s3cret")
    executor = RemoteExecutor.from_config(config, "ab" * 8)
    await executor.start()
    try:
        assert await executor.client.ping()
    finally:
        await executor.close()
