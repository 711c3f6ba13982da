"""The token sweep: erases expired interaction tokens at start and on schedule, and survives failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.jobs import JobStore
from bot.token_sweep import TokenSweeper
from tests.bot.storage.conftest import FakeClock, new_job


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "ambientgen.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def jobs(db: Database, clock: FakeClock) -> JobStore:
    return JobStore(db, clock=clock)


class FlakyJobs(JobStore):
    """A real store whose first sweep fails, as a locked or full database would make it."""

    def __init__(self, db: Database, clock: FakeClock) -> None:
        super().__init__(db, clock)
        self.calls = 0
        self.second_call = asyncio.Event()

    async def erase_expired_tokens(self, created_before: float) -> int:
        self.calls += 1
        if self.calls == 1:
            raise OSError("disk I/O error")
        if self.calls == 2:
            self.second_call.set()
        return await super().erase_expired_tokens(created_before)


async def test_sweep_erases_tokens_past_the_ttl(jobs: JobStore, clock: FakeClock) -> None:
    old = await new_job(jobs, interaction_token="old", interaction_created_at=clock.now - 301)
    young = await new_job(jobs, interaction_token="young", interaction_created_at=clock.now - 10)
    sweeper = TokenSweeper(jobs, ttl_s=300, clock=clock)
    assert await sweeper.sweep() == 1
    assert (await jobs.get(old.id)).interaction_token is None  # type: ignore[union-attr]
    assert (await jobs.get(young.id)).interaction_token == "young"  # type: ignore[union-attr]


async def test_a_failed_sweep_is_logged_and_the_next_one_runs(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = FlakyJobs(db, clock)
    job = await new_job(jobs, interaction_token="stale", interaction_created_at=clock.now - 1000)
    sweeper = TokenSweeper(jobs, ttl_s=900, interval_s=0.0, clock=clock)
    with caplog.at_level(logging.ERROR, logger="bot.token_sweep"):
        sweeper.start()
        try:
            await asyncio.wait_for(jobs.second_call.wait(), 5)
        finally:
            await sweeper.stop()
    assert "token sweep failed" in caplog.text and "disk I/O error" in caplog.text
    assert (await jobs.get(job.id)).interaction_token is None  # type: ignore[union-attr]
