"""A tiny, randomly initialised Stable Audio 3 pipeline built entirely in code (``tiny-sa3``).

It runs diffusers' real ``StableAudio3Pipeline`` with every component shrunk: a T5Gemma text
encoder, the duration embedder, a differential-attention DiT and a SAME autoencoder. The audio
geometry is the published one: 44.1 kHz stereo, 4096 samples per latent (patches of 256, one
resampling block of stride 16), latent length from the asked duration (no fixed window), and the
distilled checkpoint's sampler (flow-matching Euler with ping-pong re-noising). The sound is
noise-like.

Random weights need two adjustments to make sound that depends on its inputs at all:

* the published architecture zero-initialises the output layers of every residual branch (so
  training starts from the identity); left at zero, the autoencoder would ignore its latents and
  the DiT its conditioning, so they get Xavier-uniform weights instead;
* the tiny autoencoder uses plain attention: with random weights the two maps of differential
  attention nearly cancel and the decoder hears its latents at -100 dB.
"""

from __future__ import annotations

import torch
from diffusers import (
    AutoencoderSAME,
    FlowMatchEulerDiscreteScheduler,
    StableAudio3DiTModel,
    StableAudio3DurationEmbedder,
    StableAudio3Pipeline,
)
from transformers import T5GemmaConfig, T5GemmaEncoderModel
from transformers.models.t5gemma.configuration_t5gemma import T5GemmaModuleConfig

from generation.backends import library_warnings
from generation.backends.devices import eval_mode
from generation.backends.tokenizers import CORPUS, gemma_tokenizer

library_warnings.install()

SAMPLE_RATE = 44_100
CHANNELS = 2
PATCH_SIZE = 256
STRIDE = 16
#: Samples per latent frame.
HOP_LENGTH = PATCH_SIZE * STRIDE
#: T5Gemma input length: the pipeline's cap (the reference checkpoint's max_length).
MAX_TOKENS = 256
#: Longest duration the duration embedder distinguishes (the published SA3 Medium bound).
MAX_DURATION_S = 384.0
LATENT_CHANNELS = 8
_DIM = 32


def make_scheduler() -> FlowMatchEulerDiscreteScheduler:
    """The distilled checkpoint's sampler: Euler steps with stochastic ("ping-pong") re-noising."""
    return FlowMatchEulerDiscreteScheduler(stochastic_sampling=True)


def _text_encoder(vocab_size: int) -> T5GemmaEncoderModel:
    module = T5GemmaModuleConfig(
        vocab_size=vocab_size,
        hidden_size=_DIM,
        intermediate_size=_DIM,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        query_pre_attn_scalar=16,
        sliding_window=MAX_TOKENS,
        max_position_embeddings=2 * MAX_TOKENS,
    ).to_dict()
    return T5GemmaEncoderModel(T5GemmaConfig(encoder=module, decoder=module, is_encoder_decoder=False))


def _unzero(module: torch.nn.Module) -> None:
    """Give every all-zero weight matrix Xavier-uniform values (see the module docstring)."""
    for parameter in module.parameters():
        if parameter.dim() >= 2 and not parameter.detach().any():
            torch.nn.init.xavier_uniform_(parameter.data)


def build_tiny_sa3_pipeline(seed: int = 0) -> StableAudio3Pipeline:
    """Build the tiny pipeline; the same ``seed`` always gives the same weights."""
    tokenizer = gemma_tokenizer(CORPUS, max_tokens=MAX_TOKENS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = _text_encoder(len(tokenizer))
        duration_embedder = StableAudio3DurationEmbedder(
            output_dim=_DIM, fourier_dim=16, max_val=MAX_DURATION_S
        )
        transformer = StableAudio3DiTModel(
            io_channels=LATENT_CHANNELS,
            embed_dim=_DIM,
            depth=1,
            num_heads=2,
            cond_token_dim=_DIM,
            global_cond_dim=_DIM,
            local_add_cond_dim=LATENT_CHANNELS + 1,  # inpainting: latents plus their mask
            timestep_features_dim=16,
            ff_mult=2.0,
            num_memory_tokens=4,
        )
        vae = AutoencoderSAME(
            audio_channels=CHANNELS,
            patch_size=PATCH_SIZE,
            encoder_channels=8,
            encoder_c_mults=(2,),
            encoder_strides=(STRIDE,),
            encoder_transformer_depths=(1,),
            latent_dim=LATENT_CHANNELS,
            dim_heads=8,
            ff_mult=2,
            use_differential_attention=False,
            sampling_rate=SAMPLE_RATE,
        )
        _unzero(transformer)
        _unzero(vae)
    pipe = StableAudio3Pipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        duration_embedder=duration_embedder,
        transformer=transformer,
        scheduler=make_scheduler(),
    )
    eval_mode(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe
