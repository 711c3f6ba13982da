"""Turning what a user typed into a validated :class:`GenerationRequest`.

Every entry point (slash command, modal, CLI) goes through :func:`build_request`, so the bounds
and the user-facing error messages live in one place.
"""

from __future__ import annotations

import math
import numbers
import random
import unicodedata
from typing import TYPE_CHECKING

from generation.craft import AUDIOLDM2, ModelCraft
from generation.errors import RequestError
from generation.preset_matching import get_preset, match_preset, mentions
from generation.presets import (
    DEFAULT_DURATION_S,
    DEFAULT_GUIDANCE,
    DEFAULT_NEGATIVE_PROMPT,
    DEFAULT_STEPS,
    GENERIC_TEMPLATE,
    PRESETS,
    Preset,
)
from generation.request import (
    MAX_DURATION_S,
    MAX_GUIDANCE,
    MAX_NEGATIVE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_STEPS,
    MIN_DURATION_S,
    MIN_GUIDANCE,
    MIN_STEPS,
    QUALITIES,
    QUALITY_FAST,
    QUALITY_STANDARD,
    SCHEDULERS,
    GenerationRequest,
)

if TYPE_CHECKING:
    from generation.models import ModelChoice

__all__ = [
    "DEFAULT_DURATION_S",
    "DEFAULT_GUIDANCE",
    "DEFAULT_STEPS",
    "build_request",
    "clean_text",
    "describe_request",
    "format_number",
]

EMPTY_PROMPT_MESSAGE = "Please describe the soundscape you want, e.g. 'rain on a tin roof'."

# Invisible characters that sneak in from copy-paste and would make two equal prompts differ.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

# Line breaks and tabs (a multi-line modal, a pasted Windows line end) are just whitespace.
_WHITESPACE_CONTROLS = frozenset("\t\n\r")

# Trailing punctuation that would read oddly before the template's ", high quality ..." tail.
_TRAILING_PUNCTUATION = ".,;:!? "


def format_number(value: float) -> str:
    """A number as a person writes it: ``45.0`` → "45", ``2.5`` → "2.5", ``nan`` → "nan"."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def clean_text(text: str, *, what: str = "prompt") -> str:
    """``text`` normalised for the model: NFC, zero-width characters removed, whitespace collapsed.

    Control characters other than tabs and line breaks are rejected rather than dropped, so
    nothing the user did not see is silently changed. ``what`` names the field in messages.
    The result may be empty; length limits are the caller's.
    """
    if not isinstance(text, str):
        raise RequestError(f"The {what} must be text, not {type(text).__name__}.")
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc" and ch not in _WHITESPACE_CONTROLS:
            raise RequestError(
                f"The {what} contains a control character (U+{ord(ch):04X}), which isn't allowed; "
                "please remove it."
            )
        if category == "Cs":
            # A lone surrogate cannot be encoded as UTF-8, so it could not be stored or sent.
            raise RequestError(
                f"The {what} contains an invalid character (U+{ord(ch):04X}); please remove it."
            )
    text = unicodedata.normalize("NFC", text.translate(_ZERO_WIDTH))
    return " ".join(text.split())


def _clean_prompt(text: str) -> str:
    cleaned = clean_text(text)
    if not cleaned:
        raise RequestError(EMPTY_PROMPT_MESSAGE)
    if len(cleaned) > MAX_PROMPT_CHARS:
        raise RequestError(
            f"Your prompt is {len(cleaned)} characters long; the limit is {MAX_PROMPT_CHARS}. "
            "Please shorten it."
        )
    return cleaned


def _clean_negative(negative: str) -> str:
    cleaned = clean_text(negative, what="negative prompt")
    if len(cleaned) > MAX_NEGATIVE_CHARS:
        raise RequestError(
            f"The negative prompt is {len(cleaned)} characters long; the limit is {MAX_NEGATIVE_CHARS}. "
            "Please shorten it."
        )
    return cleaned


def _bounded(
    name: str, value: object, low: float, high: float, *, whole: bool, unit: str = ""
) -> float | int:
    """``value`` as a finite number within ``[low, high]``; every message states the bounds and the value.

    Booleans are refused: ``True`` is an ``int`` to Python but never what a user meant.
    """
    kind = "a whole number" if whole else "a number"
    bounds = f"between {format_number(low)} and {format_number(high)}{unit}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RequestError(f"{name} must be {kind} {bounds}; you passed {value!r}.")
    if isinstance(value, numbers.Integral):
        number: float | int = int(value)
    else:
        number = float(value)
        if not math.isfinite(number) or (whole and not number.is_integer()):
            raise RequestError(f"{name} must be {kind} {bounds}; you asked for {format_number(number)}.")
        if whole:
            number = int(number)
    if not low <= number <= high:
        raise RequestError(f"{name} must be {bounds}; you asked for {format_number(number)}.")
    return number


def _named(name: str | None, choices: tuple[str, ...], what: str, default: str) -> str:
    """One of ``choices`` (case and spaces ignored); ``None`` is ``default``."""
    if name is None:
        return default
    if not isinstance(name, str):
        raise RequestError(f"The {what} must be a name; you passed {name!r}.")
    chosen = name.strip().lower()
    if chosen not in choices:
        raise RequestError(f"Unknown {what} '{name.strip()}'. Choose one of: {', '.join(choices)}.")
    return chosen


def _explicit_preset(preset: str | None) -> Preset | None:
    # A blank option (an empty Discord field) means "not chosen", not an unknown preset.
    if preset is None or (isinstance(preset, str) and not preset.strip()):
        return None
    return get_preset(preset)


def _compatible_negative(negative: str, text: str) -> str:
    """``negative`` without the comma-separated terms the user asked for.

    A preset's negative prompt must not fight the user's own words: "café with soft jazz music"
    keeps "music" out of the café preset's negative prompt.
    """
    terms = [term.strip() for term in negative.split(",")]
    return ", ".join(term for term in terms if term and not mentions(text, term))


def build_request(
    text: str,
    *,
    preset: str | None = None,
    raw: bool = False,
    duration: float | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    seed: int | None = None,
    negative: str | None = None,
    scheduler: str | None = None,
    quality: str | None = None,
    rng: random.Random | None = None,
    model: ModelChoice | None = None,
) -> GenerationRequest:
    """Validate what a user asked for and resolve it into a request; raises :class:`RequestError`.

    Preset: an explicit ``preset`` wins, otherwise one is matched from the text. Its template
    wraps the user's words, and its tuned values fill the parameters not given. With no preset
    a generic template adds the quality phrases. ``raw`` sends the cleaned text as typed: no
    template, the default negative prompt, and the explicit preset (if any) only supplies
    defaults.

    ``negative``: ``None`` uses the preset's (or default) negative prompt, minus terms the user's
    text asks for (not in raw mode); a string is used as given, and ``""`` means none.

    ``seed``: ``None`` draws one from ``rng`` (a ``random.SystemRandom`` when not given).

    ``quality``: "standard" (the default) or "fast" — DPM-Solver++ with :data:`FAST_STEPS`
    steps unless ``steps``/``scheduler`` say otherwise.

    ``model``: the model that will render it (None: the default model, made as for AudioLDM2).
    Its craft (:mod:`generation.craft`) fills what the user did not give, before the preset:
    what the user gives wins, then the preset's tuning for that model, then the model's craft,
    then the preset.
    """
    user_text = _clean_prompt(text)
    craft = model.craft if model is not None else AUDIOLDM2
    fast = _named(quality, QUALITIES, "quality", QUALITY_STANDARD) == QUALITY_FAST
    if fast and scheduler is None:
        scheduler = craft.fast_scheduler
    explicit = _explicit_preset(preset)
    raw = bool(raw)
    chosen = explicit if raw else (explicit or match_preset(user_text))
    tuning = chosen.tuned(craft) if chosen else None

    if raw:
        prompt = user_text
        default_negative = DEFAULT_NEGATIVE_PROMPT
    else:
        core = user_text.rstrip(_TRAILING_PUNCTUATION) or user_text
        prompt = (chosen.render(core, craft) if chosen else GENERIC_TEMPLATE.format(text=core)) + craft.suffix
        tuned_negative = tuning.negative_prompt if tuning else None
        preset_negative = tuned_negative or (chosen.negative_prompt if chosen else DEFAULT_NEGATIVE_PROMPT)
        default_negative = _compatible_negative(preset_negative, user_text)
    if not craft.negative:
        default_negative = ""  # the model never uses one: none is sent or shown
    negative_prompt = default_negative if negative is None else _clean_negative(negative)

    duration_s = float(
        (chosen.duration_s if chosen else DEFAULT_DURATION_S)
        if duration is None
        else _bounded("Duration", duration, MIN_DURATION_S, MAX_DURATION_S, whole=False, unit=" seconds")
    )
    steps_n = int(
        _default_steps(craft, chosen, fast)
        if steps is None
        else _bounded("Steps", steps, MIN_STEPS, MAX_STEPS, whole=True)
    )
    guidance_f = float(
        _first(
            tuning.guidance if tuning else None,
            craft.guidance,
            chosen.guidance if chosen else DEFAULT_GUIDANCE,
        )
        if guidance is None
        else _bounded("Guidance", guidance, MIN_GUIDANCE, MAX_GUIDANCE, whole=False)
    )
    if seed is None:
        seed_n = (rng or random.SystemRandom()).randint(0, MAX_SEED)
    else:
        seed_n = int(_bounded("Seed", seed, 0, MAX_SEED, whole=True))

    return GenerationRequest(
        user_text=user_text,
        prompt=prompt,
        negative_prompt=negative_prompt,
        preset=chosen.key if chosen else None,
        raw=raw,
        duration_s=duration_s,
        steps=steps_n,
        guidance=guidance_f,
        seed=seed_n,
        scheduler=_named(scheduler, SCHEDULERS, "scheduler", "default"),
        model=model.name if model is not None else None,
    )


def _first(*values: float | int | None) -> float | int:
    """The first value that is set."""
    return next(value for value in values if value is not None)


def _default_steps(craft: ModelCraft, preset: Preset | None, fast: bool) -> int:
    if fast:
        return craft.fast_steps
    tuned = preset.tuned(craft).steps if preset else None
    return int(_first(tuned, craft.steps, preset.steps if preset else DEFAULT_STEPS))


def _preset_text(req: GenerationRequest) -> str:
    if req.preset is None:
        return "none (raw prompt)" if req.raw else "none (generic template)"
    # Requests restored from storage may name a preset that has since been renamed.
    label = PRESETS[req.preset].label if req.preset in PRESETS else req.preset
    return f"{label} (template not applied: raw)" if req.raw else label


def describe_request(req: GenerationRequest) -> list[tuple[str, str]]:
    """Ordered (label, value) pairs for showing a request to its user (bot embed, CLI)."""
    return [
        ("Prompt", req.user_text),
        ("Expanded prompt", req.prompt),
        ("Negative", req.negative_prompt or "(none)"),
        ("Preset", _preset_text(req)),
        ("Seed", str(req.seed)),
        ("Duration", f"{format_number(req.duration_s)} s"),
        ("Steps", str(req.steps)),
        ("Guidance", format_number(req.guidance)),
        ("Scheduler", req.scheduler),
    ]


def warm_up_request() -> GenerationRequest:
    """A typical request (10 s, default steps, fixed seed) for warming the model up at start."""
    return build_request("gentle rain on leaves", seed=0, duration=10.0)
