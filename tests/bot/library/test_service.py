"""Library rules: only a member of a server may add to its gallery, wherever they ask from."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import UserError
from bot.library import Library
from bot.library.service import DM_GALLERY, NOT_A_MEMBER
from bot.storage.files import Mp3Files
from bot.storage.gallery import GalleryFilter
from tests.bot.storage.factories import GUILD_A, GUILD_B, Stores


def library(stores: Stores, tmp_path: Path) -> Library:
    return Library(history=stores.history, gallery=stores.gallery, files=Mp3Files(tmp_path / "data"))


async def test_sharing_asks_whether_the_user_still_belongs_to_the_server(
    stores: Stores, tmp_path: Path
) -> None:
    made_in_b = await stores.one(1, guild_id=GUILD_B)
    asked: list[int] = []

    async def left_b(guild_id: int) -> bool:
        asked.append(guild_id)
        return guild_id != GUILD_B

    with pytest.raises(UserError, match=NOT_A_MEMBER):
        await library(stores, tmp_path).share(1, "ana", made_in_b.id, member_of=left_b)
    assert asked == [GUILD_B]
    assert (await stores.gallery.page(GalleryFilter(GUILD_B), 0)).total == 0

    async def member(guild_id: int) -> bool:
        return True

    added = await library(stores, tmp_path).share(1, "ana", made_in_b.id, member_of=member)
    assert added.created and added.entry.guild_id == GUILD_B


async def test_dm_soundscapes_never_reach_a_gallery(stores: Stores, tmp_path: Path) -> None:
    in_a_dm = await stores.one(1, guild_id=None)

    async def member(guild_id: int) -> bool:
        raise AssertionError("no server to ask about")

    with pytest.raises(UserError, match=DM_GALLERY):
        await library(stores, tmp_path).share(1, "ana", in_a_dm.id, member_of=member)
    assert (await stores.gallery.page(GalleryFilter(GUILD_A), 0)).total == 0
