"""Transitions of jobs: every request the bot accepted, from "Queued" to the posted result.

Lifecycle::

    queued ──mark_running──▶ running ──mark_posting──▶ posting ──mark_done──▶ done
      │                         │                         │
      └─cancel─▶ cancelled      └──── mark_failed (from any active state) ──▶ failed

A job is written before the user sees "Queued", so a crash never loses one: on start
:meth:`JobStore.requeue_interrupted` puts ``running`` jobs back in the queue (or gives up on a job
that has been running at ``max_attempts`` crashes), and jobs in ``posting`` (intent recorded,
confirmation missing) are resolved by the bot by looking for the post before re-posting. An
ended job whose ``answered_at`` is still NULL owes its user an answer (its status closed, or its
failure shown), which the bot keeps trying to give. Transitions are conditional UPDATEs, so a
double transition is detected and raises :class:`JobStateError`.

An interaction token is a live credential for 15 minutes: it is erased from the row once the
job's user has been answered (the last status edit needs it, and after a restart or an outage
that edit may come later than the job's end), and :meth:`JobStore.erase_expired_tokens` erases
those that outlived their use.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence

from bot.metrics import metrics
from bot.storage.database import Transaction
from bot.storage.job_reads import JobReads
from bot.storage.job_rows import (
    ACTIVE,
    MAX_ERROR_CHARS,
    TERMINAL_SQL,
    Job,
    JobStateError,
    JobStatus,
    encode_recipe,
    placeholders,
)
from generation.recipes.recipe import Recipe

log = logging.getLogger(__name__)

#: What a job that kept killing the bot is failed with.
GAVE_UP_ERROR = (
    "This request stopped the bot {attempts} times while it was being generated, so it was not tried "
    "again. Please try a different request."
)


class JobTransitions(JobReads):
    """Status changes of ``jobs``, each a conditional UPDATE (a base of :class:`JobStore`)."""

    # -- transitions ----------------------------------------------------------------------

    async def set_status_message(self, job_id: int, message_id: int) -> None:
        """Remember the message that shows the job's progress ("Queued", "Generating…")."""
        result = await self._db.execute(
            "UPDATE jobs SET status_message_id = ? WHERE id = ?", (message_id, job_id)
        )
        if result.rowcount != 1:
            raise JobStateError(job_id, "set the status message of", None, ())

    async def mark_running(self, job_id: int) -> Job:
        """queued → running; sets ``started_at`` and counts the attempt."""
        job = await self._transition(
            job_id,
            "start",
            {JobStatus.QUEUED},
            "status = ?, started_at = ?, attempts = attempts + 1",
            (JobStatus.RUNNING.value, self._clock()),
        )
        if job.attempts == 1 and job.started_at is not None:  # its wait in the queue, once per job
            metrics().job_started(job.started_at - job.created_at)
        return job

    async def requeue_as(self, job_id: int, recipe: Recipe, cost: float) -> Job:
        """running → queued with another recipe and its GPU ``cost`` (a 🔁 whose stored candidate
        was taken first: it needs the GPU after all)."""
        return await self._transition(
            job_id,
            "re-queue",
            {JobStatus.RUNNING},
            "status = ?, started_at = NULL, recipe_json = ?, cost = ?",
            (JobStatus.QUEUED.value, encode_recipe(recipe), cost),
        )

    async def mark_posting(self, job_id: int, gen_seconds: float) -> Job:
        """running → posting: the delivery intent, recorded before the result is posted."""
        return await self._transition(
            job_id,
            "record the posting of",
            {JobStatus.RUNNING},
            "status = ?, posting_started_at = ?, gen_seconds = ?",
            (JobStatus.POSTING.value, self._clock(), gen_seconds),
        )

    async def mark_done(self, job_id: int, result_message_id: int) -> Job:
        """posting → done: the post is confirmed by its message id."""
        job = await self._transition(
            job_id,
            "finish",
            {JobStatus.POSTING},
            "status = ?, result_message_id = ?, finished_at = ?",
            (JobStatus.DONE.value, result_message_id, self._clock()),
        )
        metrics().job_delivered(job.request.model, (job.finished_at or job.created_at) - job.created_at)
        return job

    async def mark_failed(self, job_id: int, error: str) -> Job:
        """Any active state → failed, keeping a user-facing ``error`` text (its answer is owed)."""
        if len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 1] + "…"
        job = await self._transition(
            job_id,
            "fail",
            ACTIVE,
            "status = ?, error = ?, finished_at = ?",
            (JobStatus.FAILED.value, error, self._clock()),
        )
        metrics().job_event("failed", job.request.model)
        return job

    async def cancel(self, job_id: int, user_id: int) -> bool:
        """Cancel the user's own queued job; False if it is not theirs or no longer queued."""
        result = await self._db.execute(
            "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ? AND user_id = ? AND status = ?",
            (JobStatus.CANCELLED.value, self._clock(), job_id, user_id, JobStatus.QUEUED.value),
        )
        cancelled = result.rowcount == 1
        if cancelled:
            log.info("job %d cancelled by user %d", job_id, user_id)
            job = await self.get(job_id)
            metrics().job_event("cancelled", job.request.model if job is not None else None)
        return cancelled

    async def mark_cancelled(self, job_id: int) -> Job:
        """running → cancelled: the generation was stopped between steps on the user's request."""
        job = await self._transition(
            job_id,
            "cancel the run of",
            {JobStatus.RUNNING},
            "status = ?, finished_at = ?",
            (JobStatus.CANCELLED.value, self._clock()),
        )
        metrics().job_event("cancelled", job.request.model)
        return job

    async def note_post_attempt(self, job_id: int) -> Job:
        """Count one more attempt at posting the result of a ``posting`` job (before it is made)."""
        return await self._transition(
            job_id, "count a post attempt of", {JobStatus.POSTING}, "post_attempts = post_attempts + 1", ()
        )

    async def mark_answered(self, job_id: int) -> bool:
        """The user was told how the ended job ended. The interaction token, needed until now to
        edit the status message, is erased. False if the job is not ended or was answered already."""
        result = await self._db.execute(
            f"UPDATE jobs SET answered_at = ?, interaction_token = NULL "
            f"WHERE id = ? AND answered_at IS NULL AND status IN {TERMINAL_SQL}",
            (self._clock(), job_id),
        )
        return result.rowcount == 1

    async def requeue_interrupted(
        self, max_attempts: int | None = None, surviving: Collection[tuple[int, str]] = ()
    ) -> tuple[list[Job], list[Job]]:
        """After a restart: ``running`` jobs go back to ``queued``; returns (queued jobs, given up).

        A job that was running when the bot died ``max_attempts`` times (it may be what kills
        it) is failed instead, with a message for its user (its answer is then owed). ``None``
        never gives up. A job in ``surviving`` (its id and nonce: its work lives on, on a GPU
        worker) did not die: that run is not counted (its next start, which adopts the work, is
        the same attempt). The queued jobs are every queued job, oldest first.
        """
        now = self._clock()
        async with self._db.transaction() as tx:
            for job_id, nonce in surviving:
                await tx.execute(
                    "UPDATE jobs SET attempts = MAX(attempts - 1, 0)"
                    " WHERE id = ? AND nonce = ? AND status = ?",
                    (job_id, nonce, JobStatus.RUNNING.value),
                )
            given_up_ids: list[int] = []
            if max_attempts is not None:
                rows = await tx.fetchall(
                    "SELECT id, attempts FROM jobs WHERE status = ? AND attempts >= ?",
                    (JobStatus.RUNNING.value, max_attempts),
                )
                for row in rows:
                    await tx.execute(
                        "UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                        (
                            JobStatus.FAILED.value,
                            GAVE_UP_ERROR.format(attempts=row["attempts"]),
                            now,
                            row["id"],
                        ),
                    )
                    given_up_ids.append(row["id"])
            result = await tx.execute(
                "UPDATE jobs SET status = ?, started_at = NULL WHERE status = ?",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value),
            )
            rows = await tx.fetchall(
                "SELECT * FROM jobs WHERE status = ? ORDER BY id", (JobStatus.QUEUED.value,)
            )
            given_up = await _rows_with_ids(tx, given_up_ids)
        if result.rowcount:
            log.warning("re-queued %d job(s) interrupted while running", result.rowcount)
        for job in given_up:
            log.warning("job %d: gave up after %d interrupted runs", job.id, job.attempts)
            metrics().job_event("failed", job.request.model)
        return [Job.from_row(r) for r in rows], given_up

    async def fail_unreadable(self, jobs: Iterable[Job]) -> list[Job]:
        """Fail active jobs whose stored request no longer decodes (they can never run)."""
        failed = []
        for job in jobs:
            try:
                failed.append(
                    await self.mark_failed(
                        job.id,
                        "Your request could not be read back after an update of the bot, so it was not "
                        "generated. Please send it again.",
                    )
                )
            except JobStateError:
                continue
            log.error("job %d: its stored request can't be read (%s); failed it", job.id, job.unreadable)
        return failed

    async def erase_expired_tokens(self, created_before: float) -> int:
        """Erase the interaction tokens of interactions created before ``created_before``.

        Discord's tokens expire after 15 minutes and the bot stops using them earlier; a token
        kept past that is only a credential lying around. Returns how many were erased.
        """
        result = await self._db.execute(
            "UPDATE jobs SET interaction_token = NULL"
            " WHERE interaction_token IS NOT NULL AND COALESCE(interaction_created_at, 0) < ?",
            (created_before,),
        )
        return result.rowcount

    async def _transition(
        self,
        job_id: int,
        action: str,
        allowed: Iterable[JobStatus],
        assignments: str,
        params: tuple[object, ...],
    ) -> Job:
        # The status check lives in the UPDATE itself: of two racing transitions exactly one
        # matches a row, the other sees rowcount 0 and raises.
        allowed = frozenset(allowed)
        marks, values = placeholders(allowed)
        async with self._db.transaction() as tx:
            result = await tx.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ? AND status IN ({marks})",
                (*params, job_id, *values),
            )
            row = await tx.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if result.rowcount != 1:
            current = None if row is None else JobStatus(row["status"])
            raise JobStateError(job_id, action, current, allowed)
        assert row is not None
        job = Job.from_row(row)
        log.debug("job %d is now %s", job.id, job.status.value)
        return job


async def _rows_with_ids(tx: Transaction, ids: Sequence[int]) -> list[Job]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await tx.fetchall(f"SELECT * FROM jobs WHERE id IN ({marks}) ORDER BY id", tuple(ids))
    return [Job.from_row(r) for r in rows]
