"""Stable Audio text conditioning: fixed-length states behind a mask, per text, cached."""

from __future__ import annotations

import torch

from generation.backends.stable_audio.tiny import MAX_TOKENS, build_tiny_sao_pipeline
from generation.backends.text_conditioning import MaskedTextEncoder


def test_texts_are_encoded_alone_at_a_fixed_length_and_stacked() -> None:
    pipe = build_tiny_sao_pipeline()
    encoder = MaskedTextEncoder(pipe.tokenizer, pipe.text_encoder, torch.device("cpu"), max_length=MAX_TOKENS)
    short, long = encoder.encode("rain"), encoder.encode("rain on a tin roof with distant thunder")
    assert short.embeds.shape == long.embeds.shape == (1, MAX_TOKENS, 32)
    assert short.mask.sum() < long.mask.sum() and short.mask.shape == (1, MAX_TOKENS)
    batch = encoder.batch(["rain", "wind"], ["", "music"])
    assert batch.embeds.shape == batch.negative_embeds.shape == (2, MAX_TOKENS, 32)
    assert torch.equal(batch.embeds[0:1], short.embeds)  # the same states as alone
    unguided = encoder.batch(["rain"], None)
    assert unguided.negative_embeds is None and unguided.negative_mask is None
    assert encoder.hits == 2 and encoder.misses == 5
