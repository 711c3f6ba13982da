"""The bot's Redis loops against a real Redis that answers errors: full (``maxmemory`` with
``noeviction``), read-only (a replica), or a bug in the loop itself.

Each test fails on the code before issue 21: a ``ResponseError`` escaped ``submit`` and ended
the poll for good, and a loop that failed was never restarted.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.jobs.executor import Route
from bot.remote.executor import RemoteExecutor
from generation.errors import Cancelled
from tests.bot.remote.test_executor import FakeWorker, key_of, remote_executor, rendered, until, work
from tests.redis_server import RedisServer, fill, make_room, running_redis


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_full_redis_is_lived_through_and_the_batch_it_refused_goes_once_there_is_room(
    executor: RemoteExecutor, worker: FakeWorker, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.remote")
    await worker.online()
    await until(executor, lambda: executor.fleet.online == 1)
    await fill(redis_server.url)
    job = work(1)
    (future,) = await executor.submit([job], lambda *_: None)  # refused with OOM: it waits
    (stopped,) = await executor.submit([work(3)], lambda *_: None)
    assert executor.cancel(3)  # its stop is refused too: it waits with it
    flight = executor.flights.by_job[1]
    assert not flight.sent and not future.done()
    assert executor._live() == []  # a batch Redis refused holds no worker slot
    assert executor.route([None]) == Route(("tiny",), served=False, room=False)  # no new batch meanwhile
    health = executor.redis_health()
    assert health is not None and health.startswith("answering errors since ")
    info = executor.info()
    assert info.state == f"waiting for Redis ({health})"
    assert info.details["Redis"] == f"{health} · 0 batches out"
    assert await worker.client.get(worker.keys.stop(key_of(work(3)))) is None

    # The poll keeps trying (with a growing wait), says it once, and lives.
    seen = executor._outage.failures
    await until(executor, lambda: executor._outage.failures >= seen + 3)
    assert [loop.state for loop in executor.loops] == ["running", "running"]
    assert executor.fleet.online == 1  # Redis still answers reads: the workers are still seen
    (error,) = errors(caplog)
    assert "the bot: Redis answers errors" in error and "OOM command not allowed" in error
    assert await worker.queue.count("queued") == 0

    await make_room(redis_server.url)
    await until(executor, lambda: executor.redis_health() is None)
    taken = await worker.take()
    assert taken.key == key_of(job)
    await worker.finish(taken, {1: rendered(job)})
    assert (await asyncio.wait_for(future, 10)).posted
    assert await worker.client.get(worker.keys.stop(key_of(work(3)))) == b"1"  # written before its batch went
    taken = await worker.take()
    assert taken.key == key_of(work(3))
    await worker.finish(taken, {3: Cancelled()})
    with pytest.raises(Cancelled):
        await asyncio.wait_for(stopped, 10)
    assert "Redis answers again after" in caplog.text
    assert caplog.text.count("jobs 1: handed to the GPU workers") == 1  # sent once, taken once
    assert await worker.queue.count("queued") == 0 and len(errors(caplog)) == 1


async def test_a_read_only_replica_is_lived_through_until_the_failover(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    primary = FakeWorker(redis_server)
    with running_redis(tmp_path / "replica") as replica:
        client = Redis.from_url(replica.url)
        await client.replicaof("127.0.0.1", redis_server.port)  # writes answer READONLY from now on
        executor = remote_executor(replica)  # the bot's URL still names the old primary
        promoted = FakeWorker(replica)
        try:
            await primary.online()
            await executor.start()
            await until(executor, lambda: executor.fleet.online == 1)  # presence, replicated
            job = work(2)
            (future,) = await executor.submit([job], lambda *_: None)
            assert not executor.flights.by_job[2].sent and not future.done()
            seen = executor._outage.failures
            await until(executor, lambda: executor._outage.failures >= seen + 2)
            assert (executor.redis_health() or "").startswith("answering errors since ")
            assert [loop.state for loop in executor.loops] == ["running", "running"]
            (error,) = errors(caplog)
            assert "the bot: Redis answers errors" in error and "READONLY" in error

            await client.replicaof("NO", "ONE")  # the failover: the replica is the primary now
            await until(executor, lambda: executor.redis_health() is None)
            taken = await promoted.take()
            assert taken.key == key_of(job)
            await promoted.finish(taken, {2: rendered(job)})
            assert (await asyncio.wait_for(future, 10)).posted
            assert await promoted.queue.count("queued") == 0
        finally:
            await executor.close()
            await promoted.close()
            await client.aclose()
    await primary.close()


async def test_a_bug_in_the_poll_is_logged_and_the_poll_restarted(
    executor: RemoteExecutor, worker: FakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    real_info = executor.queue.info
    calls = 0

    async def broken_once(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        return await real_info(*args, **kwargs)  # type: ignore[arg-type]

    executor.queue.info = broken_once  # type: ignore[method-assign]
    await worker.online()
    await until(executor, lambda: executor.fleet.online == 1)  # seen by the restarted poll
    assert calls >= 2
    assert any(
        r.levelno == logging.ERROR and r.getMessage() == "the Redis poll stopped with an error; restarting it"
        for r in caplog.records
    )
    assert executor.loops[0].restarts == 1 and executor.loops[0].state.startswith("running (restarted 1×")


async def test_status_shows_counts_and_health_never_hosts_ports_or_worker_names(
    executor: RemoteExecutor, redis_server: RedisServer
) -> None:
    named = FakeWorker(redis_server, name="gpu-box-7.internal/cuda0/4242", models="tiny+tiny-sao")
    other = FakeWorker(redis_server, name="10.1.2.3/cuda1/99")
    try:
        await named.online()
        await other.online()
        await until(executor, lambda: executor.fleet.online == 2)
        info = executor.info()
        assert info.details == {
            "GPU workers": "2 online · tiny ×2, tiny-sao ×1",
            "Redis": "answering · 0 batches out",
        }
        shown = " ".join([info.state, info.device, *info.details, *info.details.values()])
        for secret in ("127.0.0.1", str(redis_server.port), "redis://", "gpu-box", "10.1.2.3", "4242"):
            assert secret not in shown
    finally:
        await named.close()
        await other.close()
