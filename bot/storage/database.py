"""The bot's single SQLite connection: pragmas, migrations and serialised transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Generator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

import aiosqlite

from bot.storage.migrations import MIGRATIONS, migrate

log = logging.getLogger(__name__)

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]

#: Milliseconds SQLite waits for another process's lock before failing with "database is locked".
BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a write statement reports."""

    rowcount: int
    lastrowid: int | None


class _Statements:
    """Statement helpers over one connection; callers hold the database lock."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        async with self._conn.execute(sql, params) as cursor:
            return ExecResult(cursor.rowcount, cursor.lastrowid)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class Transaction(_Statements):
    """Handle for the statements of one ``BEGIN IMMEDIATE`` transaction; dead after its block."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn)
        self._live = True

    def _close(self) -> None:
        self._live = False

    def _check(self) -> None:
        if not self._live:
            raise RuntimeError("transaction already finished; open a new one")

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        self._check()
        return await super().execute(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        self._check()
        return await super().fetchall(sql, params)


class Database:
    """One ``aiosqlite`` connection shared by every coroutine of the bot.

    A single connection means a single transaction scope, so :meth:`transaction` and the
    one-statement helpers take an ``asyncio.Lock``: statements of different coroutines never
    interleave, and a read never sees another coroutine's uncommitted writes. The lock is not
    re-entrant; using the database from inside one's own transaction raises ``RuntimeError``
    instead of deadlocking (use the ``Transaction`` handle there).
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        """Use :meth:`open`; this only wraps an already configured connection."""
        self._conn: aiosqlite.Connection | None = conn
        self.path = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self.schema_version = 0

    @classmethod
    def open(cls, path: Path | str, *, migrations: Sequence[str] = MIGRATIONS) -> _Opening:
        """Open (creating if needed) and migrate the database at ``path``.

        Use as ``db = await Database.open(path)`` or ``async with Database.open(path) as db:``.
        Raises :class:`~bot.storage.migrations.SchemaVersionError` if the file is newer than
        ``migrations``.
        """
        return _Opening(cls, Path(path), tuple(migrations))

    @classmethod
    async def _connect(cls, path: Path, migrations: Sequence[str]) -> Database:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        # isolation_level=None: the sqlite3 module must not open transactions behind our back;
        # transaction() issues BEGIN IMMEDIATE / COMMIT itself.
        conn = await aiosqlite.connect(path, isolation_level=None)
        db = cls(conn, path)
        try:
            conn.row_factory = sqlite3.Row
            raw = _Statements(conn)
            # busy_timeout first, so that switching to WAL waits for another process's lock.
            await raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
            mode = await _enable_wal(raw)
            if mode.lower() != "wal":
                log.warning("database %s could not switch to WAL (journal_mode=%s)", path, mode)
            # foreign_keys is a no-op inside a transaction, so it is set here, once, for good.
            await raw.execute("PRAGMA foreign_keys = ON")
            # NORMAL is durable in WAL mode except for the last commits on power loss.
            await raw.execute("PRAGMA synchronous = NORMAL")
            db.schema_version = await migrate(db, migrations)
        except BaseException:
            db._conn = None
            await conn.close()
            raise
        log.info("opened database %s (schema version %d)", path, db.schema_version)
        return db

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"database {self.path} is closed")
        return self._conn

    def _check_not_owner(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError(
                "this task already holds a transaction on the database; use its Transaction handle"
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` if the block raises (or is cancelled).

        IMMEDIATE takes the write lock up front, so a transaction never fails half-way with
        SQLITE_BUSY because another process started writing after our first read.
        """
        conn = self._connection()
        self._check_not_owner()
        async with self._lock:
            conn = self._connection()  # it may have been closed while we waited
            self._owner = asyncio.current_task()
            tx = Transaction(conn)
            raw = _Statements(conn)
            try:
                await raw.execute("BEGIN IMMEDIATE")
                try:
                    yield tx
                    tx._close()
                    await raw.execute("COMMIT")
                except BaseException:
                    tx._close()
                    await self._rollback(raw)
                    raise
            finally:
                tx._close()
                self._owner = None

    @staticmethod
    async def _rollback(raw: _Statements) -> None:
        # Called while an exception propagates; never let a failed ROLLBACK hide it. Statements
        # run in FIFO order on aiosqlite's thread, so ROLLBACK runs after any statement that a
        # cancelled coroutine had already queued.
        try:
            await raw.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            # SQLite already rolled back by itself (e.g. after SQLITE_FULL).
            log.debug("rollback: %s", exc)

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        """Run one statement in its own implicit transaction."""
        conn = self._connection()
        self._check_not_owner()
        async with self._lock:
            return await _Statements(conn).execute(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        conn = self._connection()
        self._check_not_owner()
        async with self._lock:
            return await _Statements(conn).fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def user_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row is not None else 0

    async def close(self) -> None:
        """Wait for the running transaction, checkpoint the WAL into the main file, close.

        Idempotent. The checkpoint keeps the data folder a single self-contained file when the
        bot is stopped cleanly (easy to back up or copy).
        """
        if self._conn is None:
            return
        self._check_not_owner()
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                await _Statements(conn).execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                # Another process may be reading; the WAL is still valid and replays on open.
                log.warning("could not checkpoint %s on close: %s", self.path, exc)
            finally:
                await conn.close()
        log.info("closed database %s", self.path)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _enable_wal(raw: _Statements) -> str:
    """Switch to WAL (persistent, so usually already on); return the journal mode now in use."""
    row = await raw.fetchone("PRAGMA journal_mode")
    if row is not None and str(row[0]).lower() == "wal":
        return "wal"
    # The switch needs an exclusive lock, and SQLite answers "database is locked" at once,
    # without the busy handler, when another connection is opening the file at the same time.
    deadline = asyncio.get_running_loop().time() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            row = await raw.fetchone("PRAGMA journal_mode = WAL")
            return str(row[0]) if row is not None else "?"
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or asyncio.get_running_loop().time() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)


class _Opening:
    """What :meth:`Database.open` returns: awaitable, and an async context manager that closes."""

    def __init__(self, cls: type[Database], path: Path, migrations: tuple[str, ...]) -> None:
        self._cls = cls
        self._path = path
        self._migrations = migrations
        self._db: Database | None = None

    def __await__(self) -> Generator[Any, None, Database]:
        return self._cls._connect(self._path, self._migrations).__await__()

    async def __aenter__(self) -> Database:
        self._db = await self._cls._connect(self._path, self._migrations)
        return self._db

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            await self._db.close()
