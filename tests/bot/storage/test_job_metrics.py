"""The job counters are bumped by the store's own transitions, so they agree with the database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.metrics import Metrics, use
from bot.storage.jobs import JobStore
from tests.bot.storage.conftest import FakeClock, make_request, new_job


@pytest.fixture
def counted() -> Iterator[Metrics]:
    mine = Metrics()
    previous = use(mine)
    mine.prepare(["tiny", "tiny-sao"])
    yield mine
    use(previous)


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def outcomes(metrics: Metrics, model: str = "tiny") -> dict[str, float]:
    return {
        outcome: value(metrics, "ambientgen_jobs_total", outcome=outcome, model=model)
        for outcome in ("accepted", "delivered", "failed", "cancelled", "refused")
    }


async def test_counters_follow_every_transition_and_agree_with_the_database(
    jobs: JobStore, clock: FakeClock, counted: Metrics
) -> None:
    done, failed, cancelled, stopped, other_model = [
        await new_job(jobs, user_id=user) for user in (1, 2, 3, 4)
    ] + [await new_job(jobs, user_id=5, request=make_request(model="tiny-sao"))]
    clock.advance(4.0)
    for job in (done, failed, stopped, other_model):
        await jobs.mark_running(job.id)
    assert value(counted, "ambientgen_queue_wait_seconds_count") == 4
    assert value(counted, "ambientgen_queue_wait_seconds_sum") == pytest.approx(16.0)
    clock.advance(3.0)
    await jobs.mark_posting(done.id, 2.5)
    await jobs.mark_done(done.id, 999)
    await jobs.mark_failed(failed.id, "The model failed")
    assert await jobs.cancel(cancelled.id, user_id=3)
    assert not await jobs.cancel(done.id, user_id=1)  # not queued any more: nothing counted
    await jobs.mark_cancelled(stopped.id)
    await jobs.mark_failed(other_model.id, "The model failed")

    assert outcomes(counted) == {"accepted": 4, "delivered": 1, "failed": 1, "cancelled": 2, "refused": 0}
    assert outcomes(counted, "tiny-sao") == {
        "accepted": 1, "delivered": 0, "failed": 1, "cancelled": 0, "refused": 0,
    }  # fmt: skip
    stats = await jobs.stats()
    assert stats["done"] == 1 and stats["failed"] == 2 and stats["cancelled"] == 2
    assert value(counted, "ambientgen_job_seconds_count") == 1
    assert value(counted, "ambientgen_job_seconds_sum") == pytest.approx(7.0)  # accepted → delivered


async def test_a_restart_counts_given_up_jobs_as_failed_and_waits_only_once(
    jobs: JobStore, clock: FakeClock, counted: Metrics
) -> None:
    job = await new_job(jobs)
    await jobs.mark_running(job.id)
    queued, given_up = await jobs.requeue_interrupted(max_attempts=2)
    assert [j.id for j in queued] == [job.id] and not given_up
    await jobs.mark_running(job.id)  # its second run: its wait was counted the first time
    assert value(counted, "ambientgen_queue_wait_seconds_count") == 1
    _queued, given_up = await jobs.requeue_interrupted(max_attempts=2)
    assert [j.id for j in given_up] == [job.id]
    assert outcomes(counted)["failed"] == 1


async def test_refusals_and_idempotent_repeats(jobs: JobStore, counted: Metrics) -> None:
    await new_job(jobs, idempotency_key="interaction:1")
    await new_job(jobs, idempotency_key="interaction:1")  # the same interaction again: one job
    with pytest.raises(Exception, match="too many"):
        await new_job(jobs, admission=lambda usage: "too many" if usage.user_pending else None)
    assert outcomes(counted)["accepted"] == 1
    assert outcomes(counted)["refused"] == 1
