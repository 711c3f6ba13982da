"""Users: everyone the bot has dealt with, with when it first and last saw them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage.database import Database, Transaction

#: Upsert that keeps ``first_seen`` and moves ``last_seen`` forward only.
_SEEN = """
INSERT INTO users (id, name, first_seen, last_seen) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    name = excluded.name,
    last_seen = MAX(last_seen, excluded.last_seen)
"""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of ``users``; times are epoch seconds."""

    id: int
    name: str
    first_seen: float
    last_seen: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> UserRecord:
        return cls(row["id"], row["name"], row["first_seen"], row["last_seen"])


async def record_seen(tx: Transaction, user_id: int, name: str, now: float) -> None:
    """Upsert a user inside a caller's transaction (rows that refer to users need it first)."""
    await tx.execute(_SEEN, (user_id, name, now, now))


class UserStore:
    """Reads and upserts of ``users``."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def seen(self, user_id: int, name: str) -> None:
        """Note that the user did something now (creating their row the first time)."""
        now = self._clock()
        await self._db.execute(_SEEN, (user_id, name, now, now))

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else UserRecord.from_row(row)
