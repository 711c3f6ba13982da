"""One request per layer (its own preset and seed), rendered a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from generation.errors import RequestError
from generation.recipes.layer_requests import layer_requests, render_stems
from generation.recipes.layers import parse_layers
from generation.request import GenerationRequest


def test_each_layer_is_its_own_request_with_its_own_preset() -> None:
    requests = layer_requests(parse_layers("rain + crickets + distant thunder"), seed=40, steps=10)
    assert [r.preset for r in requests] == ["rain", "crickets", "thunderstorm"]
    assert [r.seed for r in requests] == [40, 41, 42]
    assert {r.duration_s for r in requests} == {10.0}  # the first layer's preset default, shared
    assert {r.steps for r in requests} == {10}
    with pytest.raises(RequestError, match="Duration"):
        layer_requests(parse_layers("rain + wind"), duration=45)


def test_render_stems_batches_what_can_share_a_call() -> None:
    requests = layer_requests(parse_layers("rain + crickets + ocean waves"), seed=1, steps=10, duration=3)
    calls: list[list[int]] = []

    def generate(batch: Sequence[GenerationRequest]) -> list[np.ndarray]:
        calls.append([r.seed for r in batch])
        return [np.full(10, r.seed, dtype=np.float32) for r in batch]

    stems = render_stems(requests, generate)
    # Rain has its own guidance (7.0); crickets and ocean share the default and one call.
    assert sorted(calls) == [[1], [2, 3]]
    assert [int(s[0]) for s in stems] == [1, 2, 3]
