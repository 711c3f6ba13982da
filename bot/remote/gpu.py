"""A GPU worker's part of each batch: take it, run it on the local GPU, hand back the outcome.

The work itself is the bot's own :class:`~bot.jobs.local_executor.LocalExecutor` — the GPU thread
(watchdog, out-of-memory split) and the one render path of :mod:`generation.recipes.render` — so
a batch makes the same sound here as in the bot's process. Around it:

- :class:`GpuTurn` — a worker asks Redis for its next batch only while its GPU is free: one batch
  on the GPU, the one before it being finished (MP3s) meanwhile. No worker hoards work another
  idle worker could start.
- :class:`BatchRunner` — the SAQ job function: loads a layer reroll's stems, skips jobs cancelled
  while queued, stops a job between steps when its user cancels (``…:stop``), publishes every step
  (``…:progress``), keeps the job's heartbeat, and stores the outcome blob with an expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from saq.job import Job as SaqJob

from bot.jobs.executor import Work
from bot.jobs.local_executor import LocalExecutor
from bot.logs import job_context
from bot.metrics import metrics
from bot.remote.broker import PROTOCOL, REDIS_DOWN, Keys, Outage, batch_key, label, ride_out
from bot.remote.wire import Outcome, encode_outcomes, mix_from_bytes, order_from_dict
from generation.errors import Cancelled, GenerationError
from generation.recipes.order import Progress

log = logging.getLogger(__name__)

#: How long a batch taken from Redis may take to start before the GPU counts as free again.
CLAIM_TIMEOUT_S = 60.0


class GpuTurn:
    """Whose batch holds this worker's GPU; the next one is taken from Redis only when it is free."""

    def __init__(self, claim_timeout_s: float = CLAIM_TIMEOUT_S) -> None:
        self.taking = asyncio.Lock()
        """Held by the one queue slot that waits in Redis for the next batch."""
        self._free = asyncio.Event()
        self._free.set()
        self._owner: str | None = None
        self._started = False
        self._claimed_at = 0.0
        self._claim_timeout_s = claim_timeout_s

    async def wait_free(self) -> None:
        while not self._free.is_set():
            # A batch taken from Redis whose run never began (SAQ failed between taking it and
            # starting it) must not hold the GPU for ever.
            if not self._started and time.monotonic() - self._claimed_at > self._claim_timeout_s:
                log.warning("batch %s was taken but never started here; the GPU is free again", self._owner)
                self.release(self._owner)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._free.wait(), 1.0)

    def claim(self, key: str) -> None:
        self._owner, self._started, self._claimed_at = key, False, time.monotonic()
        self._free.clear()

    def started(self, key: str) -> None:
        if self._owner == key:
            self._started = True

    def release(self, key: str | None) -> None:
        if self._owner == key:
            self._owner = None
            self._free.set()

    @property
    def busy(self) -> bool:
        return self._owner is not None


class BatchRunner:
    """Runs the batches SAQ hands this worker (see the module docstring)."""

    def __init__(
        self,
        local: LocalExecutor,
        client: Redis,
        keys: Keys,
        turn: GpuTurn,
        *,
        name: str,
        heartbeat_s: int,
        result_ttl_s: int,
    ) -> None:
        self.local = local
        self.client = client
        self.keys = keys
        self.turn = turn
        self.name = name
        self.heartbeat_s = heartbeat_s
        self.result_ttl_s = result_ttl_s
        self.running: dict[int, str] = {}
        """Job id → the batch it runs in, on this worker."""
        self.tickets: dict[str, int] = {}
        """The stop ticket of each job of the batches here (its database's identity, id and
        nonce: a stop names one job of one database) → its job id."""
        self.stopped: set[int] = set()
        self.done = 0
        self._pending: dict[int, Progress] = {}
        self._nonces: dict[int, str] = {}
        """Job id → its nonce, for the progress messages (the bot checks it)."""
        self._wake = asyncio.Event()
        self._outage = Outage(f"worker {name}")

    # -- the SAQ job function ---------------------------------------------------------------------

    async def render_batch(
        self,
        ctx: dict[str, Any],
        *,
        orders: list[dict[str, Any]],
        protocol: int,
        models: list[str] | None = None,
        identity: str = "",
    ) -> dict:
        """Run one batch; returns where its outcome blob is (a small record, kept by SAQ)."""
        job: SaqJob = ctx["job"]
        key = job.key
        self.turn.started(key)
        ids = [int(order["job_id"]) for order in orders]
        nonces = {int(order["job_id"]): str(order.get("nonce") or "") for order in orders}
        self.tickets.update({batch_key(identity, [(i, nonce)]): i for i, nonce in nonces.items()})
        self._nonces.update(nonces)
        # Dead after three of *this* worker's heartbeats, whatever the bot's config says.
        job.heartbeat = 3 * self.heartbeat_s
        heartbeat = asyncio.create_task(self._heartbeat(job, ids), name=f"heartbeat-{key}")
        try:
            with job_context(ids[0]):
                outcomes = await self._run(key, orders, ids, protocol, models or [])
                blob = await asyncio.to_thread(
                    encode_outcomes,
                    outcomes,
                    model=self.local.model_name,
                    sample_rate=self.local.sample_rate,
                    worker=self.name,
                    batch=key,
                )
                result_key = self.keys.result(key, f"{self.name}.{job.attempts}.{secrets.token_hex(4)}")
                await ride_out(
                    f"jobs {key}: storing the result",
                    lambda: self.client.set(result_key, blob, ex=self.result_ttl_s),
                )
                self.done += 1
                made = [o for o in outcomes.values() if not isinstance(o, BaseException)]
                seconds = max((o.seconds for o in made), default=0.0)
                log.info(
                    "jobs %s: done on %s in %.2fs (%s), result %d bytes",
                    label(key), self.name, seconds, _summary(outcomes), len(blob),
                )  # fmt: skip
                return {"result_key": result_key, "bytes": len(blob), "worker": self.name}
        finally:
            heartbeat.cancel()
            self.turn.release(key)
            for job_id in ids:
                self.running.pop(job_id, None)
                self.stopped.discard(job_id)
                self._pending.pop(job_id, None)
                self._nonces.pop(job_id, None)
            for stop in [t for t, job_id in self.tickets.items() if job_id in ids]:
                del self.tickets[stop]

    async def _run(
        self, key: str, orders: Sequence[dict[str, Any]], ids: list[int], protocol: int, models: list[str]
    ) -> dict[int, Outcome]:
        if protocol != PROTOCOL:
            error = GenerationError(f"the GPU worker speaks protocol {PROTOCOL}, the bot {protocol}")
            return dict.fromkeys(ids, error)
        missing = [model for model in models if model not in self.local.gpu.models]
        if missing:  # its queue said we serve them all: a worker configured under the wrong names
            error = GenerationError(f"the GPU worker {self.name} does not serve {', '.join(missing)}")
            return dict.fromkeys(ids, error)
        outcomes: dict[int, Outcome] = {}
        works: list[Work] = []
        try:
            await self._check_stops(ids)
        except REDIS_DOWN as exc:
            self._outage.down(exc)  # the heartbeat reads them again once Redis is back
        for order in orders:
            job_id = int(order["job_id"])
            if job_id in self.stopped:
                outcomes[job_id] = Cancelled()  # cancelled while it waited in Redis
                continue
            try:
                works.append(await self._work(order))
            except GenerationError as exc:
                outcomes[job_id] = exc
        if works:
            for work in works:
                self.running[work.job_id] = key
            log.info("jobs %s: starting %d job(s) on %s", label(key), len(works), self.name)
            try:
                futures = await self.local.submit(works, self._progress)
            finally:
                self.turn.release(key)  # the GPU part is over: the next batch may start
            results = await asyncio.gather(*futures, return_exceptions=True)
            outcomes.update(zip((w.job_id for w in works), results, strict=True))
            _count(works, results)
        return {job_id: outcomes[job_id] for job_id in ids}

    async def _work(self, order: dict[str, Any]) -> Work:
        source = None
        if order.get("source_key"):
            data = await ride_out("loading stems", lambda: self.client.get(order["source_key"]))
            if data is None:
                raise GenerationError("the stored layers did not reach the GPU worker (expired in Redis)")
            source = await asyncio.to_thread(mix_from_bytes, data)
        return order_from_dict(order, source)

    @property
    def redis_down(self) -> bool:
        """Whether this worker's last call to Redis failed (for ``/readyz``)."""
        return self._outage.is_down

    # -- cancellation, progress, heartbeat --------------------------------------------------------

    def stop(self, ticket: str) -> None:
        """A user cancelled the job of ``ticket``: stop it between two steps if it runs here."""
        job_id = self.tickets.get(ticket)
        if job_id is not None and job_id in self.running and job_id not in self.stopped:
            self.stopped.add(job_id)
            self.local.cancel(job_id)
            log.info("job %d: stopping (cancelled by its user)", job_id)

    async def _check_stops(self, ids: Sequence[int]) -> None:
        """Cancellations announced while nobody listened (queued, or Redis was away) are in keys."""
        tickets = [(stop, job_id) for stop, job_id in self.tickets.items() if job_id in ids]
        if not tickets:
            return
        flags = await self.client.mget([self.keys.stop(stop) for stop, _ in tickets])
        for (_stop, job_id), flag in zip(tickets, flags, strict=True):
            if flag is not None:
                self.stopped.add(job_id)
                if job_id in self.running:
                    self.local.cancel(job_id)

    def _progress(self, job_id: int, progress: Progress) -> None:
        self._pending[job_id] = progress
        self._wake.set()

    async def publish_progress(self) -> None:
        """Runs for the worker's life: every step of every job to ``…:progress`` (latest first)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            for job_id, progress in pending.items():
                nonce = self._nonces.get(job_id, "")
                message = json.dumps([job_id, progress.step, progress.total, progress.stage, nonce])
                try:
                    await self.client.publish(self.keys.progress_channel, message)
                    self._outage.up()
                except REDIS_DOWN as exc:
                    self._outage.down(exc)  # progress is only shown; the next step says it again

    async def listen_for_stops(self) -> None:
        """Runs for the worker's life: cancellations on ``…:stop``, resubscribing after outages."""
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.keys.stop_channel)
                    self._outage.up()
                    await self._check_stops(list(self.running))
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            with contextlib.suppress(ValueError):
                                self.stop(message["data"].decode())
            except REDIS_DOWN as exc:
                self._outage.down(exc)
                await asyncio.sleep(1.0)

    async def _heartbeat(self, job: SaqJob, ids: Sequence[int]) -> None:
        """Touch the SAQ job (a worker silent for 3 heartbeats is presumed dead) and re-read stops."""
        first = True
        while True:
            if not first:
                await asyncio.sleep(self.heartbeat_s)
            first = False
            try:
                await self._check_stops(ids)
                await job.update()
            except REDIS_DOWN as exc:
                self._outage.down(exc)


def _count(works: Sequence[Work], results: Sequence[object]) -> None:
    """This worker's GPU time, for its own ``/metrics`` (the bot counts the same batch for all)."""
    seconds = max((r.seconds for r in results if not isinstance(r, BaseException)), default=0.0)  # type: ignore[attr-defined]
    if seconds > 0:
        clips = sum(work.render.variations for work in works)
        metrics().batch_rendered(works[0].render.request.model, seconds, clips)


def _summary(outcomes: dict[int, Outcome]) -> str:
    words = []
    for job_id, outcome in outcomes.items():
        if isinstance(outcome, BaseException):
            words.append(f"{job_id}: {type(outcome).__name__}")
        else:
            words.append(f"{job_id}: {len(outcome.posted)} clip(s)")
    return ", ".join(words)
