"""Recipes: how loop, length, candidates and layers are read, validated, stored and re-seeded."""

from __future__ import annotations

import pytest

from generation.errors import RequestError
from generation.recipes.recipe import PLAIN, Recipe, build_order, format_length, fresh_recipe, parse_length


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("3m", 180.0), ("2:30", 150.0), ("10 min", 600.0), ("1m30s", 90.0),
     ("2,5 minutes", 150.0), (" ", None), (None, None), (45, 45.0)],
)  # fmt: skip
def test_lengths_are_read_the_way_people_write_them(text: str | None, seconds: float | None) -> None:
    assert parse_length(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [("11m", "between 2.5 seconds and 10 minutes; you asked for 11 minutes"),
     ("1", "you asked for 1 s"), ("1h", "couldn't read the length '1h'"), ("abc", "write it like 90s")],
)  # fmt: skip
def test_bad_lengths_are_refused_in_the_users_terms(text: str, message: str) -> None:
    with pytest.raises(RequestError, match=message):
        parse_length(text)


def test_layered_order_gets_one_request_per_layer_and_keeps_the_whole_text() -> None:
    request, recipe = build_order("rain:0.8 + crickets:0.4", seed=5, duration=4.0, quality="fast", loop=True)
    assert request.user_text == "rain:0.8 + crickets:0.4" and request.seed == 5
    assert [r.seed for r in recipe.layer_requests] == [5, 6]
    assert [r.steps for r in recipe.layer_requests] == [25, 25]
    assert {r.scheduler for r in recipe.layer_requests} == {"dpm++"}
    assert recipe.gains == (0.8, 0.4) and recipe.loop and not recipe.batchable


@pytest.mark.parametrize(
    ("options", "message"),
    [({"text": "rain + wind", "preset": "rain"}, "each layer gets its own preset"),
     ({"text": "rain", "length": "3m", "duration": 5.0}, "either length"),
     ({"text": "rain", "length": "3m", "candidates": 2}, "candidates do not apply"),
     ({"text": "rain + wind", "candidates": 2}, "not on layers"),
     ({"text": "rain + wind", "length": "2m"}, "not on layers"),
     ({"text": "rain", "candidates": 5}, "between 1 and 4"),
     ({"text": "rain + wind", "quality": "ultra"}, "Unknown quality")],
)  # fmt: skip
def test_conflicting_options_are_refused_before_anything_is_queued(options: dict, message: str) -> None:
    text = options.pop("text")
    with pytest.raises(RequestError, match=message):
        build_order(text, **options)


def test_variations_only_apply_to_plain_clips() -> None:
    PLAIN.check_variations(4)
    Recipe(loop=True).check_variations(4)
    for recipe in (Recipe(candidates=2), Recipe(length_s=120.0)):
        with pytest.raises(RequestError):
            recipe.check_variations(2)


def test_recipes_round_trip_and_keep_unknown_keys() -> None:
    _, layered = build_order("rain + distant thunder:0.5", seed=1)
    assert Recipe.from_dict(layered.to_dict()) == layered
    assert PLAIN.to_dict() == {} and Recipe.from_dict(None) == PLAIN
    newer = Recipe.from_dict({"loop": True, "reverb": 0.3})
    assert newer.loop and newer.to_dict() == {"loop": True, "reverb": 0.3}


def test_a_fresh_take_reseeds_every_layer_and_reuses_nothing() -> None:
    _, recipe = build_order("rain + crickets", seed=1)
    import dataclasses

    reused = dataclasses.replace(recipe, source_job_id=3, reroll_layer=1, candidate_of=2)
    fresh = fresh_recipe(reused, 100)
    assert [r.seed for r in fresh.layer_requests] == [100, 101]
    assert (fresh.source_job_id, fresh.reroll_layer, fresh.candidate_of) == (None, None, None)
    assert fresh.needs_gpu and not Recipe(source_job_id=3).needs_gpu


def test_lengths_are_shown_in_minutes() -> None:
    assert [format_length(s) for s in (180.0, 150.0, 45.5, 600.0)] == [
        "3 min",
        "2 min 30 s",
        "45.5 s",
        "10 min",
    ]
