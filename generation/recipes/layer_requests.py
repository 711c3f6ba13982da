"""One generation request per layer (a shared duration, seeds ``seed + i``, each layer's model),
and rendering them a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from generation.errors import RequestError
from generation.prompting import build_request
from generation.recipes.layers import MODEL_MARK, LayerSpec
from generation.request import MAX_SEED, GenerationRequest

if TYPE_CHECKING:
    from generation.models import ModelCatalog, ModelChoice


def layer_requests(
    layers: Sequence[LayerSpec],
    *,
    duration: float | None = None,
    seed: int | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    scheduler: str | None = None,
    quality: str | None = None,
    catalog: ModelCatalog | None = None,
    model: ModelChoice | None = None,
) -> list[GenerationRequest]:
    """One validated request per layer, each matched to its own preset (raises :class:`RequestError`).

    All layers share one duration (mixing needs equal lengths): ``duration``, else the first
    layer's preset default. Layer ``i`` gets seed ``seed + i``. ``steps``, ``guidance``,
    ``scheduler`` and ``quality`` apply to every layer; left out, each layer's preset and model
    decide. A layer's ``@model`` is looked up in ``catalog`` (refused, naming the loaded ones,
    when it is not there); the others use ``model`` (None: the default model).
    """
    requests: list[GenerationRequest] = []
    for i, layer in enumerate(layers):
        requests.append(
            build_request(
                layer.text,
                duration=requests[0].duration_s if requests else duration,
                seed=(requests[0].seed + i) % (MAX_SEED + 1) if requests else seed,
                steps=steps,
                guidance=guidance,
                scheduler=scheduler,
                quality=quality,
                model=_layer_model(layer, i + 1, catalog, model),
            )
        )
    return requests


def _layer_model(
    layer: LayerSpec, position: int, catalog: ModelCatalog | None, model: ModelChoice | None
) -> ModelChoice | None:
    if layer.model is None:
        return model
    if catalog is None:
        raise RequestError(
            f"Layer {position} names a model ({MODEL_MARK}{layer.model}), but none can be chosen here."
        )
    try:
        return catalog.get(layer.model)
    except RequestError as refusal:
        raise RequestError(f"Layer {position}: {refusal}") from None


def with_models(layers: Sequence[LayerSpec], requests: Sequence[GenerationRequest]) -> list[LayerSpec]:
    """``layers`` naming the model of their request where they named one (its exact name)."""
    return [
        LayerSpec(layer.text, layer.gain, request.model if layer.model else None, layer.every_s)
        for layer, request in zip(layers, requests, strict=True)
    ]


def render_stems(
    requests: Sequence[GenerationRequest],
    generate: Callable[[Sequence[GenerationRequest]], list[np.ndarray]],
) -> list[np.ndarray]:
    """Waveforms of ``requests`` in order, one ``generate`` call per group of batchable requests.

    ``generate`` is :meth:`generation.backends.base.Backend.generate` or anything
    with its contract.
    """
    groups: dict[tuple[str | None, int, float, float, str], list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.batch_key(), []).append(index)
    stems: list[np.ndarray | None] = [None] * len(requests)
    for indexes in groups.values():
        for index, waveform in zip(indexes, generate([requests[i] for i in indexes]), strict=True):
            stems[index] = waveform
    return [stem for stem in stems if stem is not None]
