"""The CLAP that ranks Stable Audio candidates: the tiny one offline, a clear line when missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from generation.backends.clap import build_tiny_clap, load_clap
from generation.errors import ModelUnavailable
from generation.recipes.ranking import clap_scores


def test_the_tiny_clap_is_deterministic_and_scores_audio() -> None:
    a, b = build_tiny_clap(0), build_tiny_clap(0)
    pairs = zip(a.text_encoder.parameters(), b.text_encoder.parameters(), strict=True)
    assert all(torch.equal(x, y) for x, y in pairs)
    audio = np.random.default_rng(0).standard_normal((2 * 44_100, 2)) * 0.1
    scores = clap_scores(a, "rain on a tin roof", [audio, audio[:, 0]], 44_100)
    assert len(scores) == 2 and all(-1.0 <= s <= 1.0 for s in scores)


def test_a_clap_that_cannot_be_loaded_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="folder") as info:
        load_clap(str(tmp_path), torch.device("cpu"), torch.float32)
    assert "\n" not in str(info.value) and "one candidate" in str(info.value)
