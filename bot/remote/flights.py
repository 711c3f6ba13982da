"""The bot's books on remote work: batches handed to Redis (flights) and the workers online.

Pure bookkeeping, no Redis: :class:`Flights` knows which SAQ batch each job id is in (one live
batch per job, so a job is never handed out twice), which futures wait on it, and how much room
the workers have; :func:`parse_workers` reads the workers' presence records into a
:class:`Fleet` (who is online, with which model, and how big a batch each can take).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config import ExecutorConfig
from bot.jobs.executor import ExecutorInfo, ProgressListener
from bot.remote.broker import PROTOCOL
from bot.remote.wire import Outcome, Outcomes
from generation.errors import Cancelled
from generation.recipes.mixing import Mix
from generation.recipes.order import Rendered

log = logging.getLogger(__name__)


@dataclass
class Flight:
    """One SAQ batch: what it orders, and the bot's futures waiting for its jobs."""

    key: str
    orders: list[dict[str, Any]]
    sources: dict[str, Mix] = field(default_factory=dict)
    """Stems to upload (again, after Redis lost them) under their keys."""
    waiting: dict[int, asyncio.Future[Rendered]] = field(default_factory=dict)
    listeners: dict[int, ProgressListener] = field(default_factory=dict)
    adopted: bool = False
    """Found in Redis at start (handed out by an earlier run of the bot)."""
    sent: bool = False
    """The SAQ job was written to Redis (False: to be sent as soon as Redis answers)."""
    finished: bool = False
    """Its SAQ job reached an end (complete, failed or aborted)."""
    outcome: Outcomes | None = None
    """Kept for an adopted batch's jobs that were not asked for yet."""
    since: float = field(default_factory=time.monotonic)

    @property
    def job_ids(self) -> list[int]:
        return [int(order["job_id"]) for order in self.orders]


class Flights:
    """Every batch in Redis, by SAQ key and by job id."""

    def __init__(self) -> None:
        self.by_key: dict[str, Flight] = {}
        self.by_job: dict[int, Flight] = {}
        self.stopping: set[int] = set()

    def add(self, flight: Flight) -> None:
        self.by_key[flight.key] = flight
        for job_id in flight.job_ids:
            self.by_job[job_id] = flight

    def live(self) -> list[Flight]:
        """Batches whose SAQ job has not ended: they hold a worker's slot (or wait for one)."""
        return [f for f in self.by_key.values() if not f.finished]

    def attach(
        self, job_id: int, future: asyncio.Future[Rendered], listener: ProgressListener
    ) -> Flight | None:
        """Wait on ``job_id``'s live (or finished, unclaimed) batch, if there is one."""
        flight = self.by_job.get(job_id)
        if flight is None or job_id in flight.waiting:
            return None
        flight.waiting[job_id] = future
        flight.listeners[job_id] = listener
        if flight.outcome is not None and job_id in flight.outcome.results:
            self._settle(flight, job_id, flight.outcome.results[job_id])
        return flight

    def resolve(self, flight: Flight, outcome: Outcomes) -> None:
        """``flight``'s results: each waiting job gets its own; the others are kept for later."""
        flight.finished = True
        for job_id in list(flight.waiting):
            result = outcome.results.get(job_id)
            if result is None:
                result = Cancelled() if job_id in self.stopping else _missing(job_id)
            self._settle(flight, job_id, result)
        if any(job_id not in flight.waiting for job_id in flight.job_ids if job_id in self.by_job):
            flight.outcome = outcome
        self._forget_if_done(flight)

    def fail(self, flight: Flight, error: BaseException) -> None:
        """Every job of ``flight`` ends with ``error`` (its SAQ job failed or was given up)."""
        flight.finished = True
        for job_id in list(flight.waiting):
            self._settle(flight, job_id, error)
        for job_id in flight.job_ids:  # nobody may wait on a failed batch later
            if self.by_job.get(job_id) is flight:
                del self.by_job[job_id]
        self._forget_if_done(flight)

    def expire(self, older_than_s: float) -> None:
        """Forget finished adopted batches whose results nobody asked for in time."""
        now = time.monotonic()
        for flight in list(self.by_key.values()):
            if flight.finished and not flight.waiting and now - flight.since > older_than_s:
                self._forget(flight)

    def _settle(self, flight: Flight, job_id: int, result: Outcome) -> None:
        future = flight.waiting.pop(job_id)
        flight.listeners.pop(job_id, None)
        self.stopping.discard(job_id)
        if self.by_job.get(job_id) is flight:
            del self.by_job[job_id]
        if future.done():
            return  # a second finish of the same batch (two workers): delivered once all the same
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    def _forget_if_done(self, flight: Flight) -> None:
        if flight.finished and not any(self.by_job.get(job_id) is flight for job_id in flight.job_ids):
            self._forget(flight)

    def _forget(self, flight: Flight) -> None:
        if self.by_key.get(flight.key) is flight:
            del self.by_key[flight.key]
        for job_id in flight.job_ids:
            if self.by_job.get(job_id) is flight:
                del self.by_job[job_id]


def _missing(job_id: int) -> BaseException:
    from generation.errors import GenerationError

    return GenerationError(f"the GPU worker's result has no entry for job {job_id}")


# -- the workers online ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerView:
    """One worker's presence record, as the bot reads it."""

    id: str
    name: str
    model: str
    sample_rate: int
    device: str
    slots: int
    max_batch: tuple[tuple[float, int], ...]
    """(clip seconds, most clips per call), shortest first."""

    def batch_for(self, duration_s: float) -> int:
        for seconds, limit in self.max_batch:
            if duration_s <= seconds:
                return limit
        return self.max_batch[-1][1] if self.max_batch else 1


@dataclass(frozen=True)
class Fleet:
    workers: tuple[WorkerView, ...] = ()

    @property
    def online(self) -> int:
        return len(self.workers)

    @property
    def slots(self) -> int:
        return sum(worker.slots for worker in self.workers)

    def batch_limit(self, duration_s: float) -> int:
        """The biggest batch every worker online can take (1 while none is)."""
        return min((worker.batch_for(duration_s) for worker in self.workers), default=1)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(worker.model for worker in self.workers))


def parse_workers(workers: Mapping[str, Any], warned: set[str] | None = None) -> Fleet:
    """The workers of SAQ's ``info()["workers"]`` that speak this protocol (others are logged once)."""
    views = []
    for worker_id, info in sorted(workers.items()):
        meta = (info or {}).get("metadata") or {}
        try:
            if meta.get("protocol") != PROTOCOL:
                raise ValueError(f"protocol {meta.get('protocol')!r}, the bot speaks {PROTOCOL}")
            sizes = sorted((float(k), max(1, int(v))) for k, v in dict(meta["max_batch"]).items())
            views.append(
                WorkerView(
                    id=worker_id,
                    name=str(meta["name"]),
                    model=str(meta["model"]),
                    sample_rate=int(meta["sample_rate"]),
                    device=str(meta["device"]),
                    slots=max(1, int(meta["slots"])),
                    max_batch=tuple(sizes),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            if warned is not None and worker_id not in warned:
                warned.add(worker_id)
                log.warning("ignoring worker %s: %s", worker_id, exc)
    return Fleet(tuple(views))


def describe(
    kind: str, fleet: Fleet, out: int, settings: ExecutorConfig, state: str | None = None
) -> ExecutorInfo:
    """What ``/status`` shows: the workers online and their GPUs, Redis, the batches out."""
    if state is None:
        state = "waiting for a GPU worker" if not fleet.online else "generating" if out else "ready"
    workers = ", ".join(f"{w.name} ({w.device})" for w in fleet.workers) or "none online"
    return ExecutorInfo(
        kind=kind,
        models=fleet.models,
        device=f"{fleet.online} GPU worker(s)",
        state=state,
        details={
            "GPU workers": workers[:1000],
            "Redis": f"{settings.redis_url} · {settings.queue_name} · {out} batches out",
        },
    )
