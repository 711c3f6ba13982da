"""The full-size ``cvssp/audioldm2`` architecture with random weights, built entirely in code.

Inference cost depends on the architecture and the tensor shapes, not on the weight values, so a
randomly initialised copy of the published model times exactly like the real one — without the
4.5 GB download (and on machines that cannot reach the Hugging Face hub at all).

Every size below is taken from the published checkpoint: the diffusers conversion script's
defaults for AudioLDM2 base (UNet, VAE, vocoder, GPT-2 sequence length), ``laion/clap-htsat-unfused``
widened as AudioLDM2 does (CLAP), ``google/flan-t5-large`` (T5) and ``gpt2`` (GPT-2). The audio
geometry is the production one: 16 kHz, 64 mel bins, hop 160, VAE scale factor 4, 8 latent
channels, so a 10 s clip is a (B, 8, 250, 16) latent. About 1.12 B parameters in all.

Build on ``device="meta"`` to inspect shapes and parameter counts without allocating memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from diffusers import (
    AudioLDM2Pipeline,
    AudioLDM2ProjectionModel,
    AudioLDM2UNet2DConditionModel,
    AutoencoderKL,
    DDIMScheduler,
    DiffusionPipeline,
)
from diffusers.utils import logging as diffusers_logging
from transformers import (
    ClapAudioConfig,
    ClapConfig,
    ClapFeatureExtractor,
    ClapModel,
    ClapTextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    SpeechT5HifiGan,
    SpeechT5HifiGanConfig,
    T5Config,
    T5EncoderModel,
)

from bench.full_size_text import (
    ROBERTA_MAX_TOKENS,
    ROBERTA_VOCAB,
    T5_MODEL_VOCAB,
    roberta_tokenizer,
    t5_tokenizer,
)

FULL_MODEL_NAME = "cvssp/audioldm2 (architecture, random weights)"
SAMPLE_RATE = 16_000
MEL_BINS = 64
LATENT_CHANNELS = 8
#: The published total ("1.1B" in the model card); the build must land within this range.
EXPECTED_PARAMETERS = (1.05e9, 1.20e9)

#: GPT-2 generates this many "audio tokens" per prompt (``sequence_gen_length`` of the original).
GPT2_NEW_TOKENS = 8


def clap_config() -> ClapConfig:
    """``laion/clap-htsat-unfused`` (RoBERTa-base text branch) with AudioLDM2's wider HTSAT."""
    text = ClapTextConfig(
        vocab_size=ROBERTA_VOCAB,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=ROBERTA_MAX_TOKENS + 2,  # RoBERTa offsets positions by the pad id
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        projection_dim=512,
        projection_hidden_act="relu",
    )
    audio = ClapAudioConfig(
        spec_size=256,
        window_size=8,
        num_mel_bins=64,
        patch_size=4,
        patch_stride=[4, 4],
        # AudioLDM2 widens the stock HTSAT (96 / 768 / [2, 2, 6, 2]).
        patch_embeds_hidden_size=128,
        hidden_size=1024,
        depths=[2, 2, 12, 2],
        num_attention_heads=[4, 8, 16, 32],
        enable_fusion=False,
        projection_dim=512,
        projection_hidden_act="relu",
    )
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=512)


def t5_config() -> T5Config:
    """``google/flan-t5-large`` (only its encoder is used)."""
    return T5Config(
        vocab_size=T5_MODEL_VOCAB,
        d_model=1024,
        d_kv=64,
        d_ff=2816,
        num_layers=24,
        num_decoder_layers=24,
        num_heads=16,
        relative_attention_num_buckets=32,
        relative_attention_max_distance=128,
        feed_forward_proj="gated-gelu",
        layer_norm_epsilon=1e-6,
        tie_word_embeddings=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )


def gpt2_config() -> GPT2Config:
    """GPT-2 base (124 M), as AudioLDM2's language model."""
    config = GPT2Config(
        vocab_size=50_257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, bos_token_id=50_256
    )
    config.eos_token_id = 50_256
    # The pipeline reads it when the caller passes no max_new_tokens (the checkpoint stores it).
    config.max_new_tokens = GPT2_NEW_TOKENS
    return config


def unet_kwargs() -> dict[str, Any]:
    """AudioLDM2 base UNet (350 M): model channels 128 × (1, 2, 3, 5), attention at 3 of 4 levels."""
    return {
        "sample_size": 256,  # unused: the pipeline derives the latent height from the duration
        "in_channels": LATENT_CHANNELS,
        "out_channels": LATENT_CHANNELS,
        "block_out_channels": (128, 256, 384, 640),
        "layers_per_block": 2,
        "down_block_types": (
            "DownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
        ),
        "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        "transformer_layers_per_block": 1,
        # Per transformer block: self-attention, cross-attention to GPT-2 (768), then to T5 (1024).
        "cross_attention_dim": ((None, 768, 1024),) * 4,
        "attention_head_dim": 8,  # diffusers' default, as in the converted checkpoint
    }


def vae_kwargs() -> dict[str, Any]:
    """The mel-spectrogram VAE: channels 128 × (1, 2, 4), 8 latent channels, scale factor 4."""
    return {
        "sample_size": 1024,
        "in_channels": 1,
        "out_channels": 1,
        "latent_channels": LATENT_CHANNELS,
        "block_out_channels": (128, 256, 512),
        "down_block_types": ("DownEncoderBlock2D",) * 3,
        "up_block_types": ("UpDecoderBlock2D",) * 3,
        "layers_per_block": 2,
        # The real value is learnt (scale_by_std); it is a scalar multiply and does not affect cost.
        "scaling_factor": 1.0,
    }


def vocoder_config() -> SpeechT5HifiGanConfig:
    """HiFi-GAN, 64 mel bins → 16 kHz (hop 160 = 5·4·2·2·2)."""
    return SpeechT5HifiGanConfig(
        model_in_dim=MEL_BINS,
        sampling_rate=SAMPLE_RATE,
        upsample_initial_channel=1024,
        upsample_rates=[5, 4, 2, 2, 2],
        upsample_kernel_sizes=[16, 16, 8, 4, 4],
        resblock_kernel_sizes=[3, 7, 11],
        resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        normalize_before=False,
    )


def make_scheduler() -> DDIMScheduler:
    """The checkpoint's default DDIM scheduler (epsilon prediction)."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=0.0015,
        beta_end=0.0195,
        beta_schedule="scaled_linear",
        steps_offset=1,
        clip_sample=False,
        set_alpha_to_one=False,
        prediction_type="epsilon",
    )


def make_feature_extractor() -> ClapFeatureExtractor:
    """CLAP's 48 kHz log-mel front end (only used to rank several waveforms per prompt)."""
    return ClapFeatureExtractor(
        feature_size=64,
        sampling_rate=48_000,
        hop_length=480,
        max_length_s=10,
        fft_window_size=1024,
        frequency_min=50,
        frequency_max=14_000,
        padding="repeatpad",
        truncation="rand_trunc",
    )


def _build_models() -> dict[str, torch.nn.Module]:
    """Every neural component, on the current default device, in float32."""
    language_model = GPT2LMHeadModel(gpt2_config())
    return {
        "text_encoder": ClapModel(clap_config()),
        "text_encoder_2": T5EncoderModel(t5_config()),
        "projection_model": AudioLDM2ProjectionModel(
            text_encoder_dim=512, text_encoder_1_dim=1024, langauge_model_dim=768
        ),
        "language_model": language_model,
        "unet": AudioLDM2UNet2DConditionModel(**unet_kwargs()),
        "vae": AutoencoderKL(**vae_kwargs()),
        "vocoder": SpeechT5HifiGan(vocoder_config()),
    }


def _cast(models: Iterable[torch.nn.Module], dtype: torch.dtype) -> None:
    """Cast in place, without diffusers' warning about fp32-only modules (these models have none)."""
    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()
    try:
        for model in models:
            model.to(dtype=dtype)
    finally:
        diffusers_logging.set_verbosity(verbosity)


def build_full_pipeline(
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> AudioLDM2Pipeline:
    """The full-size pipeline with random weights, built directly on ``device``.

    Initialising on the target device avoids a 4.5 GB float32 copy on the host (and is much
    faster on a GPU). ``device="meta"`` allocates nothing: use it to count parameters.
    """
    device = torch.device(device)
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices), device:
        torch.manual_seed(seed)
        models = _build_models()
    if dtype != torch.float32 and device.type != "meta":
        _cast(models.values(), dtype)
    for model in models.values():
        model.eval()  # fresh modules train (dropout on); from_pretrained would return eval mode
    pipe = AudioLDM2Pipeline(
        **models,
        tokenizer=roberta_tokenizer(),
        tokenizer_2=t5_tokenizer(),
        feature_extractor=make_feature_extractor(),
        scheduler=make_scheduler(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def parameter_counts(pipe: DiffusionPipeline) -> dict[str, int]:
    """Parameters per neural component (tied weights counted once) and their ``"total"``, for
    any pipeline (Stable Audio Open's too)."""
    counts = {
        name: sum(p.numel() for p in component.parameters())
        for name, component in pipe.components.items()
        if isinstance(component, torch.nn.Module)
    }
    counts["total"] = sum(counts.values())
    return counts


def check_parameter_count(pipe: AudioLDM2Pipeline) -> int:
    """The total parameter count; raises ``ValueError`` unless it is the published ~1.1 B."""
    total = parameter_counts(pipe)["total"]
    low, high = EXPECTED_PARAMETERS
    if not low <= total <= high:
        raise ValueError(
            f"full-size build has {total / 1e9:.3f} B parameters, expected {low / 1e9}-{high / 1e9} B"
        )
    return total


def latent_shape(
    pipe: AudioLDM2Pipeline, duration_s: float, batch_size: int = 1
) -> tuple[int, int, int, int]:
    """The UNet's latent shape for ``batch_size`` clips of ``duration_s`` (as the pipeline computes it)."""
    scale = pipe.vae_scale_factor
    seconds_per_frame = math.prod(pipe.vocoder.config.upsample_rates) / pipe.vocoder.config.sampling_rate
    frames = int(duration_s / seconds_per_frame)
    frames = math.ceil(frames / scale) * scale  # the pipeline rounds up, then trims the audio
    return (
        batch_size,
        pipe.unet.config.in_channels,
        frames // scale,
        pipe.vocoder.config.model_in_dim // scale,
    )
