"""The tweak form: what an edited stored request becomes."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.ui.tweak import tweaked_request
from generation.errors import RequestError
from generation.prompting import build_request

ORIGINAL = build_request(
    "rain on a tin roof", preset="rain", duration=12, guidance=6.5, seed=5, negative="music", steps=80
)


def form(**values: str) -> dict[str, str]:
    return {"prompt": "rain on a tin roof", "duration": "12", "guidance": "6.5", "seed": "5", **values}


def test_unchanged_form_gives_the_same_request() -> None:
    assert tweaked_request(ORIGINAL, form()) == ORIGINAL


def test_same_prompt_keeps_preset_negative_and_steps() -> None:
    request = tweaked_request(ORIGINAL, form(duration="3,5", guidance="4", seed="9"))
    assert (request.duration_s, request.guidance, request.seed) == (3.5, 4.0, 9)
    assert (request.preset, request.negative_prompt, request.steps) == ("rain", "music", 80)


def test_new_prompt_is_matched_afresh() -> None:
    request = tweaked_request(ORIGINAL, form(prompt="crackling fireplace"))
    assert request.user_text == "crackling fireplace" and request.preset == "fireplace"
    assert request.negative_prompt != "music" and request.steps == 50


def test_empty_seed_draws_one_and_bad_values_are_refused() -> None:
    assert 0 <= tweaked_request(ORIGINAL, form(seed=" ")).seed <= 2**32 - 1
    with pytest.raises(UserError, match=r"\*\*Duration\*\* must be a number"):
        tweaked_request(ORIGINAL, form(duration="long"))
    with pytest.raises(UserError, match=r"\*\*Seed\*\* must be a whole number"):
        tweaked_request(ORIGINAL, form(seed="-3"))
    with pytest.raises(RequestError, match="Guidance must be between 1 and 15"):
        tweaked_request(ORIGINAL, form(guidance="40"))
    with pytest.raises(RequestError, match="describe"):
        tweaked_request(ORIGINAL, form(prompt="   "))


def test_a_tweak_with_plus_becomes_a_layered_scene_and_a_loop_stays_a_loop() -> None:
    from bot.ui.tweak import tweaked_order

    original = build_request("rain", seed=1)
    values = {"prompt": "rain:0.8 + crickets", "duration": "4", "guidance": "6", "seed": "9"}
    request, recipe = tweaked_order(original, values, loop=True)
    assert recipe.layered and recipe.loop and [r.seed for r in recipe.layer_requests] == [9, 10]
    assert request.user_text == "rain:0.8 + crickets" and request.duration_s == 4.0
    plain, recipe = tweaked_order(original, {**values, "prompt": "ocean"}, loop=False)
    assert not recipe.layered and plain.user_text == "ocean"
