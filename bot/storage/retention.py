"""Which stored MP3s are still needed, and claiming the expired ones for pruning.

Identical MP3s share one content-addressed file, and gallery entries keep their own reference to
it, so a file may only be deleted when no live generation and no gallery entry uses it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage.database import Database, Transaction


async def mp3_in_use(tx: Transaction, mp3_path: str) -> bool:
    """Whether a generation (not pruned), a gallery entry or an unserved candidate uses the file."""
    row = await tx.fetchone(
        """
        SELECT EXISTS (SELECT 1 FROM generations WHERE mp3_path = ? AND mp3_pruned_at IS NULL)
            OR EXISTS (SELECT 1 FROM gallery_entries WHERE mp3_path = ?)
            OR EXISTS (SELECT 1 FROM candidates WHERE mp3_path = ? AND served_by_job_id IS NULL)
        """,
        (mp3_path, mp3_path, mp3_path),
    )
    return bool(row is not None and row[0])


@dataclass(frozen=True, slots=True)
class ExpiredFile:
    """A file claimed for pruning: its rows are already marked, the file can go."""

    mp3_path: str
    mp3_bytes: int
    newest_use: float
    """``created_at`` of the newest generation that used it."""
    generations: int


class RetentionStore:
    """The queries behind ``[storage] retention_days``."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def claim_expired(self, cutoff: float, limit: int = 200) -> list[ExpiredFile]:
        """Mark up to ``limit`` files whose every use is older than ``cutoff`` as pruned, oldest first.

        Files in any gallery are never claimed. Selection and marking happen in one transaction,
        so a file cannot join the gallery between the two (adding a pruned generation is refused).
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                """
                SELECT mp3_path, MAX(mp3_bytes) AS size, MAX(created_at) AS newest, COUNT(*) AS uses
                FROM generations
                WHERE mp3_pruned_at IS NULL
                  AND mp3_path NOT IN (SELECT mp3_path FROM gallery_entries)
                GROUP BY mp3_path
                HAVING MAX(created_at) < ?
                ORDER BY newest, mp3_path
                LIMIT ?
                """,
                (cutoff, limit),
            )
            now = self._clock()
            for row in rows:
                await tx.execute(
                    "UPDATE generations SET mp3_pruned_at = ? WHERE mp3_path = ? AND mp3_pruned_at IS NULL",
                    (now, row["mp3_path"]),
                )
        return [ExpiredFile(r["mp3_path"], r["size"], r["newest"], r["uses"]) for r in rows]
