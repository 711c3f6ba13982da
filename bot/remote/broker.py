"""What the bot and its GPU workers agree on in Redis, and the SAQ queue both sides use.

The queues are SAQ's: one SAQ job per batch, its key made of the identity of the database that
made it and the batch's job *tickets* (job id and nonce: ``"<identity>/42.<nonce>+43.<nonce>"``,
see :mod:`bot.storage.identity` — job ids alone are reused after a database reset or restore),
so SAQ refuses a second copy while one is live, in the queue of its protocol and the models it
needs (``saq:<queue_name>@v<protocol>@<models>:…``, see :mod:`bot.remote.routes`); the workers'
presence is in ``saq:<queue_name>:worker_info:…``. Beside them:

- ``ambientgen:<queue_name>:input:<key>:<job>`` — a layered scene's stems, for a layer reroll;
- ``ambientgen:<queue_name>:result:<key>:<token>`` — a finished batch's outcome blob;
- ``ambientgen:<queue_name>:stop:<identity>/<ticket>`` — a job its user cancelled (also announced on the
  ``…:stop`` channel); ``…:progress`` carries every denoising step of every running job (with
  its nonce), and ``…:work`` names the queue a batch was just put in (it wakes the workers that
  consume it).

Every blob has an expiry (``[executor] result_ttl_s``): Redis holds them only until the bot has
collected them, and never for ever if it is gone. :class:`ResilientQueue` rides out a Redis
restart: upkeep that fails waits and says so once, writes of a job's outcome are retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from saq.job import Job as SaqJob
from saq.job import Status
from saq.queue.redis import RedisQueue

from bot.remote.routes import PROTOCOL, route_prefix

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The SAQ function a worker registers.
FUNCTION = "render_batch"
#: Batches one worker holds: one on its GPU, one being finished (MP3s) while the next one runs.
SLOTS_PER_WORKER = 2
#: Every error of a trip to Redis: unreachable (connection refused or lost, a timeout) or an
#: error Redis answers (``OOM command not allowed`` once it is full with ``noeviction``,
#: ``READONLY`` from a replica after a failover, ``NOAUTH``…). None of them may end a loop: each
#: is contained where it happens, said once (:class:`Outage`), waited out and tried again.
REDIS_DOWN: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
#: How long a write that records a job's outcome keeps trying while Redis is down.
RIDE_OUT_S = 300.0
#: Waits between attempts while Redis is down (the last one repeats).
BACKOFF_S = (0.2, 0.5, 1.0, 2.0)
#: The error of a batch put back in the queue because its worker died.
SWEPT = "its GPU worker stopped responding"

__all__ = ["BACKOFF_S", "FUNCTION", "PROTOCOL", "REDIS_DOWN", "SLOTS_PER_WORKER", "Keys", "Status"]

#: Between a batch key's identity and its tickets.
IDENTITY_MARK = "/"


@dataclass(frozen=True)
class Keys:
    """Names of everything beside the SAQ queue (see the module docstring)."""

    queue_name: str

    @property
    def _base(self) -> str:
        return f"ambientgen:{self.queue_name}"

    def source(self, batch: str, job_id: int) -> str:
        return f"{self._base}:input:{batch}:{job_id}"

    def result(self, batch: str, token: str) -> str:
        return f"{self._base}:result:{batch}:{token}"

    def stop(self, ticket: str) -> str:
        return f"{self._base}:stop:{ticket}"

    @property
    def stop_channel(self) -> str:
        return f"{self._base}:stop"

    @property
    def progress_channel(self) -> str:
        return f"{self._base}:progress"

    @property
    def work_channel(self) -> str:
        return f"{self._base}:work"

    @property
    def job_channels(self) -> str:
        """The pattern of every batch's SAQ id in every route of this protocol
        (``saq:job:<route>:<key>``), which is also the channel SAQ announces its changes on."""
        return f"saq:job:{route_prefix(self.queue_name)}*"


def split_job_id(job_id: str) -> tuple[str, str]:
    """``saq:job:<route>:<key>`` → (route, key); a route and a key never contain ':'."""
    route, _, key = job_id.removeprefix("saq:job:").rpartition(":")
    return route, key


def ticket(job_id: int, nonce: str) -> str:
    """One job of one database's batch: ``"42.<nonce>"`` (``"42"`` for a job without a nonce)."""
    return f"{job_id}.{nonce}" if nonce else str(job_id)


def batch_key(identity: str, tickets: Iterable[tuple[int, str]]) -> str:
    """The SAQ key of a batch: the identity of the database that made it and its jobs' tickets,
    in order (see the module docstring)."""
    return identity + IDENTITY_MARK + "+".join(ticket(job_id, nonce) for job_id, nonce in tickets)


def parse_key(key: str) -> tuple[str, list[tuple[int, str]]] | None:
    """(identity, [(job id, nonce)]) of a batch key; None for a key no bot of this protocol made."""
    identity, mark, rest = key.partition(IDENTITY_MARK)
    if not mark or not identity or not rest:
        return None
    tickets = []
    for part in rest.split("+"):
        job_id, _, nonce = part.partition(".")
        if not job_id.isdigit():
            return None
        tickets.append((int(job_id), nonce))
    return identity, tickets


def job_ids_of(key: str) -> list[int]:
    """The job ids of a batch key; [] for a key this bot did not make."""
    parsed = parse_key(key)
    return [job_id for job_id, _nonce in parsed[1]] if parsed else []


def label(key: str) -> str:
    """A batch as logs name it: its job ids (``"42+43"``), or the key itself if it is not one."""
    return "+".join(map(str, job_ids_of(key))) or key


def connect(url: str, password: str | None = None) -> Redis:
    """A client that fails fast while Redis is down (callers wait and retry on their own terms)."""
    return Redis.from_url(
        url,
        password=password or None,
        socket_connect_timeout=3.0,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
    )


def answered(exc: BaseException) -> bool:
    """Whether Redis itself answered with an error (full, read-only…), as opposed to being out of
    reach: that needs an operator, so it is logged at ERROR."""
    return isinstance(exc, redis.exceptions.ResponseError)


class Outage:
    """Says once that Redis fails (unreachable: WARNING; answering errors: ERROR), and once that it
    answers again — however many tries fail in between."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.since: float | None = None
        """``time.monotonic()`` of the first failure of this outage (None: Redis answers)."""
        self.since_wall: float | None = None
        """The same moment as a wall-clock time (for ``/status``)."""
        self.answering_errors = False
        """Redis answered with errors during this outage (not only out of reach)."""
        self.failures = 0
        """Every failure so far (a caller tells whether one happened during a round of work)."""

    def down(self, exc: BaseException) -> None:
        self.failures += 1
        what = f"{type(exc).__name__}: {exc}"[:300]
        if answered(exc) and not self.answering_errors:
            self.answering_errors = True
            log.error("%s: Redis answers errors (%s); waiting and retrying", self.who, what)
        elif self.since is None and not answered(exc):
            log.warning("%s: Redis is unreachable (%s); waiting", self.who, what)
        if self.since is None:
            self.since, self.since_wall = time.monotonic(), time.time()

    def up(self) -> None:
        if self.since is not None:
            log.warning("%s: Redis answers again after %.1f s", self.who, time.monotonic() - self.since)
            self.since = self.since_wall = None
            self.answering_errors = False

    @property
    def is_down(self) -> bool:
        return self.since is not None

    def health(self) -> str | None:
        """Plain words for users ("answering errors since 22:41 UTC"), None while Redis answers.

        Never the error itself: it may name hosts and ports.
        """
        if self.since_wall is None:
            return None
        at = time.strftime("%H:%M UTC", time.gmtime(self.since_wall))
        return f"answering errors since {at}" if self.answering_errors else f"unreachable since {at}"


async def ride_out(what: str, call: Callable[[], Awaitable[T]], limit_s: float = RIDE_OUT_S) -> T:
    """``call()``, retried while Redis is down, for up to ``limit_s`` (then its error is raised)."""
    deadline = time.monotonic() + limit_s
    attempt = 0
    while True:
        try:
            return await call()
        except REDIS_DOWN as exc:
            if time.monotonic() > deadline:
                raise
            if attempt == 0:
                level = logging.ERROR if answered(exc) else logging.WARNING
                log.log(level, "%s: Redis fails (%s: %s); retrying", what, type(exc).__name__, exc)
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1


class ResilientQueue(RedisQueue):
    """SAQ's Redis queue, made to ride out a Redis restart (see the module docstring)."""

    def __init__(self, client: Redis, name: str) -> None:
        super().__init__(client, name=name, swept_error_message=SWEPT)
        self.outage = Outage(f"queue {name}")
        self._just_taken: set[bytes] = set()

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> SaqJob | None:  # noqa: ASYNC109
        try:
            job = await super().dequeue(timeout, poll_interval)
        except REDIS_DOWN as exc:
            self.outage.down(exc)
            await asyncio.sleep(BACKOFF_S[-1])
            return None
        self.outage.up()
        return job

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        try:
            return await self._sweep_dead(lock)
        except REDIS_DOWN as exc:
            self.outage.down(exc)
            return []

    async def _sweep_dead(self, lock: int) -> list[str]:
        """Put batches whose worker died back in the queue (or end them past their attempts).

        Dead means: its record is gone, or it is active and has not heartbeat for
        ``job.heartbeat`` seconds, or it still says "queued" in the active list at two sweeps in
        a row. (SAQ's own sweep takes a batch for dead the moment it sees "queued" there, which
        is also the instant between a worker's move and its status write, and then kills a
        healthy run.) One worker sweeps at a time (a lock for ``lock`` seconds).
        """
        if not await self.redis.set(self.namespace("sweep"), 1, ex=max(1, lock), nx=True):
            return []
        ids = await self.redis.lrange(self.namespace("active"), 0, -1)
        records = await self.redis.mget(ids) if ids else []
        swept, taken = [], set()
        for job_id, record in zip(ids, records, strict=True):
            job = self.deserialize(record) if record else None
            if job is None:
                await self.redis.lrem(self.namespace("active"), 0, job_id)
                swept.append(job_id.decode())
                continue
            if job.status in (Status.QUEUED, Status.NEW):
                taken.add(job_id)
                if job_id not in self._just_taken:
                    continue  # probably moved a moment ago: its worker is writing "active"
            elif not job.stuck:
                continue
            log.warning(
                "batch %s: its worker stopped heartbeating (attempt %d)", label(job.key), job.attempts
            )
            swept.append(job_id.decode())
            if job.retryable:
                await self.retry(job, SWEPT)
            else:
                await self.finish(job, Status.ABORTED, error=SWEPT)
        self._just_taken = taken
        return swept

    async def schedule(self, lock: int = 1) -> list[str]:
        try:
            return await super().schedule(lock)
        except REDIS_DOWN as exc:
            self.outage.down(exc)
            return []

    async def write_worker_info(self, worker_id: str, info: Any, ttl: int) -> None:
        try:
            await super().write_worker_info(worker_id, info, ttl)
        except REDIS_DOWN as exc:
            self.outage.down(exc)

    # A job's own record: what the worker did must reach Redis once it is back.

    async def _update(self, job: SaqJob, status: Status | None = None, **kwargs: Any) -> None:
        await ride_out(f"job {job.key}: update", lambda: super(ResilientQueue, self)._update(job, status))

    async def _finish(
        self, job: SaqJob, status: Status, *, result: Any = None, error: str | None = None
    ) -> None:
        await ride_out(
            f"job {job.key}: finish",
            lambda: super(ResilientQueue, self)._finish(job, status, result=result, error=error),
        )

    async def _retry(self, job: SaqJob, error: str | None) -> None:
        await ride_out(f"job {job.key}: retry", lambda: super(ResilientQueue, self)._retry(job, error))
