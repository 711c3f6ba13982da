"""Best-of-N candidates: every ranked take of a job, and which 🔁 served which one."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.job_rows import decode_request, encode_request
from generation.request import GenerationRequest


@dataclass(frozen=True, slots=True)
class StoredCandidate:
    """One row of ``candidates``; rank 0 is the posted (best) take."""

    job_id: int
    rank: int
    score: float | None
    request: GenerationRequest
    mp3_path: str
    mp3_sha256: str
    mp3_bytes: int
    lufs: float | None
    served_by_job_id: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredCandidate:
        return cls(
            job_id=row["job_id"],
            rank=row["rank"],
            score=row["score"],
            request=decode_request(row["request_json"]),
            mp3_path=row["mp3_path"],
            mp3_sha256=row["mp3_sha256"],
            mp3_bytes=row["mp3_bytes"],
            lufs=row["lufs"],
            served_by_job_id=row["served_by_job_id"],
        )


class CandidateStore:
    """Writes the ranking of a job and hands out the next unserved candidate, once each."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        job_id: int,
        rank: int,
        *,
        score: float,
        request: GenerationRequest,
        mp3_path: str,
        mp3_sha256: str,
        mp3_bytes: int,
        lufs: float,
    ) -> None:
        """Record candidate ``rank`` of ``job_id`` (idempotent: a re-run job overwrites its row)."""
        await self._db.execute(
            """
            INSERT INTO candidates (job_id, rank, score, request_json, mp3_path, mp3_sha256, mp3_bytes, lufs)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (job_id, rank) DO UPDATE SET
                score = excluded.score, request_json = excluded.request_json,
                mp3_path = excluded.mp3_path, mp3_sha256 = excluded.mp3_sha256,
                mp3_bytes = excluded.mp3_bytes, lufs = excluded.lufs
            """,
            (
                job_id,
                rank,
                None if math.isnan(score) else score,
                encode_request(request),
                mp3_path,
                mp3_sha256,
                mp3_bytes,
                None if math.isnan(lufs) else lufs,
            ),
        )

    async def for_job(self, job_id: int) -> list[StoredCandidate]:
        rows = await self._db.fetchall("SELECT * FROM candidates WHERE job_id = ? ORDER BY rank", (job_id,))
        return [StoredCandidate.from_row(row) for row in rows]

    async def unserved(self, job_id: int) -> int:
        """How many candidates of ``job_id`` are still waiting for a 🔁 (rank 0 is never waiting)."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) FROM candidates WHERE job_id = ? AND rank > 0 AND served_by_job_id IS NULL",
            (job_id,),
        )
        return int(row[0]) if row is not None else 0

    async def claim_next(self, job_id: int, served_by: int) -> StoredCandidate | None:
        """The best unserved candidate of ``job_id``, now marked as served by job ``served_by``.

        Idempotent for ``served_by``: a job that already claimed one (before a restart) gets the
        same candidate again. ``None`` when every candidate has been served.
        """
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT * FROM candidates WHERE job_id = ? AND served_by_job_id = ?", (job_id, served_by)
            )
            if row is None:
                row = await tx.fetchone(
                    """
                    SELECT * FROM candidates
                    WHERE job_id = ? AND rank > 0 AND served_by_job_id IS NULL
                    ORDER BY rank LIMIT 1
                    """,
                    (job_id,),
                )
                if row is None:
                    return None
                await tx.execute(
                    "UPDATE candidates SET served_by_job_id = ? WHERE job_id = ? AND rank = ?",
                    (served_by, job_id, row["rank"]),
                )
                row = await tx.fetchone(
                    "SELECT * FROM candidates WHERE job_id = ? AND rank = ?", (job_id, row["rank"])
                )
        assert row is not None
        return StoredCandidate.from_row(row)
