"""HistoryStore: one user's generations, newest first, filtered, deleted, exported."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.history import EntryBusyError, HistoryFilter
from bot.storage.job_rows import JobStatus
from bot.storage.paging import clamp_page, like_pattern
from tests.bot.storage.conftest import new_job
from tests.bot.storage.factories import GUILD_A, Stores


async def test_pages_are_newest_first_and_only_the_users_own(stores: Stores) -> None:
    mine = [await stores.one(1, seed=n) for n in range(25)]
    await stores.one(2, seed=99)  # someone else's, interleaved in time
    first = await stores.history.page(HistoryFilter(1), 0, 10)
    assert (first.total, first.count, first.number, first.first_index) == (25, 3, 0, 0)
    assert [e.id for e in first.items] == [g.id for g in reversed(mine)][:10]
    last = await stores.history.page(HistoryFilter(1), 2, 10)
    assert [e.id for e in last.items] == [g.id for g in reversed(mine)][20:]
    # A page past the end (rows deleted meanwhile) shows the last one instead.
    beyond = await stores.history.page(HistoryFilter(1), 7, 10)
    assert beyond.number == 2 and beyond.items == last.items
    every = [e.id for n in range(3) for e in (await stores.history.page(HistoryFilter(1), n, 10)).items]
    assert sorted(every) == sorted(g.id for g in mine)
    assert all(not e.file_expired and not e.in_gallery for e in first.items)


async def test_same_second_rows_keep_a_stable_order(stores: Stores) -> None:
    made = [await stores.one(1, seed=n, step_s=0.0) for n in range(5)]
    page = await stores.history.page(HistoryFilter(1), 0, 3)
    rest = await stores.history.page(HistoryFilter(1), 1, 3)
    assert [e.id for e in page.items + rest.items] == [g.id for g in reversed(made)]


async def test_filters_by_text_and_preset(stores: Stores) -> None:
    rain = await stores.one(1, text="Heavy RAIN at night", preset="rain")
    fire = await stores.one(1, text="fireplace, rain outside", preset="fireplace")
    await stores.one(1, text="forest birds", preset="birdsong")
    odd = await stores.one(1, text="100% humid_air", preset=None)

    async def ids(**where: str | None) -> list[int]:
        return [e.id for e in (await stores.history.page(HistoryFilter(1, **where), 0, 10)).items]

    assert await ids(search="rain") == [fire.id, rain.id]  # case-insensitive, anywhere
    assert await ids(search="rain", preset="rain") == [rain.id]
    assert await ids(preset="fireplace") == [fire.id]
    # LIKE wildcards in the search are plain characters.
    assert await ids(search="100%") == [odd.id]
    assert await ids(search="%") == [odd.id]
    assert await ids(search="d_a") == [odd.id]
    assert await ids(search="nothing like it") == []
    assert (await stores.history.page(HistoryFilter(2), 0, 10)).total == 0


async def test_get_and_export(stores: Stores) -> None:
    made = [await stores.one(1, seed=n) for n in range(12)]
    await stores.one(2)
    exported = await stores.history.export(1)
    assert [e.id for e in exported] == [g.id for g in reversed(made)]
    entry = await stores.history.get(made[0].id)
    assert entry is not None and entry.generation == made[0] and entry.user_id == 1
    assert await stores.history.get(10_000) is None


async def test_delete_only_own_and_reports_whether_the_file_is_free(stores: Stores) -> None:
    mine = await stores.one(1)
    shared_a = await stores.one(1, mp3_path="mp3/aa/shared.mp3")
    shared_b = await stores.one(3, mp3_path="mp3/aa/shared.mp3")  # identical bytes, other user
    assert await stores.history.delete(2, mine.id) is None  # not theirs: nothing happens
    assert await stores.history.get(mine.id) is not None

    deleted = await stores.history.delete(1, mine.id)
    assert deleted is not None and deleted.file_unused and deleted.entry.id == mine.id
    assert await stores.history.get(mine.id) is None
    assert await stores.history.delete(1, mine.id) is None  # already gone

    shared = await stores.history.delete(1, shared_a.id)
    assert shared is not None and not shared.file_unused  # user 3 still uses the file
    last = await stores.history.delete(3, shared_b.id)
    assert last is not None and last.file_unused


async def test_delete_keeps_the_gallery_entry_and_its_file(stores: Stores) -> None:
    made = await stores.one(1)
    (added,) = await stores.gallery.add(GUILD_A, [made.id], user_id=2, user_name="bob")
    assert (await stores.history.get(made.id)).in_gallery  # type: ignore[union-attr]
    deleted = await stores.history.delete(1, made.id)
    assert deleted is not None and deleted.entry.in_gallery and not deleted.file_unused
    entry = await stores.gallery.get(added.entry.id)
    assert entry is not None and entry.generation_id is None  # ON DELETE SET NULL
    assert entry.mp3_path == made.mp3_path and entry.user_text == made.user_text
    removed = await stores.gallery.remove(entry.id)
    assert removed is not None and removed.file_unused


async def test_delete_waits_until_the_job_is_delivered(stores: Stores) -> None:
    job = await new_job(stores.jobs, user_id=1)
    await stores.jobs.mark_running(job.id)
    generation = await stores.generations.add(
        job, 0, job.request, model="tiny", mp3_path="mp3/x.mp3", mp3_sha256="x", mp3_bytes=1, lufs=-18.0,
        gen_seconds=1.0,
    )  # fmt: skip
    with pytest.raises(EntryBusyError):
        await stores.history.delete(1, generation.id)
    await stores.jobs.mark_posting(job.id, 1.0)
    await stores.jobs.mark_done(job.id, 77)
    assert (await stores.jobs.get(job.id)).status is JobStatus.DONE  # type: ignore[union-attr]
    assert await stores.history.delete(1, generation.id) is not None


async def test_many_writes_and_reads_at_once_lose_nothing(stores: Stores) -> None:
    async def user(user_id: int) -> list[int]:
        made = []
        for n in range(6):
            made += [g.id for g in await stores.make(user_id, seed=n, variations=2, step_s=0.001)]
            await stores.history.page(HistoryFilter(user_id), 0, 5)  # reads interleave with writes
        return made

    created = await asyncio.gather(*(user(u) for u in range(1, 21)))
    for user_id, ids in enumerate(created, start=1):
        page = await stores.history.page(HistoryFilter(user_id), 0, 100)
        assert page.total == 12 and sorted(e.id for e in page.items) == sorted(ids)

    # Each user deletes half their entries while everyone exports: exactly those go.
    async def delete_half(user_id: int, ids: list[int]) -> None:
        for generation_id in ids[::2]:
            assert await stores.history.delete(user_id, generation_id) is not None

    await asyncio.gather(
        *(delete_half(u, ids) for u, ids in enumerate(created, start=1)),
        *(stores.history.export(u) for u in range(1, 21)),
    )
    for user_id, ids in enumerate(created, start=1):
        assert sorted(e.id for e in await stores.history.export(user_id)) == sorted(ids[1::2])


def test_paging_helpers() -> None:
    assert [clamp_page(n, 10, 25) for n in (-1, 0, 2, 3, 99)] == [0, 0, 2, 2, 2]
    assert clamp_page(5, 10, 0) == 0
    with pytest.raises(ValueError):
        clamp_page(0, 0, 1)
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"
