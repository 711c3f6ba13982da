"""Shared fixtures. The tiny engine is built once per session (deterministic and read-only)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

# One torch/OpenMP thread per test process, set before anything imports torch: the suite runs in
# parallel worker processes (pytest-xdist), and OpenMP threads of several processes spinning on
# the same cores slow the tiny models down a hundredfold. Bot processes started by the
# end-to-end tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

if TYPE_CHECKING:
    from generation.backends.audioldm2.engine import AudioEngine


@pytest.fixture(scope="session")
def tiny_engine() -> AudioEngine:
    # Imported here so the pure unit tests never pay for importing torch.
    from generation.backends.audioldm2.engine import AudioEngine, EngineSettings

    return AudioEngine.load(EngineSettings(model_id="tiny", device="cpu"))
