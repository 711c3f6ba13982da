"""The job store: creating jobs (admission checked, reroll claimed) on top of their reads and transitions.

:class:`JobStore` is what the bot uses; its reads are in :mod:`bot.storage.job_reads`, its status
transitions (and the lifecycle) in :mod:`bot.storage.job_transitions`.
"""

from __future__ import annotations

import logging

from bot.metrics import metrics
from bot.storage.job_inserts import Admission, NewJob, admit
from bot.storage.job_rows import KIND_REROLL, Job
from bot.storage.job_transitions import JobTransitions
from generation.recipes.recipe import PLAIN, Recipe
from generation.request import GenerationRequest

log = logging.getLogger(__name__)


class JobStore(JobTransitions):
    """Reads and transitions of ``jobs`` (and the ``rerolls`` claim that creates a reroll job)."""

    # -- creation -------------------------------------------------------------------------

    async def create(
        self,
        *,
        kind: str,
        user_id: int,
        user_name: str,
        guild_id: int | None,
        channel_id: int,
        request: GenerationRequest,
        variations: int = 1,
        parent_job_id: int | None = None,
        reply_to_message_id: int | None = None,
        application_id: int | None = None,
        interaction_token: str | None = None,
        interaction_created_at: float | None = None,
        idempotency_key: str | None = None,
        recipe: Recipe = PLAIN,
        cost: float = 0.0,
        admission: Admission | None = None,
    ) -> Job:
        """Insert a ``queued`` job, if ``admission`` admits it (checked in the same transaction).

        With an ``idempotency_key`` (e.g. the interaction id) a repeated call returns the job
        the first call created, so a retried or duplicated interaction queues one job. Raises
        :class:`~bot.storage.job_inserts.AdmissionRefused` when a limit refuses it.
        """
        new = NewJob(
            kind=kind,
            user_id=user_id,
            user_name=user_name,
            guild_id=guild_id,
            channel_id=channel_id,
            request=request,
            variations=variations,
            parent_job_id=parent_job_id,
            reply_to_message_id=reply_to_message_id,
            application_id=application_id,
            interaction_token=interaction_token,
            interaction_created_at=interaction_created_at,
            idempotency_key=idempotency_key,
            recipe=recipe,
            cost=cost,
        )
        new.check()
        async with self._db.transaction() as tx:
            if idempotency_key is not None:
                row = await tx.fetchone("SELECT * FROM jobs WHERE idempotency_key = ?", (idempotency_key,))
                if row is not None:
                    log.info("job %d already exists for idempotency key %r", row["id"], idempotency_key)
                    return Job.from_row(row)
            job = await admit(tx, new, admission, self._clock())
        metrics().job_event("accepted", job.request.model)
        log.info("job %d queued (%s) for user %d", job.id, job.kind, job.user_id)
        return job

    async def create_reroll(
        self,
        parent: Job,
        *,
        message_id: int,
        user_id: int,
        user_name: str,
        request: GenerationRequest,
        variations: int = 1,
        reply_to_message_id: int | None = None,
        application_id: int | None = None,
        interaction_token: str | None = None,
        interaction_created_at: float | None = None,
        kind: str = KIND_REROLL,
        recipe: Recipe | None = None,
        cost: float = 0.0,
        admission: Admission | None = None,
    ) -> Job | None:
        """Queue a reroll of ``parent`` requested on ``message_id`` by ``user_id``.

        The job and its ``rerolls`` claim are written in one transaction (with the admission
        check), so a crash cannot leave a claim without a job or a job without a claim. Returns
        ``None`` (and writes nothing) when this user already rerolled this message. The job goes
        to the parent's channel/guild and replies to ``message_id`` unless ``reply_to_message_id``
        says otherwise.
        """
        new = NewJob(
            kind=kind,
            user_id=user_id,
            user_name=user_name,
            guild_id=parent.guild_id,
            channel_id=parent.channel_id,
            request=request,
            variations=variations,
            parent_job_id=parent.id,
            reply_to_message_id=message_id if reply_to_message_id is None else reply_to_message_id,
            application_id=application_id,
            interaction_token=interaction_token,
            interaction_created_at=interaction_created_at,
            recipe=parent.recipe if recipe is None else recipe,
            cost=cost,
        )
        new.check()
        async with self._db.transaction() as tx:
            claimed = await tx.fetchone(
                "SELECT job_id FROM rerolls WHERE message_id = ? AND user_id = ?", (message_id, user_id)
            )
            if claimed is not None:
                log.info(
                    "user %d already rerolled message %d (job %d)", user_id, message_id, claimed["job_id"]
                )
                return None
            job = await admit(tx, new, admission, self._clock())
            await tx.execute(
                "INSERT INTO rerolls (message_id, user_id, job_id, created_at) VALUES (?, ?, ?, ?)",
                (message_id, user_id, job.id, job.created_at),
            )
        metrics().job_event("accepted", job.request.model)
        log.info("job %d queued: reroll of job %d by user %d", job.id, parent.id, user_id)
        return job
