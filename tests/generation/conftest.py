"""Fixtures of the generation tests: every built-in tiny model, each loaded once per session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.hub_standin import gated_hub_server

if TYPE_CHECKING:
    from generation.backends.base import Backend

#: The built-in models, one per family: AudioLDM2, Stable Audio Open, Stable Audio 3.
TINY_IDS = ("tiny", "tiny-sao", "tiny-sa3")

_loaded: dict[str, Backend] = {}


def load_tiny(model_id: str) -> Backend:
    """The session's engine of a built-in model (deterministic; tests restore what they change)."""
    if model_id not in _loaded:
        # Imported here so the pure unit tests never pay for importing torch.
        from generation.backends.registry import load_backend
        from generation.settings import EngineSettings

        _loaded[model_id] = load_backend(EngineSettings(model_id=model_id, device="cpu"))
    return _loaded[model_id]


@pytest.fixture(params=TINY_IDS)
def tiny_backend(request: pytest.FixtureRequest) -> Backend:
    """Each family's tiny engine in turn."""
    return load_tiny(request.param)


@pytest.fixture
def tiny_sao_engine() -> Backend:
    return load_tiny("tiny-sao")


@pytest.fixture
def tiny_sa3_engine() -> Backend:
    return load_tiny("tiny-sa3")


@pytest.fixture
def gated_hub() -> Iterator[str]:
    """The address of a fake hub that refuses every gated download (give it as HF_ENDPOINT)."""
    with gated_hub_server() as address:
        yield address
