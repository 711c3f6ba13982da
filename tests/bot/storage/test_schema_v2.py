"""Migration 2 (users, gallery, retention): upgrade of a version 1 file, keys, and query plans."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from bot.storage.database import Database
from bot.storage.gallery import _ORDER, GalleryFilter, GallerySort
from bot.storage.generations import GenerationStore
from bot.storage.history import _NEWEST_FIRST, _SELECT, HistoryFilter
from bot.storage.job_rows import encode_request
from bot.storage.migrations import MIGRATIONS
from bot.storage.users import UserStore
from tests.bot.storage.conftest import FakeClock, make_request


async def _v1_job(db: Database, user_id: int, user_name: str, created_at: float) -> SimpleNamespace:
    """A job row as version 1 wrote it (today's JobStore writes later columns)."""
    result = await db.execute(
        "INSERT INTO jobs (status, kind, user_id, user_name, guild_id, channel_id, request_json, "
        "created_at) VALUES ('done', 'ambient', ?, ?, 5, 6, ?, ?)",
        (user_id, user_name, encode_request(make_request()), created_at),
    )
    return SimpleNamespace(id=result.lastrowid, variations=1, user_id=user_id, guild_id=5, channel_id=6)


async def test_upgrade_from_version_1_keeps_rows_and_fills_users(db_path: Path) -> None:
    clock = FakeClock()
    async with Database.open(db_path, migrations=MIGRATIONS[:1]) as old:
        job = await _v1_job(old, 7, "old name", clock.now)
        clock.advance(60)
        await _v1_job(old, 7, "new name", clock.now)
        await _v1_job(old, 8, "eight", clock.now)
        await GenerationStore(old, clock=clock).add(
            job, 0, make_request(), model="m", mp3_path="mp3/a.mp3", mp3_sha256="a", mp3_bytes=1,
            lufs=-18.0, gen_seconds=1.0,
        )  # type: ignore[arg-type]  # fmt: skip
    async with Database.open(db_path, migrations=MIGRATIONS[:2]) as db:
        assert db.schema_version == 2
        seven = await UserStore(db).get(7)
        assert seven is not None and seven.name == "new name"
        assert (seven.first_seen, seven.last_seen) == (clock.now - 60, clock.now)
        assert (await UserStore(db).get(8)).name == "eight"  # type: ignore[union-attr]
        (row,) = await db.fetchall("SELECT mp3_path, mp3_pruned_at FROM generations")
        assert (row["mp3_path"], row["mp3_pruned_at"]) == ("mp3/a.mp3", None)


async def _plan(db: Database, sql: str, params: tuple[object, ...]) -> str:
    rows = await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
    return " | ".join(row["detail"] for row in rows)


async def test_history_and_gallery_pages_use_their_indexes_without_sorting(db: Database) -> None:
    for where, index in (
        (HistoryFilter(1), "generations_by_user"),
        (HistoryFilter(1, search="rain"), "generations_by_user"),
        (HistoryFilter(1, preset="rain"), "generations_by_user_preset"),
    ):
        sql, params = where.where()
        plan = await _plan(db, f"{_SELECT} {sql} {_NEWEST_FIRST} LIMIT 10", params)
        assert f"USING INDEX {index} (" in plan and "TEMP B-TREE" not in plan, plan
    for sort, index in (
        (GallerySort.TOP, "gallery_by_guild_score"),
        (GallerySort.NEW, "gallery_by_guild_added"),
    ):
        sql, params = GalleryFilter(10, sort).where()
        plan = await _plan(db, f"SELECT * FROM gallery_entries {sql} {_ORDER[sort]} LIMIT 10", params)
        assert f"USING INDEX {index} (" in plan and "TEMP B-TREE" not in plan, plan
    plan = await _plan(db, "SELECT * FROM generations WHERE mp3_path = ?", ("x",))
    assert "generations_by_mp3" in plan
