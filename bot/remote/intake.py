"""A worker's intake: the next batch from any queue of its models, only while its GPU is free.

A worker consumes one SAQ queue per set of models it serves (:func:`~bot.remote.routes.routes_served`).
Redis cannot block on several lists at once and move from whichever fills first, so
:class:`RoutedQueue` moves the head of the first non-empty one (``LMOVE`` from its list to its
active list, atomic like SAQ's own ``BLMOVE``, in one script over all of them), starting each
time after the queue it took from last so no model's batches starve another's. When all are
empty it waits for the bot's word on ``…:work`` (sent after every batch it hands out), or
:data:`POLL_S` at most: batches that SAQ itself put back (a dead worker's, swept) come without
word. Presence stays in the queue named ``<queue_name>``, where the bot reads it; sweeping and
scheduling cover every route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from saq.job import Job as SaqJob

from bot.remote.broker import BACKOFF_S, REDIS_DOWN, Keys, ResilientQueue
from bot.remote.gpu import GpuTurn

log = logging.getLogger(__name__)

#: Longest wait between two looks at the queues when nobody said a batch is there.
POLL_S = 1.0

#: Moves the head of the first non-empty queued list (from ARGV[1], round the ring) to its active
#: list; returns {index, job id} or nil. KEYS: queued1, active1, queued2, active2, …
_TAKE_FIRST = """
local n = #KEYS / 2
local start = tonumber(ARGV[1])
for step = 0, n - 1 do
    local i = (start + step) % n
    local id = redis.call('LMOVE', KEYS[2 * i + 1], KEYS[2 * i + 2], 'LEFT', 'RIGHT')
    if id then return {i, id} end
end
return nil
"""


class RoutedQueue(ResilientQueue):
    """The worker's SAQ queue: presence here, batches from its routes (see the module docstring)."""

    def __init__(self, client: Redis, queue_name: str, routes: list[str], *, turn: GpuTurn) -> None:
        super().__init__(client, queue_name)
        if not routes:
            raise ValueError("a worker consumes at least one route")
        self.routes = [ResilientQueue(client, route) for route in routes]
        self.turn = turn
        self.keys = Keys(queue_name)
        self._next = 0
        self._wake = asyncio.Event()
        self._take_first = client.register_script(_TAKE_FIRST)

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> SaqJob | None:  # noqa: ASYNC109
        async with self.turn.taking:
            await self.turn.wait_free()
            while True:
                self._wake.clear()
                try:
                    job = await self._take()
                except REDIS_DOWN as exc:
                    self.outage.down(exc)
                    await asyncio.sleep(BACKOFF_S[-1])
                    continue
                self.outage.up()
                if job is not None:
                    self.turn.claim(job.key)
                    return job
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)

    async def _take(self) -> SaqJob | None:
        keys = [
            key for queue in self.routes for key in (queue.namespace("queued"), queue.namespace("active"))
        ]
        taken = await self._take_first(keys=keys, args=[self._next])
        if not taken:
            return None
        index, job_id = int(taken[0]), taken[1]
        self._next = (index + 1) % len(self.routes)
        # As SAQ's own dequeue: a record that is gone leaves its id in the active list for the sweep.
        return await self.routes[index]._get_job_by_id(job_id)

    async def listen_for_work(self) -> None:
        """Runs for the worker's life: the bot's word that a batch is in one of our queues."""
        mine = {queue.name for queue in self.routes}
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.keys.work_channel)
                    self._wake.set()  # anything sent while we did not listen: look now
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and message["data"].decode() in mine:
                            self._wake.set()
            except REDIS_DOWN as exc:
                self.outage.down(exc)
                await asyncio.sleep(1.0)

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        swept: list[str] = []
        for queue in self.routes:
            swept += await queue.sweep(lock, abort)
        return swept

    async def schedule(self, lock: int = 1) -> list[str]:
        scheduled: list[str] = []
        for queue in self.routes:
            scheduled += await queue.schedule(lock)
        return scheduled
