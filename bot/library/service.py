"""Who may see and change what, and what happens to the stored MP3s.

History is private: every history call takes the acting user and refuses another user's
entries with the same answer as a missing one (so ids reveal nothing). Galleries are per server:
every gallery call takes the guild the user is in and refuses another guild's entries, and only
a member of a server may add to its gallery.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.errors import UserError
from bot.storage import (
    HIDDEN_MODEL,
    EntryBusyError,
    GalleryEntry,
    GalleryStore,
    HistoryEntry,
    HistoryStore,
    Mp3Files,
    StemFiles,
)
from bot.storage.gallery import Added

log = logging.getLogger(__name__)

NOT_YOURS = "That soundscape isn't in your history (it may have been deleted)."
NOT_HERE = "That soundscape isn't in this server's gallery (it may have been removed)."
EXPIRED = (
    "The file of this soundscape has expired: old files are removed to save space. "
    "Reroll it to hear a new take."
)
DM_GALLERY = "Galleries belong to servers: soundscapes made in DMs can't be added to one."
NOT_A_MEMBER = "You're no longer a member of the server this was made in, so it can't join its gallery."

BLIND = (
    "This take is one side of a comparison that isn't revealed yet: a new take of it would tell "
    "which model made it. Try again once the comparison is revealed."
)

#: ``member_of(guild_id)``: whether the acting user is a member of that server now.
MemberCheck = Callable[[int], Awaitable[bool]]


class Library:
    """History and gallery rules over the stores; file deletions follow the database."""

    def __init__(
        self, *, history: HistoryStore, gallery: GalleryStore, files: Mp3Files, stems: StemFiles | None = None
    ) -> None:
        self.history = history
        self.gallery = gallery
        self.files = files
        self.stems = stems

    # -- history --------------------------------------------------------------------------

    async def own_entry(self, user_id: int, generation_id: int) -> HistoryEntry:
        """The user's own history entry, or a refusal."""
        entry = await self.history.get(generation_id)
        if entry is None or entry.user_id != user_id:
            raise UserError(NOT_YOURS)
        return entry

    async def own_revealed_entry(self, user_id: int, generation_id: int) -> HistoryEntry:
        """The user's own entry to make a new take of (reroll, tweak): refused while it is a
        blind comparison's take, whose new take would name its model."""
        entry = await self.own_entry(user_id, generation_id)
        check_revealed(entry.generation.model)
        return entry

    async def replay(self, user_id: int, generation_id: int) -> tuple[HistoryEntry, bytes]:
        """The user's entry and its stored MP3 (from the data folder, never an old URL)."""
        entry = await self.own_entry(user_id, generation_id)
        if entry.file_expired:
            raise UserError(EXPIRED)
        return entry, await self._read(entry.generation.mp3_path)

    async def delete(self, user_id: int, generation_id: int) -> HistoryEntry:
        """Delete the user's entry, and its file unless something else still uses it."""
        try:
            deleted = await self.history.delete(user_id, generation_id)
        except EntryBusyError:
            raise UserError("That soundscape is still being posted; try again in a moment.") from None
        if deleted is None:
            raise UserError(NOT_YOURS)
        if deleted.file_unused:
            await self.files.delete(deleted.entry.generation.mp3_path)
        if self.stems is not None:
            # A deleted scene can no longer be remixed: its stems go (files other scenes use stay).
            await self.stems.forget([deleted.entry.generation.job_id])
        return deleted.entry

    async def share(
        self, user_id: int, user_name: str, generation_id: int, *, member_of: MemberCheck
    ) -> Added:
        """Add the user's own entry to the gallery of the server it was made in.

        Asked from anywhere (another server, a DM), so ``member_of`` must confirm that the user
        still belongs to that server: someone who left has no say in its gallery.
        """
        entry = await self.own_entry(user_id, generation_id)
        guild_id = entry.generation.guild_id
        if guild_id is None:
            raise UserError(DM_GALLERY)
        if entry.file_expired:
            raise UserError(EXPIRED)
        if not await member_of(guild_id):
            raise UserError(NOT_A_MEMBER)
        added = await self.gallery.add(guild_id, [generation_id], user_id=user_id, user_name=user_name)
        if not added:  # pruned between the two reads
            raise UserError(EXPIRED)
        return added[0]

    # -- gallery --------------------------------------------------------------------------

    async def entry_here(self, guild_id: int | None, entry_id: int) -> GalleryEntry:
        """A gallery entry of the user's current server, or a refusal."""
        entry = await self.gallery.get(entry_id)
        if entry is None or guild_id is None or entry.guild_id != guild_id:
            raise UserError(NOT_HERE)
        return entry

    async def play(self, guild_id: int | None, entry_id: int) -> tuple[GalleryEntry, bytes]:
        entry = await self.entry_here(guild_id, entry_id)
        return entry, await self._read(entry.mp3_path)

    async def add_results(
        self, guild_id: int | None, generation_ids: Sequence[int], *, user_id: int, user_name: str
    ) -> list[Added]:
        """Add a result post's generations to its server's gallery (anyone in the server may)."""
        if guild_id is None:
            raise UserError(DM_GALLERY)
        added = await self.gallery.add(guild_id, generation_ids, user_id=user_id, user_name=user_name)
        if not added:
            raise UserError(EXPIRED)
        return added

    async def remove(
        self, guild_id: int | None, entry_id: int, *, user_id: int, can_manage_messages: bool
    ) -> GalleryEntry:
        """Take an entry out of the gallery: its author or anyone with Manage Messages may."""
        entry = await self.entry_here(guild_id, entry_id)
        if entry.author_id != user_id and not can_manage_messages:
            raise UserError("Only its author or someone with **Manage Messages** can remove this one.")
        removed = await self.gallery.remove(entry_id)
        if removed is None:
            raise UserError(NOT_HERE)
        if removed.file_unused:
            await self.files.delete(entry.mp3_path)
        return entry

    # -- files ----------------------------------------------------------------------------

    async def _read(self, mp3_path: str) -> bytes:
        try:
            return await self.files.read(mp3_path)
        except FileNotFoundError:
            log.warning("stored MP3 %s is missing from the data folder", mp3_path)
            raise UserError(EXPIRED) from None


def check_revealed(model: str) -> None:
    """Refuse a new take of a blind comparison's take before the reveal (see :data:`BLIND`)."""
    if model == HIDDEN_MODEL:
        raise UserError(BLIND)
