"""The database's identity and each job's nonce (what binds work in Redis to its database)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bot.storage import MIGRATIONS, Database, JobStore
from bot.storage.identity import database_identity
from tests.bot.storage.conftest import new_job

HEX16 = re.compile(r"[0-9a-f]{16}")


async def test_the_identity_is_drawn_once_and_kept(db_path: Path, tmp_path: Path) -> None:
    async with Database.open(db_path) as db:
        identity = await database_identity(db)
    async with Database.open(db_path) as db:
        assert await database_identity(db) == identity and HEX16.fullmatch(identity)
    async with Database.open(tmp_path / "other.sqlite3") as other:
        assert await database_identity(other) != identity  # a reset draws a new one


async def test_every_job_gets_its_own_nonce_and_a_copy_keeps_them(db_path: Path, tmp_path: Path) -> None:
    async with Database.open(db_path) as db:
        jobs = JobStore(db)
        made = [await new_job(jobs) for _ in range(3)]
        assert all(HEX16.fullmatch(job.nonce) for job in made)
        assert len({job.nonce for job in made}) == 3
        assert (await jobs.get(made[0].id)).nonce == made[0].nonce  # type: ignore[union-attr]
        identity = await database_identity(db)
    copy = tmp_path / "restored.sqlite3"
    shutil.copyfile(db_path, copy)
    async with Database.open(copy) as restored:
        assert await database_identity(restored) == identity  # a restore copies it ...
        jobs = JobStore(restored)
        assert (await jobs.get(made[2].id)).nonce == made[2].nonce  # type: ignore[union-attr]
        await restored.execute("DELETE FROM jobs WHERE id = ?", (made[2].id,))
        await restored.execute("DELETE FROM sqlite_sequence")  # as if the backup predated it
        again = await new_job(jobs)
        assert again.id == made[2].id and again.nonce != made[2].nonce  # ... never the nonces


async def test_an_older_database_gets_an_identity_and_nonces_on_upgrade(db_path: Path) -> None:
    async with Database.open(db_path, migrations=MIGRATIONS[:-1]) as old:
        jobs = [
            await old.execute(
                "INSERT INTO jobs (status, kind, user_id, user_name, channel_id, request_json, created_at)"
                " VALUES ('queued', 'ambient', 1, 'u', 2, '{}', 0)"
            )
            for _ in range(2)
        ]
    async with Database.open(db_path) as db:
        assert HEX16.fullmatch(await database_identity(db))
        nonces = [r["nonce"] for r in await db.fetchall("SELECT nonce FROM jobs ORDER BY id")]
        assert len(nonces) == len(jobs) and all(HEX16.fullmatch(n) for n in nonces) and nonces[0] != nonces[1]


async def test_a_restart_is_no_attempt_for_a_job_whose_work_survived(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        jobs = JobStore(db)
        alive, died = await new_job(jobs), await new_job(jobs)
        for _ in range(3):  # three restarts: the first job's batch lives on in Redis each time
            for job in (alive, died):
                if (await jobs.get(job.id)).status.value == "queued":  # type: ignore[union-attr]
                    await jobs.mark_running(job.id)
            queued, given_up = await jobs.requeue_interrupted(2, {(alive.id, alive.nonce), (died.id, "x")})
            if given_up:
                break
        assert [job.id for job in given_up] == [died.id]  # its nonce did not match: it died twice
        assert [(job.id, job.attempts) for job in queued] == [(alive.id, 0)]
