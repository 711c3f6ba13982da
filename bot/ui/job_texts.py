"""The words users read about their jobs: queue and progress lines, outcomes and failures.

Pure functions of plain data, so every text is tested without Discord and the job machinery
never writes a sentence itself.
"""

from __future__ import annotations

import math

import discord

from bot.storage import KIND_COMPARE, KIND_LAYER, KIND_REMIX, KIND_REROLL, KIND_TWEAK, Job
from bot.ui.text import CONTENT_MAX, clip, fit_content, shown
from generation.errors import Cancelled, GenerationError, OutOfMemory, RequestError, StuckGeneration
from generation.recipes.order import Progress


def _round_half_up(x: float) -> int:
    # round() rounds halves to even, so 2.5 min would read "about 2 min" but 3.5 min "about 4 min".
    return math.floor(x + 0.5)


def format_eta(seconds: float) -> str:
    """A friendly duration: "a few seconds", "about 40 s", "about 2 min", "about 1 h 5 min".

    Under a minute it is rounded to 5 s (but "a few seconds" under 3 s); above, to the minute.
    """
    if math.isnan(seconds) or seconds < 3:
        return "a few seconds"
    if math.isinf(seconds):
        return "a long while"
    rounded = 5 * _round_half_up(seconds / 5)
    if rounded < 60:
        return f"about {rounded} s"
    minutes = max(1, _round_half_up(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h" if minutes == 0 else f"about {hours} h {minutes} min"


def queued_text(position: int, total: int, eta_s: float) -> str:
    """E.g. "Queued — position 3 of 7, about 40 s"."""
    if not 1 <= position <= total:
        raise ValueError(f"position {position} is not within 1..{total}")
    return f"Queued — position {position} of {total}, {format_eta(eta_s)}"


def generating_text(step: int, total: int, stage: str | None = None) -> str:
    """E.g. "Generating — 36 % (step 18/50)", or with a ``stage`` "Generating segment 3 of 12 — …".

    The percentage is rounded down, never past 100.
    """
    if total < 1:
        raise ValueError(f"total steps must be at least 1, not {total}")
    step = min(max(step, 0), total)
    what = f"Generating {stage}" if stage else "Generating"
    return f"{what} — {100 * step // total} % (step {step}/{total})"


def starting_text() -> str:
    """Shown between leaving the queue and the first denoising step."""
    return "Starting…"


def progress_text(progress: Progress) -> str:
    return generating_text(progress.step, progress.total, progress.stage)


def waiting_for_gpu_text(position: int, total: int) -> str:
    """Shown instead of a time estimate while no GPU worker is online."""
    return f"Queued — position {position} of {total}, waiting for a GPU worker"


def models_phrase(models: tuple[str, ...]) -> str:
    """E.g. "model tiny-sao", "models tiny and tiny-sao" (names escaped, the whole kept short)."""
    names = [shown(model, 80) for model in models]
    if len(names) == 1:
        return f"model {names[0]}"
    return f"models {', '.join(names[:-1])} and {names[-1]}"


def waiting_for_model_text(position: int, total: int, models: tuple[str, ...]) -> str:
    """Shown instead of a time estimate while no online GPU worker serves the job's models."""
    wanted = models_phrase(models)
    return fit_content(f"Queued — position {position} of {total}, waiting for a GPU worker with {wanted}")


def waiting_for_models_summary(blocked: list[tuple[tuple[str, ...], int]]) -> str:
    """For ``/status``: "2 jobs need a GPU worker with model tiny-sao"; one line per model set."""
    lines = [
        f"{count} job{'s' if count != 1 else ''} need{'s' if count == 1 else ''} a GPU worker with "
        f"{models_phrase(models)}"
        for models, count in blocked
    ]
    return clip("\n".join(lines), 1024)


CANCELLED_TEXT = "🛑 Cancelled."
UNEXPECTED_FAILURE = "Something went wrong while generating. Please try again."
RESTARTING = "The bot is restarting; please try again in a minute."

_VERBS = {
    KIND_REROLL: "Rerolled",
    KIND_TWEAK: "Tweaked",
    KIND_LAYER: "Rerolled a layer of",
    KIND_REMIX: "Remixed",
}


def result_content(job: Job, *, mention: bool) -> str | None:
    """The line above a result card: what kind of take it is ("🎧 Rerolled"; the card's title has
    the words); ``mention`` (a channel post) pings the user, and only them. None: no line at all
    (an ``/ambient`` answer, whose header already says who used the command)."""
    verb = _VERBS.get(job.kind)
    text = f"🎧 {verb}" if verb else None
    if mention:
        return f"<@{job.user_id}> {text}" if text else f"<@{job.user_id}>"
    return text


def done_status(job: Job) -> str:
    """What a status message says once the result is posted, where Discord refused to delete it."""
    if job.kind == KIND_COMPARE:
        return "✅ Both takes are ready — listen below and vote."
    return f"✅ Done in {job.gen_seconds or 0:.1f} s — see below."


def failure_status(error: str) -> str:
    return fit_content(f"⚠️ {error}")


def failure_notice(job: Job, error: str) -> str:
    """A failure told in the channel (when the status message can't show it), marked with the job."""
    marker = failure_marker(job.id)
    return f"<@{job.user_id}> {clip(error, CONTENT_MAX - len(marker) - 30)} {marker}"


def failure_marker(job_id: int) -> str:
    """How a failure notice is recognised in the channel (see :func:`failure_notice`)."""
    return f"(job #{job_id})"


def generation_failure(exc: BaseException) -> str:
    """Why a job's generation ended, in the user's terms (:class:`Cancelled` is not a failure)."""
    if isinstance(exc, StuckGeneration):
        return "The generator got stuck on this request and was restarted. Please try again."
    if isinstance(exc, OutOfMemory):
        return "The GPU ran out of memory for this request. Try a shorter duration or fewer variations."
    if isinstance(exc, RequestError):
        return str(exc)
    if isinstance(exc, GenerationError):
        return "The model failed on this request. Please try again."
    if isinstance(exc, Cancelled):
        return CANCELLED_TEXT
    return UNEXPECTED_FAILURE


def delivery_failure(reason: str) -> str:
    return f"Your soundscape was generated but could not be posted ({reason})."


def storage_failure(exc: BaseException) -> str:
    return (
        "Your soundscape was generated but could not be saved "
        f"({type(exc).__name__}: {str(exc)[:120]}). Please try again later."
    )


def refusal_reason(status: int, code: int) -> str:
    """A Discord refusal of the result post, said plainly."""
    if status == 403 or code == 50013:
        return (
            "the bot is missing a permission here: it needs Send Messages, Attach Files, "
            "Embed Links and Add Reactions"
        )
    if status == 404:
        return "the channel or message no longer exists"
    return f"Discord answered {status}"


def reason(exc: BaseException) -> str:
    if isinstance(exc, discord.Forbidden):
        return refusal_reason(403, exc.code)
    if isinstance(exc, discord.NotFound):
        return refusal_reason(404, exc.code)
    if isinstance(exc, discord.HTTPException):
        return refusal_reason(exc.status, exc.code)
    return type(exc).__name__
