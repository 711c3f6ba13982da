"""Jobs: every request the bot accepted, from "Queued" to the posted result.

Lifecycle::

    queued ──mark_running──▶ running ──mark_posting──▶ posting ──mark_done──▶ done
      │                         │                         │
      └─cancel─▶ cancelled      └──── mark_failed (from any active state) ──▶ failed

A job is written before the user sees "Queued", so a crash never loses one: on start
:meth:`JobStore.requeue_interrupted` puts ``running`` jobs back in the queue, and jobs in
``posting`` (intent recorded, confirmation missing) are handed to the bot by
:meth:`JobStore.interrupted_posting` to check whether the post went out before re-posting.
Transitions are conditional UPDATEs, so a double transition is detected and raises
:class:`JobStateError`.

An interaction token is a live credential for 15 minutes: every transition that ends a job
erases it from its row (the returned :class:`Job` still carries it for the final status edit),
and :meth:`JobStore.erase_expired_tokens` erases those that outlived their use.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.storage.database import Database, Transaction
from generation.recipes.recipe import PLAIN, Recipe
from generation.request import GenerationRequest

log = logging.getLogger(__name__)

#: Kinds the bot creates today; the column takes any non-empty kind.
KIND_AMBIENT = "ambient"
KIND_REROLL = "reroll"
#: A stored request edited by its user (history "tweak") and queued again.
KIND_TWEAK = "tweak"
#: One layer of a layered scene re-rendered with a new seed, the other stems reused.
KIND_LAYER = "layer"
#: A layered scene remixed at new levels from its stored stems (no GPU work).
KIND_REMIX = "remix"

#: Longest error text kept; tracebacks belong in the log, the row keeps what the user is told.
MAX_ERROR_CHARS = 2000


class JobStatus(StrEnum):
    """Status column values (a ``str`` enum: members compare equal to the stored text)."""

    QUEUED = "queued"
    RUNNING = "running"
    POSTING = "posting"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Statuses of jobs that still need work from the bot.
ACTIVE: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.POSTING})


class JobStateError(RuntimeError):
    """A transition was asked of a job that is not in a state allowing it (or does not exist)."""

    def __init__(
        self, job_id: int, action: str, current: JobStatus | None, allowed: Iterable[JobStatus]
    ) -> None:
        self.job_id = job_id
        self.action = action
        self.current = current
        self.allowed = frozenset(allowed)
        if current is None:
            message = f"cannot {action} job {job_id}: no such job"
        else:
            expected = " or ".join(sorted(s.value for s in self.allowed))
            message = f"cannot {action} job {job_id}: it is {current.value}, not {expected}"
        super().__init__(message)


def encode_request(request: GenerationRequest) -> str:
    """The request as stored in ``request_json`` (exact float round-trip, no NaN)."""
    return json.dumps(request.to_dict(), ensure_ascii=False, sort_keys=True, allow_nan=False)


def decode_request(text: str) -> GenerationRequest:
    return GenerationRequest.from_dict(json.loads(text))


def encode_recipe(recipe: Recipe) -> str | None:
    """The recipe as stored in ``recipe_json``; NULL for a plain clip."""
    data = recipe.to_dict()
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False) if data else None


def decode_recipe(text: str | None) -> Recipe:
    return Recipe.from_dict(json.loads(text)) if text else PLAIN


@dataclass(frozen=True, slots=True)
class Job:
    """One row of ``jobs``; timestamps are epoch seconds."""

    id: int
    status: JobStatus
    kind: str
    user_id: int
    user_name: str
    guild_id: int | None
    channel_id: int
    request: GenerationRequest
    variations: int
    parent_job_id: int | None
    reply_to_message_id: int | None
    application_id: int | None
    # A live credential for 15 minutes: kept out of reprs and therefore out of logs.
    interaction_token: str | None = field(repr=False)
    interaction_created_at: float | None
    status_message_id: int | None
    result_message_id: int | None
    posting_started_at: float | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    gen_seconds: float | None
    error: str | None
    attempts: int
    idempotency_key: str | None
    recipe: Recipe = PLAIN

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            id=row["id"],
            status=JobStatus(row["status"]),
            kind=row["kind"],
            user_id=row["user_id"],
            user_name=row["user_name"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            request=decode_request(row["request_json"]),
            variations=row["variations"],
            parent_job_id=row["parent_job_id"],
            reply_to_message_id=row["reply_to_message_id"],
            application_id=row["application_id"],
            interaction_token=row["interaction_token"],
            interaction_created_at=row["interaction_created_at"],
            status_message_id=row["status_message_id"],
            result_message_id=row["result_message_id"],
            posting_started_at=row["posting_started_at"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            gen_seconds=row["gen_seconds"],
            error=row["error"],
            attempts=row["attempts"],
            idempotency_key=row["idempotency_key"],
            recipe=decode_recipe(row["recipe_json"]),
        )


def _placeholders(statuses: Iterable[JobStatus]) -> tuple[str, tuple[str, ...]]:
    values = tuple(sorted(s.value for s in statuses))
    return ",".join("?" * len(values)), values


_ACTIVE_IN, _ACTIVE_VALUES = _placeholders(ACTIVE)
_PENDING_IN, _PENDING_VALUES = _placeholders({JobStatus.QUEUED, JobStatus.RUNNING})


class JobStore:
    """Reads and transitions of ``jobs`` (and the ``rerolls`` claim that creates a reroll job)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

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
    ) -> Job:
        """Insert a ``queued`` job.

        With an ``idempotency_key`` (e.g. the interaction id) a repeated call returns the job
        the first call created, so a retried or duplicated interaction queues one job.
        """
        async with self._db.transaction() as tx:
            if idempotency_key is not None:
                row = await tx.fetchone("SELECT * FROM jobs WHERE idempotency_key = ?", (idempotency_key,))
                if row is not None:
                    log.info("job %d already exists for idempotency key %r", row["id"], idempotency_key)
                    return Job.from_row(row)
            job = await self._insert(
                tx,
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
            )
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
    ) -> Job | None:
        """Queue a reroll of ``parent`` requested on ``message_id`` by ``user_id``.

        The job and its ``rerolls`` claim are written in one transaction, so a crash cannot
        leave a claim without a job or a job without a claim. Returns ``None`` (and writes
        nothing) when this user already rerolled this message. The job goes to the parent's
        channel/guild and replies to ``message_id`` unless ``reply_to_message_id`` says otherwise.
        """
        async with self._db.transaction() as tx:
            claimed = await tx.fetchone(
                "SELECT job_id FROM rerolls WHERE message_id = ? AND user_id = ?", (message_id, user_id)
            )
            if claimed is not None:
                log.info(
                    "user %d already rerolled message %d (job %d)", user_id, message_id, claimed["job_id"]
                )
                return None
            job = await self._insert(
                tx,
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
                idempotency_key=None,
                recipe=parent.recipe if recipe is None else recipe,
            )
            await tx.execute(
                "INSERT INTO rerolls (message_id, user_id, job_id, created_at) VALUES (?, ?, ?, ?)",
                (message_id, user_id, job.id, job.created_at),
            )
        log.info("job %d queued: reroll of job %d by user %d", job.id, parent.id, user_id)
        return job

    async def _insert(
        self,
        tx: Transaction,
        *,
        kind: str,
        user_id: int,
        user_name: str,
        guild_id: int | None,
        channel_id: int,
        request: GenerationRequest,
        variations: int,
        parent_job_id: int | None,
        reply_to_message_id: int | None,
        application_id: int | None,
        interaction_token: str | None,
        interaction_created_at: float | None,
        idempotency_key: str | None,
        recipe: Recipe = PLAIN,
    ) -> Job:
        if not kind:
            raise ValueError("job kind must not be empty")
        if variations < 1:
            raise ValueError(f"variations must be at least 1, got {variations}")
        if not isinstance(request, GenerationRequest):
            raise TypeError(f"request must be a GenerationRequest, got {type(request).__name__}")
        result = await tx.execute(
            """
            INSERT INTO jobs (
                status, kind, user_id, user_name, guild_id, channel_id, request_json, variations,
                parent_job_id, reply_to_message_id, application_id, interaction_token,
                interaction_created_at, created_at, idempotency_key, recipe_json
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                JobStatus.QUEUED.value,
                kind,
                user_id,
                user_name,
                guild_id,
                channel_id,
                encode_request(request),
                variations,
                parent_job_id,
                reply_to_message_id,
                application_id,
                interaction_token,
                interaction_created_at,
                self._clock(),
                idempotency_key,
                encode_recipe(recipe),
            ),
        )
        row = await tx.fetchone("SELECT * FROM jobs WHERE id = ?", (result.lastrowid,))
        assert row is not None  # just inserted in this transaction
        return Job.from_row(row)

    # -- reads ----------------------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else Job.from_row(row)

    async def active(self) -> list[Job]:
        """Queued, running and posting jobs, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE status IN ({_ACTIVE_IN}) ORDER BY id", _ACTIVE_VALUES
        )
        return [Job.from_row(r) for r in rows]

    async def active_for_user(self, user_id: int) -> list[Job]:
        """One user's queued, running and posting jobs, oldest first."""
        rows = await self._db.fetchall(
            f"SELECT * FROM jobs WHERE user_id = ? AND status IN ({_ACTIVE_IN}) ORDER BY id",
            (user_id, *_ACTIVE_VALUES),
        )
        return [Job.from_row(r) for r in rows]

    async def queued(self) -> list[Job]:
        """Queued jobs, oldest first."""
        return await self._with_status(JobStatus.QUEUED)

    async def interrupted_posting(self) -> list[Job]:
        """Jobs whose delivery intent was recorded but never confirmed, oldest first.

        The bot must check whether the post went out (``posting_started_at`` bounds where to
        look) before posting again.
        """
        return await self._with_status(JobStatus.POSTING)

    async def _with_status(self, status: JobStatus) -> list[Job]:
        rows = await self._db.fetchall("SELECT * FROM jobs WHERE status = ? ORDER BY id", (status.value,))
        return [Job.from_row(r) for r in rows]

    async def by_result_message(self, message_id: int) -> Job | None:
        row = await self._db.fetchone(
            "SELECT * FROM jobs WHERE result_message_id = ? ORDER BY id LIMIT 1", (message_id,)
        )
        return None if row is None else Job.from_row(row)

    async def pending_count(self, user_id: int) -> int:
        """How many of the user's jobs are queued or running (for per-user queue limits)."""
        row = await self._db.fetchone(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND status IN ({_PENDING_IN})",
            (user_id, *_PENDING_VALUES),
        )
        return int(row[0]) if row is not None else 0

    async def active_count(self) -> int:
        row = await self._db.fetchone(
            f"SELECT COUNT(*) FROM jobs WHERE status IN ({_ACTIVE_IN})", _ACTIVE_VALUES
        )
        return int(row[0]) if row is not None else 0

    async def last_created_at(self, user_id: int) -> float | None:
        """When the user's newest job was created, any kind and status (for cooldowns)."""
        row = await self._db.fetchone("SELECT MAX(created_at) FROM jobs WHERE user_id = ?", (user_id,))
        return None if row is None or row[0] is None else float(row[0])

    async def stats(self) -> dict[str, int | float | None]:
        """Job counts per status, ``total``, and ``avg_gen_seconds`` over done jobs (None if none)."""
        rows = await self._db.fetchall(
            "SELECT status, COUNT(*) AS n, AVG(gen_seconds) AS avg_gen FROM jobs GROUP BY status"
        )
        stats: dict[str, int | float | None] = {status.value: 0 for status in JobStatus}
        avg: float | None = None
        for row in rows:
            stats[row["status"]] = int(row["n"])
            if row["status"] == JobStatus.DONE.value and row["avg_gen"] is not None:
                avg = float(row["avg_gen"])
        stats["total"] = sum(int(row["n"]) for row in rows)
        stats["avg_gen_seconds"] = avg
        return stats

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
        return await self._transition(
            job_id,
            "start",
            {JobStatus.QUEUED},
            "status = ?, started_at = ?, attempts = attempts + 1",
            (JobStatus.RUNNING.value, self._clock()),
        )

    async def requeue_as(self, job_id: int, recipe: Recipe) -> Job:
        """running → queued with another recipe (a 🔁 whose stored candidate was taken first)."""
        return await self._transition(
            job_id,
            "re-queue",
            {JobStatus.RUNNING},
            "status = ?, started_at = NULL, recipe_json = ?",
            (JobStatus.QUEUED.value, encode_recipe(recipe)),
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
        return await self._transition(
            job_id,
            "finish",
            {JobStatus.POSTING},
            "status = ?, result_message_id = ?, finished_at = ?",
            (JobStatus.DONE.value, result_message_id, self._clock()),
            erase_token=True,
        )

    async def mark_failed(self, job_id: int, error: str) -> Job:
        """Any active state → failed, keeping a user-facing ``error`` text."""
        if len(error) > MAX_ERROR_CHARS:
            error = error[: MAX_ERROR_CHARS - 1] + "…"
        return await self._transition(
            job_id,
            "fail",
            ACTIVE,
            "status = ?, error = ?, finished_at = ?",
            (JobStatus.FAILED.value, error, self._clock()),
            erase_token=True,
        )

    async def cancel(self, job_id: int, user_id: int) -> bool:
        """Cancel the user's own queued job; False if it is not theirs or no longer queued."""
        result = await self._db.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, interaction_token = NULL"
            " WHERE id = ? AND user_id = ? AND status = ?",
            (JobStatus.CANCELLED.value, self._clock(), job_id, user_id, JobStatus.QUEUED.value),
        )
        cancelled = result.rowcount == 1
        if cancelled:
            log.info("job %d cancelled by user %d", job_id, user_id)
        return cancelled

    async def mark_cancelled(self, job_id: int) -> Job:
        """running → cancelled: the generation was stopped between steps on the user's request."""
        return await self._transition(
            job_id,
            "cancel the run of",
            {JobStatus.RUNNING},
            "status = ?, finished_at = ?",
            (JobStatus.CANCELLED.value, self._clock()),
            erase_token=True,
        )

    async def requeue_interrupted(self) -> list[Job]:
        """After a restart: running → queued; return every queued job, oldest first.

        ``attempts`` is kept, so the bot can give up on a job that keeps killing the process.
        Jobs in ``posting`` are not touched (see :meth:`interrupted_posting`).
        """
        async with self._db.transaction() as tx:
            result = await tx.execute(
                "UPDATE jobs SET status = ?, started_at = NULL WHERE status = ?",
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value),
            )
            rows = await tx.fetchall(
                "SELECT * FROM jobs WHERE status = ? ORDER BY id", (JobStatus.QUEUED.value,)
            )
        if result.rowcount:
            log.warning("re-queued %d job(s) interrupted while running", result.rowcount)
        return [Job.from_row(r) for r in rows]

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
        *,
        erase_token: bool = False,
    ) -> Job:
        # The status check lives in the UPDATE itself: of two racing transitions exactly one
        # matches a row, the other sees rowcount 0 and raises.
        allowed = frozenset(allowed)
        marks, values = _placeholders(allowed)
        token: str | None = None
        async with self._db.transaction() as tx:
            if erase_token:
                # A job that ends keeps no credential in its row; the caller's copy keeps it for
                # the last status edit ("Done", "Cancelled", why it failed).
                before = await tx.fetchone("SELECT interaction_token FROM jobs WHERE id = ?", (job_id,))
                token = None if before is None else before["interaction_token"]
                assignments += ", interaction_token = NULL"
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
        if token is not None:
            job = dataclasses.replace(job, interaction_token=token)
        log.debug("job %d is now %s", job.id, job.status.value)
        return job
