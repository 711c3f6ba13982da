"""The requests the sections send: different realistic prompts, and rerolls of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.gpu_throughput.settings import Settings
    from generation.request import GenerationRequest


def make_requests(settings: Settings, count: int, *, quality: str) -> list[GenerationRequest]:
    """``count`` requests with different realistic prompts and equal duration/steps."""
    from bench.full_size_text import AMBIENT_PROMPTS
    from generation.presets import DEFAULT_GUIDANCE
    from generation.prompting import build_request

    requests = []
    for i in range(count):
        text = AMBIENT_PROMPTS[i % len(AMBIENT_PROMPTS)]
        if i >= len(AMBIENT_PROMPTS):  # keep every prompt in a large batch different
            text = f"{text}, take {i // len(AMBIENT_PROMPTS) + 1}"
        request = build_request(text, seed=settings.seed + i, duration=settings.duration, quality=quality)
        # build_request enforces the product's step bounds; a smoke run may ask for fewer. Presets
        # tune guidance, but a batch must share it (any value above 1 costs the same).
        steps = settings.fast_steps if quality == "fast" else settings.steps
        requests.append(dataclasses.replace(request, steps=steps, guidance=DEFAULT_GUIDANCE))
    return requests


def rerolls(requests: Sequence[GenerationRequest], round_: int) -> list[GenerationRequest]:
    """The same prompts with new seeds (what a user's "reroll" sends)."""
    from generation.request import MAX_SEED

    return [r.with_seed((r.seed + 1000 * round_) % (MAX_SEED + 1)) for r in requests]
