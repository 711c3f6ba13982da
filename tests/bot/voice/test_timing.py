"""Sleep timers as typed: units, clock form, bare minutes, off, and friendly refusals."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.voice.timing import format_span, parse_sleep, sleep_fade_s


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800.0),
        ("30 min", 1800.0),
        (" 1h ", 3600.0),
        ("1h 30m", 5400.0),
        ("1h30m", 5400.0),
        ("90s", 90.0),
        ("1:15", 4500.0),
        ("45", 2700.0),
        ("1.5h", 5400.0),
        ("2 hours", 7200.0),
    ],
)
def test_lengths_people_type(text: str, seconds: float) -> None:
    assert parse_sleep(text) == seconds


@pytest.mark.parametrize("text", ["off", "OFF", "cancel", "never", "0", "none"])
def test_off_clears_the_timer(text: str) -> None:
    assert parse_sleep(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "couldn't read"),
        ("30x", "couldn't read"),
        ("1h then 2m", "couldn't read"),
        ("2s", "from 5 seconds to 24 hours"),
        ("25h", "from 5 seconds to 24 hours"),
    ],
)
def test_refusals_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_sleep(text)


def test_spans_and_fades() -> None:
    assert [format_span(s) for s in (45, 90, 1800, 5400, 7200)] == [
        "45 s",
        "1 min 30 s",
        "30 min",
        "1 h 30 min",
        "2 h",
    ]
    assert (sleep_fade_s(3600), sleep_fade_s(10), sleep_fade_s(-1)) == (30.0, 10.0, 0.0)
