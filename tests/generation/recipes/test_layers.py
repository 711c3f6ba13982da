"""The layer syntax: levels, models, defaults, and friendly errors for every mistake."""

from __future__ import annotations

import re

import pytest

from generation.errors import RequestError
from generation.recipes.layers import LayerSpec, describe_layers, is_layered, parse_layers
from generation.request import MAX_SCENE_CHARS


def test_layers_with_and_without_levels() -> None:
    assert parse_layers("rain:0.8 + crickets:0.4 + distant thunder") == [
        LayerSpec("rain", 0.8),
        LayerSpec("crickets", 0.4),
        LayerSpec("distant thunder", 0.6),
    ]
    # Defaults: the first layer is the bed, the others sit a little under it.
    assert [layer.gain for layer in parse_layers("rain + crickets + wind")] == [1.0, 0.6, 0.6]
    # A colon in prose stays part of the text; spacing around ':' and '+' is free.
    assert parse_layers("forest: owls+ rain : 1.5") == [
        LayerSpec("forest: owls", 1.0),
        LayerSpec("rain", 1.5),
    ]
    assert describe_layers(parse_layers("rain + crickets:.5")) == "rain:1 + crickets:0.5"
    assert is_layered("rain + crickets") and not is_layered("rain on a roof")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a + b + c + d + e", "at most 4 layers; you gave 5"),
        ("rain + + crickets", "Layer 2 is empty"),
        ("rain:2.5 + crickets", "between 0 and 2 (1 = reference); you asked for 2.5"),
        ("rain:-1 + crickets", "between 0 and 2"),
        ("rain:1,5 + crickets", "a number like 0.8"),
        ("rain:0 + crickets:0", "At least one layer needs a level above 0"),
        ("rain + :0.5", "Layer 2 has a level but nothing to hear"),
        ("rain + \x07", "control character"),
    ],
)
def test_layer_mistakes_are_friendly_request_errors(text: str, message: str) -> None:
    with pytest.raises(RequestError, match=re.escape(message)):
        parse_layers(text)


def test_the_whole_scene_has_the_prompt_limit() -> None:
    # Four layers within the per-layer limit would make a stored and shown prompt far longer.
    layer = "distant rolling thunder over the hills " * 7
    with pytest.raises(RequestError, match=f"limit is {MAX_SCENE_CHARS} for the whole scene"):
        parse_layers(" + ".join([layer[:290]] * 4))
    at_limit = ("a" * 146) + " + " + ("b" * 151)
    assert len(at_limit) == MAX_SCENE_CHARS
    assert [len(layer.text) for layer in parse_layers(at_limit)] == [146, 151]
