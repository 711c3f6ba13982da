"""The full-size ``stabilityai/stable-audio-open-1.0`` architecture with random weights, built in code.

Inference cost depends on the architecture and the tensor shapes, not on the weight values, so a
randomly initialised copy times exactly like the published model — without accepting its licence
or downloading it. Sizes are the checkpoint's configuration: a 24-layer DiT (1536 wide, 24 query
and 12 key/value heads of 64, cross-attention to 768-wide T5 states), the Oobleck VAE (128
channels × 1·2·4·8·16, 64 latent channels, 2048 samples per latent), ``t5-base``'s encoder, the
number conditioners of the start and end seconds, and the cosine DPM-Solver++ scheduler. The
audio geometry is the published one: 44.1 kHz stereo, a 1024-latent window (47.55 s) that the
pipeline always denoises whole. 1.21 B parameters in the DiT and the VAE (what the model card
counts), 1.32 B with the T5 encoder.

Build on ``device="meta"`` to inspect shapes and parameter counts without allocating memory.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
from diffusers import AutoencoderOobleck, StableAudioDiTModel, StableAudioPipeline
from diffusers.pipelines.stable_audio.modeling_stable_audio import StableAudioProjectionModel
from transformers import T5Config, T5EncoderModel, T5Tokenizer

from bench.full_size import _cast, parameter_counts
from bench.full_size_text import T5_EXTRA_IDS, T5_MODEL_VOCAB, T5_TOKENIZER_VOCAB, corpus, unique
from generation.backends.stable_audio.tiny import MAX_TOKENS, make_scheduler
from generation.backends.tokenizers import unigram_tokenizer

FULL_MODEL_NAME = "stabilityai/stable-audio-open-1.0 (architecture, random weights)"
SAMPLE_RATE = 44_100
LATENT_CHANNELS = 64
#: The model card's "1.21B" is the DiT (1.06 B) and the VAE (0.16 B); the build must land here.
EXPECTED_PARAMETERS = (1.18e9, 1.24e9)


def t5_config() -> T5Config:
    """``t5-base`` (only its encoder is used)."""
    return T5Config(
        vocab_size=T5_MODEL_VOCAB,
        d_model=768,
        d_kv=64,
        d_ff=3072,
        num_layers=12,
        num_heads=12,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        feed_forward_proj="relu",
        layer_norm_epsilon=1e-6,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )


def dit_kwargs() -> dict[str, Any]:
    """The DiT of the checkpoint (diffusers' defaults are its configuration)."""
    return {
        "sample_size": 1024,
        "in_channels": LATENT_CHANNELS,
        "num_layers": 24,
        "attention_head_dim": 64,
        "num_attention_heads": 24,
        "num_key_value_attention_heads": 12,
        "out_channels": LATENT_CHANNELS,
        "cross_attention_dim": 768,
        "time_proj_dim": 256,
        "global_states_input_dim": 1536,
        "cross_attention_input_dim": 768,
    }


def vae_kwargs() -> dict[str, Any]:
    """The Oobleck VAE: 44.1 kHz stereo, 2048 samples per 64-channel latent."""
    return {
        "encoder_hidden_size": 128,
        "downsampling_ratios": [2, 4, 4, 8, 8],
        "channel_multiples": [1, 2, 4, 8, 16],
        "decoder_channels": 128,
        "decoder_input_channels": LATENT_CHANNELS,
        "audio_channels": 2,
        "sampling_rate": SAMPLE_RATE,
    }


@cache
def t5_tokenizer() -> T5Tokenizer:
    """A unigram tokenizer of T5's size (32 000 pieces + 100 sentinels), known words whole."""
    return unigram_tokenizer(
        [w.lower() for w in unique(corpus())],
        max_tokens=MAX_TOKENS,
        size=T5_TOKENIZER_VOCAB,
        extra_ids=T5_EXTRA_IDS,
    )


def build_full_sao_pipeline(
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> StableAudioPipeline:
    """The full-size pipeline with random weights, built directly on ``device`` (``"meta"``
    allocates nothing)."""
    device = torch.device(device)
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices), device:
        torch.manual_seed(seed)
        models: dict[str, torch.nn.Module] = {
            "text_encoder": T5EncoderModel(t5_config()),
            "projection_model": StableAudioProjectionModel(
                text_encoder_dim=768, conditioning_dim=768, min_value=0, max_value=512
            ),
            "transformer": StableAudioDiTModel(**dit_kwargs()),
            "vae": AutoencoderOobleck(**vae_kwargs()),
        }
    if dtype != torch.float32 and device.type != "meta":
        _cast(models.values(), dtype)
    for model in models.values():
        model.eval()
    pipe = StableAudioPipeline(**models, tokenizer=t5_tokenizer(), scheduler=make_scheduler())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def check_parameter_count(pipe: StableAudioPipeline) -> int:
    """The total parameter count; raises ``ValueError`` unless the DiT and the VAE are the
    published ~1.21 B."""
    counts = parameter_counts(pipe)
    generative = counts["transformer"] + counts["vae"]
    low, high = EXPECTED_PARAMETERS
    if not low <= generative <= high:
        raise ValueError(
            f"full-size DiT + VAE have {generative / 1e9:.3f} B parameters, "
            f"expected {low / 1e9}-{high / 1e9} B"
        )
    return counts["total"]


def latent_shape(pipe: StableAudioPipeline, duration_s: float, batch_size: int = 1) -> tuple[int, int, int]:
    """The DiT's latent shape for ``batch_size`` clips: always the full window, whatever the length."""
    del duration_s  # the pipeline crops after denoising
    return (batch_size, pipe.transformer.config.in_channels, pipe.transformer.config.sample_size)
