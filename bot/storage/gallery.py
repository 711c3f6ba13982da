"""Server galleries: entries, ⭐ votes and the posts where entries were played.

Every query is scoped to one guild: a gallery never shows another server's entries.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.storage.database import Database, Transaction
from bot.storage.job_rows import decode_request
from bot.storage.paging import Page, clamp_page, like_pattern
from bot.storage.retention import mp3_in_use
from bot.storage.users import record_seen
from generation.request import GenerationRequest

log = logging.getLogger(__name__)


class GallerySort(StrEnum):
    TOP = "top"
    """Most votes first (newest first among equals)."""
    NEW = "new"
    """Newest additions first."""


_ORDER = {
    GallerySort.TOP: "ORDER BY score DESC, added_at DESC, id DESC",
    GallerySort.NEW: "ORDER BY added_at DESC, id DESC",
}


@dataclass(frozen=True, slots=True)
class GalleryEntry:
    """One row of ``gallery_entries``; it stands on its own if its generation is deleted."""

    id: int
    guild_id: int
    generation_id: int | None
    author_id: int
    added_by: int
    added_at: float
    channel_id: int
    message_id: int | None
    user_text: str
    preset: str | None
    request: GenerationRequest
    model: str
    mp3_path: str
    mp3_sha256: str
    score: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> GalleryEntry:
        return cls(
            id=row["id"],
            guild_id=row["guild_id"],
            generation_id=row["generation_id"],
            author_id=row["author_id"],
            added_by=row["added_by"],
            added_at=row["added_at"],
            channel_id=row["channel_id"],
            message_id=row["message_id"],
            user_text=row["user_text"],
            preset=row["preset"],
            request=decode_request(row["request_json"]),
            model=row["model"],
            mp3_path=row["mp3_path"],
            mp3_sha256=row["mp3_sha256"],
            score=row["score"],
        )


@dataclass(frozen=True, slots=True)
class GalleryFilter:
    """What a gallery listing shows: one guild's entries, optionally narrowed."""

    guild_id: int
    sort: GallerySort = GallerySort.TOP
    since: float | None = None
    """Only entries added at or after this time (epoch seconds)."""
    preset: str | None = None
    search: str | None = None

    def where(self) -> tuple[str, tuple[object, ...]]:
        clauses = ["guild_id = ?"]
        params: list[object] = [self.guild_id]
        if self.since is not None:
            clauses.append("added_at >= ?")
            params.append(self.since)
        if self.preset:
            clauses.append("preset = ?")
            params.append(self.preset)
        if self.search:
            clauses.append("user_text LIKE ? ESCAPE '\\'")
            params.append(like_pattern(self.search))
        return "WHERE " + " AND ".join(clauses), tuple(params)


@dataclass(frozen=True, slots=True)
class Added:
    entry: GalleryEntry
    created: bool
    """False when the generation already was in that gallery."""


@dataclass(frozen=True, slots=True)
class StarResult:
    """What a ⭐ (or its removal) changed; both 0 when the message is not ours."""

    entries: int
    """Entries the message stands for (added now or already there)."""
    changed_votes: int


@dataclass(frozen=True, slots=True)
class RemovedEntry:
    entry: GalleryEntry
    file_unused: bool
    """Nothing else uses the MP3 any more: the caller deletes the file."""


class GalleryStore:
    """Gallery queries; voters and adders are recorded in ``users`` in the same transaction."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    # -- adding ---------------------------------------------------------------------------

    async def add(
        self, guild_id: int, generation_ids: Iterable[int], *, user_id: int, user_name: str
    ) -> list[Added]:
        """Add generations made in ``guild_id`` to its gallery, credited to ``user_id``.

        Generations made elsewhere, pruned or gone are skipped (so the result may be shorter).
        """
        added: list[Added] = []
        async with self._db.transaction() as tx:
            now = self._clock()
            await record_seen(tx, user_id, user_name, now)
            for generation_id in generation_ids:
                one = await _add(tx, guild_id, generation_id, user_id, now)
                if one is not None:
                    added.append(one)
        return added

    # -- votes ----------------------------------------------------------------------------

    async def star(self, guild_id: int, message_id: int, *, user_id: int, user_name: str) -> StarResult:
        """A ⭐ on ``message_id``: vote for what it shows, adding result posts to the gallery first.

        A play post votes for its entry; a result post adds its generations (credited to the
        voter) if they are not in the gallery yet. One vote per user and entry.
        """
        async with self._db.transaction() as tx:
            now = self._clock()
            entry_ids = await _entries_for_post(tx, guild_id, message_id)
            generations: list[sqlite3.Row] = []
            if not entry_ids:  # a result post: its generations join the gallery first
                generations = await tx.fetchall(
                    "SELECT id FROM generations WHERE message_id = ? AND guild_id = ? "
                    "ORDER BY variation_index",
                    (message_id, guild_id),
                )
            if not entry_ids and not generations:
                return StarResult(0, 0)  # not one of our posts: nothing to record
            await record_seen(tx, user_id, user_name, now)
            for row in generations:
                added = await _add(tx, guild_id, row["id"], user_id, now)
                if added is not None:
                    entry_ids.append(added.entry.id)
            votes = 0
            for entry_id in entry_ids:
                result = await tx.execute(
                    "INSERT OR IGNORE INTO gallery_votes (entry_id, user_id, created_at) VALUES (?, ?, ?)",
                    (entry_id, user_id, now),
                )
                votes += result.rowcount
        return StarResult(len(entry_ids), votes)

    async def unstar(self, guild_id: int, message_id: int, *, user_id: int) -> StarResult:
        """The ⭐ was removed from ``message_id``: withdraw the user's vote for what it shows."""
        async with self._db.transaction() as tx:
            entry_ids = await _entries_for_post(tx, guild_id, message_id)
            if not entry_ids:
                rows = await tx.fetchall(
                    """
                    SELECT e.id FROM gallery_entries AS e JOIN generations AS g ON g.id = e.generation_id
                    WHERE g.message_id = ? AND e.guild_id = ?
                    """,
                    (message_id, guild_id),
                )
                entry_ids = [row["id"] for row in rows]
            votes = 0
            for entry_id in entry_ids:
                result = await tx.execute(
                    "DELETE FROM gallery_votes WHERE entry_id = ? AND user_id = ?", (entry_id, user_id)
                )
                votes += result.rowcount
        return StarResult(len(entry_ids), votes)

    # -- reading --------------------------------------------------------------------------

    async def get(self, entry_id: int) -> GalleryEntry | None:
        row = await self._db.fetchone("SELECT * FROM gallery_entries WHERE id = ?", (entry_id,))
        return None if row is None else GalleryEntry.from_row(row)

    async def page(self, where: GalleryFilter, number: int, size: int = 10) -> Page[GalleryEntry]:
        """Page ``number`` (from 0; clamped to the last) of one guild's gallery."""
        sql_where, params = where.where()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(f"SELECT COUNT(*) FROM gallery_entries {sql_where}", params)
            total = int(row[0]) if row is not None else 0
            number = clamp_page(number, size, total)
            rows = await tx.fetchall(
                f"SELECT * FROM gallery_entries {sql_where} {_ORDER[where.sort]} LIMIT ? OFFSET ?",
                (*params, size, number * size),
            )
        return Page([GalleryEntry.from_row(r) for r in rows], number, size, total)

    async def voters(self, entry_id: int) -> list[int]:
        """Who voted for an entry, in the order they voted."""
        rows = await self._db.fetchall(
            "SELECT user_id FROM gallery_votes WHERE entry_id = ? ORDER BY created_at, user_id", (entry_id,)
        )
        return [row["user_id"] for row in rows]

    # -- posts and removal ----------------------------------------------------------------

    async def record_post(self, entry_id: int, message_id: int, channel_id: int) -> None:
        """Remember a message that plays the entry, so a ⭐ on it votes for the entry."""
        await self._db.execute(
            "INSERT OR REPLACE INTO gallery_posts (message_id, entry_id, channel_id, created_at) "
            "VALUES (?, ?, ?, ?)",
            (message_id, entry_id, channel_id, self._clock()),
        )

    async def remove(self, entry_id: int) -> RemovedEntry | None:
        """Take an entry out of its gallery (votes and play posts go with it); None if gone."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM gallery_entries WHERE id = ?", (entry_id,))
            if row is None:
                return None
            entry = GalleryEntry.from_row(row)
            await tx.execute("DELETE FROM gallery_entries WHERE id = ?", (entry_id,))
            unused = not await mp3_in_use(tx, entry.mp3_path)
        log.info("gallery entry %d removed from guild %d", entry_id, entry.guild_id)
        return RemovedEntry(entry, unused)


async def _entries_for_post(tx: Transaction, guild_id: int, message_id: int) -> list[int]:
    rows = await tx.fetchall(
        """
        SELECT p.entry_id FROM gallery_posts AS p JOIN gallery_entries AS e ON e.id = p.entry_id
        WHERE p.message_id = ? AND e.guild_id = ?
        """,
        (message_id, guild_id),
    )
    return [row["entry_id"] for row in rows]


async def _add(tx: Transaction, guild_id: int, generation_id: int, user_id: int, now: float) -> Added | None:
    """Add one generation if it was made in ``guild_id`` and its file is still stored.

    Returns the entry (new or already there), or None when the generation can't join.
    """
    existing = await tx.fetchone(
        "SELECT * FROM gallery_entries WHERE guild_id = ? AND generation_id = ?", (guild_id, generation_id)
    )
    if existing is not None:
        return Added(GalleryEntry.from_row(existing), created=False)
    source = await tx.fetchone(
        """
        SELECT g.*, j.user_name, j.created_at AS job_created_at
        FROM generations AS g JOIN jobs AS j ON j.id = g.job_id
        WHERE g.id = ? AND g.guild_id = ? AND g.mp3_pruned_at IS NULL
        """,
        (generation_id, guild_id),
    )
    if source is None:
        return None
    # The author may not be in ``users`` yet (it is kept from interactions): the job knows them.
    await tx.execute(
        "INSERT INTO users (id, name, first_seen, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (source["user_id"], source["user_name"], source["job_created_at"], source["job_created_at"]),
    )
    result = await tx.execute(
        """
        INSERT INTO gallery_entries (
            guild_id, generation_id, author_id, added_by, added_at, channel_id, message_id,
            user_text, preset, request_json, model, mp3_path, mp3_sha256
        ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            guild_id,
            generation_id,
            source["user_id"],
            user_id,
            now,
            source["channel_id"],
            source["message_id"],
            source["user_text"],
            source["preset"],
            source["request_json"],
            source["model"],
            source["mp3_path"],
            source["mp3_sha256"],
        ),
    )
    row = await tx.fetchone("SELECT * FROM gallery_entries WHERE id = ?", (result.lastrowid,))
    assert row is not None  # inserted in this transaction
    log.info("generation %d added to the gallery of guild %d by user %d", generation_id, guild_id, user_id)
    return Added(GalleryEntry.from_row(row), created=True)
