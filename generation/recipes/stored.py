"""A new take of a stored scene whose job is gone: its order rebuilt from what history keeps.

History and gallery rows keep a scene's request (its first layer's, carrying the whole scene text
as ``user_text``) and the models that made it ("tiny-sao + tiny": each once, in layer order), not
its recipe. The text names each layer's own model after an ``@``; the other layers used the
scene's model, which is the first layer's when that one names none, and otherwise is read back
from the models the row names. Pure logic: no torch, no Discord.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from generation.recipes.layers import LAYER_SEPARATOR, LayerSpec, parse_layers
from generation.recipes.recipe import Recipe, build_order

if TYPE_CHECKING:
    from generation.models import ModelCatalog
    from generation.request import GenerationRequest


def _made_by(layers: Sequence[LayerSpec], scene_model: str) -> list[str]:
    """The models a row names for ``layers`` rendered with ``scene_model`` (each once, in order)."""
    return list(dict.fromkeys((layer.model or scene_model).casefold() for layer in layers))


def scene_model(
    layers: Sequence[LayerSpec], request: GenerationRequest, catalog: ModelCatalog, made_by: str | None
) -> str:
    """The model of the layers of a stored scene that name none (see the module docstring).

    When the row's models fit several choices (the unnamed layers' model appears among the named
    ones before them), the default model wins, else the first that fits; with no row to read, the
    default model (what a scene gets without ``model:``).
    """
    if layers[0].model is None and request.model:
        return request.model
    if made_by:
        wanted = [name.strip().casefold() for name in made_by.split(f" {LAYER_SEPARATOR} ")]
        fitting = [name for name in catalog.names if _made_by(layers, name) == wanted]
        if fitting:
            return catalog.default.name if catalog.default.name in fitting else fitting[0]
    return catalog.default.name


def stored_scene_order(
    request: GenerationRequest, *, seed: int, catalog: ModelCatalog, made_by: str | None = None
) -> tuple[GenerationRequest, Recipe]:
    """The order of a new take (from ``seed``) of the stored scene ``request``, every layer on the
    model that made it; raises :class:`~generation.errors.RequestError` (naming the loaded models)
    when one of them is not loaded any more."""
    layers = parse_layers(request.user_text)
    model = scene_model(layers, request, catalog, made_by)
    return build_order(
        request.user_text, duration=request.duration_s, seed=seed, model=model, catalog=catalog
    )
