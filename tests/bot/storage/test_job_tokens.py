"""Interaction tokens leave the database once a job's user is answered, or when the token's time is up."""

from __future__ import annotations

from bot.storage.job_rows import Job
from bot.storage.jobs import JobStore
from tests.bot.storage.conftest import FakeClock, new_job


async def _with_token(jobs: JobStore, clock: FakeClock, token: str, age_s: float = 0.0) -> Job:
    return await new_job(
        jobs, application_id=77, interaction_token=token, interaction_created_at=clock.now - age_s
    )


async def _stored_token(jobs: JobStore, job_id: int) -> str | None:
    job = await jobs.get(job_id)
    assert job is not None
    return job.interaction_token


async def test_every_ending_erases_the_token_once_its_user_is_answered(
    jobs: JobStore, clock: FakeClock
) -> None:
    done = await _with_token(jobs, clock, "token-done")
    await jobs.mark_running(done.id)
    await jobs.mark_posting(done.id, 1.0)
    assert await _stored_token(jobs, done.id) == "token-done"  # still needed to post the result
    await jobs.mark_done(done.id, 555)
    # Kept until the last status edit ("✅ Done") went through: that may be after an outage or a
    # restart, so it can't live only in memory.
    assert await _stored_token(jobs, done.id) == "token-done"
    assert await jobs.mark_answered(done.id)
    assert await _stored_token(jobs, done.id) is None

    failed = await _with_token(jobs, clock, "token-failed")
    await jobs.mark_failed(failed.id, "boom")
    stopped = await _with_token(jobs, clock, "token-stopped")
    await jobs.mark_running(stopped.id)
    await jobs.mark_cancelled(stopped.id)
    withdrawn = await _with_token(jobs, clock, "token-withdrawn")
    assert await jobs.cancel(withdrawn.id, withdrawn.user_id)
    for job in (failed, stopped, withdrawn):
        assert await jobs.mark_answered(job.id)
        assert await _stored_token(jobs, job.id) is None
    active = await _with_token(jobs, clock, "token-active")
    assert not await jobs.mark_answered(active.id)  # an active job has nothing to answer yet
    assert await _stored_token(jobs, active.id) == "token-active"


async def test_active_jobs_keep_their_token_until_it_expires(jobs: JobStore, clock: FakeClock) -> None:
    fresh = await _with_token(jobs, clock, "fresh", age_s=100)
    old = await _with_token(jobs, clock, "old", age_s=901)
    no_time = await new_job(jobs, interaction_token="no-time")  # an old row without a creation time
    plain = await new_job(jobs)

    assert await jobs.erase_expired_tokens(clock.now - 900) == 2
    assert await _stored_token(jobs, fresh.id) == "fresh"
    assert await _stored_token(jobs, old.id) is None
    assert await _stored_token(jobs, no_time.id) is None
    assert await _stored_token(jobs, plain.id) is None
    assert await jobs.erase_expired_tokens(clock.now - 900) == 0
    clock.advance(801)
    assert await jobs.erase_expired_tokens(clock.now - 900) == 1
    assert await _stored_token(jobs, fresh.id) is None
