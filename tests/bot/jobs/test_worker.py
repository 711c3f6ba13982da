"""The worker — scheduler, delivery, answers — with a fake executor and a fake Discord.

Real SQLite stores in tmp_path; what is faked is only the GPU and Discord's side of each call, so
every failure the review found can be produced exactly and checked for its one effect.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.jobs.answers import Answers
from bot.jobs.delivery import Delivery
from bot.jobs.outbox import Outbox
from bot.jobs.poster import Refused
from bot.jobs.queue import JobQueue
from bot.jobs.scheduler import Scheduler
from bot.storage import (
    CandidateStore,
    Database,
    GenerationStore,
    Job,
    JobStatus,
    JobStore,
    Mp3Files,
    StemFiles,
)
from generation.audio.finishing import FinishSettings
from generation.errors import Cancelled, GenerationError
from tests.bot.jobs.fakes import FakeExecutor, FakeMessenger, FakePoster
from tests.bot.storage.conftest import make_request, new_job


class Rig:
    """The pipeline over real stores, with fakes for the GPU and Discord."""

    def __init__(self, db: Database, root: Path) -> None:
        self.jobs = JobStore(db)
        self.generations = GenerationStore(db)
        self.files = Mp3Files(root)
        self.stems = StemFiles(db, root)
        self.candidates = CandidateStore(db)
        self.executor = FakeExecutor()
        self.messenger = FakeMessenger()
        self.poster = FakePoster()
        self.queue = JobQueue()
        self.answers = Answers(self.jobs, self.messenger, self.poster)  # type: ignore[arg-type]
        self.delivery = Delivery(
            jobs=self.jobs, generations=self.generations, files=self.files, candidates=self.candidates,
            stems=self.stems, messenger=self.messenger, poster=self.poster, answers=self.answers,  # type: ignore[arg-type]
            view_factory=lambda job: None, model_name=lambda: "fake-model", finder=self.poster.find,
        )  # fmt: skip
        self.scheduler = Scheduler(
            queue=self.queue, jobs=self.jobs, executor=self.executor, delivery=self.delivery,
            messenger=self.messenger, candidates=self.candidates, stems=self.stems, files=self.files,  # type: ignore[arg-type]
            finish_settings=FinishSettings(),
        )  # fmt: skip
        self.outbox = Outbox(self.jobs, self.delivery, self.answers, interval_s=0.05)

    async def queue_job(
        self, user_id: int = 1, text: str = "rain", model: str | None = None, **overrides: object
    ) -> Job:
        request = make_request(user_text=text, model=model)
        job = await new_job(self.jobs, user_id, request=request, **overrides)
        await self.jobs.set_status_message(job.id, 500 + job.id)
        job = await self.jobs.get(job.id)
        assert job is not None
        await self.queue.put(job)
        return job

    async def settled(self, job_id: int) -> Job:
        """The job once it has ended and its user has been answered."""

        async def answered() -> bool:
            job = await self.jobs.get(job_id)
            return job is not None and job.answered_at is not None

        await eventually(answered)
        job = await self.jobs.get(job_id)
        assert job is not None
        return job


async def eventually(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait for ``condition``: state (a row, a counter) the code under test has no event for."""
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.01)


async def ended(rig: Rig, job_id: int) -> Job:
    """The job once it is no longer active (whether or not its user has been told yet)."""

    async def done() -> bool:
        current = await rig.jobs.get(job_id)
        return current is not None and not current.is_active

    await eventually(done)
    job = await rig.jobs.get(job_id)
    assert job is not None
    return job


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with Database.open(tmp_path / "db.sqlite3") as db:
        rig = Rig(db, tmp_path)
        rig.scheduler.start()
        try:
            yield rig
        finally:
            await rig.scheduler.stop(grace_s=5)


async def test_a_plain_job_is_posted_once_and_closed(rig: Rig) -> None:
    job = await rig.queue_job()
    done = await rig.settled(job.id)
    assert done.status is JobStatus.DONE and done.result_message_id == rig.poster.results_for(job.id)[0]
    assert len(rig.poster.results_for(job.id)) == 1
    assert rig.messenger.reactions == [done.result_message_id]
    # No interaction to edit through: the result is its own message and the status goes.
    assert rig.messenger.removed == [job.id] and not rig.messenger.finals and not rig.poster.edits
    ((event, (delivered, message_id)),) = rig.messenger.events
    assert (event, delivered.id, message_id) == ("ambientgen_job_delivered", job.id, done.result_message_id)


async def test_a_slash_jobs_status_message_becomes_its_result_once_whatever_the_answers(rig: Rig) -> None:
    """One message per job: the status is edited into the result (progress edits stopped first).
    An edit whose answer is lost is found on the status message, never posted a second time; a
    status message deleted meanwhile gets the result as a follow-up, and nothing to remove."""
    token = {"application_id": 7, "interaction_token": "t", "interaction_created_at": time.time()}
    rig.poster.outcomes = ["stored-then-5xx"]
    job = await rig.queue_job(**token)
    done = await rig.settled(job.id)
    assert done.status is JobStatus.DONE and done.result_message_id == done.status_message_id
    assert rig.poster.edits == rig.poster.results_for(job.id) == [done.status_message_id]
    assert rig.messenger.stopped == [job.id] and not rig.messenger.removed
    assert rig.messenger.reactions == [done.status_message_id]

    rig.poster.outcomes = [Refused(404, 10008, "Unknown Message"), "ok"]
    gone = await rig.queue_job(text="wind", **token)
    ended_gone = await rig.settled(gone.id)
    (follow_up,) = rig.poster.results_for(gone.id)
    assert ended_gone.result_message_id == follow_up != ended_gone.status_message_id
    assert rig.messenger.removed == [gone.id]  # the (already deleted) status: removal is idempotent


async def test_a_failing_batch_while_discord_is_unreachable_never_stops_the_loop(rig: Rig) -> None:
    """Finding 1: a batch of two fails while every Discord write fails; the next job still runs."""
    rig.executor.gate = asyncio.Event()
    blocker = await rig.queue_job(9, "blocker")
    await rig.executor.submitting.wait()
    rig.messenger.unreachable = True
    first, second = await rig.queue_job(1, "a"), await rig.queue_job(2, "b")
    rig.executor.script = {first.id: GenerationError("boom"), second.id: GenerationError("boom")}
    rig.executor.gate.set()
    assert [(await ended(rig, j.id)).status for j in (blocker, first, second)] == [
        JobStatus.DONE, JobStatus.FAILED, JobStatus.FAILED,
    ]  # fmt: skip
    assert rig.executor.batches == [[blocker.id], [first.id, second.id]]
    third = await rig.queue_job(3, "c")
    assert (await ended(rig, third.id)).status is JobStatus.DONE
    assert rig.scheduler.loop.state == "running"
    # Discord comes back: the owed answers are given, once.
    rig.messenger.unreachable = False
    assert await rig.outbox.drain() == 0
    assert {job_id for job_id, text in rig.messenger.finals if text.startswith("⚠️")} == {first.id, second.id}
    assert await rig.outbox.drain() == 0
    assert len([f for f in rig.messenger.finals if f[0] == first.id]) == 1


async def test_a_broken_executor_fails_the_batch_and_the_loop_goes_on(rig: Rig) -> None:
    """Finding 1: taking a batch raised (a model gone after a failed rebuild)."""
    rig.executor.fail_limits = True
    job = await rig.queue_job()
    await eventually(lambda: rig.scheduler.loop.restarts >= 1)
    assert job.id in rig.queue  # still queued: nothing was lost with the failed attempt
    rig.executor.fail_limits = False
    assert (await rig.settled(job.id)).status is JobStatus.DONE


async def test_a_5xx_after_discord_stored_the_result_is_found_not_posted_twice(rig: Rig) -> None:
    """Finding 2: the outcome was unknown; the marker lookup finds the post."""
    rig.poster.outcomes = ["stored-then-5xx"]
    job = await rig.queue_job()
    done = await rig.settled(job.id)
    assert done.status is JobStatus.DONE and rig.poster.attempts == 1
    assert rig.poster.results_for(job.id) == [done.result_message_id]


async def test_a_lost_post_is_made_again_when_it_is_not_there(rig: Rig) -> None:
    rig.poster.outcomes = ["lost"]
    job = await rig.queue_job()
    done = await rig.settled(job.id)
    assert done.status is JobStatus.DONE and rig.poster.attempts == 2 and done.post_attempts == 2
    assert len(rig.poster.results_for(job.id)) == 1


async def test_a_refused_post_fails_the_job_with_the_reason(rig: Rig) -> None:
    rig.poster.outcomes = [Refused(403, 50013, "Missing Permissions")]
    job = await rig.queue_job()
    failed = await rig.settled(job.id)
    assert failed.status is JobStatus.FAILED and "missing a permission" in (failed.error or "")


async def test_a_failing_database_write_fails_the_job_and_frees_the_slot(rig: Rig, tmp_path: Path) -> None:
    """Finding 3: storing the result failed; the job ends failed (not stuck running)."""
    (tmp_path / "mp3").write_text("a file where a folder should be")
    job = await rig.queue_job()
    failed = await rig.settled(job.id)
    assert failed.status is JobStatus.FAILED and "could not be saved" in (failed.error or "")
    assert await rig.jobs.pending_count(1) == 0
    assert (await rig.jobs.requeue_interrupted())[0] == []  # nothing to redo after a restart


async def test_one_failure_in_a_batch_ends_only_that_job(rig: Rig) -> None:
    """Finding 7."""
    rig.executor.gate = asyncio.Event()
    blocker = await rig.queue_job(9, "blocker")
    await rig.executor.submitting.wait()
    jobs = [await rig.queue_job(user, f"clip {user}") for user in (1, 2, 3)]
    rig.executor.script = {jobs[1].id: GenerationError("boom")}
    rig.executor.gate.set()
    ended = [await rig.settled(j.id) for j in (blocker, *jobs)]
    assert rig.executor.batches == [[blocker.id], [j.id for j in jobs]]
    assert [j.status for j in ended] == [JobStatus.DONE, JobStatus.DONE, JobStatus.FAILED, JobStatus.DONE]


async def test_a_job_cancelled_while_running_is_recorded_and_shown(rig: Rig) -> None:
    rig.executor.script = {1: Cancelled()}
    job = await rig.queue_job()
    cancelled = await rig.settled(job.id)
    assert cancelled.status is JobStatus.CANCELLED and (job.id, "🛑 Cancelled.") in rig.messenger.finals


async def test_stop_waits_for_the_running_batch_then_leaves_the_queue(rig: Rig) -> None:
    rig.executor.gate = asyncio.Event()
    running = await rig.queue_job(1, "running")
    await rig.executor.submitting.wait()
    waiting = await rig.queue_job(2, "waiting")
    stopping = asyncio.ensure_future(rig.scheduler.stop(grace_s=5))
    await asyncio.sleep(0)
    rig.executor.gate.set()
    await stopping
    assert (await rig.settled(running.id)).status is JobStatus.DONE
    assert (await rig.jobs.get(waiting.id)).status is JobStatus.QUEUED  # type: ignore[union-attr]


async def test_unanswered_failures_are_answered_after_an_outage(rig: Rig) -> None:
    rig.messenger.unreachable = True
    rig.executor.script = {1: GenerationError("boom")}
    job = await rig.queue_job()
    assert job.id == 1 and (await ended(rig, job.id)).status is JobStatus.FAILED
    assert await rig.outbox.drain() == 1  # still owed
    rig.messenger.unreachable = False
    assert await rig.outbox.drain() == 0
    assert (await rig.jobs.get(job.id)).answered_at is not None  # type: ignore[union-attr]
