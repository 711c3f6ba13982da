"""Event-loop health: how late the loop wakes up tells whether anything blocks it.

A late wake-up has two causes: code running on the loop for too long (a bug: the loop must
never block), or the process waiting for a CPU or for the GIL while other threads and processes
run (load). The loop thread's own CPU time over the late tick tells them apart: ``busy`` is how
much of it the loop spent running code of its own; ``late`` is the whole delay."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger(__name__)


class LoopMonitor:
    """Sleeps in short ticks and records how much later than asked the loop woke up."""

    def __init__(self, interval_s: float = 0.02, report_above_ms: float = 50.0) -> None:
        self.interval_s = interval_s
        self.report_above_ms = report_above_ms
        self.worst_ms = 0.0
        #: The loop thread's own CPU time during its worst late tick (blocking code on the loop).
        self.worst_busy_ms = 0.0
        self._window_worst_ms = 0.0
        """The worst lateness since :meth:`take_window_worst_s` was last called (for each scrape)."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def take_window_worst_s(self) -> float:
        """The worst lateness (seconds) since the previous call, which starts a new window."""
        worst, self._window_worst_ms = self._window_worst_ms, 0.0
        return max(0.0, worst) / 1000

    async def _run(self) -> None:
        while True:
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(self.interval_s)
            late_ms = (time.perf_counter() - before - self.interval_s) * 1000
            busy_ms = (time.thread_time() - cpu_before) * 1000
            self.worst_busy_ms = max(self.worst_busy_ms, busy_ms)
            self._window_worst_ms = max(self._window_worst_ms, late_ms)
            if late_ms > self.worst_ms:
                self.worst_ms = late_ms
                # Logged so operators (and the end-to-end tests) can see the worst stall.
                level = logging.WARNING if late_ms > self.report_above_ms else logging.DEBUG
                log.log(
                    level, "event loop stall: new worst %.1f ms (loop busy %.1f ms of it)", late_ms, busy_ms
                )
