"""Reads of ``jobs``: one job, the active ones, a user's counts, the totals for /status."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from bot.storage.database import Database
from bot.storage.job_rows import ACTIVE_SQL, PENDING_SQL, TERMINAL_SQL, Job, JobStatus


class JobReads:
    """Reads of ``jobs`` (the base of :class:`JobStore`)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock  # stamps the transitions and inserts of the subclasses

    # -- reads ----------------------------------------------------------------------------

    async def get(self, job_id: int) -> Job | None:
        row = await self._db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else Job.from_row(row)

    async def active(self) -> list[Job]:
        """Queued, running and posting jobs, oldest first."""
        return await self._jobs(f"SELECT * FROM jobs WHERE status IN {ACTIVE_SQL} ORDER BY id")

    async def active_for_user(self, user_id: int) -> list[Job]:
        """One user's queued, running and posting jobs, oldest first."""
        return await self._jobs(
            f"SELECT * FROM jobs WHERE user_id = ? AND status IN {ACTIVE_SQL} ORDER BY id", (user_id,)
        )

    async def queued(self) -> list[Job]:
        """Queued jobs, oldest first."""
        return await self._with_status(JobStatus.QUEUED)

    async def interrupted_posting(self) -> list[Job]:
        """Jobs whose delivery intent was recorded but never confirmed, oldest first.

        The bot must check whether the post went out (``posting_started_at`` bounds where to
        look) before posting again.
        """
        return await self._with_status(JobStatus.POSTING)

    async def unanswered(self, limit: int = 100) -> list[Job]:
        """Ended jobs whose user has not yet been told how they ended, oldest first."""
        return await self._jobs(
            f"SELECT * FROM jobs WHERE answered_at IS NULL AND status IN {TERMINAL_SQL} ORDER BY id LIMIT ?",
            (limit,),
        )

    async def _with_status(self, status: JobStatus) -> list[Job]:
        return await self._jobs("SELECT * FROM jobs WHERE status = ? ORDER BY id", (status.value,))

    async def _jobs(self, sql: str, params: Sequence[object] = ()) -> list[Job]:
        return [Job.from_row(r) for r in await self._db.fetchall(sql, params)]

    async def by_result_message(self, message_id: int) -> Job | None:
        row = await self._db.fetchone(
            "SELECT * FROM jobs WHERE result_message_id = ? ORDER BY id LIMIT 1", (message_id,)
        )
        return None if row is None else Job.from_row(row)

    async def pending_count(self, user_id: int) -> int:
        """How many of the user's jobs are queued or running (for per-user queue limits)."""
        row = await self._db.fetchone(
            f"SELECT COUNT(*) FROM jobs WHERE user_id = ? AND status IN {PENDING_SQL}", (user_id,)
        )
        return int(row[0]) if row is not None else 0

    async def active_count(self) -> int:
        row = await self._db.fetchone(f"SELECT COUNT(*) FROM jobs WHERE status IN {ACTIVE_SQL}")
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
