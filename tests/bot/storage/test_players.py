"""Voice players and /play requests in SQLite: one row per server, requests taken exactly once."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.storage.database import Database
from bot.storage.jobs import JobStore
from bot.storage.players import PlayerState, PlayerStore, Track, TrackKind
from tests.bot.storage.conftest import FakeClock, new_job

TRACK = Track(TrackKind.HISTORY, 7, "rain on a tin roof", "mp3/ab/abc.mp3", loops=True)


def state(**overrides: object) -> PlayerState:
    values: dict[str, object] = {
        "guild_id": 10,
        "voice_channel_id": 30,
        "text_channel_id": 20,
        "track": TRACK,
        "volume": 80,
        "started_by": 1,
    }
    values.update(overrides)
    return PlayerState(**values)  # type: ignore[arg-type]


async def test_a_player_round_trips_and_is_replaced_in_place(db: Database, clock: FakeClock) -> None:
    store = PlayerStore(db, clock)
    assert await store.get(10) is None
    first = state()
    await store.save(first)
    assert await store.get(10) == first
    moved = dataclasses.replace(
        first,
        voice_channel_id=31,
        message_id=99,
        volume=0,
        paused=True,
        sleep_at=1_700_000_600.0,
        track=Track(TrackKind.GALLERY, 3, "crickets", "mp3/cd/cde.mp3", loops=False),
    )
    clock.advance(5)
    await store.save(moved)
    assert await store.get(10) == moved
    clock.advance(5)
    await store.save(state(guild_id=11))
    assert [s.guild_id for s in await store.all()] == [10, 11]  # oldest change first
    assert await store.delete(10)
    assert not await store.delete(10)
    assert [s.guild_id for s in await store.all()] == [11]


@pytest.mark.parametrize("column", ["volume", "track_kind"])
async def test_the_schema_refuses_impossible_values(db: Database, column: str) -> None:
    store = PlayerStore(db)
    await store.save(state())
    value = 101 if column == "volume" else "radio"
    with pytest.raises(Exception, match="CHECK"):
        await db.execute(f"UPDATE voice_players SET {column} = ?", (value,))


async def test_a_request_is_taken_exactly_once(db: Database, clock: FakeClock) -> None:
    jobs = JobStore(db, clock)
    job = await new_job(jobs)
    other = await new_job(jobs)
    store = PlayerStore(db, clock)
    await store.add_request(job.id, guild_id=10, voice_channel_id=30, text_channel_id=20, user_id=1)
    await store.add_request(other.id, guild_id=11, voice_channel_id=31, text_channel_id=21, user_id=2)
    assert [r.job_id for r in await store.requests()] == [job.id, other.id]
    taken = await asyncio.gather(store.take_request(job.id), store.take_request(job.id))
    assert sorted(r is None for r in taken) == [False, True]
    request = next(r for r in taken if r is not None)
    assert (request.guild_id, request.voice_channel_id, request.text_channel_id, request.user_id) == (
        10,
        30,
        20,
        1,
    )
    assert request.created_at == clock.now
    assert await store.drop_requests(11) == 1
    assert await store.requests() == []
