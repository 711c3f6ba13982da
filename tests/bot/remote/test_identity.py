"""Batches in Redis belong to the database that made them: a reset or a restored database never
adopts, collects or delivers another job's batch (see bot.storage.identity).

A real ``redis-server`` holds an earlier run's batch records and results (made by the worker's
side, played by the test), and real SQLite databases are reset (a fresh data folder) or restored
(a copy of the database file taken earlier, with SQLite's backup API as an operator would).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.jobs.executor import Work
from bot.remote.broker import connect
from bot.remote.executor import RemoteExecutor
from bot.storage import Database, Job, JobStore
from bot.storage.identity import database_identity
from generation.prompting import build_request
from generation.recipes.order import RenderJob
from tests.bot.remote.test_executor import OFFERED, FakeWorker, rendered, settings
from tests.bot.storage.conftest import new_job
from tests.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("redis_server")


def work_of(job: Job, text: str) -> Work:
    """What the scheduler hands the executor for ``job`` (its id and nonce)."""
    return Work(job.id, RenderJob(build_request(text, seed=job.id, duration=5.0)), job.nonce)


async def executor_on(server: RedisServer, db: Database) -> RemoteExecutor:
    remote = RemoteExecutor(
        connect(server.url), settings(server), offered=OFFERED, max_attempts=2,
        identity=await database_identity(db),
    )  # fmt: skip
    await remote.start()
    return remote


async def leave_a_result(server: RedisServer, worker: FakeWorker, db: Database, job: Job, mark: bytes) -> str:
    """An earlier run hands ``job`` out and stops; the worker finishes it: its result waits.
    Returns the key of that result."""
    first = await executor_on(server, db)
    await first.submit([work_of(job, "the old user's secret lullaby")], lambda *_: None)
    await first.close()
    taken = await worker.take()
    await worker.finish(taken, {job.id: rendered(work_of(job, "old"), mark)})
    return worker.keys.result(taken.key, "a")


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


async def test_a_reset_database_never_adopts_the_old_databases_batch(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    worker = FakeWorker(redis_server)
    await worker.online()
    old_db = await Database.open(tmp_path / "old" / "ambientgen.sqlite3")
    old_job = await new_job(JobStore(old_db))
    old_result = await leave_a_result(redis_server, worker, old_db, old_job, b"OLD")
    old_identity = await database_identity(old_db)
    await old_db.close()

    # The operator resets: a fresh data folder, ids from 1 again, while Redis keeps the old batch.
    db = await Database.open(tmp_path / "new" / "ambientgen.sqlite3")
    remote = await executor_on(redis_server, db)
    try:
        job = await new_job(JobStore(db))
        assert job.id == old_job.id and job.nonce != old_job.nonce
        assert remote.flights.by_job == {} and remote.surviving() == frozenset()
        (future,) = await remote.submit([work_of(job, "a new user's rain")], lambda *_: None)
        taken = await worker.take()  # handed out afresh, under this database's identity
        assert taken.kwargs["identity"] == await database_identity(db) != old_identity
        assert taken.kwargs["orders"][0]["request"]["user_text"] == "a new user's rain"
        await asyncio.sleep(1.2)  # polls come and go: the old result stays where it is
        assert not future.done()
        await worker.finish(taken, {job.id: rendered(work_of(job, "new"), b"NEW")})
        assert (await asyncio.wait_for(future, 5)).posted[0].mp3 == b"ID3NEW"
        # Said once, at WARNING; the old batch is left for Redis to expire.
        assert len(warnings(caplog, "made by another database")) == 1
        assert await worker.client.exists(old_result) == 1
    finally:
        await remote.close()
        await db.close()
        await worker.close()


async def test_a_restored_database_adopts_its_own_jobs_batch_and_never_another_jobs(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    worker = FakeWorker(redis_server)
    await worker.online()
    path = tmp_path / "data" / "ambientgen.sqlite3"
    backup = tmp_path / "backup.sqlite3"
    db = await Database.open(path)
    jobs = JobStore(db)
    kept = await new_job(jobs)  # in the backup, and running when it was taken
    kept = await jobs.mark_running(kept.id)
    await asyncio.to_thread(_backup, path, backup)
    lost = await new_job(jobs)  # made after the backup: the restore loses it
    await leave_a_result(redis_server, worker, db, kept, b"KEPT")
    await leave_a_result(redis_server, worker, db, lost, b"LOST")
    await db.close()

    # The operator restores the backup: same identity, and the lost job's id is free again.
    await asyncio.to_thread(_restore, backup, path)
    db = await Database.open(path)
    jobs = JobStore(db)
    remote = await executor_on(redis_server, db)
    try:
        again = await new_job(jobs)
        assert again.id == lost.id and again.nonce != lost.nonce
        # Only the kept job's work survived the restart (the lost job's is another job's).
        assert (kept.id, kept.nonce) in remote.surviving()
        queued, given_up = await jobs.requeue_interrupted(2, remote.surviving())
        assert given_up == [] and {job.id for job in queued} == {kept.id, again.id}
        # Its restart was no attempt: its run lives on (the next start counts it once again).
        assert next(job for job in queued if job.id == kept.id).attempts == 0
        (mine,) = await remote.submit([work_of(kept, "kept")], lambda *_: None)
        assert (await asyncio.wait_for(mine, 5)).posted[0].mp3 == b"ID3KEPT"  # its own, collected

        (new,) = await remote.submit([work_of(again, "a new user's wind")], lambda *_: None)
        taken = await worker.take()  # handed out afresh: the lost job's batch is not this job's
        assert [order["nonce"] for order in taken.kwargs["orders"]] == [again.nonce]
        await asyncio.sleep(1.2)
        assert not new.done()
        await worker.finish(taken, {again.id: rendered(work_of(again, "new"), b"NEW")})
        assert (await asyncio.wait_for(new, 5)).posted[0].mp3 == b"ID3NEW"
        assert len(warnings(caplog, "restored from a backup?")) == 1
    finally:
        await remote.close()
        await db.close()
        await worker.close()


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _restore(backup: Path, path: Path) -> None:
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    path.write_bytes(backup.read_bytes())
