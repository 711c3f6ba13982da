"""The bot's executor when the model runs on GPU workers: batches go through Redis (SAQ).

The scheduler keeps fairness and limits: it takes a batch from its fair queue only when
:meth:`RemoteExecutor.route` says a worker that serves every model of the batch has room, so
Redis never holds more than the workers can start (one batch on each GPU plus the next one each),
a later fair turn never waits behind a long Redis list, and a batch for a model no online worker
serves keeps its place while other models' batches go by. Each batch is one SAQ job keyed by its
database's identity and its jobs' ids and nonces, in the queue of its protocol and the models it
needs (see :mod:`bot.remote.routes`); at start the executor reads what an earlier run *of the same
database* left in Redis and waits on it instead of handing those jobs out again (another
database's batches, or this one's from before a restore, are never adopted: see
:mod:`bot.storage.identity`). That work is alive: restarting the bot does not count as one of its
attempts (:meth:`RemoteExecutor.surviving`), and the bot needs no grace for it when it stops
(:attr:`RemoteExecutor.detached`): the worker goes on, and the next start collects the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence

from redis.asyncio import Redis

from bot.config import REDIS_PASSWORD_ENV, Config, ExecutorConfig
from bot.jobs.executor import ExecutorInfo, ExecutorUnavailable, ProgressListener, Route, Work
from bot.remote.bookkeeping import RedisBookkeeping
from bot.remote.broker import REDIS_DOWN, batch_key, connect
from bot.remote.flights import Flight, describe
from bot.remote.routes import resolve, route_name
from bot.remote.wire import order_to_dict
from bot.tasks import spawn
from generation.recipes.order import Rendered
from generation.request import GenerationRequest

log = logging.getLogger(__name__)


class RemoteExecutor(RedisBookkeeping):
    """GPU workers through Redis (see the module docstring)."""

    kind = "redis"
    detached = True
    """Its running work outlives the bot (on the workers): a stop needs no grace for it."""

    def __init__(
        self,
        client: Redis,
        settings: ExecutorConfig,
        *,
        offered: Sequence[str],
        max_attempts: int,
        max_batch: int = 0,
        identity: str,
    ) -> None:
        if not offered:
            raise ValueError("the bot offers at least one model")
        super().__init__(client, settings, max_attempts, identity)
        self.offered = tuple(offered)
        """The models users may ask for (the bot's ``[model]``), the default first."""
        self.max_attempts = max_attempts
        self.max_batch = max_batch

    @classmethod
    def from_config(cls, config: Config, identity: str) -> RemoteExecutor:
        """``identity``: the database's (see :mod:`bot.storage.identity`)."""
        settings = config.executor
        client = connect(settings.redis_url, os.environ.get(REDIS_PASSWORD_ENV))
        return cls(
            client,
            settings,
            offered=config.model.catalog().names,
            max_attempts=config.queue.max_attempts,
            max_batch=config.queue.max_batch,
            identity=identity,
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
        for loop in self.loops:  # supervised: a bug is logged at ERROR and the loop restarted
            loop.start()
        log.info("GPU workers through Redis %s, queue %s: %d online", self.settings.redis_url,
                 self.settings.queue_name, self.fleet.online)  # fmt: skip

    async def close(self) -> None:
        # Batches still running stay in Redis: the next start finds them and waits on them.
        for loop in self.loops:
            await loop.stop()
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

    def surviving(self) -> frozenset[tuple[int, str]]:
        """(job id, nonce) of every job whose batch from an earlier run is alive in Redis (queued,
        running or finished): that run did not die, so the restart is no attempt of its jobs."""
        return frozenset(
            (job_id, flight.nonce_of(job_id) or "")
            for flight in self.flights.by_key.values()
            if flight.adopted
            for job_id in flight.job_ids
            if self.flights.by_job.get(job_id) is flight
        )

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
        """The batches holding a worker's slot: those Redis took (not one whose send failed)."""
        return [flight.demand for flight in self.flights.live() if flight.sent]

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
            flight = self.flights.attach(work.job_id, work.nonce, future, progress)
            if flight is None:
                fresh.append((work, future))
                continue
            log.info("job %d: already in Redis (batch %s); waiting on it", work.job_id, flight.label)
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
            if not flight.sent:
                log.warning("jobs %s: Redis did not take them; they wait, holding no worker slot, "
                            "and go as soon as it does", flight.label)  # fmt: skip
        if adopted:
            await self._check_now(adopted)
        return futures

    def _flight(self, works: Sequence[Work]) -> Flight:
        key = batch_key(self.identity, ((work.job_id, work.nonce) for work in works))
        orders, sources, models = [], {}, set()
        for work in works:
            # Named here: a worker's own default model may be another one.
            work = Work(work.job_id, work.render.naming(self.model_name), work.nonce)
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
        health = self.redis_health()
        state = f"waiting for Redis ({health})" if health else None
        out = len(self._live())
        return describe(self.kind, self.fleet, out, self.offered, state, health)
