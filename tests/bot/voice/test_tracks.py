"""What can be played is looked up under the library's rules, and the file must still be there."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import UserError
from bot.library import Library
from bot.storage.files import Mp3Files
from bot.storage.players import PlayerStore, TrackKind
from bot.voice.tracks import ELSEWHERE, Tracks
from tests.bot.storage.factories import GUILD_A, GUILD_B, Stores


@pytest.fixture
def files(tmp_path: Path) -> Mp3Files:
    return Mp3Files(tmp_path / "data")


@pytest.fixture
def tracks(stores: Stores, files: Mp3Files) -> Tracks:
    library = Library(history=stores.history, gallery=stores.gallery, files=files)
    return Tracks(
        jobs=stores.jobs,
        generations=stores.generations,
        library=library,
        files=files,
        players=PlayerStore(stores.db, stores.clock),
    )


async def test_a_result_plays_in_its_own_server_only(stores: Stores, files: Mp3Files, tracks: Tracks) -> None:
    made = await stores.one(text="rain", files=files)
    track = await tracks.of_job(made.job_id, GUILD_A)
    assert (track.kind, track.ref_id, track.title, track.mp3_path, track.loops) == (
        TrackKind.JOB,
        made.job_id,
        "rain",
        made.mp3_path,
        False,
    )
    with pytest.raises(UserError, match=ELSEWHERE):
        await tracks.of_job(made.job_id, GUILD_B)
    await files.delete(made.mp3_path)
    with pytest.raises(UserError, match="expired"):
        await tracks.of_job(made.job_id, GUILD_A)


async def test_history_is_the_owners_and_the_gallery_the_servers(
    stores: Stores, files: Mp3Files, tracks: Tracks
) -> None:
    made = await stores.one(user_id=1, text="crickets", files=files)
    assert (await tracks.of_generation(1, made.id)).kind is TrackKind.HISTORY
    with pytest.raises(UserError, match="isn't in your history"):
        await tracks.of_generation(2, made.id)
    (added,) = await stores.gallery.add(GUILD_A, [made.id], user_id=1, user_name="one")
    track = await tracks.of_gallery(GUILD_A, added.entry.id)
    assert (track.kind, track.ref_id, track.title) == (TrackKind.GALLERY, added.entry.id, "crickets")
    with pytest.raises(UserError, match="isn't in this server's gallery"):
        await tracks.of_gallery(GUILD_B, added.entry.id)


async def test_a_message_is_looked_up_as_a_result_or_a_gallery_post(
    stores: Stores, files: Mp3Files, tracks: Tracks
) -> None:
    made = await stores.one(text="waves", files=files, message_id=777)
    assert (await tracks.of_message(777, GUILD_A)).kind is TrackKind.JOB
    (added,) = await stores.gallery.add(GUILD_A, [made.id], user_id=1, user_name="one")
    await stores.gallery.record_post(added.entry.id, 888, 20)
    assert (await tracks.of_message(888, GUILD_A)).ref_id == added.entry.id
    with pytest.raises(UserError, match="isn't one of my soundscapes"):
        await tracks.of_message(999, GUILD_A)
