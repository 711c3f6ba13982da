"""The scheduler with an executor that runs several batches at once (GPU workers through Redis).

A job leaves the fair queue only when the executor has room, stays "running" (for progress,
``/cancel`` and ``/queue``) until its own result is in — not just until its batch was handed
over — and stopping waits for every job in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from bot.jobs.executor import ProgressListener, Route, Work
from bot.storage import Database, JobStatus
from generation.recipes.order import Progress, Rendered
from tests.bot.jobs.fakes import FakeExecutor, rendered_for
from tests.bot.jobs.test_worker import Rig, ended, eventually


class LaneExecutor(FakeExecutor):
    """Takes a batch per free lane and returns at once; the test finishes each job by hand."""

    def __init__(self, lanes: int) -> None:
        super().__init__()
        self.open_lanes = lanes
        self.pending: dict[int, asyncio.Future[Rendered]] = {}
        self.listeners: dict[int, ProgressListener] = {}
        self.works: dict[int, Work] = {}
        self._room = asyncio.Condition()

    def batch_limit(self, request: object) -> int:
        return 1

    async def ready(self) -> None:
        async with self._room:
            await self._room.wait_for(lambda: len(self.pending) < self.open_lanes)

    async def submit(
        self, batch: Sequence[Work], progress: ProgressListener
    ) -> list[asyncio.Future[Rendered]]:
        self.batches.append([w.job_id for w in batch])
        futures = []
        for work in batch:
            future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
            self.pending[work.job_id] = future
            self.listeners[work.job_id] = progress
            self.works[work.job_id] = work
            futures.append(future)
        return futures

    async def finish(self, job_id: int) -> None:
        self.pending.pop(job_id).set_result(rendered_for(self.works[job_id].render.request))
        async with self._room:
            self._room.notify_all()

    async def open(self, lanes: int) -> None:
        self.open_lanes = lanes
        async with self._room:
            self._room.notify_all()


@pytest.fixture
async def lanes(tmp_path: Path) -> AsyncIterator[tuple[Rig, LaneExecutor]]:
    async with Database.open(tmp_path / "db.sqlite3") as db:
        rig = Rig(db, tmp_path)
        executor = LaneExecutor(lanes=2)
        rig.executor = executor
        rig.scheduler.executor = executor
        rig.scheduler.start()
        try:
            yield rig, executor
        finally:
            await rig.scheduler.stop(grace_s=2)


async def test_two_batches_run_at_once_and_each_job_runs_until_its_result(
    lanes: tuple[Rig, LaneExecutor],
) -> None:
    rig, executor = lanes
    first, second, third = [await rig.queue_job(user, f"job {user}") for user in (1, 2, 3)]
    await eventually(lambda: len(executor.batches) == 2)
    assert executor.batches == [[first.id], [second.id]]
    assert len(rig.queue) == 1  # the third waits in the fair queue: no lane is free
    assert {job.id for job in rig.scheduler.running} == {first.id, second.id}
    assert {job.id for job in rig.queue.running} == {first.id, second.id}

    # The first batch was handed over long ago; its progress and /cancel still reach it.
    executor.listeners[first.id](first.id, Progress(7, 50))
    assert rig.messenger.updates[-1][0] == first.id and "7/50" in rig.messenger.updates[-1][1]
    assert rig.scheduler.request_stop(first.id)
    assert executor.cancelled == [first.id]

    await executor.finish(second.id)
    assert (await ended(rig, second.id)).status is JobStatus.DONE
    await eventually(lambda: len(executor.batches) == 3)  # its lane went to the third job
    assert {job.id for job in rig.scheduler.running} == {first.id, third.id}
    assert not rig.scheduler.request_stop(second.id)  # finished: nothing to stop

    for job in (first, third):
        await executor.finish(job.id)
        assert (await ended(rig, job.id)).status is JobStatus.DONE
    await eventually(lambda: not rig.scheduler.running and not rig.queue.running)


async def test_without_room_jobs_keep_their_place_in_the_fair_queue(lanes: tuple[Rig, LaneExecutor]) -> None:
    rig, executor = lanes
    await executor.open(0)  # no worker online
    jobs = [await rig.queue_job(user, f"job {user}") for user in (1, 2)]
    await asyncio.sleep(0.05)  # the scheduler would take a job now if it ignored the room
    assert executor.batches == [] and len(rig.queue) == 2
    rows = [await rig.jobs.get(job.id) for job in jobs]
    assert [row.status for row in rows if row is not None] == [JobStatus.QUEUED, JobStatus.QUEUED]
    await executor.open(1)
    await eventually(lambda: executor.batches == [[jobs[0].id]])
    await executor.finish(jobs[0].id)
    await eventually(lambda: executor.batches == [[jobs[0].id], [jobs[1].id]])
    await executor.finish(jobs[1].id)
    assert (await ended(rig, jobs[1].id)).status is JobStatus.DONE


async def test_stopping_waits_for_every_job_in_flight(lanes: tuple[Rig, LaneExecutor]) -> None:
    rig, executor = lanes
    jobs = [await rig.queue_job(user, f"job {user}") for user in (1, 2)]
    await eventually(lambda: len(executor.batches) == 2)
    stopping = asyncio.ensure_future(rig.scheduler.stop(grace_s=30))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # both results are still out
    for job in jobs:
        await executor.finish(job.id)
    await asyncio.wait_for(stopping, 10)
    assert [(await ended(rig, job.id)).status for job in jobs] == [JobStatus.DONE, JobStatus.DONE]


class ModelLaneExecutor(LaneExecutor):
    """Lanes that serve only the models in ``served`` (as GPU workers of one model each)."""

    def __init__(self, lanes: int, served: set[str]) -> None:
        super().__init__(lanes)
        self.served = served

    def route(self, models: Sequence[str | None]) -> Route:
        names = tuple(model or "tiny" for model in models)
        served = set(names) <= self.served
        return Route(names, served, served and len(self.pending) < self.open_lanes)

    async def room_changed(self) -> None:
        async with self._room:
            await self._room.wait()

    async def serve(self, model: str) -> None:
        self.served.add(model)
        async with self._room:
            self._room.notify_all()


async def test_a_job_whose_model_has_no_gpu_keeps_its_place_while_others_go(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "db.sqlite3") as db:
        rig = Rig(db, tmp_path)
        executor = ModelLaneExecutor(lanes=1, served={"tiny"})
        rig.scheduler.executor = executor
        rig.scheduler.start()
        try:
            sao = await rig.queue_job(1, "sao job", model="tiny-sao")
            tiny = [await rig.queue_job(user, f"job {user}") for user in (2, 3)]
            await eventually(lambda: executor.batches == [[tiny[0].id]])
            assert rig.queue.ordered()[0].id == sao.id  # first in fair order, but no GPU serves it
            await executor.finish(tiny[0].id)
            await eventually(lambda: executor.batches[-1] == [tiny[1].id])
            await executor.serve("tiny-sao")  # its worker comes; the lane is busy until this ends
            await executor.finish(tiny[1].id)
            await eventually(lambda: executor.batches[-1] == [sao.id])
            await executor.finish(sao.id)
            assert (await ended(rig, sao.id)).status is JobStatus.DONE
        finally:
            await rig.scheduler.stop(grace_s=2)
