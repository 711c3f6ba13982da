"""The sleep button steps through 30 min, 1 h, 2 h, then off."""

from __future__ import annotations

from bot.voice.controls import next_sleep


def test_sleep_button_steps() -> None:
    assert next_sleep(None) == 1800.0
    assert next_sleep(1700.0) == 3600.0  # just set to 30 min: next is 1 h
    assert next_sleep(3590.0) == 7200.0
    assert next_sleep(7100.0) is None
    assert next_sleep(600.0) == 1800.0  # 10 min left: back up to 30 min
