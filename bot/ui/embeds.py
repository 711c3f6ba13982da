"""Embeds and texts shown to users. Built from stored data only, so they can be rebuilt after a restart."""

from __future__ import annotations

import time
from collections.abc import Sequence

import discord

from bot.storage import Job
from bot.ui.texts import format_eta
from generation.presets import PRESETS
from generation.prompting import format_number
from generation.recipes.recipe import format_length
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
    job: Job,
    seeds: Sequence[int],
    *,
    model: str,
    gen_seconds: float,
    requester: str,
    durations: Sequence[float] = (),
    image: str | None = None,
    candidates_left: int | None = None,
) -> discord.Embed:
    """The result card: the user's words, what the model saw, every parameter, and a picture.

    ``durations`` are the real lengths of the posted files (a loop is shorter than the clip it
    was cut from); ``image`` names the attached spectrogram; ``candidates_left`` says how many
    best-of-N takes a 🔁 can still serve at once.
    """
    request, recipe = job.request, job.recipe
    if recipe.layered:
        prompts = "\n".join(f"{i + 1}. {r.prompt}" for i, r in enumerate(recipe.layer_requests))
        description = f"**Layers, as the model saw them:**\n{prompts}"
    else:
        description = f"**Expanded prompt:** {request.prompt}"
    embed = discord.Embed(
        title=clip(request.user_text, 256), description=clip(description, 4096), colour=EMBED_COLOUR
    )
    if not recipe.layered:
        embed.add_field(name="Preset", value=preset_label(request))
    embed.add_field(name="Seed" if len(seeds) == 1 else "Seeds", value=clip(", ".join(map(str, seeds)), 1024))
    shown = durations or [request.duration_s]
    embed.add_field(name="Duration", value=", ".join(_seconds(d) for d in shown))
    for name, value in recipe.describe():
        embed.add_field(name=name, value=clip(value, 1024))
    embed.add_field(name="Steps", value=str(request.steps))
    if request.scheduler != "default":
        embed.add_field(
            name="Sampler", value="fast (DPM-Solver++)" if request.scheduler == "dpm++" else request.scheduler
        )
    embed.add_field(name="Guidance", value=format_number(request.guidance))
    embed.add_field(name="Model", value=clip(model, 1024))
    if request.negative_prompt and not recipe.layered:
        embed.add_field(name="Negative prompt", value=clip(request.negative_prompt, 1024), inline=False)
    embed.add_field(name="Generated in", value=f"{gen_seconds:.1f} s")
    embed.add_field(name="Asked by", value=clip(requester, 1024))
    if image is not None:
        embed.set_image(url=f"attachment://{image}")
    if candidates_left:
        hint = f"react {REROLL_EMOJI} for the next-best take ({candidates_left} ready)"
    else:
        hint = f"react {REROLL_EMOJI} for a new take"
    # The footer marks the message as this job's result: after a crash between posting and
    # recording, the bot finds it again by this marker instead of posting twice.
    embed.set_footer(text=f"{JOB_MARKER.format(job_id=job.id)} · {hint}")
    return embed


def _seconds(value: float) -> str:
    return format_length(value) if value >= 60 else f"{format_number(round(value, 2))} s"


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
