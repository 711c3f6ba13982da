"""What can be played: a result, a history entry, a gallery entry, or a message carrying one.

Each lookup applies the library's rules (history is private, galleries belong to their server)
and checks that the file is still in the data folder, so a player never starts on a refusal.
"""

from __future__ import annotations

from bot.errors import UserError
from bot.library import Library
from bot.library.service import EXPIRED
from bot.storage import GenerationStore, JobStore, Mp3Files
from bot.storage.players import PlayerStore, Track, TrackKind
from bot.ui.voice import NOT_A_SOUNDSCAPE

GONE = "Its author deleted this soundscape, so it can't be played any more."
ELSEWHERE = "That soundscape was made in another server; play it from there."


class Tracks:
    """Turns what a user points at into a :class:`Track`, or a refusal they can act on."""

    def __init__(
        self,
        *,
        jobs: JobStore,
        generations: GenerationStore,
        library: Library,
        files: Mp3Files,
        players: PlayerStore,
    ) -> None:
        self._jobs = jobs
        self._generations = generations
        self._library = library
        self._files = files
        self._players = players

    async def _checked(self, track: Track) -> Track:
        if not await self._files.exists(track.mp3_path):
            raise UserError(EXPIRED)
        return track

    async def _loops(self, job_id: int | None) -> bool:
        job = await self._jobs.get(job_id) if job_id is not None else None
        return job is not None and job.recipe.loop

    async def of_job(self, job_id: int, guild_id: int | None) -> Track:
        """A posted result of this server (its first file)."""
        job = await self._jobs.get(job_id)
        if job is None or job.guild_id is None or job.guild_id != guild_id:
            raise UserError(ELSEWHERE)
        generations = await self._generations.for_job(job.id)
        if not generations:
            raise UserError(GONE)
        first = generations[0]
        track = Track(TrackKind.JOB, job.id, first.user_text, first.mp3_path, job.recipe.loop)
        return await self._checked(track)

    async def of_generation(self, user_id: int, generation_id: int) -> Track:
        """One of the user's own history entries."""
        entry = await self._library.own_entry(user_id, generation_id)
        if entry.file_expired:
            raise UserError(EXPIRED)
        g = entry.generation
        loops = await self._loops(g.job_id)
        return await self._checked(Track(TrackKind.HISTORY, g.id, g.user_text, g.mp3_path, loops))

    async def of_gallery(self, guild_id: int | None, entry_id: int) -> Track:
        """An entry of this server's gallery."""
        entry = await self._library.entry_here(guild_id, entry_id)
        generation = await self._generations.get(entry.generation_id) if entry.generation_id else None
        loops = await self._loops(generation.job_id if generation is not None else None)
        track = Track(TrackKind.GALLERY, entry.id, entry.user_text, entry.mp3_path, loops)
        return await self._checked(track)

    async def of_message(self, message_id: int, guild_id: int | None) -> Track:
        """What a message of the bot carries: a result, or a gallery entry it played."""
        generations = await self._generations.by_message(message_id)
        if generations:
            return await self.of_job(generations[0].job_id, guild_id)
        entry_id = await self._players.gallery_entry_of_post(message_id)
        if entry_id is not None:
            return await self.of_gallery(guild_id, entry_id)
        raise UserError(NOT_A_SOUNDSCAPE)
