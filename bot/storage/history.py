"""A user's history: their generations, newest first, with filters, deletion and export."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.generations import Generation
from bot.storage.job_rows import ACTIVE
from bot.storage.paging import Page, clamp_page, like_pattern
from bot.storage.retention import mp3_in_use

log = logging.getLogger(__name__)

#: Every history row carries whether its file was pruned and whether a gallery shows it.
_SELECT = """
SELECT g.*,
       g.mp3_pruned_at IS NOT NULL AS file_expired,
       EXISTS (SELECT 1 FROM gallery_entries AS e WHERE e.generation_id = g.id) AS in_gallery
FROM generations AS g
"""
_NEWEST_FIRST = "ORDER BY g.created_at DESC, g.id DESC"
_ACTIVE_STATUSES = tuple(sorted(status.value for status in ACTIVE))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One generation as its owner's history shows it."""

    generation: Generation
    file_expired: bool
    """Retention pruned the MP3: the entry stays, but it can no longer be replayed."""
    in_gallery: bool

    @property
    def id(self) -> int:
        return self.generation.id

    @property
    def user_id(self) -> int:
        return self.generation.user_id

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> HistoryEntry:
        return cls(Generation.from_row(row), bool(row["file_expired"]), bool(row["in_gallery"]))


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What a history listing shows: one user's rows, optionally narrowed."""

    user_id: int
    search: str | None = None
    """Text the user's prompt must contain (case-insensitive for ASCII)."""
    preset: str | None = None
    """Catalogue key of the preset."""

    def where(self) -> tuple[str, tuple[object, ...]]:
        clauses = ["g.user_id = ?"]
        params: list[object] = [self.user_id]
        if self.preset:
            clauses.append("g.preset = ?")
            params.append(self.preset)
        if self.search:
            clauses.append("g.user_text LIKE ? ESCAPE '\\'")
            params.append(like_pattern(self.search))
        return "WHERE " + " AND ".join(clauses), tuple(params)


@dataclass(frozen=True, slots=True)
class DeletedEntry:
    entry: HistoryEntry
    file_unused: bool
    """Nothing else uses the MP3 any more: the caller deletes the file."""


class EntryBusyError(RuntimeError):
    """The generation's job is still being delivered; it can be deleted once it is posted."""


class HistoryStore:
    """History queries over ``generations`` (one user's rows at a time)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(self, where: HistoryFilter, number: int, size: int = 10) -> Page[HistoryEntry]:
        """Page ``number`` (from 0; clamped to the last) of the filtered history, newest first."""
        sql_where, params = where.where()
        # One transaction: the count and the rows describe the same moment.
        async with self._db.transaction() as tx:
            row = await tx.fetchone(f"SELECT COUNT(*) FROM generations AS g {sql_where}", params)
            total = int(row[0]) if row is not None else 0
            number = clamp_page(number, size, total)
            rows = await tx.fetchall(
                f"{_SELECT} {sql_where} {_NEWEST_FIRST} LIMIT ? OFFSET ?", (*params, size, number * size)
            )
        return Page([HistoryEntry.from_row(r) for r in rows], number, size, total)

    async def get(self, generation_id: int) -> HistoryEntry | None:
        row = await self._db.fetchone(f"{_SELECT} WHERE g.id = ?", (generation_id,))
        return None if row is None else HistoryEntry.from_row(row)

    async def export(self, user_id: int) -> list[HistoryEntry]:
        """Every entry of the user's history, newest first."""
        rows = await self._db.fetchall(f"{_SELECT} WHERE g.user_id = ? {_NEWEST_FIRST}", (user_id,))
        return [HistoryEntry.from_row(r) for r in rows]

    async def delete(self, user_id: int, generation_id: int) -> DeletedEntry | None:
        """Delete the user's own entry; None when it is not theirs (or already gone).

        Gallery entries that show it keep working (they hold their own copy of what they need,
        and the file stays while they use it). Raises :class:`EntryBusyError` while its job is
        still being delivered.
        """
        async with self._db.transaction() as tx:
            row = await tx.fetchone(f"{_SELECT} WHERE g.id = ? AND g.user_id = ?", (generation_id, user_id))
            if row is None:
                return None
            entry = HistoryEntry.from_row(row)
            marks = ",".join("?" * len(_ACTIVE_STATUSES))
            result = await tx.execute(
                f"""
                DELETE FROM generations WHERE id = ?
                AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = generations.job_id
                                AND jobs.status IN ({marks}))
                """,
                (generation_id, *_ACTIVE_STATUSES),
            )
            if result.rowcount != 1:
                raise EntryBusyError(f"generation {generation_id} is still being delivered")
            unused = not await mp3_in_use(tx, entry.generation.mp3_path)
        log.info("generation %d deleted from the history of user %d", generation_id, user_id)
        return DeletedEntry(entry, unused)
