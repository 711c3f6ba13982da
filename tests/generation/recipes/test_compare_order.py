"""A comparison's order: one seed, words and length for both takes, each model's own craft, A/B
in random order, and a job request that names neither model."""

from __future__ import annotations

import random

import pytest

from generation.errors import RequestError
from generation.models import ModelCatalog
from generation.recipes.compare_order import build_compare

CATALOG = ModelCatalog.from_ids(["tiny", "tiny-sao", "tiny-sa3"])


def test_both_takes_share_words_seed_and_length_in_random_order() -> None:
    orders = set()
    for draw in range(12):
        request, recipe = build_compare(
            "rain on a tin roof", CATALOG, seed=7, duration=4.0, rng=random.Random(draw)
        )
        a, b = recipe.compare
        assert request.model is None and not recipe.batchable
        assert (a.seed, a.duration_s, a.user_text, a.preset) == (b.seed, b.duration_s, b.user_text, b.preset)
        assert (a.seed, a.duration_s) == (7, 4.0)
        orders.add((a.model, b.model))
    assert orders == {("tiny", "tiny-sao"), ("tiny-sao", "tiny")}  # the first two, either way round


def test_each_model_keeps_its_own_craft_and_named_models_are_checked() -> None:
    _, recipe = build_compare("deep space drone", CATALOG, model_a="tiny-sa3", model_b="TINY", seed=1)
    by_model = {r.model: r for r in recipe.compare}
    assert set(by_model) == {"tiny-sa3", "tiny"}
    assert by_model["tiny-sa3"].steps != by_model["tiny"].steps  # the distilled model's few steps
    with pytest.raises(RequestError, match="Choose one of: tiny, tiny-sao, tiny-sa3"):
        build_compare("rain", CATALOG, model_a="nope")
    with pytest.raises(RequestError, match="Compare two different models"):
        build_compare("rain", CATALOG, model_a="tiny", model_b="tiny")
    with pytest.raises(RequestError, match="needs two models"):
        build_compare("rain", ModelCatalog.from_ids(["tiny"]))
