"""Sleep timers as people type them (``30m``, ``1h 30m``, ``1:15``, ``45``) and as they are shown."""

from __future__ import annotations

import math
import re

from bot.errors import UserError

MIN_SLEEP_S = 5.0
MAX_SLEEP_S = 24 * 3600.0
#: The fade-out before a sleep timer ends (shorter when the whole timer is shorter).
SLEEP_FADE_S = 30.0
#: Words that clear a sleep timer.
OFF_WORDS = frozenset({"off", "cancel", "none", "never", "0"})
EXAMPLES = "`30m`, `1h`, `1h 30m`, `90s` or `1:30` (hours:minutes)"

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_PART = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([a-z]*)")
_CLOCK = re.compile(r"(\d{1,2}):([0-5]\d)")


def parse_sleep(text: str) -> float | None:
    """Seconds until the player should stop, or None for "off"; raises :class:`UserError`.

    A bare number is minutes (``45`` → 45 min); ``h:mm`` is hours and minutes.
    """
    cleaned = text.strip().lower()
    if cleaned in OFF_WORDS:
        return None
    seconds = _seconds(cleaned)
    if seconds is None:
        raise UserError(f"I couldn't read the time '{text.strip()[:40]}'; write it like {EXAMPLES}.")
    if not math.isfinite(seconds) or not MIN_SLEEP_S <= seconds <= MAX_SLEEP_S:
        raise UserError(
            f"A sleep timer can be from {MIN_SLEEP_S:g} seconds to {MAX_SLEEP_S / 3600:g} hours; "
            f"you asked for {format_span(seconds)}."
        )
    return seconds


def _seconds(cleaned: str) -> float | None:
    clock = _CLOCK.fullmatch(cleaned)
    if clock:
        return int(clock[1]) * 3600.0 + int(clock[2]) * 60.0
    parts = list(_PART.finditer(cleaned))
    if not parts or "".join(p[0] for p in parts) != cleaned or cleaned.strip() != cleaned:
        return None
    if len(parts) == 1 and not parts[0][2]:
        return float(parts[0][1].replace(",", ".")) * 60.0  # a bare number: minutes
    total = 0.0
    for part in parts:
        if part[2] not in _UNITS:
            return None
        total += float(part[1].replace(",", ".")) * _UNITS[part[2]]
    return total


def format_span(seconds: float) -> str:
    """``"1 h 30 min"``, ``"30 min"``, ``"45 s"``."""
    if not math.isfinite(seconds):
        return "that"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts)


def sleep_fade_s(remaining_s: float) -> float:
    """How long the fade-out before a sleep lasts: the last 30 s, or all of a shorter timer."""
    return max(0.0, min(SLEEP_FADE_S, remaining_s))
