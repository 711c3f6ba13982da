"""The in-memory queue's batching: fairness picks the first job, compatible ones join by weight."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.jobs.admission import JobSizes
from bot.jobs.batching import compatible
from bot.jobs.estimate import DurationEstimator
from bot.jobs.queue import JobQueue
from bot.storage import Job, JobStatus
from generation.models import ModelCatalog
from generation.recipes.recipe import PLAIN, Recipe
from tests.bot.storage.conftest import make_request


def job(
    job_id: int, user_id: int, *, duration: float = 10.0, variations: int = 1, recipe: Recipe = PLAIN
) -> Job:
    return Job(
        id=job_id, status=JobStatus.QUEUED, kind="ambient", user_id=user_id, user_name=f"u{user_id}",
        guild_id=1, channel_id=2, request=make_request(duration_s=duration), variations=variations,
        parent_job_id=None, reply_to_message_id=None, application_id=None, interaction_token=None,
        interaction_created_at=None, status_message_id=None, result_message_id=None,
        posting_started_at=None, created_at=float(job_id), started_at=None, finished_at=None,
        gen_seconds=None, error=None, attempts=0, idempotency_key=None, recipe=recipe,
    )  # fmt: skip


def clips(j: Job) -> int:
    return j.variations


async def test_take_batches_compatible_jobs_up_to_the_clip_limit() -> None:
    queue = JobQueue()
    for j in (job(1, 1), job(2, 2, duration=5.0), job(3, 3, variations=2), job(4, 4), job(5, 5)):
        await queue.put(j)
    batch = await queue.take(4, compatible, clips)
    # Job 2 has another duration; 1 + 2 (job 3) + 1 (job 4) = 4 clips, so job 5 waits.
    assert [j.id for j in batch] == [1, 3, 4]
    assert [j.id for j in queue.ordered()] == [2, 5]


async def test_special_recipes_never_share_a_call() -> None:
    queue = JobQueue()
    await queue.put(job(1, 1, recipe=Recipe(candidates=3)))
    await queue.put(job(2, 2))
    assert [j.id for j in await queue.take(8, compatible, clips)] == [1]
    await queue.put(job(3, 3, recipe=Recipe(loop=True)))  # a loop is a plain clip, finished differently
    assert [j.id for j in await queue.take(8, compatible, clips)] == [2, 3]


async def test_limit_may_depend_on_the_first_job_and_take_more_fills_the_room() -> None:
    queue = JobQueue()
    for j in (job(1, 1), job(2, 2)):
        await queue.put(j)
    batch = await queue.take(lambda first: 1, compatible, clips)
    assert [j.id for j in batch] == [1]
    more = await queue.take_more(batch[0], 3, compatible, clips)
    assert [j.id for j in more] == [2] and len(queue) == 0
    assert await queue.take_more(batch[0], 3, compatible, clips) == []


async def test_take_waits_for_work() -> None:
    queue = JobQueue()
    waiting = asyncio.create_task(queue.take())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await queue.put(job(1, 1))
    assert [j.id for j in await asyncio.wait_for(waiting, 1)] == [1]


def test_fairness_still_decides_the_first_job() -> None:
    first = dataclasses.replace(job(1, 1), created_at=1.0)
    assert compatible(first, job(2, 1)) and not compatible(first, job(3, 1, duration=3.0))


async def test_the_view_gives_every_place_and_wait_in_one_pass() -> None:
    queue = JobQueue()
    jobs = [job(i, user_id=i % 3, duration=2.5 + i) for i in range(1, 8)]
    await queue.put_many(jobs)
    view = queue.view()
    order = queue.ordered()
    assert [w.job.id for w in view.waiting] == [j.id for j in order]
    # Each wait is the estimated time of every job ahead of it (nothing runs yet).
    ahead = 0.0
    for place, expected in zip(view.waiting, order, strict=True):
        assert place.eta_s == pytest.approx(ahead)
        ahead += queue.estimator.estimate(expected.request.steps, expected.request.duration_s, 1)
    assert queue.view() is view  # cached until the next change
    await queue.remove(order[0].id)
    assert queue.view() is not view and queue.position(order[1].id) == (1, 6)


async def test_changes_in_one_loop_iteration_notify_once() -> None:
    queue = JobQueue()
    calls: list[int] = []
    queue.on_change(lambda: calls.append(len(queue)))
    await queue.put_many(job(i, i) for i in range(1, 501))
    await queue.put(job(501, 1))
    await queue.remove(3)
    assert calls == []  # not yet: coalesced into the next loop iteration
    await asyncio.sleep(0)
    assert calls == [500]


async def test_waits_are_shared_out_over_the_gpus_that_run_side_by_side() -> None:
    queue = JobQueue()
    await queue.put_many([job(i, user_id=i, duration=5.0) for i in range(1, 5)])
    alone = [w.eta_s for w in queue.view().waiting]
    queue.lanes = lambda: 2  # two GPU workers online
    two = [w.eta_s for w in queue.view(fresh=True).waiting]
    assert two == pytest.approx([eta / 2 for eta in alone]) and alone[-1] > 0


async def test_wait_for_work_returns_without_taking() -> None:
    queue = JobQueue()
    waiting = asyncio.create_task(queue.wait_for_work())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await queue.put(job(1, 1))
    await asyncio.wait_for(waiting, 1)
    assert len(queue) == 1


async def test_waits_count_what_each_model_computes() -> None:
    """A short Stable Audio Open clip ahead holds the queue for its whole 47.55 s window."""
    catalog = ModelCatalog.from_ids(["tiny", "tiny-sao"])
    queue = JobQueue(DurationEstimator(initial_seconds_per_unit=0.01), sizes=JobSizes(catalog))
    short_sao = dataclasses.replace(
        job(1, 1), request=make_request(model="tiny-sao", duration_s=2.5, steps=100)
    )
    await queue.put(short_sao)
    await queue.put(job(2, 2))
    wait = queue.view().place(2).eta_s  # type: ignore[union-attr]
    assert wait == pytest.approx(0.01 * 100 * 1024 * 2048 / 44_100)
    # Without the models' rule, the same clip would count its 2.5 s only (what the limits missed).
    plain = JobQueue(DurationEstimator(initial_seconds_per_unit=0.01))
    await plain.put(short_sao)
    await plain.put(job(2, 2))
    assert plain.view().place(2).eta_s == pytest.approx(0.01 * 100 * 2.5)  # type: ignore[union-attr]
