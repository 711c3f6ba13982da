"""The bot's books on remote work: batches handed to Redis (flights) and the workers online.

Pure bookkeeping, no Redis: :class:`Flights` knows which SAQ batch each job id is in (one live
batch per job, so a job is never handed out twice), which futures wait on it, and how much room
the workers have; :func:`parse_workers` reads the workers' presence records into a
:class:`Fleet` (who is online, with which models, and how big a batch each can take).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.jobs.executor import ExecutorInfo, ProgressListener
from bot.remote.broker import PROTOCOL, label
from bot.remote.routes import Demand, any_room, has_room, serves
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
    route: str
    """The SAQ queue it is in (named after the models it needs; see :mod:`bot.remote.routes`)."""
    models: tuple[str, ...]
    """Every model it renders with."""
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

    def nonce_of(self, job_id: int) -> str | None:
        """The nonce ``job_id`` was ordered with (None: not in this batch)."""
        for order in self.orders:
            if int(order["job_id"]) == job_id:
                return str(order.get("nonce") or "")
        return None

    @property
    def label(self) -> str:
        """The batch as logs name it: its job ids."""
        return label(self.key)

    @property
    def demand(self) -> Demand:
        return frozenset(self.models)


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
        self, job_id: int, nonce: str, future: asyncio.Future[Rendered], listener: ProgressListener
    ) -> Flight | None:
        """Wait on ``job_id``'s live (or finished, unclaimed) batch, if there is one.

        A batch ordered for the same job id with another nonce was made for another job of this
        database, the one that had this id before the database was restored from a backup: it is
        never adopted (logged once), and it no longer answers for ``job_id``.
        """
        flight = self.by_job.get(job_id)
        if flight is None or job_id in flight.waiting:
            return None
        if flight.nonce_of(job_id) != nonce:
            log.warning(
                "job %d: the batch %s in Redis was made for an earlier job %d of this database "
                "(restored from a backup?); leaving it, it expires in Redis",
                job_id, flight.label, job_id,
            )  # fmt: skip
            del self.by_job[job_id]
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

    def forget(self, flight: Flight) -> None:
        """Drop ``flight`` from the books (an adopted batch nobody waits on, gone from Redis)."""
        self._forget(flight)

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
    models: tuple[str, ...]
    """The models it serves, its default first."""
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

    def serving(self, models: Demand) -> list[WorkerView]:
        """The workers that serve every one of ``models``."""
        return [worker for worker in self.workers if models <= set(worker.models)]

    def batch_limit(self, duration_s: float, models: Demand = frozenset()) -> int:
        """The biggest batch every worker that serves ``models`` can take (1 while none is)."""
        return min((worker.batch_for(duration_s) for worker in self.serving(models)), default=1)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model some worker online serves."""
        return tuple(dict.fromkeys(model for worker in self.workers for model in worker.models))

    def _routing(self) -> list[tuple[frozenset[str], int]]:
        return [(frozenset(worker.models), worker.slots) for worker in self.workers]

    def serves(self, models: Demand) -> bool:
        return serves(self._routing(), models)

    def has_room(self, live: list[Demand], models: Demand) -> bool:
        """A worker that serves ``models`` has a slot beside the batches in flight (``live``)."""
        return has_room(live, self._routing(), models)

    def any_room(self, live: list[Demand]) -> bool:
        return any_room(live, self._routing())


def parse_workers(workers: Mapping[str, Any], warned: set[str] | None = None) -> Fleet:
    """The workers of SAQ's ``info()["workers"]`` that speak this protocol (others are logged once)."""
    views = []
    for worker_id, info in sorted(workers.items()):
        meta = (info or {}).get("metadata") or {}
        try:
            if meta.get("protocol") != PROTOCOL:
                raise ValueError(f"protocol {meta.get('protocol')!r}, the bot speaks {PROTOCOL}")
            sizes = sorted((float(k), max(1, int(v))) for k, v in dict(meta["max_batch"]).items())
            models = meta["models"]
            if not isinstance(models, list) or not models:
                raise ValueError(f"models {models!r} is not a list of model names")
            views.append(
                WorkerView(
                    id=worker_id,
                    name=str(meta["name"]),
                    models=tuple(dict.fromkeys(str(model) for model in models)),
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
    kind: str,
    fleet: Fleet,
    out: int,
    offered: tuple[str, ...],
    state: str | None = None,
    health: str | None = None,
) -> ExecutorInfo:
    """What ``/status`` shows anyone: how many workers serve each model, the models on offer that
    no worker serves, Redis's health (``health``: None while it answers) and the batches out.

    Counts and health only: never Redis's URL, a host, a port or a worker's name (its host).
    """
    if state is None:
        state = "waiting for a GPU worker" if not fleet.online else "generating" if out else "ready"
    # The models on offer in their order, then any other a worker serves: the same line whichever
    # worker announced itself first.
    shown = [m for m in offered if m in fleet.models] + sorted(m for m in fleet.models if m not in offered)
    serving = [f"{model} ×{len(fleet.serving(frozenset([model])))}" for model in shown]
    workers = f"{fleet.online} online · {', '.join(serving)}" if fleet.online else "none online"
    details = {"GPU workers": workers[:1000]}
    missing = [model for model in offered if model not in fleet.models]
    if fleet.online and missing:
        details["Models without a GPU worker"] = ", ".join(missing)[:1000]
    details["Redis"] = f"{health or 'answering'} · {out} batches out"
    return ExecutorInfo(
        kind=kind, models=offered, device=f"{fleet.online} GPU worker(s)", state=state, details=details
    )
