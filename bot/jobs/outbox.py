"""What is still owed to users, tried again until it is done: answers and unconfirmed posts.

Runs from the start (so it also finishes what a crash interrupted: a post whose outcome is
unknown, a status left open, a failure never shown) and then every few seconds, backing off
while Discord can't be reached. It is a supervised loop (see :mod:`bot.tasks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.jobs.answers import Answers
from bot.jobs.delivery import Delivery
from bot.storage import JobStore

log = logging.getLogger(__name__)

#: Seconds between rounds while everything goes through, and the longest back-off when not.
INTERVAL_S = 5.0
MAX_BACKOFF_S = 20.0


class Outbox:
    """Drains owed answers and unresolved posts (see the module docstring)."""

    def __init__(
        self, jobs: JobStore, delivery: Delivery, answers: Answers, *, interval_s: float = INTERVAL_S
    ) -> None:
        self.jobs = jobs
        self.delivery = delivery
        self.answers = answers
        self.interval_s = interval_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Try again now (e.g. the gateway came back)."""
        self._wake.set()

    async def run(self) -> None:
        """Forever: drain, then wait (longer while nothing goes through)."""
        delay = self.interval_s
        while True:
            owed = await self.drain()
            delay = self.interval_s if owed == 0 else min(delay * 2, MAX_BACKOFF_S)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def drain(self) -> int:
        """One round; returns how many things are still owed after it."""
        owed = 0
        for job in await self.jobs.interrupted_posting():
            if job.id in self.delivery.in_flight:
                continue
            await self.delivery.post(job)
            current = await self.jobs.get(job.id)
            owed += current is not None and current.answered_at is None and current.is_active
        for job in await self.jobs.unanswered():
            if job.id in self.answers.in_flight or job.id in self.delivery.in_flight:
                continue
            owed += not await self.answers.settle(job)
        return owed
