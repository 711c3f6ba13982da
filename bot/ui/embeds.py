"""Embeds and texts shown to users. Built from stored data only, so they can be rebuilt after a restart."""

from __future__ import annotations

import time
from collections.abc import Sequence

import discord

from bot.jobs.estimate import format_eta
from bot.storage import Job
from generation.presets import PRESETS
from generation.prompting import format_number
from generation.request import GenerationRequest

EMBED_COLOUR = discord.Colour.from_rgb(88, 148, 160)
REROLL_EMOJI = "🔁"
GALLERY_EMOJI = "⭐"
JOB_MARKER = "Job #{job_id}"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (Discord's field limits), with an ellipsis if cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def preset_label(request: GenerationRequest) -> str:
    """The preset as users see it ("🌧️ Rain"), or "raw" / "none"."""
    if request.preset and request.preset in PRESETS:
        return PRESETS[request.preset].label
    return "raw" if request.raw else "none"


def result_embed(
    job: Job, seeds: Sequence[int], *, model: str, gen_seconds: float, requester: str
) -> discord.Embed:
    """The result card: the user's words, what the model saw, and every parameter."""
    request = job.request
    embed = discord.Embed(
        title=clip(request.user_text, 256),
        description=clip(f"**Expanded prompt:** {request.prompt}", 4096),
        colour=EMBED_COLOUR,
    )
    embed.add_field(name="Preset", value=preset_label(request))
    embed.add_field(name="Seed" if len(seeds) == 1 else "Seeds", value=", ".join(map(str, seeds)))
    embed.add_field(name="Duration", value=f"{format_number(request.duration_s)} s")
    embed.add_field(name="Steps", value=str(request.steps))
    embed.add_field(name="Guidance", value=format_number(request.guidance))
    embed.add_field(name="Model", value=clip(model, 1024))
    if request.negative_prompt:
        embed.add_field(name="Negative prompt", value=clip(request.negative_prompt, 1024), inline=False)
    embed.add_field(name="Generated in", value=f"{gen_seconds:.1f} s")
    embed.add_field(name="Asked by", value=clip(requester, 1024))
    # The footer marks the message as this job's result: after a crash between posting and
    # recording, the bot finds it again by this marker instead of posting twice.
    embed.set_footer(text=f"{JOB_MARKER.format(job_id=job.id)} · react {REROLL_EMOJI} for a new take")
    return embed


def queue_embed(
    running: Sequence[Job], waiting: Sequence[tuple[Job, float]], now: float | None = None
) -> discord.Embed:
    """What is generating and what waits, with positions, owners and times."""
    now = time.time() if now is None else now
    embed = discord.Embed(title="Soundscape queue", colour=EMBED_COLOUR)
    if not running and not waiting:
        embed.description = "The queue is empty — `/ambient` something!"
        return embed
    lines = [
        f"▶️ **{clip(job.request.user_text, 60)}** — {job.user_name}, running for "
        f"{format_eta(now - (job.started_at or now)).removeprefix('about ')}"
        for job in running
    ]
    for position, (job, eta) in enumerate(waiting, start=1):
        lines.append(
            f"`{position:>2}.` **{clip(job.request.user_text, 60)}** — {job.user_name}, waiting "
            f"{format_eta(now - job.created_at).removeprefix('about ')}, starts in {format_eta(eta)}"
        )
    embed.description = clip("\n".join(lines), 4096)
    embed.set_footer(text=f"{len(running)} running · {len(waiting)} waiting")
    return embed


def presets_embed() -> discord.Embed:
    """The catalogue with an example for each preset."""
    embed = discord.Embed(
        title="Soundscape presets",
        description="Pick one with `/ambient preset:`, or describe the scene: it is matched by keywords.",
        colour=EMBED_COLOUR,
    )
    for preset in list(PRESETS.values())[:25]:
        embed.add_field(
            name=clip(f"{preset.label} (`{preset.key}`)", 256),
            value=clip(f"{preset.description}\n*e.g.* `/ambient {preset.example}`", 1024),
            inline=False,
        )
    return embed
