"""The levels form: what users type becomes one level per layer, or a clear refusal."""

from __future__ import annotations

import pytest

from bot.cogs.mix import submitted_gains
from bot.errors import UserError


def test_levels_accept_decimals_commas_and_percentages() -> None:
    assert submitted_gains({"gain0": "0.8", "gain1": "0,4", "gain2": "50%"}, 3) == [0.8, 0.4, 0.5]


def test_a_level_that_is_not_a_number_is_refused_by_its_position() -> None:
    with pytest.raises(UserError, match=r"Level 2 must be a number from 0 to 2; you typed 'loud'"):
        submitted_gains({"gain0": "1", "gain1": "loud"}, 2)
