"""Shared fixtures: the tiny engine is built once per session (it is deterministic and read-only)."""

from __future__ import annotations

import pytest

from generation.engine import AudioEngine, EngineSettings


@pytest.fixture(scope="session")
def tiny_engine() -> AudioEngine:
    return AudioEngine.load(EngineSettings(model_id="tiny", device="cpu"))
