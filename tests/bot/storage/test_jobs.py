"""JobStore: lifecycle, illegal transitions, crash recovery, idempotency, counters."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.job_rows import ACTIVE, KIND_REROLL, Job, JobStateError, JobStatus
from bot.storage.jobs import JobStore
from tests.bot.storage.conftest import FakeClock, make_request, new_job


async def test_create_stores_every_field(jobs: JobStore, clock: FakeClock) -> None:
    request = make_request(preset=None, raw=True, seed=7)
    job = await jobs.create(
        kind="ambient",
        user_id=111,
        user_name="ana",
        guild_id=None,
        channel_id=222,
        request=request,
        variations=3,
        reply_to_message_id=333,
        application_id=444,
        interaction_token="secret-token",
        interaction_created_at=clock.now - 1.5,
        idempotency_key="interaction-1",
    )
    assert job.status is JobStatus.QUEUED and job.is_active
    assert job.request == request
    assert (job.user_id, job.user_name, job.guild_id, job.channel_id) == (111, "ana", None, 222)
    assert (job.variations, job.reply_to_message_id, job.application_id) == (3, 333, 444)
    assert job.interaction_created_at == clock.now - 1.5
    assert job.created_at == clock.now
    assert job.attempts == 0
    assert job.started_at is job.finished_at is job.result_message_id is None
    assert "secret-token" not in repr(job)  # never in logs
    assert await jobs.get(job.id) == job
    assert await jobs.get(job.id + 1000) is None


async def test_create_validates(jobs: JobStore) -> None:
    with pytest.raises(ValueError, match="variations"):
        await new_job(jobs, variations=0)
    with pytest.raises(ValueError, match="kind"):
        await new_job(jobs, kind="")
    with pytest.raises(TypeError, match="GenerationRequest"):
        await new_job(jobs, request={"prompt": "x"})
    assert await jobs.active() == []


async def test_full_lifecycle(jobs: JobStore, clock: FakeClock) -> None:
    job = await new_job(jobs)
    await jobs.set_status_message(job.id, 9001)
    clock.advance(2)
    running = await jobs.mark_running(job.id)
    assert running.status is JobStatus.RUNNING
    assert running.started_at == clock.now and running.attempts == 1
    assert running.status_message_id == 9001
    clock.advance(20)
    posting = await jobs.mark_posting(job.id, gen_seconds=19.5)
    assert posting.status is JobStatus.POSTING
    assert posting.posting_started_at == clock.now and posting.gen_seconds == 19.5
    clock.advance(1)
    done = await jobs.mark_done(job.id, result_message_id=9002)
    assert done.status is JobStatus.DONE and not done.is_active
    assert done.result_message_id == 9002 and done.finished_at == clock.now
    assert await jobs.by_result_message(9002) == done
    assert await jobs.by_result_message(9003) is None
    assert await jobs.active() == []


async def _in_status(jobs: JobStore, status: JobStatus) -> Job:
    job = await new_job(jobs)
    if status is JobStatus.CANCELLED:
        assert await jobs.cancel(job.id, job.user_id)
    if status in (JobStatus.RUNNING, JobStatus.POSTING, JobStatus.DONE, JobStatus.FAILED):
        await jobs.mark_running(job.id)
    if status is JobStatus.FAILED:
        await jobs.mark_failed(job.id, "boom")
    if status in (JobStatus.POSTING, JobStatus.DONE):
        await jobs.mark_posting(job.id, 1.0)
    if status is JobStatus.DONE:
        await jobs.mark_done(job.id, 1)
    fetched = await jobs.get(job.id)
    assert fetched is not None and fetched.status is status
    return fetched


TRANSITIONS: dict[str, tuple[Callable[[JobStore, int], Awaitable[Job]], set[JobStatus]]] = {
    "mark_running": (lambda s, i: s.mark_running(i), {JobStatus.QUEUED}),
    "mark_posting": (lambda s, i: s.mark_posting(i, 1.0), {JobStatus.RUNNING}),
    "mark_done": (lambda s, i: s.mark_done(i, 5), {JobStatus.POSTING}),
    "mark_failed": (lambda s, i: s.mark_failed(i, "x"), set(ACTIVE)),
}


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
@pytest.mark.parametrize("start", list(JobStatus))
async def test_every_transition_is_checked(jobs: JobStore, name: str, start: JobStatus) -> None:
    call, allowed = TRANSITIONS[name]
    job = await _in_status(jobs, start)
    if start in allowed:
        assert (await call(jobs, job.id)).status is not start
        return
    with pytest.raises(JobStateError) as info:
        await call(jobs, job.id)
    assert info.value.job_id == job.id and info.value.current is start
    assert f"it is {start.value}" in str(info.value)
    assert await jobs.get(job.id) == job  # nothing changed


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
async def test_transition_of_missing_job_raises(jobs: JobStore, name: str) -> None:
    call, _ = TRANSITIONS[name]
    with pytest.raises(JobStateError, match="no such job") as info:
        await call(jobs, 404)
    assert info.value.current is None
    with pytest.raises(JobStateError, match="no such job"):
        await jobs.set_status_message(404, 1)


async def test_double_transition_is_detected(jobs: JobStore) -> None:
    job = await new_job(jobs)
    await jobs.mark_running(job.id)
    with pytest.raises(JobStateError, match="it is running, not queued"):
        await jobs.mark_running(job.id)
    assert (await jobs.get(job.id)).attempts == 1


async def test_mark_failed_keeps_error_and_truncates_it(jobs: JobStore) -> None:
    job = await new_job(jobs)
    failed = await jobs.mark_failed(job.id, "out of memory")
    assert failed.status is JobStatus.FAILED and failed.error == "out of memory"
    other = await new_job(jobs)
    failed = await jobs.mark_failed(other.id, "x" * 10_000)
    assert failed.error is not None and len(failed.error) == 2000


async def test_cancel_only_own_queued_job(jobs: JobStore, clock: FakeClock) -> None:
    mine = await new_job(jobs, user_id=1)
    assert not await jobs.cancel(mine.id, user_id=2)  # someone else's
    assert not await jobs.cancel(404, user_id=1)  # missing
    assert await jobs.cancel(mine.id, user_id=1)
    cancelled = await jobs.get(mine.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.finished_at == clock.now
    assert not await jobs.cancel(mine.id, user_id=1)  # twice
    running = await new_job(jobs, user_id=1)
    await jobs.mark_running(running.id)
    assert not await jobs.cancel(running.id, user_id=1)  # too late
    assert (await jobs.get(running.id)).status is JobStatus.RUNNING


async def test_requeue_after_crash(db_path: Path, clock: FakeClock) -> None:
    async with Database.open(db_path) as db:
        store = JobStore(db, clock=clock)
        queued = await new_job(store)
        running = await new_job(store)
        posting = await new_job(store)
        done = await new_job(store)
        later = await new_job(store)
        for job in (running, posting, done):
            await store.mark_running(job.id)
        for job in (posting, done):
            await store.mark_posting(job.id, 3.0)
        await store.mark_done(done.id, 77)
    # "crash": the connection is gone while jobs were running and posting.
    async with Database.open(db_path) as db:
        store = JobStore(db, clock=clock)
        requeued, given_up = await store.requeue_interrupted()
        assert [j.id for j in requeued] == [queued.id, running.id, later.id] and given_up == []
        assert all(j.status is JobStatus.QUEUED for j in requeued)
        again = next(j for j in requeued if j.id == running.id)
        assert again.started_at is None and again.attempts == 1  # attempts survive
        interrupted = await store.interrupted_posting()
        assert [j.id for j in interrupted] == [posting.id]
        assert interrupted[0].posting_started_at is not None
        # Requeueing is idempotent, and the requeued job runs again.
        assert [j.id for j in (await store.requeue_interrupted())[0]] == [queued.id, running.id, later.id]
        assert (await store.mark_running(running.id)).attempts == 2
        assert [j.id for j in await store.active()] == [queued.id, running.id, posting.id, later.id]
        assert [j.id for j in await store.queued()] == [queued.id, later.id]


PROJECT_ROOT = Path(__file__).resolve().parents[3]

CRASHER = """
import asyncio, os, sys
from bot.storage.database import Database
from bot.storage.jobs import JobStore
from tests.bot.storage.conftest import new_job

async def main():
    db = await Database.open(sys.argv[1])
    store = JobStore(db)
    job = await new_job(store)
    await store.mark_running(job.id)
    os._exit(0)  # no close, no checkpoint: the process just dies

asyncio.run(main())
"""


async def test_requeue_after_a_real_process_death(db_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CRASHER, str(db_path), cwd=PROJECT_ROOT)
    assert await proc.wait() == 0
    async with Database.open(db_path) as db:
        store = JobStore(db)
        requeued, _ = await store.requeue_interrupted()
    assert len(requeued) == 1 and requeued[0].attempts == 1


async def test_idempotent_create(jobs: JobStore) -> None:
    first = await new_job(jobs, idempotency_key="interaction-42")
    second = await new_job(jobs, idempotency_key="interaction-42", user_name="changed")
    assert second == first
    third = await new_job(jobs, idempotency_key="interaction-43")
    plain = [await new_job(jobs), await new_job(jobs)]  # no key: never deduplicated
    assert len({first.id, third.id, *(j.id for j in plain)}) == 4
    assert await jobs.active_count() == 4


async def test_idempotent_create_under_concurrency(jobs: JobStore) -> None:
    created = await asyncio.gather(*(new_job(jobs, idempotency_key="same") for _ in range(20)))
    assert len({j.id for j in created}) == 1
    assert await jobs.active_count() == 1


async def test_pending_count_and_cooldown(jobs: JobStore, clock: FakeClock) -> None:
    assert await jobs.pending_count(1) == 0
    assert await jobs.last_created_at(1) is None
    a = await new_job(jobs, user_id=1)
    clock.advance(30)
    b = await new_job(jobs, user_id=1)
    clock.advance(5)
    await new_job(jobs, user_id=2)
    assert await jobs.last_created_at(1) == clock.now - 5
    assert clock.now - await jobs.last_created_at(1) == 5  # the bot's cooldown check
    assert await jobs.pending_count(1) == 2
    await jobs.mark_running(a.id)
    assert await jobs.pending_count(1) == 2  # running still counts
    await jobs.mark_posting(a.id, 1.0)
    assert await jobs.pending_count(1) == 1  # posting no longer holds the user's slot
    assert await jobs.cancel(b.id, 1)
    assert await jobs.pending_count(1) == 0
    assert await jobs.active_count() == 2  # a (posting) + user 2's job
    assert [j.id for j in await jobs.active_for_user(1)] == [a.id]
    assert await jobs.last_created_at(1) == clock.now - 5  # cancelling does not reset a cooldown


async def test_stats(jobs: JobStore) -> None:
    stats = await jobs.stats()
    assert stats["done"] == stats["failed"] == stats["cancelled"] == stats["total"] == 0
    assert stats["avg_gen_seconds"] is None
    for seconds in (10.0, 20.0):
        job = await new_job(jobs)
        await jobs.mark_running(job.id)
        await jobs.mark_posting(job.id, seconds)
        await jobs.mark_done(job.id, 1)
    failed = await new_job(jobs)
    await jobs.mark_running(failed.id)
    await jobs.mark_posting(failed.id, 99.0)  # gen time of a failed delivery: not averaged
    await jobs.mark_failed(failed.id, "discord down")
    assert await jobs.cancel((await new_job(jobs)).id, 1)
    await new_job(jobs)
    stats = await jobs.stats()
    assert (stats["done"], stats["failed"], stats["cancelled"], stats["queued"]) == (2, 1, 1, 1)
    assert stats["total"] == 5
    assert stats["avg_gen_seconds"] == pytest.approx(15.0)


async def test_create_reroll_is_atomic_and_once_per_user_and_message(db: Database, jobs: JobStore) -> None:
    parent = await new_job(jobs, guild_id=5, channel_id=6)
    request = parent.request.with_seed(99)
    reroll = await jobs.create_reroll(parent, message_id=700, user_id=2, user_name="bo", request=request)
    assert reroll is not None
    assert reroll.kind == KIND_REROLL and reroll.parent_job_id == parent.id
    assert (reroll.guild_id, reroll.channel_id, reroll.reply_to_message_id) == (5, 6, 700)
    assert reroll.request.seed == 99
    claims = await db.fetchall("SELECT * FROM rerolls")
    assert [(r["message_id"], r["user_id"], r["job_id"]) for r in claims] == [(700, 2, reroll.id)]

    # The same user again on the same message: nothing written.
    assert (
        await jobs.create_reroll(parent, message_id=700, user_id=2, user_name="bo", request=request) is None
    )
    # Another user, or another message: allowed.
    assert await jobs.create_reroll(parent, message_id=700, user_id=3, user_name="cy", request=request)
    assert await jobs.create_reroll(parent, message_id=701, user_id=2, user_name="bo", request=request)
    assert await jobs.active_count() == 4

    # A failure half-way (bad request) leaves neither a job nor a claim behind.
    with pytest.raises(TypeError):
        await jobs.create_reroll(parent, message_id=702, user_id=2, user_name="bo", request="nope")
    assert await db.fetchone("SELECT 1 FROM rerolls WHERE message_id = 702") is None
    assert await jobs.active_count() == 4


async def test_concurrent_rerolls_of_one_user_queue_one_job(jobs: JobStore) -> None:
    parent = await new_job(jobs)
    results = await asyncio.gather(
        *(
            jobs.create_reroll(parent, message_id=1, user_id=9, user_name="x", request=parent.request)
            for _ in range(25)
        )
    )
    assert sum(r is not None for r in results) == 1
    assert await jobs.active_count() == 2


async def test_deleting_a_parent_keeps_the_reroll(db: Database, jobs: JobStore) -> None:
    parent = await new_job(jobs)
    reroll = await jobs.create_reroll(parent, message_id=1, user_id=9, user_name="x", request=parent.request)
    assert reroll is not None
    await db.execute("DELETE FROM jobs WHERE id = ?", (parent.id,))
    kept = await jobs.get(reroll.id)
    assert kept is not None and kept.parent_job_id is None
