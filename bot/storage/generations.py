"""Generations: one row per MP3 a job produced, and the Discord message that carries it."""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage.database import Database
from bot.storage.job_rows import Job, decode_request, encode_request
from generation.request import GenerationRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Generation:
    """One row of ``generations``. ``variation_index`` counts from 0 within its job."""

    id: int
    job_id: int
    variation_index: int
    user_id: int
    guild_id: int | None
    channel_id: int
    message_id: int | None
    seed: int
    prompt: str
    user_text: str
    preset: str | None
    duration_s: float
    steps: int
    guidance: float
    negative_prompt: str
    scheduler: str
    request: GenerationRequest
    model: str
    mp3_path: str
    """Relative to the data folder (see :class:`bot.storage.files.Mp3Files`)."""
    mp3_sha256: str
    mp3_bytes: int
    lufs: float | None
    """Integrated loudness; None when it could not be measured (NaN)."""
    gen_seconds: float
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Generation:
        return cls(
            id=row["id"],
            job_id=row["job_id"],
            variation_index=row["variation_index"],
            user_id=row["user_id"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            message_id=row["message_id"],
            seed=row["seed"],
            prompt=row["prompt"],
            user_text=row["user_text"],
            preset=row["preset"],
            duration_s=row["duration_s"],
            steps=row["steps"],
            guidance=row["guidance"],
            negative_prompt=row["negative_prompt"],
            scheduler=row["scheduler"],
            request=decode_request(row["request_json"]),
            model=row["model"],
            mp3_path=row["mp3_path"],
            mp3_sha256=row["mp3_sha256"],
            mp3_bytes=row["mp3_bytes"],
            lufs=row["lufs"],
            gen_seconds=row["gen_seconds"],
            created_at=row["created_at"],
        )


class GenerationStore:
    """Writes and lookups of ``generations``, and the per-user reroll claim."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self,
        job: Job,
        variation_index: int,
        request: GenerationRequest,
        *,
        model: str,
        mp3_path: str,
        mp3_sha256: str,
        mp3_bytes: int,
        lufs: float,
        gen_seconds: float,
        duration_s: float | None = None,
    ) -> Generation:
        """Record variation ``variation_index`` (0-based, below ``job.variations``) of ``job``.

        ``duration_s`` is the file's length where it differs from the request's (a loop, a long
        render); the request itself is stored as it reproduces the audio.

        Idempotent on (job, variation): a job re-run after a crash updates its existing row
        (keeping its id, ``created_at`` and ``message_id``) instead of adding a second one.
        """
        if not 0 <= variation_index < job.variations:
            raise ValueError(
                f"variation_index {variation_index} out of range for job {job.id} "
                f"with {job.variations} variation(s)"
            )
        # SQLite would store NaN as NULL anyway; say so explicitly.
        stored_lufs = None if math.isnan(lufs) else lufs
        async with self._db.transaction() as tx:
            await tx.execute(
                """
                INSERT INTO generations (
                    job_id, variation_index, user_id, guild_id, channel_id, seed, prompt, user_text,
                    preset, duration_s, steps, guidance, negative_prompt, scheduler, request_json,
                    model, mp3_path, mp3_sha256, mp3_bytes, lufs, gen_seconds, created_at
                ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (job_id, variation_index) DO UPDATE SET
                    seed = excluded.seed,
                    prompt = excluded.prompt,
                    user_text = excluded.user_text,
                    preset = excluded.preset,
                    duration_s = excluded.duration_s,
                    steps = excluded.steps,
                    guidance = excluded.guidance,
                    negative_prompt = excluded.negative_prompt,
                    scheduler = excluded.scheduler,
                    request_json = excluded.request_json,
                    model = excluded.model,
                    mp3_path = excluded.mp3_path,
                    mp3_sha256 = excluded.mp3_sha256,
                    mp3_bytes = excluded.mp3_bytes,
                    lufs = excluded.lufs,
                    gen_seconds = excluded.gen_seconds
                """,
                (
                    job.id,
                    variation_index,
                    job.user_id,
                    job.guild_id,
                    job.channel_id,
                    request.seed,
                    request.prompt,
                    request.user_text,
                    request.preset,
                    request.duration_s if duration_s is None else duration_s,
                    request.steps,
                    request.guidance,
                    request.negative_prompt,
                    request.scheduler,
                    encode_request(request),
                    model,
                    mp3_path,
                    mp3_sha256,
                    mp3_bytes,
                    stored_lufs,
                    gen_seconds,
                    self._clock(),
                ),
            )
            row = await tx.fetchone(
                "SELECT * FROM generations WHERE job_id = ? AND variation_index = ?",
                (job.id, variation_index),
            )
        assert row is not None  # written in the same transaction
        generation = Generation.from_row(row)
        log.debug("generation %d: job %d variation %d", generation.id, job.id, variation_index)
        return generation

    async def set_message(self, job_id: int, message_id: int) -> int:
        """Attach the Discord message to every variation of the job; returns rows updated."""
        result = await self._db.execute(
            "UPDATE generations SET message_id = ? WHERE job_id = ?", (message_id, job_id)
        )
        return result.rowcount

    async def get(self, generation_id: int) -> Generation | None:
        row = await self._db.fetchone("SELECT * FROM generations WHERE id = ?", (generation_id,))
        return None if row is None else Generation.from_row(row)

    async def for_job(self, job_id: int) -> list[Generation]:
        rows = await self._db.fetchall(
            "SELECT * FROM generations WHERE job_id = ? ORDER BY variation_index", (job_id,)
        )
        return [Generation.from_row(r) for r in rows]

    async def by_message(self, message_id: int) -> list[Generation]:
        """The generations a Discord message carries, by variation."""
        rows = await self._db.fetchall(
            "SELECT * FROM generations WHERE message_id = ? ORDER BY job_id, variation_index",
            (message_id,),
        )
        return [Generation.from_row(r) for r in rows]

    async def for_user(self, user_id: int, limit: int = 20, offset: int = 0) -> list[Generation]:
        """A user's generations, newest first (for history pages)."""
        if limit < 1 or offset < 0:
            raise ValueError(f"need limit >= 1 and offset >= 0, got limit={limit} offset={offset}")
        rows = await self._db.fetchall(
            "SELECT * FROM generations WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )
        return [Generation.from_row(r) for r in rows]

    async def count_for_path(self, mp3_path: str) -> int:
        """How many generations use a file: identical MP3s share one file, so only delete at 0."""
        row = await self._db.fetchone("SELECT COUNT(*) FROM generations WHERE mp3_path = ?", (mp3_path,))
        return int(row[0]) if row is not None else 0

    async def claim_reroll(self, message_id: int, user_id: int, job_id: int) -> bool:
        """Record that ``user_id`` rerolled ``message_id`` as ``job_id``; True only the first time.

        Prefer :meth:`bot.storage.jobs.JobStore.create_reroll`, which creates the job and the
        claim in one transaction.
        """
        result = await self._db.execute(
            "INSERT OR IGNORE INTO rerolls (message_id, user_id, job_id, created_at) VALUES (?, ?, ?, ?)",
            (message_id, user_id, job_id, self._clock()),
        )
        return result.rowcount == 1
