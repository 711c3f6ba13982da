"""The result message of a job, built from what was stored: files, card, picture, buttons.

Built from the stored MP3s and rows only, so a result re-posted after a restart is the same
message. Drawing the picture decodes the MP3s: that runs off the event loop (``offload``).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable

import discord

from bot.jobs.poster import Message
from bot.storage import CandidateStore, Generation, GenerationStore, Job, Mp3Files
from bot.ui.compare import compare_content, compare_embed, take_filename
from bot.ui.embeds import result_embed
from bot.ui.job_texts import result_content
from generation.audio.reencode import fit_mp3
from generation.audio.result_picture import picture_of
from generation.naming import mp3_filename
from generation.recipes.order import Offload

log = logging.getLogger(__name__)

#: The result picture's attachment name; the embed shows it with ``attachment://``.
SPECTROGRAM_FILENAME = "spectrogram.png"


class ResultPost:
    """One job's result message, ready to post, and able to shrink itself to an upload limit."""

    def __init__(
        self,
        job: Job,
        payloads: list[tuple[Generation, bytes]],
        embed: discord.Embed,
        png: bytes | None,
        view: discord.ui.View | None,
    ) -> None:
        self.job = job
        self.payloads = payloads
        self.embed = embed
        self.png = png
        self.view = view

    @classmethod
    async def build(
        cls,
        job: Job,
        *,
        generations: GenerationStore,
        files: Mp3Files,
        candidates: CandidateStore,
        view_factory: Callable[[Job], discord.ui.View | None],
        model: str,
        offload: Offload = asyncio.to_thread,
        reveal_after: int = 0,
    ) -> ResultPost:
        stored = await generations.for_job(job.id)
        payloads = [(g, await files.read(g.mp3_path)) for g in stored]
        if job.recipe.compare:
            # Blind: no picture either (a 16 kHz model's spectrogram stops at 8 kHz, a tell).
            embed = compare_embed(job, None, reveal_after=reveal_after)
            return cls(job, payloads, embed, None, view_factory(job))
        picture = await offload(picture_of, [data for _, data in payloads])
        embed = result_embed(
            job,
            model=stored[0].model if stored else model,
            durations=picture.durations,
            image=SPECTROGRAM_FILENAME if picture.png else None,
            candidates_left=await candidates.unserved(job.id) if job.recipe.candidates > 1 else None,
        )
        return cls(job, payloads, embed, picture.png, view_factory(job))

    def message(self, *, in_channel: bool, reference: discord.MessageReference | None) -> Message:
        """The message to post: a follow-up, or (``in_channel``) a channel message that pings the
        user, and only them."""
        payloads, png = self.payloads, self.png

        blind = bool(self.job.recipe.compare)

        def files() -> list[discord.File]:
            attached = [discord.File(io.BytesIO(data), filename=_filename(g, blind)) for g, data in payloads]
            if png:
                attached.append(discord.File(io.BytesIO(png), filename=SPECTROGRAM_FILENAME))
            return attached

        content = compare_content if blind else result_content
        return Message(
            content=content(self.job, mention=in_channel),
            embed=self.embed,
            files=files,
            view=self.view,
            allowed_mentions=discord.AllowedMentions(
                users=[discord.Object(self.job.user_id)], everyone=False, roles=False
            ),
            reference=reference if in_channel else None,
        )

    async def shrink(self, limit: int) -> int:
        """After a refusal as too large: drop the picture, re-encode under a smaller budget.

        Returns the new per-file budget (the sound matters more than its picture).
        """
        budget = min(limit, int(max(len(data) for _, data in self.payloads) * 0.6))
        if self.png:
            self.png = None
            self.embed.set_image(url=None)
        log.warning("job %d: upload refused as too large; re-encoding under %d bytes", self.job.id, budget)
        self.payloads = [(g, await asyncio.to_thread(fit_mp3, data, budget)) for g, data in self.payloads]
        return budget


def _filename(generation: Generation, blind: bool = False) -> str:
    if blind:  # the takes share words and seed: named by their side, never by their model
        return take_filename(generation.request, "AB"[generation.variation_index])
    return mp3_filename(generation.user_text, generation.seed)
