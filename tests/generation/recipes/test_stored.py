"""A stored scene's new take when its job is gone: every layer on the model that made it."""

from __future__ import annotations

import pytest

from generation.errors import RequestError
from generation.models import ModelCatalog
from generation.recipes.layers import parse_layers
from generation.recipes.recipe import build_order
from generation.recipes.stored import scene_model, stored_scene_order
from generation.request import GenerationRequest

CATALOG = ModelCatalog.from_ids(["tiny", "tiny-sao", "tiny-sa3"])


def _stored(text: str, model: str | None = None) -> tuple[GenerationRequest, list[str]]:
    """What a row keeps of the scene ``text`` made with ``model``: its request, and its models."""
    request, recipe = build_order(text, model=model, catalog=CATALOG, seed=5)
    models = [r.model or "" for r in recipe.layer_requests]
    return request, models


def _row_models(models: list[str]) -> str:
    return " + ".join(dict.fromkeys(models))  # what the row's model column says (Mix.tags)


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("rain:0.8 + crickets:0.5@tiny-sao", None),
        ("rain:0.8 + crickets:0.5@tiny-sao", "tiny-sa3"),
        ("rain@tiny-sao + crickets + wind@tiny", None),
        ("rain@tiny-sao + crickets + wind@tiny", "tiny-sa3"),
        ("rain@TINY-SAO:0.7 + crickets", "tiny-sao"),
    ],
)
def test_a_new_take_keeps_every_layers_model(text: str, model: str | None) -> None:
    request, models = _stored(text, model)
    take, recipe = stored_scene_order(request, seed=99, catalog=CATALOG, made_by=_row_models(models))
    assert [r.model for r in recipe.layer_requests] == models
    assert [r.seed for r in recipe.layer_requests] == list(range(99, 99 + len(models)))
    assert take.user_text == request.user_text and take.seed == 99
    assert [layer.model for layer in recipe.layers] == [
        r.model if layer.model else None
        for layer, r in zip(parse_layers(text), recipe.layer_requests, strict=True)
    ]


def test_when_the_row_fits_several_scene_models_the_default_wins() -> None:
    # Made with tiny for "crickets": the row says "tiny-sao + tiny", as it would for tiny-sao too
    # ("rain" and "crickets" on tiny-sao, "wind" on tiny). The default model is the likelier.
    layers = parse_layers("rain@tiny-sao + crickets + wind@tiny")
    request, _ = _stored("rain@tiny-sao + crickets + wind@tiny")
    assert scene_model(layers, request, CATALOG, "tiny-sao + tiny") == "tiny"
    # No row to read (or one that fits no model): the default.
    assert scene_model(layers, request, CATALOG, None) == "tiny"
    assert scene_model(layers, request, CATALOG, "something else") == "tiny"
    # The first layer names none: its request carries the scene's model, whatever the row says.
    unnamed = parse_layers("rain + crickets@tiny")
    request, _ = _stored("rain + crickets@tiny", "tiny-sa3")
    assert scene_model(unnamed, request, CATALOG, None) == "tiny-sa3"


def test_a_layer_whose_model_is_gone_is_refused_naming_the_loaded_ones() -> None:
    request, models = _stored("rain + crickets@tiny-sa3")
    fewer = ModelCatalog.from_ids(["tiny", "tiny-sao"])
    with pytest.raises(
        RequestError,
        match=r"^Layer 2: The model 'tiny-sa3' isn't loaded here\. Choose one of: tiny, tiny-sao\.$",
    ):
        stored_scene_order(request, seed=1, catalog=fewer, made_by=_row_models(models))
