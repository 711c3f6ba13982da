"""Text conditioning for AudioLDM2, encoded per request and cached.

The pipeline's own batched ``encode_prompt`` pads every T5 sequence to the longest prompt in the
batch, and the GPT-2 "audio tokens" are generated *after* that padding — so a prompt's
conditioning (and its audio) would change with whatever else shares the batch. Encoding each
(prompt, negative prompt) on its own and padding only afterwards, behind the attention mask,
keeps a request's audio independent of its batch. It also makes the encodings reusable: a
reroll or a variation skips CLAP, T5 and GPT-2 entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from generation.backends.prompt_cache import CachedEncoder

if TYPE_CHECKING:
    from diffusers import AudioLDM2Pipeline


@dataclass(frozen=True)
class Conditioning:
    """The encodings of one prompt: T5 states (1, L, D), their mask (1, L), GPT-2 states (1, N, D')."""

    embeds: torch.Tensor
    mask: torch.Tensor
    generated: torch.Tensor


@dataclass(frozen=True)
class BatchConditioning:
    """Keyword arguments for the pipeline call: positive and negative encodings, padded alike."""

    kwargs: dict[str, torch.Tensor]


class PromptEncoder(CachedEncoder[Conditioning]):
    """Encodes prompts one at a time through the pipeline's CLAP, T5 and GPT-2, with an LRU cache."""

    def __init__(self, pipe: AudioLDM2Pipeline, device: torch.device, cache_size: int = 64) -> None:
        super().__init__(cache_size)
        self._pipe = pipe
        self._device = device

    def _encode(self, text: str) -> Conditioning:
        embeds, mask, generated = self._pipe.encode_prompt(
            prompt=[text],
            device=self._device,
            num_waveforms_per_prompt=1,
            do_classifier_free_guidance=False,
        )
        return Conditioning(embeds=embeds, mask=mask, generated=generated)

    def batch(self, prompts: list[str], negatives: list[str] | None) -> BatchConditioning:
        """Pipeline kwargs for a batch; ``negatives`` is None when guidance is off."""
        positive = [self.encode(p) for p in prompts]
        negative = [self.encode(n) for n in negatives] if negatives is not None else []
        length = max(c.embeds.shape[1] for c in positive + negative)
        kwargs = {
            "prompt_embeds": _stack([_pad(c.embeds, length) for c in positive]),
            "attention_mask": _stack([_pad(c.mask, length) for c in positive]),
            "generated_prompt_embeds": _stack([c.generated for c in positive]),
        }
        if negative:
            kwargs |= {
                "negative_prompt_embeds": _stack([_pad(c.embeds, length) for c in negative]),
                "negative_attention_mask": _stack([_pad(c.mask, length) for c in negative]),
                "negative_generated_prompt_embeds": _stack([c.generated for c in negative]),
            }
        return BatchConditioning(kwargs)


def _pad(tensor: torch.Tensor, length: int) -> torch.Tensor:
    """Zero-pad dim 1 to ``length``; padded positions are masked out by the attention mask."""
    missing = length - tensor.shape[1]
    if missing == 0:
        return tensor
    shape = (tensor.shape[0], missing, *tensor.shape[2:])
    return torch.cat([tensor, tensor.new_zeros(shape)], dim=1)


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(tensors, dim=0)
