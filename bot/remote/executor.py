"""The bot's executor when the model runs on GPU workers: batches go through Redis (SAQ).

The scheduler keeps fairness and limits: it takes a batch from its fair queue only when
:meth:`RemoteExecutor.route` says a worker that serves every model of the batch has room, so
Redis never holds more than the workers can start (one batch on each GPU plus the next one each),
a later fair turn never waits behind a long Redis list, and a batch for a model no online worker
serves keeps its place while other models' batches go by. Each batch is one SAQ job keyed by its
job ids, in the queue of the models it needs (see :mod:`bot.remote.routes`); at start the
executor reads what an earlier run left in Redis and waits on it instead of handing those jobs
out again.

Two loops keep the books: a pub/sub listener (job changes, every step's progress) for speed, and
a poll every half heartbeat for certainty — it reads the workers' presence, collects finished
results, and hands a batch out again when Redis lost it (a restart without persistence) or its
record went stale with no worker left to sweep it. SQLite stays the truth: a batch the bot still
waits on is never lost, only re-sent. Nothing here imports torch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Sequence

from redis.asyncio import Redis
from saq.job import Job as SaqJob
from saq.job import Status

from bot.config import REDIS_PASSWORD_ENV, Config, ExecutorConfig
from bot.jobs.executor import ExecutorInfo, ExecutorUnavailable, ProgressListener, Route, Work
from bot.remote.broker import REDIS_DOWN, Keys, Outage, ResilientQueue, batch_key, connect, split_job_id
from bot.remote.courier import Courier
from bot.remote.flights import Fleet, Flight, Flights, describe, parse_workers
from bot.remote.routes import resolve, route_name
from bot.remote.wire import WireError, order_to_dict
from bot.tasks import spawn
from generation.errors import GenerationError
from generation.recipes.order import Progress, Rendered
from generation.request import GenerationRequest

log = logging.getLogger(__name__)

#: The sample rate assumed until a worker has said its own (AudioLDM2's).
DEFAULT_SAMPLE_RATE = 16_000


class RemoteExecutor:
    """GPU workers through Redis (see the module docstring)."""

    kind = "redis"

    def __init__(
        self,
        client: Redis,
        settings: ExecutorConfig,
        *,
        offered: Sequence[str],
        max_attempts: int,
        max_batch: int = 0,
    ) -> None:
        if not offered:
            raise ValueError("the bot offers at least one model")
        self.client = client
        self.settings = settings
        self.offered = tuple(offered)
        """The models users may ask for (the bot's ``[model]``), the default first."""
        self.max_attempts = max_attempts
        self.max_batch = max_batch
        self.keys = Keys(settings.queue_name)
        self.queue = ResilientQueue(client, settings.queue_name)
        """Where the workers' presence is (batches are in the queues of their models)."""
        self.courier = Courier(client, settings, max_attempts)
        self.flights = Flights()
        self.fleet = Fleet()
        self.poll_s = max(0.2, settings.heartbeat_s / 2)
        self._changed = asyncio.Condition()
        self._outage = Outage("the bot")
        self._tasks: set[asyncio.Task[object]] = set()
        self._warned: set[str] = set()
        self._sample_rate = DEFAULT_SAMPLE_RATE
        self._checking = asyncio.Lock()

    @classmethod
    def from_config(cls, config: Config) -> RemoteExecutor:
        settings = config.executor
        client = connect(settings.redis_url, os.environ.get(REDIS_PASSWORD_ENV))
        return cls(
            client,
            settings,
            offered=config.model.catalog().names,
            max_attempts=config.queue.max_attempts,
            max_batch=config.queue.max_batch,
        )

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.client.ping()
            await self.queue.connect()
            await self._adopt()
            await self._refresh()
        except REDIS_DOWN as exc:
            raise ExecutorUnavailable(
                f"can't reach Redis at {self.settings.redis_url} ({exc}); check [executor] redis_url"
            ) from exc
        spawn(self._listen(), "redis-listener", self._tasks)
        spawn(self._poll(), "redis-poll", self._tasks)
        log.info("GPU workers through Redis %s, queue %s: %d online", self.settings.redis_url,
                 self.settings.queue_name, self.fleet.online)  # fmt: skip

    async def close(self) -> None:
        # Batches still running stay in Redis: the next start finds them and waits on them.
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(*REDIS_DOWN):
            await self.queue.disconnect()

    async def _adopt(self) -> None:
        """Batches an earlier run handed out and Redis still has: wait on them, never resend them."""
        adopted = 0
        async for flight in self.courier.live_batches():
            self.flights.add(flight)
            adopted += 1
        if adopted:
            log.info("start: %d batch(es) from an earlier run are still in Redis; waiting on them", adopted)

    # -- the executor protocol ---------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        workers = self.fleet.workers
        return workers[0].sample_rate if workers else self._sample_rate

    @property
    def model_name(self) -> str:
        """The bot's default model (what a request that names none is rendered with)."""
        return self.offered[0]

    def batch_limit(self, request: GenerationRequest) -> int:
        needs = frozenset(resolve([request.model], self.model_name))
        return self.max_batch or self.fleet.batch_limit(request.duration_s, needs)

    def available(self) -> bool:
        return self.fleet.online > 0 and not self._outage.is_down

    @property
    def lanes(self) -> int:
        return max(1, self.fleet.online)

    def _live(self) -> list[frozenset[str]]:
        return [flight.demand for flight in self.flights.live()]

    def _room(self) -> bool:
        return self.available() and self.fleet.any_room(self._live())

    async def ready(self) -> None:
        async with self._changed:
            await self._changed.wait_for(self._room)

    def route(self, models: Sequence[str | None]) -> Route:
        names = resolve(models, self.model_name)
        if not names:
            return Route((), served=True, room=True)  # no GPU work (served in the bot)
        needs = frozenset(names)
        served = self.available() and self.fleet.serves(needs)
        return Route(names, served, served and self.fleet.has_room(self._live(), needs))

    async def room_changed(self) -> None:
        async with self._changed:
            await self._changed.wait()

    async def submit(
        self, batch: Sequence[Work], progress: ProgressListener
    ) -> list[asyncio.Future[Rendered]]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in batch]
        fresh: list[tuple[Work, asyncio.Future[Rendered]]] = []
        adopted: list[Flight] = []
        for work, future in zip(batch, futures, strict=True):
            flight = self.flights.attach(work.job_id, future, progress)
            if flight is None:
                fresh.append((work, future))
                continue
            log.info("job %d: already in Redis (batch %s); waiting on it", work.job_id, flight.key)
            if flight.finished and not future.done():
                flight.finished = False  # its result waits in Redis: collect it now
            adopted.append(flight)
        if fresh:
            flight = self._flight([work for work, _ in fresh])
            for work, future in fresh:
                flight.waiting[work.job_id] = future
                flight.listeners[work.job_id] = progress
            self.flights.add(flight)
            await self._send(flight)
        if adopted:
            await self._check_now(adopted)
        return futures

    def _flight(self, works: Sequence[Work]) -> Flight:
        key = batch_key(work.job_id for work in works)
        orders, sources, models = [], {}, set()
        for work in works:
            # Named here: a worker's own default model may be another one.
            work = Work(work.job_id, work.render.naming(self.model_name))
            models.update(resolve(work.render.models(), self.model_name))
            source_key = None
            if work.render.source is not None:
                source_key = self.keys.source(key, work.job_id)
                sources[source_key] = work.render.source
            orders.append(order_to_dict(work, source_key))
        names = tuple(sorted(models))
        return Flight(key, orders, route_name(self.settings.queue_name, names), names, sources)

    def cancel(self, job_id: int) -> bool:
        flight = self.flights.by_job.get(job_id)
        if flight is None or flight.finished or job_id not in flight.waiting:
            return False
        self.flights.stopping.add(job_id)
        spawn(self._send_stop(job_id), f"stop-{job_id}", self._tasks)
        return True

    def info(self) -> ExecutorInfo:
        state = "waiting for a GPU worker (Redis unreachable)" if self._outage.is_down else None
        return describe(self.kind, self.fleet, len(self.flights.live()), self.settings, self.offered, state)

    # -- talking to Redis ---------------------------------------------------------------------------

    async def _send(self, flight: Flight) -> None:
        """Write ``flight`` to Redis; while Redis is down the poll sends it later."""
        try:
            await self.courier.send(flight)
        except REDIS_DOWN as exc:
            self._outage.down(exc)
            return
        flight.sent = True
        log.info("jobs %s: handed to the GPU workers (%s)", flight.key, flight.route)

    async def _send_stop(self, job_id: int) -> None:
        for wait in (0.0, 0.5, 1.0, 2.0, 5.0, 10.0):
            await asyncio.sleep(wait)
            try:
                await self.courier.stop(job_id)
                return
            except REDIS_DOWN as exc:
                self._outage.down(exc)
        log.warning("job %d: could not tell the GPU workers to stop it (Redis unreachable)", job_id)

    async def _refresh(self) -> None:
        """Who is online, and how every batch in flight stands."""
        info = await self.queue.info()
        self.fleet = parse_workers(info.get("workers") or {}, self._warned)
        if self.fleet.workers:
            self._sample_rate = self.fleet.workers[0].sample_rate
        await self._check(self.flights.live())
        self.flights.expire(self.settings.result_ttl_s)
        self._outage.up()
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _check_now(self, flights: list[Flight]) -> None:
        try:
            await self._check(flights)
        except REDIS_DOWN as exc:
            self._outage.down(exc)

    async def _check(self, flights: list[Flight]) -> None:
        """Act on each flight's SAQ job: collect, fail, resend (one check at a time)."""
        if not flights:
            return
        async with self._checking:
            records = await self.courier.records(flights)
            for flight, record in zip(flights, records, strict=True):
                if flight.finished:
                    continue
                if not flight.sent:
                    await self._send(flight)
                elif record is None:
                    log.warning(
                        "jobs %s: gone from Redis (restarted without its data?); resending", flight.key
                    )
                    await self._send(flight)
                elif record.status is Status.COMPLETE and not flight.waiting:
                    flight.finished = True  # an earlier run's batch: collected when asked for
                elif record.status is Status.COMPLETE:
                    await self._collect(flight, record)
                elif record.status is Status.FAILED or (
                    record.status is Status.ABORTED and not record.retryable
                ):
                    self._failed(flight, record)
                elif self.courier.stale(record) and await self.courier.unknown_to_saq(record):
                    silent = (time.time() * 1000 - record.touched) / 1000
                    log.warning(
                        "jobs %s: no heartbeat for %.0f s, unknown to SAQ; resending", flight.key, silent
                    )
                    await self._send(flight)
        await self._notify()

    async def _collect(self, flight: Flight, record: SaqJob) -> None:
        try:
            result_key, outcome = await self.courier.fetch(record)
        except WireError as exc:
            self.flights.fail(flight, GenerationError(f"the GPU worker's result could not be read: {exc}"))
            return
        if outcome is None:
            log.warning("jobs %s: finished, but its result is gone from Redis; resending", flight.key)
            flight.sent = False
            await self._send(flight)
            return
        self._sample_rate = outcome.sample_rate
        log.info(
            "jobs %s: result collected from %s (%d job(s))", flight.key, outcome.worker, len(outcome.results)
        )
        self.flights.resolve(flight, outcome)
        with contextlib.suppress(*REDIS_DOWN):
            await self.courier.clean(result_key, *flight.sources)

    def _failed(self, flight: Flight, record: SaqJob) -> None:
        last = (record.error or "").strip().splitlines()[-1:] or ["unknown error"]
        if record.status is Status.ABORTED:
            error = GenerationError(f"its GPU worker stopped responding ({record.attempts} attempt(s))")
        else:
            error = GenerationError(f"the GPU worker failed: {last[0][:200]}")
        log.error("jobs %s: %s", flight.key, error)
        self.flights.fail(flight, error)

    # -- the two loops --------------------------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self._refresh()
            except REDIS_DOWN as exc:
                self._outage.down(exc)
                self.fleet = Fleet()  # nobody can be reached: no ETA, "waiting for a GPU worker"
                await self._notify()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.psubscribe(self.keys.job_channels)
                    await pubsub.subscribe(self.keys.progress_channel)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._on_progress(message["data"])
                        elif message["type"] == "pmessage":
                            _route, key = split_job_id(message["channel"].decode())
                            flight = self.flights.by_key.get(key)
                            if flight is not None and not flight.finished:
                                await self._check_now([flight])
            except REDIS_DOWN as exc:
                self._outage.down(exc)
                await asyncio.sleep(1.0)

    def _on_progress(self, data: bytes) -> None:
        try:
            job_id, step, total, stage = json.loads(data)
        except (ValueError, TypeError):
            return
        flight = self.flights.by_job.get(int(job_id))
        if flight is None or job_id in self.flights.stopping:
            return
        listener = flight.listeners.get(int(job_id))
        if listener is not None:
            listener(int(job_id), Progress(int(step), int(total), stage))
