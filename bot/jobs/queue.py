"""The in-memory view of the job queue: fair order, positions, and the worker's wake-up.

SQLite is the source of truth (a job is written there before anyone sees "Queued"); this
queue only orders what is waiting and wakes the worker. After a restart it is rebuilt from the
database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.jobs.fairness import FairScheduler, Pending
from bot.storage import Job


class JobQueue:
    """Pending jobs in fair order, plus the one that is running."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._jobs: dict[int, Job] = {}
        self._scheduler = FairScheduler()
        self._changed = asyncio.Condition()
        self._clock = clock
        self.running: list[Job] = []
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (on the loop) whenever the order or the running set changes."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    async def put(self, job: Job) -> None:
        async with self._changed:
            self._jobs[job.id] = job
            self._changed.notify_all()
        self._notify()

    async def remove(self, job_id: int) -> Job | None:
        async with self._changed:
            job = self._jobs.pop(job_id, None)
        if job is not None:
            self._notify()
        return job

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def ordered(self) -> list[Job]:
        """Waiting jobs in the order they will run."""
        pending = [Pending(j.id, j.user_id, j.guild_id) for j in self._jobs.values()]
        return [self._jobs[p.job_id] for p in self._scheduler.order(pending)]

    def position(self, job_id: int) -> tuple[int, int] | None:
        """1-based place among the waiting jobs, and how many wait."""
        for index, job in enumerate(self.ordered(), start=1):
            if job.id == job_id:
                return index, len(self._jobs)
        return None

    async def take(
        self,
        max_items: int | Callable[[Job], int] = 1,
        compatible: Callable[[Job, Job], bool] | None = None,
        weight: Callable[[Job], int] | None = None,
    ) -> list[Job]:
        """Wait for work; return the next job and the compatible ones that fit beside it.

        Fairness decides the first job; others join, in fair order, only if
        ``compatible(first, other)`` and the batch's total ``weight`` (default 1 per job) stays
        within ``max_items`` (a number, or a function of the first job). Taken jobs are marked
        served (for fairness) and removed from the queue.
        """
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._jobs))
            first = self.ordered()[0]
            limit = max_items(first) if callable(max_items) else max_items
            batch = [first, *self._compatible(first, limit - _weigh(first, weight), compatible, weight)]
            self._serve(batch)
        self._notify()
        return batch

    async def take_more(
        self,
        first: Job,
        room: int,
        compatible: Callable[[Job, Job], bool],
        weight: Callable[[Job], int] | None = None,
    ) -> list[Job]:
        """Without waiting: the waiting jobs compatible with ``first`` that fit in ``room``."""
        async with self._changed:
            more = self._compatible(first, room, compatible, weight)
            self._serve(more)
        if more:
            self._notify()
        return more

    def _compatible(
        self,
        first: Job,
        room: int,
        compatible: Callable[[Job, Job], bool] | None,
        weight: Callable[[Job], int] | None,
    ) -> list[Job]:
        chosen: list[Job] = []
        if compatible is None:
            return chosen
        for other in self.ordered():
            if room <= 0:
                break
            if other.id == first.id or not compatible(first, other):
                continue
            cost = _weigh(other, weight)
            if cost <= room:
                chosen.append(other)
                room -= cost
        return chosen

    def _serve(self, jobs: list[Job]) -> None:
        now = self._clock()
        for job in jobs:
            del self._jobs[job.id]
            self._scheduler.served(Pending(job.id, job.user_id, job.guild_id), now)

    def set_running(self, jobs: list[Job]) -> None:
        self.running = jobs
        self._notify()


def _weigh(job: Job, weight: Callable[[Job], int] | None) -> int:
    return 1 if weight is None else weight(job)
