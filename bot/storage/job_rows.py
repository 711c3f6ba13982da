"""A row of ``jobs`` as the bot sees it: statuses, kinds, the :class:`Job` record and its codecs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from generation.recipes.recipe import PLAIN, Recipe
from generation.request import GenerationRequest

#: Kinds the bot creates today; the column takes any non-empty kind.
KIND_AMBIENT = "ambient"
KIND_REROLL = "reroll"
#: A stored request edited by its user (history "tweak") and queued again.
KIND_TWEAK = "tweak"
#: One layer of a layered scene re-rendered with a new seed, the other stems reused.
KIND_LAYER = "layer"
#: A layered scene remixed at new levels from its stored stems (no GPU work).
KIND_REMIX = "remix"
#: A blind A/B comparison of two models (``/compare``): one job, takes A and B.
KIND_COMPARE = "compare"

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
#: Statuses of jobs that have ended.
TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})

#: Stands in for a stored request that no longer decodes (see :attr:`Job.unreadable`).
UNREADABLE_REQUEST = GenerationRequest(
    user_text="(unreadable request)",
    prompt="",
    negative_prompt="",
    preset=None,
    raw=True,
    duration_s=10.0,
    steps=50,
    guidance=1.0,
    seed=0,
)


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
    cost: float = 0.0
    """GPU cost in clip units (a 10 s, 50-step clip is 1; see bot.jobs.admission)."""
    answered_at: float | None = None
    """When the user was told how the job ended; None while that is still owed."""
    post_attempts: int = 0
    unreadable: str | None = None
    """Why the stored request or recipe could not be decoded (the job cannot run); else None."""
    nonce: str = ""
    """Random, drawn at insert: binds the job's work in Redis to this row (see
    :mod:`bot.storage.identity`)."""

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        """The job of a row; a request or recipe that no longer decodes (written by a newer or a
        broken version) gives a job marked :attr:`unreadable`, never an exception, so one bad row
        cannot stop the bot from starting or a user from cancelling."""
        unreadable = None
        try:
            request = decode_request(row["request_json"])
            recipe = decode_recipe(row["recipe_json"])
        except Exception as exc:  # any decoding problem: JSON, missing keys, failed validation
            unreadable = f"{type(exc).__name__}: {exc}"[:300]
            request, recipe = UNREADABLE_REQUEST, PLAIN
        return cls(
            id=row["id"],
            status=JobStatus(row["status"]),
            kind=row["kind"],
            user_id=row["user_id"],
            user_name=row["user_name"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            request=request,
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
            recipe=recipe,
            cost=row["cost"],
            answered_at=row["answered_at"],
            post_attempts=row["post_attempts"],
            unreadable=unreadable,
            nonce=row["nonce"] or "",
        )


def placeholders(statuses: Iterable[JobStatus]) -> tuple[str, tuple[str, ...]]:
    """``"?,?"`` and the status values, for ``status IN (...)``."""
    values = tuple(sorted(s.value for s in statuses))
    return ",".join("?" * len(values)), values


ACTIVE_IN, ACTIVE_VALUES = placeholders(ACTIVE)
PENDING = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
PENDING_IN, PENDING_VALUES = placeholders(PENDING)


def sql_in(statuses: Iterable[JobStatus]) -> str:
    """``('queued', 'running')``: an SQL list of status literals (enum values, never user text)."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(statuses)) + ")"


ACTIVE_SQL = sql_in(ACTIVE)
PENDING_SQL = sql_in(PENDING)
TERMINAL_SQL = sql_in(TERMINAL)
