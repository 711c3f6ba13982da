"""The bot's remote executor against a real Redis, with the worker's side played by the test.

The test takes batches from the SAQ queue and finishes them as a worker would (or twice, or
not at all), so every branch of the bot's books can be produced exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from saq.job import Job as SaqJob
from saq.job import Status

from bot.config import ExecutorConfig
from bot.jobs.executor import ExecutorUnavailable, Route, Work
from bot.remote.broker import FUNCTION, PROTOCOL, Keys, ResilientQueue, batch_key, connect
from bot.remote.executor import RemoteExecutor
from bot.remote.routes import route_name
from bot.remote.wire import encode_outcomes, mix_from_bytes
from generation.errors import Cancelled, GenerationError
from generation.prompting import build_request
from generation.recipes.mixing import Mix
from generation.recipes.order import Clip, Progress, Rendered, RenderJob
from generation.recipes.recipe import Recipe, build_order
from tests.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("redis_server")


#: The bot's [model]: the default first.
OFFERED = ("tiny", "tiny-sao")
#: The identity of the bot's database (see bot.storage.identity).
IDENTITY = "ab" * 8


def settings(server: RedisServer) -> ExecutorConfig:
    return ExecutorConfig(kind="redis", redis_url=server.url, heartbeat_s=1, result_ttl_s=120)


def remote_executor(server: RedisServer, identity: str = IDENTITY) -> RemoteExecutor:
    return RemoteExecutor(
        connect(server.url), settings(server), offered=OFFERED, max_attempts=2, identity=identity
    )


def work(job_id: int, text: str = "rain", nonce: str | None = None) -> Work:
    request = build_request(text, seed=job_id, duration=5.0)
    return Work(job_id, RenderJob(request), f"n{job_id}" if nonce is None else nonce)


def key_of(*works: Work, identity: str = IDENTITY) -> str:
    """The SAQ key the bot gives a batch of ``works``."""
    return batch_key(identity, [(w.job_id, w.nonce) for w in works])


def rendered(job: Work, marker: bytes = b"") -> Rendered:
    return Rendered(posted=[Clip(job.render.request, b"ID3" + marker, -18.0, 5.0)], seconds=0.5)


class FakeWorker:
    """The worker's side of the protocol, step by step."""

    def __init__(
        self, server: RedisServer, name: str = "w1", slots: int = 2, batch: int = 3, models: str = "tiny"
    ) -> None:
        self.client = connect(server.url)
        self.presence = ResilientQueue(self.client, "ambientgen")
        self.queue = ResilientQueue(self.client, route_name("ambientgen", models.split("+")))
        """Batches that need exactly ``models`` ("tiny", "tiny+tiny-sao")."""
        self.keys = Keys("ambientgen")
        self.name, self.slots, self.batch, self.models = name, slots, batch, models.split("+")

    async def online(self) -> None:
        metadata = {
            "protocol": PROTOCOL, "name": self.name, "models": self.models, "sample_rate": 16000,
            "device": "cpu (float32)", "slots": self.slots, "max_batch": {"10.0": self.batch, "30.0": 1},
        }  # fmt: skip
        await self.presence.write_worker_info(
            self.name, {"stats": {}, "queue_key": "ambientgen", "metadata": metadata}, 30
        )  # type: ignore[typeddict-item]

    async def take(self) -> SaqJob:
        job = await self.queue.dequeue(timeout=5)
        assert job is not None
        job.attempts += 1
        await job.update(status=Status.ACTIVE)
        return job

    async def finish(
        self,
        job: SaqJob,
        outcomes: dict[int, Rendered | BaseException],
        token: str = "a",
        batch: str | None = None,
    ) -> None:
        """``batch``: the batch the blob says it answers (default: ``job``'s, as a worker writes)."""
        blob = encode_outcomes(
            outcomes,
            model="tiny",
            sample_rate=16000,
            worker=self.name,
            batch=job.key if batch is None else batch,
        )
        key = self.keys.result(job.key, token)
        await self.client.set(key, blob, ex=60)
        await job.finish(Status.COMPLETE, result={"result_key": key})

    async def close(self) -> None:
        await self.client.aclose()


async def test_an_unreachable_redis_is_one_clear_line() -> None:
    config = ExecutorConfig(kind="redis", redis_url="redis://127.0.0.1:1/0")
    remote = RemoteExecutor(
        connect(config.redis_url), config, offered=OFFERED, max_attempts=2, identity=IDENTITY
    )
    with pytest.raises(ExecutorUnavailable, match=r"can't reach Redis at redis://127.0.0.1:1/0 .*redis_url"):
        await remote.start()
    await remote.close()


async def test_no_worker_means_waiting_and_a_worker_brings_room(
    executor: RemoteExecutor, worker: FakeWorker
) -> None:
    assert not executor.available()
    assert executor.info().state == "waiting for a GPU worker"
    ready = asyncio.ensure_future(executor.ready())
    await asyncio.sleep(0.1)
    assert not ready.done()
    await worker.online()
    await asyncio.wait_for(ready, 5)
    assert executor.available() and executor.model_name == "tiny" and executor.info().models == OFFERED
    assert executor.batch_limit(build_request("rain", duration=10.0)) == 3
    assert executor.batch_limit(build_request("rain", duration=20.0)) == 1  # the next longer one listed


async def test_a_batch_goes_out_as_one_saq_job_and_comes_back_with_progress(
    executor: RemoteExecutor, worker: FakeWorker
) -> None:
    await worker.online()
    progress: list[tuple[int, Progress]] = []
    jobs = [work(1), work(2)]
    futures = await executor.submit(jobs, lambda job_id, p: progress.append((job_id, p)))
    taken = await worker.take()
    assert taken.key == key_of(*jobs) == f"{IDENTITY}/1.n1+2.n2"
    assert taken.function == FUNCTION and taken.heartbeat == 3 and taken.retries == 2
    assert [(o["job_id"], o["nonce"]) for o in taken.kwargs["orders"]] == [(1, "n1"), (2, "n2")]
    assert taken.kwargs["identity"] == IDENTITY and taken.kwargs["protocol"] == PROTOCOL
    assert taken.kwargs["models"] == ["tiny"] and taken.queue.name == f"ambientgen@v{PROTOCOL}@tiny"
    # A request that names no model is sent naming the bot's default (a worker's may differ).
    assert all(order["request"]["model"] == "tiny" for order in taken.kwargs["orders"])
    await worker.client.publish(worker.keys.progress_channel, '[2, 6, 50, null, "other"]')  # not ours
    await worker.client.publish(worker.keys.progress_channel, '[2, 7, 50, null, "n2"]')
    await worker.finish(taken, {1: rendered(jobs[0]), 2: Cancelled()})
    first = await asyncio.wait_for(futures[0], 5)
    assert first.posted[0].mp3 == b"ID3" and first.posted[0].request == jobs[0].render.request
    with pytest.raises(Cancelled):
        await asyncio.wait_for(futures[1], 5)
    assert progress == [(2, Progress(7, 50, None))]
    assert executor.flights.by_key == {} and executor.flights.by_job == {}


async def test_two_workers_finishing_the_same_batch_deliver_it_once(
    executor: RemoteExecutor, worker: FakeWorker
) -> None:
    await worker.online()
    job = work(5)
    (future,) = await executor.submit([job], lambda *_: None)
    taken = await worker.take()
    copy = await worker.queue.job(taken.key)
    assert copy is not None
    await worker.finish(taken, {5: rendered(job, b"first")}, token="a")
    assert (await asyncio.wait_for(future, 5)).posted[0].mp3 == b"ID3first"
    await worker.finish(copy, {5: rendered(job, b"second")}, token="b")  # a second worker, late
    await asyncio.sleep(1.5)  # a poll and a pub/sub message have come and gone
    assert (await future).posted[0].mp3 == b"ID3first"
    assert executor.flights.by_job == {}


async def test_a_batch_redis_lost_is_handed_out_again(
    executor: RemoteExecutor, worker: FakeWorker, redis_server: RedisServer
) -> None:
    await worker.online()
    job = work(7)
    (future,) = await executor.submit([job], lambda *_: None)
    await worker.client.flushall()  # as a restart without persistence does
    await worker.online()
    taken = await worker.take()  # the bot sent it again
    assert taken.key == key_of(job)
    await worker.finish(taken, {7: rendered(job)})
    assert (await asyncio.wait_for(future, 10)).posted


async def test_a_batch_whose_worker_died_too_often_fails_with_a_message(
    executor: RemoteExecutor, worker: FakeWorker
) -> None:
    await worker.online()
    (future,) = await executor.submit([work(8)], lambda *_: None)
    taken = await worker.take()
    taken.attempts = 2
    await taken.finish(Status.ABORTED, error="its GPU worker stopped responding")
    with pytest.raises(GenerationError, match="stopped responding"):
        await asyncio.wait_for(future, 5)


async def test_cancel_sets_the_stop_key_and_tells_every_worker(
    executor: RemoteExecutor, worker: FakeWorker
) -> None:
    await worker.online()
    (future,) = await executor.submit([work(9)], lambda *_: None)
    async with worker.client.pubsub() as pubsub:
        await pubsub.subscribe(worker.keys.stop_channel)
        await pubsub.get_message(timeout=1)  # the subscription itself
        assert executor.cancel(9)
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
    ticket = key_of(work(9))  # the job of this database, with its nonce
    assert message is not None and message["data"] == ticket.encode()
    assert await worker.client.get(worker.keys.stop(ticket)) == b"1"
    assert not executor.cancel(10)  # not one of ours
    taken = await worker.take()
    await worker.finish(taken, {9: Cancelled()})
    with pytest.raises(Cancelled):
        await asyncio.wait_for(future, 5)


async def test_a_restarted_bot_waits_on_what_it_handed_out_before(
    redis_server: RedisServer, worker: FakeWorker
) -> None:
    await worker.online()
    first = remote_executor(redis_server)
    await first.start()
    await first.submit([work(11), work(12)], lambda *_: None)
    await first.close()  # the bot stops with the batch still running on a worker
    taken = await worker.take()

    second = remote_executor(redis_server)
    await second.start()
    try:
        assert set(second.flights.by_job) == {11, 12}
        (twelve,) = await second.submit([work(12)], lambda *_: None)  # fair order changed: 12 alone
        await worker.finish(taken, {11: rendered(work(11)), 12: rendered(work(12), b"12")})
        assert (await asyncio.wait_for(twelve, 5)).posted[0].mp3 == b"ID312"
        (eleven,) = await second.submit([work(11)], lambda *_: None)  # later: from the kept outcome
        assert (await asyncio.wait_for(eleven, 5)).posted[0].mp3 == b"ID3"
        assert await worker.queue.count("queued") == 0  # never handed out a second time
    finally:
        await second.close()


async def test_a_layer_rerolls_stems_travel_beside_the_batch(
    executor: RemoteExecutor, worker: FakeWorker
) -> None:
    await worker.online()
    _request, recipe = build_order("rain + crickets", seed=3, duration=5.0)
    waves = [np.full(16_000, 0.1, dtype=np.float32), np.full(16_000, -0.1, dtype=np.float32)]
    scene = Mix.create(recipe.layers, recipe.layer_requests, waves, 16_000)
    order = Work(21, RenderJob(recipe.layer_requests[0], recipe, source=scene))
    (future,) = await executor.submit([order], lambda *_: None)
    taken = await worker.take()
    (sent,) = taken.kwargs["orders"]
    assert sent["source_key"] == worker.keys.source(key_of(order), 21)
    stems = mix_from_bytes(await worker.client.get(sent["source_key"]))
    assert stems.layers == scene.layers and np.array_equal(stems.stems[1], scene.stems[1])
    await worker.finish(taken, {21: rendered(order)})
    await asyncio.wait_for(future, 5)
    await asyncio.sleep(0.2)
    assert await worker.client.exists(sent["source_key"]) == 0  # collected: the bot cleaned up


async def until(executor: RemoteExecutor, condition: Callable[[], bool]) -> None:
    """Wait for one of the executor's polls to show ``condition``."""
    async with asyncio.timeout(10):
        while not condition():
            await executor.room_changed()


def sao_work(job_id: int) -> Work:
    return Work(job_id, RenderJob(build_request("rain", seed=job_id, duration=5.0).with_model("tiny-sao")))


async def test_each_batch_goes_to_a_worker_of_its_models_and_room_is_per_model(
    executor: RemoteExecutor, worker: FakeWorker, redis_server: RedisServer
) -> None:
    sao = FakeWorker(redis_server, name="w2", slots=1, models="tiny-sao")
    try:
        await worker.online()
        await until(executor, lambda: executor.fleet.online == 1)
        # Only tiny is served: tiny-sao jobs wait for their worker, tiny ones go.
        assert executor.route([None]) == Route(("tiny",), served=True, room=True)
        assert executor.route(["tiny-sao"]) == Route(("tiny-sao",), served=False, room=False)
        info = executor.info()
        assert info.details["Models without a GPU worker"] == "tiny-sao"
        assert info.details["GPU workers"] == "1 online · tiny ×1"  # counts: never a worker's host name

        await sao.online()
        await until(executor, lambda: executor.fleet.online == 2)
        assert executor.route(["tiny-sao"]).room
        assert "Models without a GPU worker" not in executor.info().details
        assert not executor.route(["tiny", "tiny-sao"]).served  # nobody serves both at once

        (future,) = await executor.submit([sao_work(31)], lambda *_: None)
        taken = await sao.take()  # from its own queue, which the tiny worker does not read
        assert taken.key == key_of(sao_work(31)) and taken.queue.name == route_name(
            "ambientgen", ["tiny-sao"]
        )
        assert taken.kwargs["models"] == ["tiny-sao"] and await worker.queue.count("queued") == 0
        # Its one slot is taken: no room for tiny-sao, while tiny still has its worker's two.
        assert not executor.route(["tiny-sao"]).room and executor.route(["tiny"]).room
        await executor.submit([work(32)], lambda *_: None)
        await executor.submit([work(33)], lambda *_: None)
        assert not executor.route(["tiny"]).room
        ready = asyncio.ensure_future(executor.ready())  # every worker is full now
        await asyncio.sleep(0.1)
        assert not ready.done()
        await sao.finish(taken, {31: rendered(sao_work(31))})
        assert (await asyncio.wait_for(future, 5)).posted
        assert executor.route(["tiny-sao"]).room
        await asyncio.wait_for(ready, 5)  # the finished batch freed a slot
    finally:
        await sao.close()


async def test_a_comparison_needs_one_worker_with_both_models(
    executor: RemoteExecutor, redis_server: RedisServer
) -> None:
    both = FakeWorker(redis_server, name="w3", models="tiny+tiny-sao")
    try:
        await both.online()
        await until(executor, lambda: executor.fleet.online == 1)
        takes = (build_request("rain", seed=1).with_model("tiny-sao"), build_request("rain", seed=1))
        order = Work(41, RenderJob(build_request("rain", seed=1), Recipe(compare=takes)))
        assert executor.route(order.render.models()).room
        await executor.submit([order], lambda *_: None)
        taken = await both.take()
        assert taken.queue.name == route_name("ambientgen", ["tiny", "tiny-sao"])
        assert taken.kwargs["models"] == ["tiny", "tiny-sao"]
        (sent,) = taken.kwargs["orders"]
        assert "model" not in sent["request"]  # the comparison's own request stays blind
        assert [take["model"] for take in sent["recipe"]["compare"]] == ["tiny-sao", "tiny"]
    finally:
        await both.close()


async def test_a_result_that_answers_another_batch_is_never_delivered(
    executor: RemoteExecutor, worker: FakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    await worker.online()
    job = work(51)
    (future,) = await executor.submit([job], lambda *_: None)
    taken = await worker.take()
    other = key_of(work(51, nonce="n-of-another-job"), identity="cd" * 8)
    await worker.finish(taken, {51: rendered(job, b"NOT-YOURS")}, batch=other)
    again = await worker.take()  # refused, and handed out again
    assert again.key == taken.key and not future.done()
    assert any("its result answers batch" in r.getMessage() for r in caplog.records)
    await worker.finish(again, {51: rendered(job, b"YOURS")}, token="b")
    assert (await asyncio.wait_for(future, 5)).posted[0].mp3 == b"ID3YOURS"
