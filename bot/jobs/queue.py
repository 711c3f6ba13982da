"""The in-memory view of the job queue: fair order, positions, estimates, and the worker's wake-up.

SQLite is the source of truth (a job is written there before anyone sees "Queued"); this
queue only orders what is waiting and wakes the scheduler. After a restart it is rebuilt from the
database in one :meth:`JobQueue.put_many`.

Bookkeeping is O(n log n) per change: the fair order is computed once (a heap simulation, see
:mod:`bot.jobs.fairness`), positions and waiting times come from one prefix sum over it, and the
result is cached until the next change. Listeners are told about changes at most once per event
loop iteration, however many changes happened in it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.jobs.admission import JobSizes
from bot.jobs.estimate import DurationEstimator
from bot.jobs.fairness import FairScheduler, Pending
from bot.storage import Job

Weight = Callable[[Job], int]
Compatible = Callable[[Job, Job], bool]
Eligible = Callable[[Job], bool]


@dataclass(frozen=True)
class Waiting:
    """A waiting job's place: 1-based ``position`` and seconds until it should start."""

    job: Job
    position: int
    eta_s: float


@dataclass(frozen=True)
class QueueView:
    """One consistent picture of the queue (cached until the next change)."""

    running: tuple[Job, ...]
    waiting: tuple[Waiting, ...]
    by_id: dict[int, Waiting]

    def place(self, job_id: int) -> Waiting | None:
        return self.by_id.get(job_id)


class JobQueue:
    """Pending jobs in fair order, plus the ones that are running."""

    def __init__(
        self,
        estimator: DurationEstimator | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sizes: JobSizes | None = None,
    ) -> None:
        self.sizes = sizes or JobSizes()
        """How much GPU work each job is (by what its model computes): estimates, and admission."""
        self._jobs: dict[int, Job] = {}
        self._units: dict[int, float] = {}
        """Each job's work units (jobs never change while queued, so computed once)."""
        self._scheduler = FairScheduler()
        self._changed = asyncio.Condition()
        self._clock = clock
        self._wall = wall_clock
        self.estimator = estimator or DurationEstimator()
        self.running: list[Job] = []
        self.lanes: Callable[[], int] = lambda: 1
        """How many batches run at once (GPU workers online): waiting times are divided by it."""
        self._listeners: list[Callable[[], None]] = []
        self._order: list[Job] | None = None
        self._view: QueueView | None = None
        self._notify_scheduled = False
        self.version = 0
        """Counts changes (jobs added, removed or taken, the running set); see :meth:`wait_changed`."""
        self._bumped = asyncio.Event()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (on the loop, coalesced) after the order or the running set changed."""
        self._listeners.append(listener)

    def _changed_now(self) -> None:
        self._order = None
        self._view = None
        self.version += 1
        self._bumped.set()
        self._bumped = asyncio.Event()
        if self._notify_scheduled or not self._listeners:
            return
        self._notify_scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._notify)
        except RuntimeError:  # no running loop (pure unit tests): tell them at once
            self._notify()

    def _notify(self) -> None:
        self._notify_scheduled = False
        for listener in self._listeners:
            listener()

    async def put(self, job: Job) -> None:
        await self.put_many([job])

    async def put_many(self, jobs: Iterable[Job]) -> None:
        """Add jobs (one change, however many)."""
        async with self._changed:
            for job in jobs:
                self._jobs[job.id] = job
                self._units[job.id] = self.sizes.of(job).units
            self._changed.notify_all()
        self._changed_now()

    async def remove(self, job_id: int) -> Job | None:
        async with self._changed:
            job = self._jobs.pop(job_id, None)
            self._units.pop(job_id, None)
        if job is not None:
            self._changed_now()
        return job

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def waiting_by_model(self) -> dict[str | None, int]:
        """How many jobs wait, by the model they name (None: the default model)."""
        counts: dict[str | None, int] = {}
        for job in self._jobs.values():
            counts[job.request.model] = counts.get(job.request.model, 0) + 1
        return counts

    def ordered(self, *, fresh: bool = False) -> list[Job]:
        """Waiting jobs in the order they will run (cached until the next change, or ``fresh``)."""
        if self._order is None or fresh:
            pending = [Pending(j.id, j.user_id, j.guild_id) for j in self._jobs.values()]
            self._order = [self._jobs[p.job_id] for p in self._scheduler.order(pending)]
        return self._order

    def view(self, *, fresh: bool = False) -> QueueView:
        """Positions and estimated waits of every waiting job, in one pass over the order
        (cached until the next change; ``fresh`` recomputes it all, order included)."""
        if self._view is None or fresh:
            if fresh:
                self._order = None
            now = self._wall()
            ahead = 0.0
            for job in self.running:
                total = self.estimator.estimate_units(self.sizes.of(job).units)
                ahead += max(0.0, total - (now - (job.started_at or now)))
            waiting = []
            seconds_per_unit = self.estimator.seconds_per_unit
            lanes = max(1, self.lanes())
            for position, job in enumerate(self.ordered(), start=1):
                waiting.append(Waiting(job, position, ahead / lanes))
                ahead += self._units[job.id] * seconds_per_unit
            self._view = QueueView(tuple(self.running), tuple(waiting), {w.job.id: w for w in waiting})
        return self._view

    def position(self, job_id: int) -> tuple[int, int] | None:
        """1-based place among the waiting jobs, and how many wait."""
        place = self.view().place(job_id)
        return None if place is None else (place.position, len(self._jobs))

    async def wait_changed(self, seen: int) -> None:
        """Wait until :attr:`version` is no longer ``seen``."""
        while self.version == seen:
            await self._bumped.wait()

    async def wait_for_work(self) -> None:
        """Wait until a job is waiting (without taking it)."""
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._jobs))

    async def take(
        self,
        max_items: int | Callable[[Job], int] = 1,
        compatible: Compatible | None = None,
        weight: Weight | None = None,
        eligible: Eligible | None = None,
    ) -> list[Job]:
        """Wait for work; return the next job and the compatible ones that fit beside it.

        Fairness decides the first job, among those ``eligible`` (default all: a job whose GPU is
        not there now keeps its place, and [] comes back when no waiting job is eligible); others
        join, in fair order, only if eligible, ``compatible(first, other)`` and the batch's total
        ``weight`` (default 1 per job) stays within ``max_items`` (a number, or a function of the
        first job). Taken jobs are marked served (for fairness) and removed from the queue.
        """
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._jobs))
            order = self.ordered()
            if eligible is not None:
                order = [job for job in order if eligible(job)]
                if not order:
                    return []
            first = order[0]
            limit = max_items(first) if callable(max_items) else max_items
            batch = [first, *_compatible(order, first, limit - _weigh(first, weight), compatible, weight)]
            self._serve(batch)
        self._changed_now()
        return batch

    async def take_more(
        self, first: Job, room: int, compatible: Compatible, weight: Weight | None = None
    ) -> list[Job]:
        """Without waiting: the waiting jobs compatible with ``first`` that fit in ``room``."""
        async with self._changed:
            more = _compatible(self.ordered(), first, room, compatible, weight)
            self._serve(more)
        if more:
            self._changed_now()
        return more

    def _serve(self, jobs: list[Job]) -> None:
        now = self._clock()
        for job in jobs:
            del self._jobs[job.id]
            self._units.pop(job.id, None)
            self._scheduler.served(Pending(job.id, job.user_id, job.guild_id), now)

    def set_running(self, jobs: list[Job]) -> None:
        self.running = jobs
        self._changed_now()


def _compatible(
    order: list[Job], first: Job, room: int, compatible: Compatible | None, weight: Weight | None
) -> list[Job]:
    chosen: list[Job] = []
    if compatible is None:
        return chosen
    for other in order:
        if room <= 0:
            break
        if other.id == first.id or not compatible(first, other):
            continue
        cost = _weigh(other, weight)
        if cost <= room:
            chosen.append(other)
            room -= cost
    return chosen


def _weigh(job: Job, weight: Weight | None) -> int:
    return 1 if weight is None else weight(job)
