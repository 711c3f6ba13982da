"""Durable state of the bot: jobs, generated files and their Discord messages (SQLite via aiosqlite)."""

from __future__ import annotations

from bot.storage.candidates import CandidateStore, StoredCandidate
from bot.storage.compares import HIDDEN_MODEL, CompareState, CompareStore, PresetTally, Vote, VotingClosed
from bot.storage.database import Database, ExecResult, Transaction
from bot.storage.files import Mp3Files
from bot.storage.gallery import GalleryEntry, GalleryFilter, GallerySort, GalleryStore
from bot.storage.generations import Generation, GenerationStore
from bot.storage.history import EntryBusyError, HistoryEntry, HistoryFilter, HistoryStore
from bot.storage.job_inserts import Admission, AdmissionRefused, Usage
from bot.storage.job_rows import (
    ACTIVE,
    KIND_AMBIENT,
    KIND_COMPARE,
    KIND_LAYER,
    KIND_REMIX,
    KIND_REROLL,
    KIND_TWEAK,
    TERMINAL,
    Job,
    JobStateError,
    JobStatus,
)
from bot.storage.jobs import JobStore
from bot.storage.migrations import MIGRATIONS, SchemaVersionError
from bot.storage.paging import Page
from bot.storage.retention import RetentionStore
from bot.storage.stems import StemFiles
from bot.storage.users import UserStore

__all__ = [
    "ACTIVE",
    "HIDDEN_MODEL",
    "KIND_AMBIENT",
    "KIND_COMPARE",
    "KIND_LAYER",
    "KIND_REMIX",
    "KIND_REROLL",
    "KIND_TWEAK",
    "MIGRATIONS",
    "TERMINAL",
    "Admission",
    "AdmissionRefused",
    "CandidateStore",
    "CompareState",
    "CompareStore",
    "Database",
    "EntryBusyError",
    "ExecResult",
    "GalleryEntry",
    "GalleryFilter",
    "GallerySort",
    "GalleryStore",
    "Generation",
    "GenerationStore",
    "HistoryEntry",
    "HistoryFilter",
    "HistoryStore",
    "Job",
    "JobStateError",
    "JobStatus",
    "JobStore",
    "Mp3Files",
    "Page",
    "PresetTally",
    "RetentionStore",
    "SchemaVersionError",
    "StemFiles",
    "StoredCandidate",
    "Transaction",
    "Usage",
    "UserStore",
    "Vote",
    "VotingClosed",
]
