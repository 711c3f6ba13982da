"""Durable state of the bot: jobs, generated files and their Discord messages (SQLite via aiosqlite)."""

from __future__ import annotations

from bot.storage.database import Database, ExecResult, Transaction
from bot.storage.files import Mp3Files
from bot.storage.generations import Generation, GenerationStore
from bot.storage.jobs import (
    ACTIVE,
    KIND_AMBIENT,
    KIND_REROLL,
    Job,
    JobStateError,
    JobStatus,
    JobStore,
)
from bot.storage.migrations import MIGRATIONS, SchemaVersionError

__all__ = [
    "ACTIVE",
    "KIND_AMBIENT",
    "KIND_REROLL",
    "MIGRATIONS",
    "Database",
    "ExecResult",
    "Generation",
    "GenerationStore",
    "Job",
    "JobStateError",
    "JobStatus",
    "JobStore",
    "Mp3Files",
    "SchemaVersionError",
    "Transaction",
]
