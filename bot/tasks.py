"""Background tasks that never die silently.

Every long-lived task of the bot is started here. :func:`spawn` runs a one-off coroutine and logs
at ERROR if it fails (so no exception is lost in a task nobody awaits). :class:`Supervised` keeps
a loop alive: if its coroutine ever ends with an exception — or returns when it should run for
ever — that is logged at ERROR and the loop is started again after a short, growing back-off;
``/status`` shows its state. Stopping cancels the task and never waits on one that already failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

#: Back-off before restarting a failed loop: doubles from the first to the last value.
RESTART_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: A loop that ran this long before failing starts its back-off from the beginning again.
HEALTHY_RUN_S = 60.0

_orphans: set[asyncio.Task[Any]] = set()


def spawn(
    coro: Coroutine[Any, Any, Any], name: str, tasks: set[asyncio.Task[Any]] | None = None
) -> asyncio.Task[Any]:
    """Run ``coro`` as a task; an exception it ends with is logged at ERROR with the task's name.

    The task is kept in ``tasks`` (or a module-level set) until it ends, so it is never garbage
    collected while running, and the owner can wait for or cancel what is still running.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    keep = _orphans if tasks is None else tasks
    keep.add(task)
    task.add_done_callback(keep.discard)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background task %s failed", task.get_name(), exc_info=exc)


class Supervised:
    """A loop that must keep running (see the module docstring)."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        delays: tuple[float, ...] = RESTART_DELAYS_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._run = run
        self._delays = delays
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0
        self.last_error: str | None = None

    @property
    def state(self) -> str:
        """ "running", "restarting after an error (…)" or "stopped"."""
        if self._task is None or self._task.done():
            return "stopped"
        if self._restarting:
            return f"restarting after an error ({self.last_error})"
        return (
            "running"
            if not self.restarts
            else f"running (restarted {self.restarts}×, last: {self.last_error})"
        )

    def start(self) -> None:
        self._stopping = False
        self._restarting = False
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"supervisor:{self.name}")

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            started = self._clock()
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                log.error("%s stopped with an error; restarting it", self.name, exc_info=exc)
            else:
                if self._stopping:
                    return
                self.last_error = "it returned"
                log.error("%s returned although it should run until stopped; restarting it", self.name)
            if self._clock() - started >= HEALTHY_RUN_S:
                failures = 0
            delay = self._delays[min(failures, len(self._delays) - 1)]
            failures += 1
            self.restarts += 1
            self._restarting = True
            try:
                await asyncio.sleep(delay)
            finally:
                self._restarting = False

    def finishing(self) -> None:
        """The loop is about to end by itself (shutdown): its return is no longer a failure."""
        self._stopping = True

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end (it is never left half-stopped)."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    _restarting = False
