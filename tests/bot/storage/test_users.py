"""UserStore: who the bot has seen, and when first and last."""

from __future__ import annotations

import asyncio

from bot.storage.database import Database
from bot.storage.users import UserStore
from tests.bot.storage.conftest import FakeClock


async def test_seen_keeps_the_first_visit_and_the_latest_name(db: Database, clock: FakeClock) -> None:
    users = UserStore(db, clock=clock)
    assert await users.get(5) is None
    await users.seen(5, "five")
    first = clock.now
    clock.advance(100)
    await users.seen(5, "renamed")
    record = await users.get(5)
    assert record is not None
    assert (record.name, record.first_seen, record.last_seen) == ("renamed", first, first + 100)


async def test_many_visits_at_once_make_one_row_per_user(db: Database, clock: FakeClock) -> None:
    users = UserStore(db, clock=clock)

    async def visits(user_id: int) -> None:
        for n in range(5):
            clock.advance(1)
            await users.seen(user_id, f"user{user_id}-{n}")

    await asyncio.gather(*(visits(u) for u in range(1, 41)))
    rows = await db.fetchall("SELECT id, name, first_seen, last_seen FROM users ORDER BY id")
    assert [row["id"] for row in rows] == list(range(1, 41))
    assert all(row["name"].endswith("-4") and row["first_seen"] < row["last_seen"] for row in rows)
