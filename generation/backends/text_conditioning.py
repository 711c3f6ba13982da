"""Text conditioning for the Stable Audio families: one encoder, token states behind a mask, cached.

Both pipelines condition on a single encoder (T5 for Stable Audio Open, T5Gemma for Stable
Audio 3) whose input is padded to a fixed length ("max_length" padding, as their own
``encode_prompt`` does). Each text is encoded alone at that length, so its states are the same
whatever else shares the batch, and a cached encoding is reused by rerolls and variations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from generation.backends.prompt_cache import CachedEncoder

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class TextEncoding:
    """The encoder's states of one text, ``(1, L, D)``, and its attention mask ``(1, L)``."""

    embeds: torch.Tensor
    mask: torch.Tensor


@dataclass(frozen=True)
class TextBatch:
    """Stacked encodings of a batch: prompts, and their negatives when guidance is on."""

    embeds: torch.Tensor
    mask: torch.Tensor
    negative_embeds: torch.Tensor | None
    negative_mask: torch.Tensor | None


class MaskedTextEncoder(CachedEncoder[TextEncoding]):
    """Encodes texts one at a time at a fixed token length, with an LRU cache."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        text_encoder: PreTrainedModel,
        device: torch.device,
        *,
        max_length: int,
        cache_size: int = 64,
    ) -> None:
        super().__init__(cache_size)
        self._tokenizer = tokenizer
        self._text_encoder = text_encoder
        self._device = device
        self.max_length = max_length

    def _encode(self, text: str) -> TextEncoding:
        tokens = self._tokenizer(
            [text], padding="max_length", max_length=self.max_length, truncation=True, return_tensors="pt"
        )
        ids = tokens.input_ids.to(self._device)
        mask = tokens.attention_mask.to(self._device)
        with torch.inference_mode():
            embeds = self._text_encoder(ids, attention_mask=mask)[0]
        return TextEncoding(embeds=embeds, mask=mask)

    def batch(self, prompts: list[str], negatives: list[str] | None) -> TextBatch:
        """The stacked encodings of ``prompts`` (and of ``negatives``; None when guidance is off)."""
        positive = [self.encode(text) for text in prompts]
        negative = [self.encode(text) for text in negatives] if negatives is not None else None
        return TextBatch(
            embeds=torch.cat([e.embeds for e in positive]),
            mask=torch.cat([e.mask for e in positive]),
            negative_embeds=torch.cat([e.embeds for e in negative]) if negative is not None else None,
            negative_mask=torch.cat([e.mask for e in negative]) if negative is not None else None,
        )
