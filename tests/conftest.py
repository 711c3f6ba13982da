"""Shared fixtures. The tiny engine is built once per session (deterministic and read-only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from generation.backends.audioldm2.engine import AudioEngine


@pytest.fixture(scope="session")
def tiny_engine() -> AudioEngine:
    # Imported here so the pure unit tests never pay for importing torch.
    from generation.backends.audioldm2.engine import AudioEngine, EngineSettings

    return AudioEngine.load(EngineSettings(model_id="tiny", device="cpu"))
