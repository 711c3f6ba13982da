"""Embeds and texts shown to users. Built from stored data only, so they can be rebuilt after a restart."""

from __future__ import annotations

import time
from collections.abc import Sequence

import discord

from bot.jobs.visibility import VisibleQueue
from bot.storage import Job
from bot.ui.job_texts import format_eta
from bot.ui.text import (
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    TITLE_MAX,
    clip,
    escape,
    fit_embed,
    shown,
)
from generation.presets import PRESETS
from generation.prompting import format_number
from generation.recipes.recipe import format_length
from generation.request import GenerationRequest
from generation.settings import model_display_name

__all__ = ["clip", "escape", "fit_embed", "shown"]  # re-exported: the text helpers began here

EMBED_COLOUR = discord.Colour.from_rgb(88, 148, 160)
REROLL_EMOJI = "🔁"
GALLERY_EMOJI = "⭐"
JOB_MARKER = "Job #{job_id}"


#: How much of a prompt a one-line listing (``/queue``, history, gallery pages) shows.
PROMPT_IN_LIST = 60


def preset_label(request: GenerationRequest) -> str:
    """The preset as users see it ("🌧️ Rain"), or "raw" / "none"."""
    if request.preset and request.preset in PRESETS:
        return PRESETS[request.preset].label
    return "raw" if request.raw else "none"


def essentials(job: Job, *, model: str, durations: Sequence[float] = ()) -> str:
    """The card's one line of essentials: "🌧️ Rain · 10 s · tiny" (a scene: "3 layers · …").

    ``durations`` are the posted files' real lengths (a loop is shorter than its clip); several
    variations of one length read "10 s ×3".
    """
    request, recipe = job.request, job.recipe
    what = f"{len(recipe.layers)} layers" if recipe.layered else preset_label(request)
    lengths = list(dict.fromkeys(_seconds(d) for d in (durations or [request.duration_s])))
    length = ", ".join(lengths) + (f" ×{len(durations)}" if len(durations) > 1 and len(lengths) == 1 else "")
    if recipe.loop:
        length += " loop"
    return " · ".join((what, length, shown(model_display_name(model), 100)))


def result_embed(
    job: Job,
    *,
    model: str,
    durations: Sequence[float] = (),
    image: str | None = None,
    candidates_left: int | None = None,
) -> discord.Embed:
    """The result card, compact: the words as typed (or the scene), one line of essentials and
    who asked, the picture, and the job's marker. Everything else is behind **Details**
    (:func:`details_embed`) and in ``/history``.

    ``image`` names the attached spectrogram; ``candidates_left`` says how many best-of-N takes a
    🔁 can still serve at once.
    """
    embed = discord.Embed(
        title=shown(job.request.user_text, TITLE_MAX),
        # A mention in an embed shows who asked and never pings.
        description=f"{essentials(job, model=model, durations=durations)} · <@{job.user_id}>",
        colour=EMBED_COLOUR,
    )
    if image is not None:
        embed.set_image(url=f"attachment://{image}")
    if candidates_left:
        hint = f"{REROLL_EMOJI} for the next-best take ({candidates_left} ready)"
    else:
        hint = f"{REROLL_EMOJI} for a new take"
    # The footer marks the message as this job's result: after a crash between posting and
    # recording, the bot finds it again by this marker instead of posting twice.
    embed.set_footer(text=f"{JOB_MARKER.format(job_id=job.id)} · {hint}")
    return fit_embed(embed)


def details_embed(
    job: Job,
    seeds: Sequence[int],
    *,
    model: str,
    gen_seconds: float,
    durations: Sequence[float] = (),
) -> discord.Embed:
    """Everything about a result, shown privately by its **Details** button: the words the model
    saw, every parameter, the timing. Carries no job marker (it is not the result)."""
    request, recipe = job.request, job.recipe
    if recipe.layered:
        prompts = "\n".join(f"{i + 1}. {escape(r.prompt)}" for i, r in enumerate(recipe.layer_requests))
        description = f"**Layers, as the model saw them:**\n{prompts}"
    else:
        description = f"**Expanded prompt:** {escape(request.prompt)}"
    embed = discord.Embed(
        title=shown(request.user_text, TITLE_MAX),
        description=clip(description, DESCRIPTION_MAX),
        colour=EMBED_COLOUR,
    )
    if not recipe.layered:
        embed.add_field(name="Preset", value=preset_label(request))
    embed.add_field(name="Seed" if len(seeds) == 1 else "Seeds", value=clip(", ".join(map(str, seeds)), 1024))
    shown_lengths = durations or [request.duration_s]
    embed.add_field(name="Duration", value=", ".join(_seconds(d) for d in shown_lengths))
    if recipe.layered:
        layers = " + ".join(
            f"{escape(layer.text)} ({layer.gain:g}{', ' + escape(layer.model) if layer.model else ''})"
            for layer in recipe.layers
        )  # a layer that named its model says so (the others are the scene's, under "Model")
        embed.add_field(name="Layers", value=clip(layers, FIELD_VALUE_MAX))
    for name, value in recipe.describe():
        if name != "Layers":  # shown above, with the layers' own words escaped
            embed.add_field(name=clip(name, FIELD_NAME_MAX), value=clip(value, FIELD_VALUE_MAX))
    embed.add_field(name="Steps", value=str(request.steps))
    if request.scheduler != "default":
        embed.add_field(
            name="Sampler", value="fast (DPM-Solver++)" if request.scheduler == "dpm++" else request.scheduler
        )
    embed.add_field(name="Guidance", value=format_number(request.guidance))
    embed.add_field(name="Model", value=shown(model_display_name(model), FIELD_VALUE_MAX))
    if request.negative_prompt and not recipe.layered:
        embed.add_field(
            name="Negative prompt", value=shown(request.negative_prompt, FIELD_VALUE_MAX), inline=False
        )
    embed.add_field(name="Generated in", value=f"{gen_seconds:.1f} s")
    embed.add_field(name="Asked by", value=f"<@{job.user_id}>")
    embed.set_footer(text=f"Details of job #{job.id}")
    return fit_embed(embed)


def _seconds(value: float) -> str:
    return format_length(value) if value >= 60 else f"{format_number(round(value, 2))} s"


def queue_embed(queue: VisibleQueue, now: float | None = None) -> discord.Embed:
    """What is generating and what waits, as one viewer may see it: positions, owners, times.

    Jobs the viewer may not see (other servers, other people's DMs) are only counted.
    """
    now = time.time() if now is None else now
    embed = discord.Embed(title="Soundscape queue", colour=EMBED_COLOUR)
    if not queue.total_running and not queue.total_waiting:
        embed.description = "The queue is empty — `/ambient` something!"
        return embed
    lines = [
        f"▶️ **{shown(job.request.user_text, PROMPT_IN_LIST)}** — {shown(job.user_name, 40)}, running for "
        f"{format_eta(now - (job.started_at or now)).removeprefix('about ')}"
        for job in queue.running
    ]
    for position, job, eta in queue.waiting:
        lines.append(
            f"`{position:>2}.` **{shown(job.request.user_text, PROMPT_IN_LIST)}** — "
            f"{shown(job.user_name, 40)}, waiting "
            f"{format_eta(now - job.created_at).removeprefix('about ')}, starts in {format_eta(eta)}"
        )
    if queue.hidden:
        lines.append(
            f"…and {queue.hidden} from other servers" if lines else f"{queue.hidden} from other servers."
        )
    embed.description = clip("\n".join(lines), DESCRIPTION_MAX)
    embed.set_footer(text=f"{queue.total_running} running · {queue.total_waiting} waiting")
    return fit_embed(embed)
