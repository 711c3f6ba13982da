"""GenerationStore: rows per MP3, message links, history, reroll claims."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import pytest

from bot.storage.database import Database
from bot.storage.generations import Generation, GenerationStore
from bot.storage.job_rows import Job
from bot.storage.jobs import JobStore
from tests.bot.storage.conftest import FakeClock, new_job

FILE: dict[str, Any] = {
    "model": "cvssp/audioldm2",
    "mp3_path": "mp3/ab/abcd.mp3",
    "mp3_sha256": "ab" + "0" * 62,
    "mp3_bytes": 123_456,
    "lufs": -18.5,
    "gen_seconds": 12.25,
}


async def _add(generations: GenerationStore, job: Job, index: int = 0, **overrides: Any) -> Generation:
    values = {**FILE, **overrides}
    request = job.request.with_seed(job.request.seed + index)
    return await generations.add(job, index, request, **values)


async def test_add_stores_request_and_file(
    jobs: JobStore, generations: GenerationStore, clock: FakeClock
) -> None:
    job = await new_job(jobs, user_id=3, guild_id=None, channel_id=4, variations=2)
    gen = await _add(generations, job, 1)
    assert (gen.job_id, gen.variation_index, gen.user_id, gen.guild_id, gen.channel_id) == (
        job.id,
        1,
        3,
        None,
        4,
    )
    assert gen.request == job.request.with_seed(job.request.seed + 1)
    assert gen.seed == gen.request.seed and gen.prompt == job.request.prompt
    assert (gen.user_text, gen.preset, gen.scheduler) == (job.request.user_text, "rain", "default")
    assert (gen.duration_s, gen.steps, gen.guidance) == (10.0, 50, 3.5)
    assert gen.negative_prompt == job.request.negative_prompt
    assert (gen.model, gen.mp3_path, gen.mp3_bytes, gen.lufs, gen.gen_seconds) == (
        "cvssp/audioldm2", "mp3/ab/abcd.mp3", 123_456, -18.5, 12.25,
    )  # fmt: skip
    assert gen.created_at == clock.now and gen.message_id is None
    assert await generations.get(gen.id) == gen
    assert await generations.for_job(job.id) == [gen]


async def test_add_is_idempotent_per_variation(
    jobs: JobStore, generations: GenerationStore, clock: FakeClock
) -> None:
    job = await new_job(jobs)
    first = await _add(generations, job)
    await generations.set_message(job.id, 55)
    clock.advance(100)
    second = await _add(generations, job, mp3_path="mp3/cd/cdef.mp3", lufs=-20.0)
    assert second.id == first.id
    assert second.mp3_path == "mp3/cd/cdef.mp3" and second.lufs == -20.0
    assert second.created_at == first.created_at and second.message_id == 55
    assert len(await generations.for_job(job.id)) == 1


async def test_add_checks_the_variation_index(jobs: JobStore, generations: GenerationStore) -> None:
    job = await new_job(jobs, variations=2)
    for bad in (-1, 2):
        with pytest.raises(ValueError, match="variation_index"):
            await _add(generations, job, bad)


async def test_unmeasurable_loudness_is_stored_as_none(jobs: JobStore, generations: GenerationStore) -> None:
    job = await new_job(jobs, variations=2)
    assert (await _add(generations, job, 0, lufs=math.nan)).lufs is None
    assert (await _add(generations, job, 1, lufs=-math.inf)).lufs == -math.inf  # silence


async def test_set_message_and_by_message(jobs: JobStore, generations: GenerationStore) -> None:
    job = await new_job(jobs, variations=3)
    other = await new_job(jobs)
    added = [await _add(generations, job, i) for i in (2, 0, 1)]
    await _add(generations, other)
    assert await generations.by_message(500) == []
    assert await generations.set_message(job.id, 500) == 3
    found = await generations.by_message(500)
    assert [g.variation_index for g in found] == [0, 1, 2]
    assert {g.id for g in found} == {g.id for g in added}
    assert all(g.message_id == 500 for g in found)
    assert await generations.set_message(404, 1) == 0


async def test_for_user_pages_newest_first(
    jobs: JobStore, generations: GenerationStore, clock: FakeClock
) -> None:
    ids = []
    for _ in range(5):
        clock.advance(1)
        ids.append((await _add(generations, await new_job(jobs, user_id=8))).id)
    await _add(generations, await new_job(jobs, user_id=9))
    page1 = await generations.for_user(8, limit=2)
    page2 = await generations.for_user(8, limit=2, offset=2)
    page3 = await generations.for_user(8, limit=2, offset=4)
    assert [g.id for g in page1 + page2 + page3] == ids[::-1]
    with pytest.raises(ValueError):
        await generations.for_user(8, limit=0)


async def test_count_for_path(jobs: JobStore, generations: GenerationStore) -> None:
    await _add(generations, await new_job(jobs))
    await _add(generations, await new_job(jobs))
    assert await generations.count_for_path(FILE["mp3_path"]) == 2
    assert await generations.count_for_path("mp3/00/none.mp3") == 0


async def test_generations_follow_their_job(
    db: Database, jobs: JobStore, generations: GenerationStore
) -> None:
    job = await new_job(jobs)
    await _add(generations, job)
    assert await generations.claim_reroll(1, 2, job.id)
    await db.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
    assert await generations.for_job(job.id) == []
    assert await db.fetchone("SELECT 1 FROM rerolls") is None
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await _add(generations, job)  # the job is gone


async def test_claim_reroll_once_per_user_per_message(jobs: JobStore, generations: GenerationStore) -> None:
    first = await new_job(jobs)
    second = await new_job(jobs)
    assert await generations.claim_reroll(100, 1, first.id)
    assert not await generations.claim_reroll(100, 1, second.id)
    assert await generations.claim_reroll(100, 2, second.id)
    assert await generations.claim_reroll(101, 1, second.id)
