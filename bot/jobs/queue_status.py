"""Keeps every waiting job's status message current: "Queued — position 3 of 7, about 40 s", or
why there is no estimate: no GPU worker online, or none that serves the job's models.

Called (coalesced) whenever the queue changes. One pass over the queue's cached view; jobs
near the front are updated at every change, jobs further back at most every
:data:`FAR_BACK_INTERVAL_S` (their place moves by one at every start, which nobody needs to
see each time, and a thousand edits a second would only meet Discord's rate limits). A long
queue is walked in slices so the event loop never stalls on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from bot.jobs.batching import models_of
from bot.jobs.executor import Route
from bot.jobs.messenger import Messenger
from bot.jobs.queue import JobQueue
from bot.storage import Job
from bot.tasks import spawn
from bot.ui.job_texts import queued_text, waiting_for_gpu_text, waiting_for_model_text

Router = Callable[[Sequence[str | None]], Route]

#: Positions shown at every change.
NEAR_FRONT = 10
#: Seconds between two updates of a job further back.
FAR_BACK_INTERVAL_S = 15.0
#: Jobs handled before giving the event loop back.
SLICE = 200


class QueueStatus:
    """Pushes queue positions to status messages (see the module docstring)."""

    def __init__(
        self,
        queue: JobQueue,
        messenger: Messenger,
        gpu_available: Callable[[], bool],
        route: Router | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue = queue
        self.messenger = messenger
        self.gpu_available = gpu_available
        self.route = route
        """Where a job's models can run (None: anywhere a GPU is)."""
        self._clock = clock
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._tasks: set[asyncio.Task[object]] = set()
        queue.on_change(self.refresh)

    def refresh(self) -> None:
        """Schedule a pass (one at a time; a change during a pass asks for one more)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = spawn(self._pass(), "queue-status", self._tasks)  # type: ignore[arg-type]

    def _routes(self) -> Callable[[Job], Route | None]:
        """A job's route, looked up once per set of models in one pass (None: no router)."""
        seen: dict[tuple[str | None, ...], Route] = {}

        def route_of(job: Job) -> Route | None:
            if self.route is None:
                return None
            models = tuple(models_of(job))
            if models not in seen:
                seen[models] = self.route(models)
            return seen[models]

        return route_of

    def blocked(self) -> list[tuple[tuple[str, ...], int]]:
        """Waiting jobs that no online GPU serves, counted per set of models (for ``/status``)."""
        if not self.gpu_available():
            return []
        route_of = self._routes()
        counts: dict[tuple[str, ...], int] = {}
        for place in self.queue.view().waiting:
            route = route_of(place.job)
            if route is not None and not route.served:
                counts[route.models] = counts.get(route.models, 0) + 1
        return sorted(counts.items())

    async def idle(self) -> None:
        """Wait until no pass is running (and none is asked for)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def _pass(self) -> None:
        while True:
            self._again = False
            view = self.queue.view()
            total = len(view.waiting)
            available = self.gpu_available()
            route_of = self._routes()
            now = self._clock()
            waiting_ids = set()
            for index, place in enumerate(view.waiting):
                job = place.job
                waiting_ids.add(job.id)
                near = place.position <= NEAR_FRONT
                if near or now - self._last.get(job.id, -FAR_BACK_INTERVAL_S) >= FAR_BACK_INTERVAL_S:
                    route = route_of(job) if available else None
                    if not available:
                        text = waiting_for_gpu_text(place.position, total)
                    elif route is not None and not route.served:
                        text = waiting_for_model_text(place.position, total, route.models)
                    else:
                        text = queued_text(place.position, total, place.eta_s)
                    self.messenger.update_status(job, text)
                    self._last[job.id] = now
                if index % SLICE == SLICE - 1:
                    await asyncio.sleep(0)
            for gone in set(self._last) - waiting_ids:
                del self._last[gone]
            if not self._again:
                return
