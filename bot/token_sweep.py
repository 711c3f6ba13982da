"""Interaction tokens do not outlive their use: a periodic sweep erases them from the database.

A job's token is erased when the job ends (see :mod:`bot.storage.job_transitions`); this catches the
rest — jobs still queued or running after their token's time is up, and rows left by older versions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.storage import JobStore

log = logging.getLogger(__name__)

#: How often the sweep runs; a token is erased at most this long after it stopped being used.
SWEEP_INTERVAL_S = 60.0


class TokenSweeper:
    """Erases interaction tokens older than ``ttl_s``, at start and then every ``interval_s``.

    Supervised: a failed run is logged at ERROR and the next one runs on schedule, so one bad
    moment of the database never ends the sweeping.
    """

    def __init__(
        self,
        jobs: JobStore,
        *,
        ttl_s: float,
        interval_s: float = SWEEP_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.ttl_s = ttl_s
        self.interval_s = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Erase every token past its time; returns how many."""
        erased = await self.jobs.erase_expired_tokens(self._clock() - self.ttl_s)
        if erased:
            log.info("erased %d expired interaction token(s)", erased)
        return erased

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="token-sweep")
        self._task.add_done_callback(_report_end)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("token sweep failed; trying again in %.0f s", self.interval_s)
            await asyncio.sleep(self.interval_s)


def _report_end(task: asyncio.Task[None]) -> None:
    """The loop only ends when cancelled; anything else is a bug worth an ERROR line."""
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s ended unexpectedly", task.get_name(), exc_info=task.exception())
