"""The CLAP model best-of-N ranks with, for families whose pipeline has none.

AudioLDM2 carries CLAP as its first text encoder, so its pipeline ranks its own candidates.
Stable Audio conditions on T5 alone; its backends load CLAP on first use instead:
``laion/clap-htsat-unfused`` (the checkpoint AudioLDM2's CLAP derives from, about 600 MB) for
real models, and the tiny random CLAP below — the same one the tiny AudioLDM2 carries — for the
built-in tiny models, so ranking stays offline in tests.

:class:`ClapComponents` has the attribute names of a pipeline's CLAP parts (``text_encoder``,
``tokenizer``, ``feature_extractor``), which is all :func:`generation.recipes.ranking.clap_scores`
reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from transformers import ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapTextConfig

from generation.backends.hub import model_unavailable, quiet_loading
from generation.backends.tokenizers import CORPUS, bpe_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

#: The CLAP checkpoint real Stable Audio models rank with (ungated).
DEFAULT_CLAP_MODEL_ID = "laion/clap-htsat-unfused"
#: The tiny CLAP's tokenizer length (as the tiny AudioLDM2's).
TINY_MAX_TOKENS = 77


@dataclass(frozen=True)
class ClapComponents:
    """A CLAP model with its tokenizer and audio feature extractor."""

    text_encoder: ClapModel
    tokenizer: PreTrainedTokenizerBase
    feature_extractor: ClapFeatureExtractor


def tiny_clap_model(tokenizer: PreTrainedTokenizerBase) -> ClapModel:
    """A randomly initialised CLAP of a few thousand parameters (the caller seeds torch)."""
    return ClapModel(
        ClapConfig(
            text_config=ClapTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=16,
                intermediate_size=32,
                num_attention_heads=2,
                num_hidden_layers=1,
                max_position_embeddings=TINY_MAX_TOKENS + 4,
                pad_token_id=tokenizer.pad_token_id,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                projection_dim=16,
            ).to_dict(),
            audio_config=ClapAudioConfig(
                spec_size=64,
                window_size=4,
                num_mel_bins=64,
                intermediate_size=32,
                depths=[1, 1],
                num_attention_heads=[2, 2],
                num_hidden_layers=2,
                hidden_size=32,
                patch_size=2,
                patch_stride=2,
                patch_embeds_hidden_size=16,
                projection_dim=16,
                enable_fusion=False,
            ).to_dict(),
            projection_dim=16,
        )
    )


def tiny_feature_extractor() -> ClapFeatureExtractor:
    """CLAP's 48 kHz log-mel front end, with one-second windows for the tiny model."""
    return ClapFeatureExtractor(
        feature_size=64, sampling_rate=48_000, hop_length=480, max_length_s=1, fft_window_size=1024
    )


def tiny_clap_tokenizer() -> PreTrainedTokenizerBase:
    return bpe_tokenizer(CORPUS, max_tokens=TINY_MAX_TOKENS)


def build_tiny_clap(seed: int = 0) -> ClapComponents:
    """The tiny random CLAP, alone; the same ``seed`` always gives the same weights."""
    tokenizer = tiny_clap_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = tiny_clap_model(tokenizer)
    model.eval()
    return ClapComponents(model, tokenizer, tiny_feature_extractor())


def load_clap(model_id: str, device: torch.device, dtype: torch.dtype) -> ClapComponents:
    """A published CLAP checkpoint on ``device``; raises ModelUnavailable with one clear line."""
    from transformers import AutoTokenizer

    try:
        with quiet_loading():
            model = ClapModel.from_pretrained(model_id, dtype=dtype)
            tokenizer = AutoTokenizer.from_pretrained(model_id)
            extractor = ClapFeatureExtractor.from_pretrained(model_id)
    except Exception as exc:  # OSError, hub HTTP errors, bad folder layouts
        raise model_unavailable(
            model_id,
            exc,
            gated=False,
            offline_hint="Best-of-N ranking needs this CLAP model; without it ask for one candidate.",
        ) from exc
    model.to(device).eval()
    return ClapComponents(model, tokenizer, extractor)
