"""In-memory tokenizers in the real formats: known words whole, any text still encodable."""

from __future__ import annotations

import pytest

from generation.backends.tokenizers import CORPUS, bpe_tokenizer, gemma_tokenizer, unigram_tokenizer


@pytest.mark.parametrize("build", [bpe_tokenizer, unigram_tokenizer, gemma_tokenizer])
def test_known_words_are_one_token_and_anything_encodes(build) -> None:  # type: ignore[no-untyped-def]
    tokenizer = build(CORPUS, max_tokens=64)
    assert tokenizer.model_max_length == 64
    for word in ("rain", "thunder", "soundscape"):
        tokens = tokenizer.tokenize(f"the gentle {word}")
        assert tokens[-1].lstrip("Ġ▁") == word and tokens[-2].lstrip("Ġ▁") == "gentle", tokens
    for text in ("🌧️ über déjà-vu", "مطر", "x" * 300):
        assert tokenizer(text, truncation=True).input_ids


def test_gemma_format_falls_back_to_bytes_and_pads_to_length() -> None:
    tokenizer = gemma_tokenizer(CORPUS, max_tokens=32, size=2000)
    assert len(tokenizer) == 2000
    assert tokenizer.tokenize("rain")[0] == "rain"  # the first word has no space marker
    assert "<0xC3>" in tokenizer.tokenize("ü")  # UTF-8 bytes
    padded = tokenizer(["rain on a tin roof"], padding="max_length", max_length=32)
    assert len(padded.input_ids[0]) == 32 and sum(padded.attention_mask[0]) < 32
    assert tokenizer.decode(tokenizer("rain on a tin roof").input_ids, skip_special_tokens=True) == (
        "rain on a tin roof"
    )
