"""Fixtures for the storage tests: real SQLite files in tmp_path, an injectable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.storage.database import Database
from bot.storage.generations import GenerationStore
from bot.storage.job_rows import KIND_AMBIENT, Job
from bot.storage.jobs import JobStore
from generation.request import GenerationRequest

if TYPE_CHECKING:
    from tests.bot.storage.factories import Stores


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_request(**overrides: Any) -> GenerationRequest:
    values: dict[str, Any] = {
        "user_text": "rain on a tin roof",
        "prompt": "rain on a tin roof, ambient soundscape, high quality",
        "negative_prompt": "low quality, music, speech",
        "preset": "rain",
        "raw": False,
        "duration_s": 10.0,
        "steps": 50,
        "guidance": 3.5,
        "seed": 1234,
        "scheduler": "default",
    }
    values.update(overrides)
    return GenerationRequest(**values)


async def new_job(store: JobStore, user_id: int = 1, **overrides: Any) -> Job:
    values: dict[str, Any] = {
        "kind": KIND_AMBIENT,
        "user_id": user_id,
        "user_name": f"user{user_id}",
        "guild_id": 10,
        "channel_id": 20,
        "request": make_request(),
    }
    values.update(overrides)
    return await store.create(**values)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ambientgen.sqlite3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(db_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def jobs(db: Database, clock: FakeClock) -> JobStore:
    return JobStore(db, clock=clock)


@pytest.fixture
def generations(db: Database, clock: FakeClock) -> GenerationStore:
    return GenerationStore(db, clock=clock)


@pytest.fixture
def stores(db: Database, jobs: JobStore, generations: GenerationStore, clock: FakeClock) -> Stores:
    """Every store of the history and the gallery over ``db`` (see ``factories.Stores``)."""
    from tests.bot.storage.factories import Stores

    return Stores(db, jobs, generations, clock)
