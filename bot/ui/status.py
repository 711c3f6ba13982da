"""``/status`` texts: for everyone, health and counts (how busy, their own jobs, the models, voice);
for members with Manage Server, also each loaded model's device and what it is doing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.jobs.executor import ModelInfo
from bot.storage import Job
from bot.ui.job_texts import format_eta
from bot.ui.text import FIELD_NAME_MAX, FIELD_VALUE_MAX, clip, escape, shown
from generation.craft import CRAFTS
from generation.prompting import format_number


def audio_format(sample_rate: int, channels: int) -> str:
    """E.g. "16 kHz mono", "44.1 kHz stereo"."""
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels")
    return f"{format_number(sample_rate / 1000)} kHz {layout}"


def models_of(job: Job, default: str) -> list[str]:
    """The models ``job`` renders with, each once (``default`` for requests that name none)."""
    recipe = job.recipe
    requests = recipe.compare or recipe.layer_requests or (job.request,)
    return list(dict.fromkeys(request.model or default for request in requests))


def jobs_per_model(jobs: Iterable[Job], default: str) -> Counter[str]:
    """How many of ``jobs`` each model has a part in."""
    return Counter(model for job in jobs for model in models_of(job, default))


def model_field(model: ModelInfo, *, default: bool, running: int, waiting: int) -> tuple[str, str]:
    """The ``/status`` field of one model: its family, audio format and device, then what it is
    doing (on the GPU now or not, and its jobs running and waiting)."""
    family = CRAFTS[model.family].title if model.family in CRAFTS else model.family
    name = f"Model {model.name}" + (" (default)" if default else "")
    doing = "generating now" if model.generating else "idle"
    jobs = f"{running} running · {waiting} waiting" if running or waiting else "no jobs"
    value = (
        f"{escape(family)} · {audio_format(model.sample_rate, model.channels)} · {escape(model.device)}\n"
        f"{doing} · {jobs}"
    )
    return clip(escape(name), FIELD_NAME_MAX), clip(value, FIELD_VALUE_MAX)


def health_line(state: str, available: bool) -> str:
    """How the bot is doing, in a user's words (no hosts, devices or internals)."""
    if not available and "Redis" in state:
        # The GPU workers' job store answers errors (full, read-only) or is unreachable.
        return (
            "🟡 The GPU workers can't be reached right now: new requests are queued and start once they can."
        )
    if not available:
        return "🟡 Waiting for a GPU: new requests are queued and start once one is back."
    if state.startswith("failed"):
        return "🔴 Generation is having trouble; requests are kept and retried."
    return "🟢 Working normally."


def queue_line(running: int, waiting: int, wait_s: float, *, available: bool = True) -> str:
    """E.g. "1 generating · 4 waiting · a new request starts in about 40 s" (no made-up estimate
    while no GPU is there to run anything)."""
    if not available:
        return f"{running} generating · {waiting} waiting · no estimate until a GPU is back"
    if not running and not waiting:
        return "Nothing queued — a new request starts right away."
    return f"{running} generating · {waiting} waiting · a new request starts in {format_eta(wait_s)}"


def own_jobs_line(mine: Iterable[tuple[str, int | None, float | None]]) -> str:
    """The caller's jobs: (words, position or None when generating, wait in seconds)."""
    lines = [
        f"• **{shown(text, 60)}** — "
        + ("generating now" if position is None else f"#{position} in line, {format_eta(wait or 0.0)}")
        for text, position, wait in mine
    ]
    return clip("\n".join(lines), FIELD_VALUE_MAX) if lines else "None — try `/ambient`!"


def models_line(models: Iterable[tuple[str, bool, int, int]]) -> str:
    """Each model on offer by its shown name: (name, default, running, waiting)."""
    lines = []
    for name, default, running, waiting in models:
        jobs = f"{running} generating · {waiting} waiting" if running or waiting else "free"
        lines.append(f"• {shown(name, 80)}{' (default)' if default else ''} — {jobs}")
    return clip("\n".join(lines), FIELD_VALUE_MAX) if lines else "none available right now"
