"""The bot's books on the GPU workers and its batches in Redis: sending, checking, collecting.

Two loops keep the books: a pub/sub listener (job changes, every step's progress) for speed, and
a poll every half heartbeat for certainty — it reads the workers' presence, collects finished
results, and hands a batch out again when Redis lost it (a restart without persistence) or its
record went stale with no worker left to sweep it. SQLite stays the truth: a batch the bot still
waits on is never lost, only re-sent. Nothing here imports torch.

Redis failing — unreachable, or answering errors such as ``OOM command not allowed`` (full, with
``noeviction``) or ``READONLY`` (a replica after a failover) — never ends a loop: each failure is
contained where it happens, said once (:class:`~bot.remote.broker.Outage`), and the loops retry
with a backoff that doubles up to :data:`MAX_BACKOFF_S`; both loops are also supervised
(:class:`~bot.tasks.Supervised`), so a bug is logged at ERROR and the loop restarted. A batch holds
a worker's slot only once Redis took it: one whose send failed waits in the books, holding none,
and the poll sends it (before any new batch: no new one is taken while Redis fails) once Redis
accepts it — SAQ's key makes a second send of a batch Redis did take a no-op; a stop Redis
refused waits the same way, and goes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from redis.asyncio import Redis
from saq.job import Job as SaqJob
from saq.job import Status

from bot.config import ExecutorConfig
from bot.remote.broker import REDIS_DOWN, Keys, Outage, ResilientQueue, batch_key, split_job_id
from bot.remote.courier import Courier
from bot.remote.flights import Fleet, Flight, Flights, parse_workers
from bot.remote.wire import WireError
from bot.tasks import Supervised
from generation.errors import GenerationError
from generation.recipes.order import Progress

log = logging.getLogger(__name__)

#: The sample rate assumed until a worker has said its own (AudioLDM2's).
DEFAULT_SAMPLE_RATE = 16_000
#: The longest wait between two tries of a loop while Redis fails (the waits double up to it).
MAX_BACKOFF_S = 5.0
#: The listener's first wait after a failure.
FIRST_BACKOFF_S = 0.2


class RedisBookkeeping:
    """What the bot knows of the workers and the batches in Redis (a base of :class:`RemoteExecutor`)."""

    def __init__(self, client: Redis, settings: ExecutorConfig, max_attempts: int, identity: str) -> None:
        self.client = client
        self.identity = identity
        """Of the database this bot runs on (see :mod:`bot.storage.identity`)."""
        self.settings = settings
        self.keys = Keys(settings.queue_name)
        self.queue = ResilientQueue(client, settings.queue_name)
        """Where the workers' presence is (batches are in the queues of their models)."""
        self.courier = Courier(client, settings, max_attempts, identity)
        self.flights = Flights()
        self.fleet = Fleet()
        self.poll_s = max(0.2, settings.heartbeat_s / 2)
        self._changed = asyncio.Condition()
        self._outage = Outage("the bot")
        self._tasks: set[asyncio.Task[object]] = set()
        self._warned: set[str] = set()
        self._stops: set[int] = set()
        """Jobs whose stop Redis did not take yet (the poll sends it again, before any batch)."""
        self._sample_rate = DEFAULT_SAMPLE_RATE
        self._checking = asyncio.Lock()
        self.loops = (
            Supervised("the Redis poll", self._poll),
            Supervised("the Redis listener", self._listen),
        )
        """The two loops (started by the executor; restarted after a bug)."""

    # -- talking to Redis ---------------------------------------------------------------------------

    async def _send(self, flight: Flight) -> None:
        """Write ``flight`` to Redis; while Redis fails it waits (holding no slot) and the poll
        sends it later."""
        try:
            await self.courier.send(flight)
        except REDIS_DOWN as exc:
            self._outage.down(exc)
            flight.sent = False
            return
        flight.sent = True
        log.info("jobs %s: handed to the GPU workers (%s)", flight.label, flight.route)

    def _stop_ticket(self, job_id: int) -> str | None:
        """What a stop of ``job_id`` names: this database's identity, the job's id and nonce (None
        once no batch of it is in flight)."""
        flight = self.flights.by_job.get(job_id)
        if flight is None:
            return None
        return batch_key(self.identity, [(job_id, flight.nonce_of(job_id) or "")])

    async def _send_stop(self, job_id: int) -> None:
        """Tell the workers to stop ``job_id``; while Redis fails, the poll tells them later."""
        ticket = self._stop_ticket(job_id)
        if ticket is None:
            return
        try:
            await self.courier.stop(ticket)
        except REDIS_DOWN as exc:
            self._outage.down(exc)
            self._stops.add(job_id)

    async def _resend_stops(self) -> None:
        for job_id in sorted(self._stops):
            ticket = self._stop_ticket(job_id)
            if ticket is not None:  # still running: a stop is still wanted
                try:
                    await self.courier.stop(ticket)
                except REDIS_DOWN as exc:
                    self._outage.down(exc)  # the workers are still seen; the next poll tries again
                    return
            self._stops.discard(job_id)

    async def _refresh(self) -> None:
        """Who is online, and how every batch in flight stands; Redis answers again only once a
        whole round went without a failure (a batch still unsent keeps it failing)."""
        failures = self._outage.failures
        info = await self.queue.info()
        await self._resend_stops()  # before any batch is sent again: its worker reads them at start
        self.fleet = parse_workers(info.get("workers") or {}, self._warned)
        if self.fleet.workers:
            self._sample_rate = self.fleet.workers[0].sample_rate
        await self._check(self.flights.live())
        self.flights.expire(self.settings.result_ttl_s)
        if self._outage.failures == failures:
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
                elif record is None and flight.adopted and not flight.waiting:
                    self.flights.forget(flight)  # nobody waits on it: a later submit sends afresh
                elif record is None:
                    log.warning(
                        "jobs %s: gone from Redis (restarted without its data?); resending", flight.label
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
                        "jobs %s: no heartbeat for %.0f s, unknown to SAQ; resending", flight.label, silent
                    )
                    await self._send(flight)
        await self._notify()

    async def _collect(self, flight: Flight, record: SaqJob) -> None:
        try:
            result_key, outcome = await self.courier.fetch(record)
        except WireError as exc:
            self.flights.fail(flight, GenerationError(f"the GPU worker's result could not be read: {exc}"))
            return
        if outcome is not None and outcome.batch != flight.key:
            # Never delivered: its jobs may be another database's (a key reused by hand, a bug).
            log.warning("jobs %s: its result answers batch %r; resending", flight.label, outcome.batch)
            outcome = None
        if outcome is None:
            log.warning("jobs %s: finished, but its result is gone from Redis; resending", flight.label)
            flight.sent = False
            await self._send(flight)
            return
        self._sample_rate = outcome.sample_rate
        log.info("jobs %s: result collected from %s (%d job(s))",
                 flight.label, outcome.worker, len(outcome.results))  # fmt: skip
        self.flights.resolve(flight, outcome)
        with contextlib.suppress(*REDIS_DOWN):
            await self.courier.clean(result_key, *flight.sources)

    def _failed(self, flight: Flight, record: SaqJob) -> None:
        last = (record.error or "").strip().splitlines()[-1:] or ["unknown error"]
        if record.status is Status.ABORTED:
            error = GenerationError(f"its GPU worker stopped responding ({record.attempts} attempt(s))")
        else:
            error = GenerationError(f"the GPU worker failed: {last[0][:200]}")
        log.error("jobs %s: %s", flight.label, error)
        self.flights.fail(flight, error)

    # -- the two loops --------------------------------------------------------------------------

    async def _poll(self) -> None:
        wait = self.poll_s
        while True:
            await asyncio.sleep(wait)
            failures = self._outage.failures
            try:
                await self._refresh()
            except REDIS_DOWN as exc:
                self._outage.down(exc)
                self.fleet = Fleet()  # nobody can be reached: no ETA, "waiting for a GPU worker"
                await self._notify()
            failed = self._outage.failures != failures
            wait = min(MAX_BACKOFF_S, max(self.poll_s, wait * 2)) if failed else self.poll_s

    async def _listen(self) -> None:
        wait = 0.0
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.psubscribe(self.keys.job_channels)
                    await pubsub.subscribe(self.keys.progress_channel)
                    async for message in pubsub.listen():
                        wait = 0.0  # Redis talks to us again
                        if message["type"] == "message":
                            self._on_progress(message["data"])
                        elif message["type"] == "pmessage":
                            _route, key = split_job_id(message["channel"].decode())
                            flight = self.flights.by_key.get(key)
                            if flight is not None and not flight.finished:
                                await self._check_now([flight])
            except REDIS_DOWN as exc:
                self._outage.down(exc)
                wait = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, wait * 2))
                await asyncio.sleep(wait)

    def redis_health(self) -> str | None:
        """How Redis answers the bot, in plain words for ``/status`` (None: fine)."""
        health = self._outage.health()
        if health is None and any(loop.state.startswith("restarting") for loop in self.loops):
            return "the bot's bookkeeping restarts after an error"
        return health

    def _on_progress(self, data: bytes) -> None:
        try:
            job_id, step, total, stage, *rest = json.loads(data)
            job_id, step, total = int(job_id), int(step), int(total)
        except (ValueError, TypeError):
            return
        flight = self.flights.by_job.get(job_id)
        if flight is None or job_id in self.flights.stopping:
            return
        if flight.nonce_of(job_id) != (str(rest[0]) if rest else ""):
            return  # a job of another database (or of this one before a restore) with this id
        listener = flight.listeners.get(job_id)
        if listener is not None:
            listener(job_id, Progress(step, total, stage))
