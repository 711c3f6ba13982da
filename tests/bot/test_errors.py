"""What a refusal shows its user: the model side's words, inert."""

from __future__ import annotations

from bot.errors import UserError, user_message
from generation.errors import RequestError
from generation.models import ModelCatalog
from generation.recipes.layer_requests import layer_requests
from generation.recipes.layers import parse_layers


def test_a_refusal_quoting_user_text_shows_it_as_typed() -> None:
    layers = parse_layers("rain + crickets@**[x](evil.example)<#1>")
    catalog = ModelCatalog.from_ids(["tiny"])
    try:
        layer_requests(layers, catalog=catalog)
    except RequestError as refusal:
        text = user_message(refusal)
    else:
        raise AssertionError("an unknown layer model was accepted")
    assert text is not None and "isn't loaded here" in text and "tiny" in text
    assert "\\[x\\](evil.example)" in text  # no masked link
    assert "\\*\\*" in text and "\\<#1>" in text  # no bold, no channel mention


def test_the_bots_own_refusals_keep_their_formatting() -> None:
    assert user_message(UserError("Use **/play** first.")) == "Use **/play** first."
