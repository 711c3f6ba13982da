"""Builders for history and gallery tests: generations with their job, one call each."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.storage.database import Database
from bot.storage.files import Mp3Files
from bot.storage.gallery import GalleryStore
from bot.storage.generations import Generation, GenerationStore
from bot.storage.history import HistoryStore
from bot.storage.jobs import JobStore
from bot.storage.retention import RetentionStore
from tests.bot.storage.conftest import FakeClock, make_request, new_job

GUILD_A = 10
GUILD_B = 11


class Stores:
    """Every store over one database, plus the clock, for terse tests."""

    def __init__(self, db: Database, jobs: JobStore, generations: GenerationStore, clock: FakeClock) -> None:
        self.db = db
        self.jobs = jobs
        self.generations = generations
        self.clock = clock
        self.history = HistoryStore(db)
        self.gallery = GalleryStore(db, clock=clock)
        self.retention = RetentionStore(db, clock=clock)

    async def make(
        self,
        user_id: int = 1,
        *,
        text: str = "rain on a tin roof",
        preset: str | None = "rain",
        guild_id: int | None = GUILD_A,
        seed: int = 1,
        mp3_path: str | None = None,
        message_id: int | None = None,
        variations: int = 1,
        step_s: float = 1.0,
        files: Mp3Files | None = None,
    ) -> list[Generation]:
        """A finished job of ``user_id`` with ``variations`` generations; the clock moves on."""
        self.clock.advance(step_s)
        request = make_request(user_text=text, preset=preset, seed=seed)
        job = await new_job(
            self.jobs, user_id=user_id, guild_id=guild_id, request=request, variations=variations
        )
        made = []
        for index in range(variations):
            content = f"{job.id}-{index}".encode() if mp3_path is None else mp3_path.encode()
            sha = hashlib.sha256(content).hexdigest()
            path = mp3_path or Mp3Files.relative_path(sha)
            if files is not None:
                path, sha = await files.save(b"ID3" + content)
            made.append(
                await self.generations.add(
                    job,
                    index,
                    request.with_seed(seed + index),
                    model="tiny",
                    mp3_path=path,
                    mp3_sha256=sha,
                    mp3_bytes=1000,
                    lufs=-18.0,
                    gen_seconds=1.0,
                )
            )
        await self.jobs.mark_running(job.id)
        await self.jobs.mark_posting(job.id, 1.0)
        await self.jobs.mark_done(job.id, message_id or 50_000 + job.id)
        await self.generations.set_message(job.id, message_id or 50_000 + job.id)
        return [await self.generations.get(g.id) for g in made]  # type: ignore[misc]

    async def one(self, user_id: int = 1, **options: Any) -> Generation:
        (generation,) = await self.make(user_id, **options)
        return generation
