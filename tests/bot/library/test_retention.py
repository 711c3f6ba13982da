"""Retention: the oldest files no gallery uses are pruned; history rows stay and say so."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.library import Pruner
from bot.library.retention import DAY_S
from bot.storage.files import Mp3Files
from bot.storage.history import HistoryFilter
from tests.bot.storage.factories import GUILD_A, Stores


@pytest.fixture
def files(tmp_path: Path) -> Mp3Files:
    return Mp3Files(tmp_path / "data")


async def test_prunes_oldest_unused_files_and_keeps_gallery_and_recent_ones(
    stores: Stores, files: Mp3Files, caplog: pytest.LogCaptureFixture
) -> None:
    old = await stores.one(1, files=files, seed=1)
    old_in_gallery = await stores.one(1, files=files, seed=2, message_id=700)
    await stores.gallery.star(GUILD_A, 700, user_id=2, user_name="bob")
    stores.clock.advance(20 * DAY_S)
    recent = await stores.one(1, files=files, seed=3)
    stores.clock.advance(20 * DAY_S)
    pruner = Pruner(stores.retention, files, retention_days=30, clock=stores.clock)

    with caplog.at_level(logging.INFO, logger="bot.library.retention"):
        report = await pruner.prune()
    assert (report.files, report.generations) == (1, 1)
    assert "retention: pruned 1 file(s)" in caplog.text
    assert not await files.exists(old.mp3_path)
    assert await files.exists(old_in_gallery.mp3_path) and await files.exists(recent.mp3_path)

    # The history keeps the row and knows its file is gone.
    page = await stores.history.page(HistoryFilter(1), 0)
    assert {e.id: e.file_expired for e in page.items} == {
        old.id: True,
        old_in_gallery.id: False,
        recent.id: False,
    }
    assert (await pruner.prune()).files == 0  # nothing claimed twice


async def test_a_file_shared_with_a_recent_generation_stays(stores: Stores, files: Mp3Files) -> None:
    shared = "mp3/ab/shared.mp3"
    await stores.one(1, mp3_path=shared)
    stores.clock.advance(40 * DAY_S)
    await stores.one(2, mp3_path=shared)
    assert await stores.retention.claim_expired(stores.clock() - 30 * DAY_S) == []
    stores.clock.advance(40 * DAY_S)
    (claimed,) = await stores.retention.claim_expired(stores.clock() - 30 * DAY_S)
    assert (claimed.mp3_path, claimed.generations) == (shared, 2)


async def test_claims_in_batches_oldest_first(stores: Stores) -> None:
    made = [await stores.one(1, seed=n) for n in range(7)]
    stores.clock.advance(100 * DAY_S)
    first = await stores.retention.claim_expired(stores.clock(), limit=3)
    second = await stores.retention.claim_expired(stores.clock(), limit=3)
    third = await stores.retention.claim_expired(stores.clock(), limit=3)
    claimed = [f.mp3_path for f in first + second + third]
    assert claimed == [g.mp3_path for g in made]


async def test_disabled_retention_keeps_everything(stores: Stores, files: Mp3Files) -> None:
    made = await stores.one(1, files=files)
    stores.clock.advance(10_000 * DAY_S)
    pruner = Pruner(stores.retention, files, retention_days=0, clock=stores.clock)
    assert not pruner.enabled and (await pruner.prune()).files == 0
    assert await files.exists(made.mp3_path)


async def test_pruning_while_users_add_to_the_gallery_never_loses_a_gallery_file(
    stores: Stores, files: Mp3Files
) -> None:
    made = [await stores.one(1, files=files, seed=n, message_id=800 + n) for n in range(30)]
    stores.clock.advance(100 * DAY_S)
    pruner = Pruner(stores.retention, files, retention_days=30, clock=stores.clock)
    stars = [stores.gallery.star(GUILD_A, 800 + n, user_id=2, user_name="bob") for n in range(0, 30, 2)]
    await asyncio.gather(pruner.prune(), *stars)
    entries = await stores.db.fetchall("SELECT mp3_path FROM gallery_entries")
    for row in entries:
        assert await files.exists(row["mp3_path"])
    expired = {e.id for e in await stores.history.export(1) if e.file_expired}
    assert len(entries) + len(expired) == len(made)
