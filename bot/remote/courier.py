"""The bot's trips to Redis: a batch (and its stems) out, a stop request, a result back.

Each batch goes to the SAQ queue of the models it needs (its route, see :mod:`bot.remote.routes`).
No bookkeeping and no retries here: every call raises the Redis client's error when Redis is
unreachable, and the executor decides what that means (see :mod:`bot.remote.bookkeeping`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from saq.job import TERMINAL_STATUSES, Status
from saq.job import Job as SaqJob

from bot.config import ExecutorConfig
from bot.remote.broker import FUNCTION, PROTOCOL, Keys, ResilientQueue, parse_key, split_job_id
from bot.remote.flights import Flight
from bot.remote.wire import Outcomes, decode_outcomes, mix_to_bytes

log = logging.getLogger(__name__)


class Courier:
    """Carries flights to Redis and their results back (see the module docstring)."""

    def __init__(self, client: Redis, settings: ExecutorConfig, max_attempts: int, identity: str) -> None:
        self.client = client
        self.identity = identity
        """Of the database this bot runs on: only its batches are ever adopted."""
        self.foreign: set[str] = set()
        """Keys of other databases' batches seen (each logged once)."""
        self.queues: dict[str, ResilientQueue] = {}
        """The SAQ queue of each route used so far."""
        self.keys = Keys(settings.queue_name)
        self.ttl_s = settings.result_ttl_s
        self.heartbeat_s = settings.heartbeat_s
        self.max_attempts = max_attempts

    def queue(self, route: str) -> ResilientQueue:
        if route not in self.queues:
            self.queues[route] = ResilientQueue(self.client, route)
        return self.queues[route]

    async def send(self, flight: Flight) -> None:
        """Write ``flight``'s stems, then its SAQ job in its route's queue (refused by SAQ while one
        with its key is live), then wake the workers that consume that queue."""
        for source_key, mix in flight.sources.items():
            await self.client.set(source_key, await asyncio.to_thread(mix_to_bytes, mix), ex=self.ttl_s)
        await self.queue(flight.route).enqueue(
            SaqJob(
                function=FUNCTION,
                key=flight.key,
                kwargs={
                    "orders": flight.orders,
                    "protocol": PROTOCOL,
                    "models": list(flight.models),
                    "identity": self.identity,
                },
                timeout=0,  # renders take what they take; the heartbeat says whether a worker lives
                heartbeat=3 * self.heartbeat_s,  # each worker sets its own once it starts the batch
                retries=self.max_attempts,
                ttl=self.ttl_s,
            )
        )
        await self.client.publish(self.keys.work_channel, flight.route)

    async def stop(self, ticket: str) -> None:
        """Tell every worker to stop the job of ``ticket`` (its database's identity, id and nonce):
        a key (read at each batch start and heartbeat) and a message (heard at once)."""
        await self.client.set(self.keys.stop(ticket), b"1", ex=self.ttl_s)
        await self.client.publish(self.keys.stop_channel, ticket)

    async def records(self, flights: list[Flight]) -> list[SaqJob | None]:
        queues = [self.queue(flight.route) for flight in flights]
        blobs = await self.client.mget([q.job_id(f.key) for q, f in zip(queues, flights, strict=True)])
        return [q.deserialize(blob) for q, blob in zip(queues, blobs, strict=True)]

    async def fetch(self, record: SaqJob) -> tuple[str | None, Outcomes | None]:
        """The result blob a finished SAQ job points to, decoded (None: gone from Redis).

        Raises :class:`~bot.remote.wire.WireError` for a blob that is not one.
        """
        result = record.result if isinstance(record.result, dict) else {}
        key = result.get("result_key")
        blob = await self.client.get(key) if key else None
        if blob is None:
            return key, None
        return key, await asyncio.to_thread(decode_outcomes, blob)

    async def clean(self, *keys: str | None) -> None:
        present = [key for key in keys if key]
        if present:
            await self.client.delete(*present)

    def stale(self, record: SaqJob) -> bool:
        """Active, yet silent for twice its heartbeat limit (plus slack): no sweep has seen it."""
        limit_ms = (2 * (record.heartbeat or 3 * self.heartbeat_s) + 10) * 1000
        return record.status is Status.ACTIVE and time.time() * 1000 - record.touched > limit_ms

    async def unknown_to_saq(self, record: SaqJob) -> bool:
        """Not in SAQ's own lists (Redis lost them and a worker's heartbeat wrote the record back)."""
        return await self.client.zscore(record.queue.namespace("incomplete"), record.id) is None

    async def live_batches(self) -> AsyncIterator[Flight]:
        """Batches an earlier run of the bot handed out that Redis still has (finished ones too),
        in every route."""
        async for job_id in self.client.scan_iter(match=self.keys.job_channels, count=200):
            route, key = split_job_id(job_id.decode())
            parsed = parse_key(key)
            if parsed is None:
                continue
            if parsed[0] != self.identity:
                self._foreign(key, parsed[0])
                continue
            job = await self.queue(route).job(key)
            if job is None:
                continue
            kwargs = job.kwargs or {}
            orders, models = kwargs.get("orders"), kwargs.get("models")
            ours = kwargs.get("identity") == self.identity
            if job.function != FUNCTION or not ours or not orders or not models:
                continue
            if job.status in (Status.FAILED, Status.ABORTED):
                continue
            flight = Flight(job.key, list(orders), route, tuple(models), adopted=True, sent=True)
            flight.finished = job.status in TERMINAL_STATUSES
            yield flight

    def _foreign(self, key: str, identity: str) -> None:
        if key not in self.foreign:
            self.foreign.add(key)
            log.warning(
                "batch %s in Redis was made by another database (identity %s, ours %s: reset, or "
                "another bot on the same queue); leaving it, it expires in Redis",
                key, identity, self.identity,
            )  # fmt: skip
