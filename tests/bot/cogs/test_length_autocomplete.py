"""``length`` autocomplete reads back what was typed, or says why it can't be used."""

from __future__ import annotations

from typing import Any

from bot.cogs.options import length_autocomplete


async def test_a_readable_length_is_read_back_first() -> None:
    choices = await length_autocomplete(Any, "2:30")  # type: ignore[arg-type]
    assert (choices[0].name, choices[0].value) == ("2 min 30 s", "2:30")
    assert [c.name for c in choices[1:]] == ["1 min", "2 min", "3 min", "5 min", "10 min"]


async def test_an_unreadable_or_too_long_length_says_why() -> None:
    (refusal, *_) = await length_autocomplete(Any, "20m")  # type: ignore[arg-type]
    assert refusal.name.startswith("Length must be between 2.5 seconds and 10 minutes")
    blank = await length_autocomplete(Any, "")  # type: ignore[arg-type]
    assert [c.value for c in blank] == ["1 min", "2 min", "3 min", "5 min", "10 min"]
