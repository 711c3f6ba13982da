"""Database: pragmas, migrations and transaction semantics, on real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.storage.database import Database
from bot.storage.migrations import MIGRATIONS, SchemaVersionError, split_statements

EXPECTED_TABLES = {"jobs", "generations", "rerolls"}
EXPECTED_INDEXES = {
    "jobs_by_status",
    "jobs_by_user_status",
    "jobs_by_user_created",
    "jobs_by_result_message",
    "jobs_by_parent",
    "generations_by_user",
    "generations_by_message",
    "generations_by_guild",
    "rerolls_by_job",
}


def _schema(path: Path) -> tuple[int, list[tuple[str, str, str]]]:
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()
    return version, rows


async def test_open_creates_schema_and_sets_user_version(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        assert await asyncio.to_thread(db_path.is_file)
        assert db.schema_version == len(MIGRATIONS) == await db.user_version()
        rows = await db.fetchall("SELECT type, name FROM sqlite_master")
        tables = {r["name"] for r in rows if r["type"] == "table"}
        indexes = {r["name"] for r in rows if r["type"] == "index"}
    assert EXPECTED_TABLES <= tables
    assert EXPECTED_INDEXES <= indexes
    assert db.closed


async def test_jobs_columns_match_the_spec(db: Database) -> None:
    columns = {r["name"]: r for r in await db.fetchall("PRAGMA table_info(jobs)")}
    assert list(columns) == [
        "id", "status", "kind", "user_id", "user_name", "guild_id", "channel_id", "request_json",
        "variations", "parent_job_id", "reply_to_message_id", "application_id", "interaction_token",
        "interaction_created_at", "status_message_id", "result_message_id", "posting_started_at",
        "created_at", "started_at", "finished_at", "gen_seconds", "error", "attempts", "idempotency_key",
            "recipe_json", "cost", "answered_at", "post_attempts", "nonce",
    ]  # fmt: skip
    assert columns["guild_id"]["notnull"] == 0
    assert columns["channel_id"]["notnull"] == 1
    assert columns["attempts"]["dflt_value"] == "0"
    fks = await db.fetchall("PRAGMA foreign_key_list(generations)")
    assert [(r["table"], r["on_delete"]) for r in fks] == [("jobs", "CASCADE")]
    fks = await db.fetchall("PRAGMA foreign_key_list(jobs)")
    assert [(r["from"], r["on_delete"]) for r in fks] == [("parent_job_id", "SET NULL")]


async def test_reopening_is_a_no_op(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        await db.execute("CREATE TABLE extra (x INTEGER)")
    before = _schema(db_path)
    async with Database.open(db_path) as db:
        assert db.schema_version == len(MIGRATIONS)
    assert _schema(db_path) == before


async def test_newer_database_is_refused_with_a_clear_error(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.commit()
    conn.close()

    with pytest.raises(SchemaVersionError) as info:
        await Database.open(db_path)
    message = str(info.value)
    assert f"schema version {len(MIGRATIONS) + 1}" in message
    assert f"up to {len(MIGRATIONS)}" in message
    assert "upgrade AmbientGen" in message
    assert _schema(db_path)[0] == len(MIGRATIONS) + 1  # untouched


async def test_pragmas(db: Database) -> None:
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    assert (await db.fetchone("PRAGMA busy_timeout"))[0] == 5000
    assert (await db.fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await db.execute("INSERT INTO rerolls VALUES (1, 2, 999, 0.0)")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        await db.execute(
            "INSERT INTO jobs (status, kind, user_id, user_name, channel_id, request_json, created_at) "
            "VALUES ('lost', 'ambient', 1, 'u', 2, '{}', 0)"
        )


async def test_upgrade_applies_only_new_migrations(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    v2 = "ALTER TABLE jobs ADD COLUMN note TEXT; CREATE INDEX jobs_by_note ON jobs (note);"
    async with Database.open(db_path, migrations=(*MIGRATIONS, v2)) as db:
        assert await db.user_version() == len(MIGRATIONS) + 1
        names = [r["name"] for r in await db.fetchall("PRAGMA table_info(jobs)")]
        assert names[-1] == "note"
    # The old code now refuses the upgraded file.
    with pytest.raises(SchemaVersionError):
        await Database.open(db_path)


async def test_failed_migration_is_rolled_back(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    bad = "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await Database.open(db_path, migrations=(*MIGRATIONS, bad))
    version, rows = _schema(db_path)
    assert version == len(MIGRATIONS)
    assert "half_done" not in {name for _, name, _ in rows}


async def test_two_connections_migrating_a_fresh_file_at_once(db_path: Path) -> None:
    first, second = await asyncio.gather(Database.open(db_path), Database.open(db_path))
    try:
        assert first.schema_version == second.schema_version == len(MIGRATIONS)
    finally:
        await first.close()
        await second.close()


def test_split_statements() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE t (a TEXT DEFAULT ';');
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN
            UPDATE t SET a = 'x;y' WHERE rowid = new.rowid;
        END;
        INSERT INTO t VALUES ('1'); INSERT INTO t VALUES ('2');
        -- trailing comment
    """
    statements = split_statements(script)
    assert len(statements) == 4
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE t (a); CREATE TABLE u (b)")
    assert len(split_statements(MIGRATIONS[0])) == 3 + 9  # tables + indexes


async def test_transaction_commits(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE t (x INTEGER)")
        result = await tx.execute("INSERT INTO t VALUES (1)")
        assert result.rowcount == 1 and result.lastrowid == 1
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 1


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    await db.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(KeyError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
            raise KeyError("boom")
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 0
    with pytest.raises(RuntimeError, match="already finished"):
        await tx.execute("INSERT INTO t VALUES (2)")


async def test_transaction_rolls_back_on_cancellation(db: Database) -> None:
    await db.execute("CREATE TABLE t (x INTEGER)")
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 0
    async with db.transaction() as tx:  # the connection is usable again
        await tx.execute("INSERT INTO t VALUES (2)")
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 1


async def test_transactions_of_concurrent_coroutines_never_interleave(db: Database) -> None:
    await db.execute("CREATE TABLE t (who TEXT)")
    a_inside = asyncio.Event()

    async def failing() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES ('a')")
            a_inside.set()
            await asyncio.sleep(0.05)  # b is scheduled meanwhile
            raise ValueError("a fails")

    async def succeeding() -> None:
        await a_inside.wait()
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES ('b')")

    async def reader() -> list[str]:
        await a_inside.wait()
        # Waits for a's transaction: never sees its uncommitted row.
        return [r["who"] for r in await db.fetchall("SELECT who FROM t")]

    results = await asyncio.gather(failing(), succeeding(), reader(), return_exceptions=True)
    assert isinstance(results[0], ValueError)
    assert "a" not in results[2]
    # Had b's INSERT run inside a's transaction, a's rollback would have taken it along.
    assert [r["who"] for r in await db.fetchall("SELECT who FROM t")] == ["b"]


async def test_reentrant_use_raises_instead_of_deadlocking(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(RuntimeError, match="already holds a transaction"):
            async with db.transaction():
                pass
        with pytest.raises(RuntimeError, match="already holds a transaction"):
            await db.fetchone("SELECT 1")


async def test_close_is_idempotent_checkpoints_and_blocks_further_use(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.execute("CREATE TABLE t (x BLOB)")
    await db.execute("INSERT INTO t VALUES (zeroblob(100000))")
    await db.close()
    await db.close()
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with pytest.raises(RuntimeError, match="closed"):
        await db.fetchone("SELECT 1")
    with pytest.raises(RuntimeError, match="closed"):
        async with db.transaction():
            pass
