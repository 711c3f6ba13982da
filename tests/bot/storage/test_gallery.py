"""GalleryStore: entries per guild, ⭐ votes once per user, ordering, removal, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.storage.gallery import GalleryFilter, GallerySort
from bot.storage.users import UserStore
from tests.bot.storage.factories import GUILD_A, GUILD_B, Stores


async def _score(stores: Stores, entry_id: int) -> int:
    entry = await stores.gallery.get(entry_id)
    assert entry is not None
    return entry.score


async def test_add_copies_the_generation_and_is_idempotent(stores: Stores) -> None:
    made = await stores.one(1, text="ocean waves", preset="ocean")
    (first,) = await stores.gallery.add(GUILD_A, [made.id], user_id=2, user_name="bob")
    assert first.created
    entry = first.entry
    assert (entry.guild_id, entry.generation_id, entry.author_id, entry.added_by) == (GUILD_A, made.id, 1, 2)
    assert (entry.user_text, entry.preset, entry.request, entry.mp3_path, entry.score) == (
        "ocean waves", "ocean", made.request, made.mp3_path, 0,
    )  # fmt: skip
    assert entry.message_id == made.message_id and entry.channel_id == made.channel_id
    (again,) = await stores.gallery.add(GUILD_A, [made.id], user_id=3, user_name="carol")
    assert not again.created and again.entry == entry
    # Both people are now known users; the author's name comes from their job.
    users = UserStore(stores.db)
    assert (await users.get(1)).name == "user1"  # type: ignore[union-attr]
    assert (await users.get(2)).name == "bob"  # type: ignore[union-attr]


async def test_add_refuses_other_guilds_dms_and_pruned_files(stores: Stores) -> None:
    in_a = await stores.one(1, guild_id=GUILD_A)
    in_dm = await stores.one(1, guild_id=None)
    assert await stores.gallery.add(GUILD_B, [in_a.id], user_id=1, user_name="a") == []
    assert await stores.gallery.add(GUILD_A, [in_dm.id, 12345], user_id=1, user_name="a") == []
    stores.clock.advance(10 * 86_400)
    assert [f.mp3_path for f in await stores.retention.claim_expired(stores.clock() - 86_400)] == [
        in_a.mp3_path,
        in_dm.mp3_path,
    ]
    assert await stores.gallery.add(GUILD_A, [in_a.id], user_id=1, user_name="a") == []


async def test_star_adds_a_result_and_counts_one_vote_per_user(stores: Stores) -> None:
    made = await stores.make(1, message_id=900, variations=2)
    result = await stores.gallery.star(GUILD_A, 900, user_id=2, user_name="bob")
    assert (result.entries, result.changed_votes) == (2, 2)  # both takes joined, one vote each
    page = await stores.gallery.page(GalleryFilter(GUILD_A), 0)
    assert {e.generation_id for e in page.items} == {g.id for g in made}
    assert {e.added_by for e in page.items} == {2}  # credited to who starred first
    entry_ids = [e.id for e in page.items]

    again = await stores.gallery.star(GUILD_A, 900, user_id=2, user_name="bob")
    assert again.changed_votes == 0
    await stores.gallery.star(GUILD_A, 900, user_id=3, user_name="carol")
    assert [await _score(stores, i) for i in entry_ids] == [2, 2]
    assert await stores.gallery.voters(entry_ids[0]) == [2, 3]

    removed = await stores.gallery.unstar(GUILD_A, 900, user_id=3)
    assert removed.changed_votes == 2
    assert [await _score(stores, i) for i in entry_ids] == [1, 1]
    assert (await stores.gallery.unstar(GUILD_A, 900, user_id=3)).changed_votes == 0
    assert [await _score(stores, i) for i in entry_ids] == [1, 1]


async def test_star_on_a_play_post_votes_for_its_entry(stores: Stores) -> None:
    made = await stores.one(1, message_id=901)
    (added,) = await stores.gallery.add(GUILD_A, [made.id], user_id=1, user_name="alice")
    await stores.gallery.record_post(added.entry.id, 5000, 20)
    assert (await stores.gallery.star(GUILD_A, 5000, user_id=2, user_name="bob")).changed_votes == 1
    # The same user's ⭐ on the original result is the same vote.
    assert (await stores.gallery.star(GUILD_A, 901, user_id=2, user_name="bob")).changed_votes == 0
    assert await _score(stores, added.entry.id) == 1
    assert (await stores.gallery.unstar(GUILD_A, 5000, user_id=2)).changed_votes == 1
    assert await _score(stores, added.entry.id) == 0


async def test_star_ignores_other_messages_and_other_guilds(stores: Stores) -> None:
    await stores.one(1, message_id=902, guild_id=GUILD_A)
    assert (await stores.gallery.star(GUILD_A, 12345, user_id=2, user_name="bob")).entries == 0
    assert (await stores.gallery.star(GUILD_B, 902, user_id=2, user_name="bob")).entries == 0
    assert await UserStore(stores.db).get(2) is None  # nothing recorded for a stray ⭐
    assert (await stores.gallery.page(GalleryFilter(GUILD_A), 0)).total == 0


async def test_top_and_newest_orders_and_filters(stores: Stores) -> None:
    a = await stores.one(1, text="calm rain", preset="rain", message_id=1)
    b = await stores.one(1, text="thunder", preset="thunderstorm", message_id=2)
    c = await stores.one(2, text="rain on leaves", preset="rain", message_id=3)
    for voter, message in [(5, 2), (6, 2), (5, 1)]:  # "thunder" joins first, then "calm rain"
        stores.clock.advance(1)
        await stores.gallery.star(GUILD_A, message, user_id=voter, user_name=f"u{voter}")
    stores.clock.advance(8 * 86_400)
    await stores.gallery.star(GUILD_A, 3, user_id=7, user_name="u7")  # added a week later

    async def texts(**where: object) -> list[str]:
        page = await stores.gallery.page(GalleryFilter(GUILD_A, **where), 0)  # type: ignore[arg-type]
        return [e.user_text for e in page.items]

    # Votes first; "calm rain" and "rain on leaves" tie at one, and the newer addition leads.
    assert await texts(sort=GallerySort.TOP) == ["thunder", "rain on leaves", "calm rain"]
    assert await texts(sort=GallerySort.NEW) == ["rain on leaves", "calm rain", "thunder"]
    week_ago = stores.clock() - 7 * 86_400
    assert await texts(sort=GallerySort.TOP, since=week_ago) == ["rain on leaves"]
    assert await texts(preset="rain") == ["rain on leaves", "calm rain"]
    assert await texts(search="RAIN", sort=GallerySort.NEW) == ["rain on leaves", "calm rain"]
    # Two votes each for "thunder" and "rain on leaves" now: again the newer addition first.
    await stores.gallery.star(GUILD_A, 3, user_id=8, user_name="u8")
    assert await texts(sort=GallerySort.TOP) == ["rain on leaves", "thunder", "calm rain"]
    page = await stores.gallery.page(GalleryFilter(GUILD_A), 0)
    assert {e.generation_id for e in page.items} == {a.id, b.id, c.id}


async def test_guilds_never_see_each_others_entries(stores: Stores) -> None:
    await stores.one(1, guild_id=GUILD_A, message_id=10, text="a thing")
    await stores.one(1, guild_id=GUILD_B, message_id=11, text="b thing")
    await stores.gallery.star(GUILD_A, 10, user_id=2, user_name="bob")
    await stores.gallery.star(GUILD_B, 11, user_id=2, user_name="bob")
    # A ⭐ reported for the wrong guild changes nothing.
    assert (await stores.gallery.star(GUILD_A, 11, user_id=3, user_name="carol")).entries == 0
    for guild, text in ((GUILD_A, "a thing"), (GUILD_B, "b thing")):
        for sort in GallerySort:
            page = await stores.gallery.page(GalleryFilter(guild, sort), 0)
            assert [e.user_text for e in page.items] == [text]
            assert page.items[0].score == 1


async def test_remove_takes_votes_and_posts_with_it(stores: Stores) -> None:
    made = await stores.one(1, message_id=20)
    await stores.gallery.star(GUILD_A, 20, user_id=2, user_name="bob")
    (entry,) = (await stores.gallery.page(GalleryFilter(GUILD_A), 0)).items
    await stores.gallery.record_post(entry.id, 6000, 20)
    removed = await stores.gallery.remove(entry.id)
    # The generation still uses the file: it is not the gallery's to delete.
    assert removed is not None and not removed.file_unused and removed.entry.id == entry.id
    assert await stores.gallery.remove(entry.id) is None
    assert await stores.db.fetchall("SELECT * FROM gallery_votes") == []
    assert await stores.db.fetchall("SELECT * FROM gallery_posts") == []
    assert await stores.history.get(made.id) is not None
    # It can be added again later, as a new entry.
    (again,) = await stores.gallery.add(GUILD_A, [made.id], user_id=1, user_name="alice")
    assert again.created and again.entry.id > entry.id


async def test_schema_keeps_votes_consistent(stores: Stores) -> None:
    made = await stores.one(1)
    (added,) = await stores.gallery.add(GUILD_A, [made.id], user_id=1, user_name="a")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await stores.db.execute("INSERT INTO gallery_votes VALUES (?, 424242, 0)", (added.entry.id,))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        await stores.db.execute(
            "INSERT INTO gallery_entries (guild_id, generation_id, author_id, added_by, added_at, "
            "channel_id, user_text, request_json, model, mp3_path, mp3_sha256) "
            "VALUES (?, ?, 1, 1, 0, 1, '', '{}', '', '', '')",
            (GUILD_A, made.id),
        )


async def test_many_votes_at_once_are_all_counted_once(stores: Stores) -> None:
    await stores.make(1, message_id=30, variations=3)
    voters = range(100, 160)
    # Everyone stars at once (the first one adds the takes), some twice, some then unstar.
    await asyncio.gather(
        *(stores.gallery.star(GUILD_A, 30, user_id=v, user_name=f"u{v}") for v in voters),
        *(stores.gallery.star(GUILD_A, 30, user_id=v, user_name=f"u{v}") for v in voters if v % 3 == 0),
    )
    page = await stores.gallery.page(GalleryFilter(GUILD_A), 0)
    assert page.total == 3 and {e.score for e in page.items} == {60}
    await asyncio.gather(*(stores.gallery.unstar(GUILD_A, 30, user_id=v) for v in voters if v % 2 == 0))
    page = await stores.gallery.page(GalleryFilter(GUILD_A), 0)
    assert {e.score for e in page.items} == {30}
    for entry in page.items:
        assert sorted(await stores.gallery.voters(entry.id)) == [v for v in voters if v % 2]


async def test_many_additions_at_once_make_one_entry_each(stores: Stores) -> None:
    made = [await stores.one(1, seed=n) for n in range(20)]
    ids = [g.id for g in made]
    results = await asyncio.gather(
        *(stores.gallery.add(GUILD_A, ids, user_id=u, user_name=f"u{u}") for u in range(2, 12))
    )
    created = [a.entry.id for batch in results for a in batch if a.created]
    assert len(created) == len(set(created)) == 20
    page = await stores.gallery.page(GalleryFilter(GUILD_A, GallerySort.NEW), 0, 50)
    assert sorted(e.generation_id for e in page.items) == sorted(ids)  # type: ignore[type-var]


async def test_racing_removals_remove_once(stores: Stores) -> None:
    made = await stores.one(1, message_id=40)
    await stores.gallery.star(GUILD_A, 40, user_id=2, user_name="bob")
    (entry,) = (await stores.gallery.page(GalleryFilter(GUILD_A), 0)).items
    plays = [stores.gallery.record_post(entry.id, 7000 + n, 20) for n in range(10)]
    await asyncio.gather(*plays)
    outcomes = await asyncio.gather(*(stores.gallery.remove(entry.id) for _ in range(5)))
    assert sum(outcome is not None for outcome in outcomes) == 1
    assert await stores.db.fetchall("SELECT * FROM gallery_posts") == []
    assert await stores.history.get(made.id) is not None
