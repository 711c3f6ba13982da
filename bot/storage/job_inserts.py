"""Writing new jobs: the insert itself, and what a user has pending, read in the same transaction.

Admission is "count and insert in one ``BEGIN IMMEDIATE`` transaction": :func:`usage_of` reads
what the limits need inside the transaction that then inserts, so two concurrent commands of one
user can never both pass a limit that only one of them fits (the write lock is held from the
first read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.metrics import metrics
from bot.storage.database import Transaction
from bot.storage.job_rows import (
    ACTIVE_SQL,
    KIND_REMIX,
    PENDING_SQL,
    Job,
    JobStatus,
    encode_recipe,
    encode_request,
)
from generation.recipes.recipe import PLAIN, Recipe
from generation.request import GenerationRequest

#: Window in which a user's level changes (remixes) are counted.
REMIX_WINDOW_S = 3600.0


@dataclass(frozen=True)
class Usage:
    """What a user (and the bot) has pending when a new job asks to be admitted."""

    user_pending: int
    """The user's queued and running jobs."""
    user_pending_cost: float
    """Their GPU cost in clip units."""
    total_pending: int
    """Queued, running and posting jobs of everyone."""
    seconds_since_last: float | None
    """Since the user's newest job was created (None: never)."""
    remixes_last_hour: int
    """The user's level changes created in the last hour."""


class AdmissionRefused(Exception):
    """A limit refused the job; the message is for the user. Nothing was written."""


Admission = Callable[[Usage], str | None]
"""Given the usage, why the new job is refused (a message for the user), or None to admit it."""


@dataclass(frozen=True)
class NewJob:
    """The columns of a job to insert (status queued)."""

    kind: str
    user_id: int
    user_name: str
    guild_id: int | None
    channel_id: int
    request: GenerationRequest
    variations: int = 1
    parent_job_id: int | None = None
    reply_to_message_id: int | None = None
    application_id: int | None = None
    interaction_token: str | None = None
    interaction_created_at: float | None = None
    idempotency_key: str | None = None
    recipe: Recipe = PLAIN
    cost: float = 0.0

    def check(self) -> None:
        if not self.kind:
            raise ValueError("job kind must not be empty")
        if self.variations < 1:
            raise ValueError(f"variations must be at least 1, got {self.variations}")
        if not isinstance(self.request, GenerationRequest):
            raise TypeError(f"request must be a GenerationRequest, got {type(self.request).__name__}")
        if not self.cost >= 0:
            raise ValueError(f"cost must not be negative, got {self.cost}")


async def usage_of(tx: Transaction, user_id: int, now: float) -> Usage:
    """The user's and the bot's pending work, read inside ``tx``."""
    row = await tx.fetchone(
        f"""
        SELECT
            (SELECT COUNT(*) FROM jobs WHERE user_id = :user AND status IN {PENDING_SQL}) AS pending,
            (SELECT COALESCE(SUM(cost), 0) FROM jobs
                WHERE user_id = :user AND status IN {PENDING_SQL}) AS pending_cost,
            (SELECT COUNT(*) FROM jobs WHERE status IN {ACTIVE_SQL}) AS total,
            (SELECT MAX(created_at) FROM jobs WHERE user_id = :user) AS last,
            (SELECT COUNT(*) FROM jobs
                WHERE user_id = :user AND kind = :remix AND created_at > :since) AS remixes
        """,
        {"user": user_id, "remix": KIND_REMIX, "since": now - REMIX_WINDOW_S},
    )
    assert row is not None
    last = row["last"]
    return Usage(
        user_pending=int(row["pending"]),
        user_pending_cost=float(row["pending_cost"]),
        total_pending=int(row["total"]),
        seconds_since_last=None if last is None else now - float(last),
        remixes_last_hour=int(row["remixes"]),
    )


async def insert_job(tx: Transaction, new: NewJob, now: float) -> Job:
    """Insert ``new`` as a queued job inside ``tx``; returns the stored job."""
    new.check()
    result = await tx.execute(
        """
        INSERT INTO jobs (
            status, kind, user_id, user_name, guild_id, channel_id, request_json, variations,
            parent_job_id, reply_to_message_id, application_id, interaction_token,
            interaction_created_at, created_at, idempotency_key, recipe_json, cost
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            JobStatus.QUEUED.value,
            new.kind,
            new.user_id,
            new.user_name,
            new.guild_id,
            new.channel_id,
            encode_request(new.request),
            new.variations,
            new.parent_job_id,
            new.reply_to_message_id,
            new.application_id,
            new.interaction_token,
            new.interaction_created_at,
            now,
            new.idempotency_key,
            encode_recipe(new.recipe),
            new.cost,
        ),
    )
    row = await tx.fetchone("SELECT * FROM jobs WHERE id = ?", (result.lastrowid,))
    assert row is not None  # just inserted in this transaction
    return Job.from_row(row)


async def admit(tx: Transaction, new: NewJob, admission: Admission | None, now: float) -> Job:
    """Check ``admission`` against the user's usage and insert, inside ``tx``.

    Raises :class:`AdmissionRefused` (and inserts nothing) when the admission refuses.
    """
    if admission is not None:
        refusal = admission(await usage_of(tx, new.user_id, now))
        if refusal:
            metrics().job_event("refused", new.request.model)
            raise AdmissionRefused(refusal)
    return await insert_job(tx, new, now)
