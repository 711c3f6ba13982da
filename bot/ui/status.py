"""``/status`` texts about the models: what each loaded model is, where it runs, what it is doing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.jobs.executor import ModelInfo
from bot.storage import Job
from bot.ui.text import FIELD_NAME_MAX, FIELD_VALUE_MAX, clip, escape
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
