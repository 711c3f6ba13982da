"""Many coroutines on the one connection: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.storage.job_rows import JobStateError, JobStatus
from bot.storage.jobs import JobStore
from tests.bot.storage.conftest import make_request, new_job

TASKS = 50
JOBS_PER_TASK = 4


async def test_concurrent_creates_and_transitions(jobs: JobStore) -> None:
    async def creator(user_id: int) -> list[int]:
        ids = []
        for n in range(JOBS_PER_TASK):
            job = await new_job(jobs, user_id=user_id, request=make_request(seed=user_id * 100 + n))
            ids.append(job.id)
            await asyncio.sleep(0)
        return ids

    created = await asyncio.gather(*(creator(u) for u in range(TASKS)))
    ids = [i for batch in created for i in batch]
    assert len(ids) == len(set(ids)) == TASKS * JOBS_PER_TASK
    assert await jobs.active_count() == 200
    assert [await jobs.pending_count(u) for u in range(TASKS)] == [JOBS_PER_TASK] * TASKS
    queued = await jobs.queued()
    assert [j.id for j in queued] == sorted(ids)
    assert {(j.user_id, j.request.seed) for j in queued} == {
        (u, u * 100 + n) for u in range(TASKS) for n in range(JOBS_PER_TASK)
    }

    # Every job is raced by two starters and, for a quarter of them, its owner cancelling.
    async def start(job_id: int) -> str:
        try:
            await jobs.mark_running(job_id)
        except JobStateError:
            return "lost"
        return "started"

    async def cancel(job_id: int, user_id: int) -> str:
        return "cancelled" if await jobs.cancel(job_id, user_id) else "lost"

    races = []
    for job in queued:
        races.append(start(job.id))
        races.append(start(job.id))
        if job.id % 4 == 0:
            races.append(cancel(job.id, job.user_id))
    outcomes = Counter(await asyncio.gather(*races))
    assert outcomes["started"] + outcomes["cancelled"] == 200
    assert outcomes["lost"] == len(races) - 200

    # Finish the running ones concurrently: even ids are delivered, odd ones fail.
    running = [j for j in await jobs.active() if j.status is JobStatus.RUNNING]
    assert len(running) == outcomes["started"]
    assert all(j.attempts == 1 for j in running)

    async def finish(job_id: int) -> None:
        if job_id % 2 == 0:
            await jobs.mark_posting(job_id, 1.0)
            await jobs.mark_done(job_id, 10_000 + job_id)
        else:
            await jobs.mark_failed(job_id, "odd")

    await asyncio.gather(*(finish(j.id) for j in running))
    stats = await jobs.stats()
    done = sum(1 for j in running if j.id % 2 == 0)
    assert stats["done"] == done
    assert stats["failed"] == len(running) - done
    assert stats["cancelled"] == outcomes["cancelled"]
    assert stats["total"] == 200
    assert await jobs.active_count() == 0
    assert [await jobs.pending_count(u) for u in range(TASKS)] == [0] * TASKS
